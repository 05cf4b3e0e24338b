"""Keras 2's ``keras.utils``: ``to_categorical``, ``normalize``, ``Sequence``, ``get_file``, ``plot_model``
and their modules ``np_utils``, ``data_utils``, ``vis_utils``."""
from arena.keras.utils import data_utils, np_utils, vis_utils
from arena.keras.utils.data_utils import Sequence, get_file
from arena.keras.utils.np_utils import normalize, to_categorical
from arena.keras.utils.vis_utils import model_to_dot, plot_model

__all__ = ["to_categorical", "normalize", "Sequence", "get_file", "plot_model", "model_to_dot", "np_utils",
           "data_utils", "vis_utils"]
