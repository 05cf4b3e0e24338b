"""Keras 2's ``keras.layers.recurrent``: SimpleRNN, GRU, LSTM, the generic RNN and the cells, with
standalone Keras 2.0's defaults: ``hard_sigmoid`` gates, and a GRU that resets before the recurrent
matmul (``reset_after=False``); ``input_dim``/``input_length`` give ``input_shape=(input_length,
input_dim)``, as in Keras 2.0."""
from arena.keras.legacy import keras2_class
from arena.nn import layers as _nn
from arena.nn.layers import RNN, SimpleRNNCell

SimpleRNN = keras2_class(_nn.SimpleRNN, __name__)
GRU = keras2_class(_nn.GRU, __name__)
LSTM = keras2_class(_nn.LSTM, __name__)
GRUCell = keras2_class(_nn.GRUCell, __name__)
LSTMCell = keras2_class(_nn.LSTMCell, __name__)

__all__ = ["RNN", "SimpleRNN", "GRU", "LSTM", "SimpleRNNCell", "GRUCell", "LSTMCell"]
