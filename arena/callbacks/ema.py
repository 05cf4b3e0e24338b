"""``SwapEMAWeights``: evaluate (and show callbacks) the moving averages an optimizer keeps with ``use_ema``."""
from arena.callbacks.base import Callback


class SwapEMAWeights(Callback):
    """Keras 3's ``SwapEMAWeights``: while the model is evaluated (fit's validation, ``evaluate``) its
    weights are the moving averages of an optimizer built with ``use_ema=True``, and the trained
    weights come back afterwards. With ``swap_on_epoch=True`` the averages are also in the model from
    the end of each epoch to the start of the next, so the callbacks after this one (sample scores,
    image grids, ModelCheckpoint) see them; training always goes on from the trained weights.

        model.compile(optimizer=Adam(use_ema=True), loss="mse")
        model.fit(x, y, validation_split=0.1, callbacks=[SwapEMAWeights(swap_on_epoch=True), checkpoint])
    """

    def __init__(self, swap_on_epoch=False):
        super().__init__()
        self.swap_on_epoch = bool(swap_on_epoch)
        self._trained = None  # the trained weights while the averages are in the model

    def _swap_in(self):
        if self._trained is not None:
            return
        params = self.model.params
        averaged = self.model._ema_params(params)
        if averaged is None:
            raise ValueError(f"SwapEMAWeights: model '{self.model.name}' has no optimizer with use_ema=True "
                             f"(compile it with e.g. optimizer=Adam(use_ema=True))")
        self._trained = params
        self.model.params = averaged

    def _swap_out(self):
        if self._trained is not None:
            self.model.params, self._trained = self._trained, None

    def on_test_begin(self, logs=None):
        self._swap_in()

    def on_test_end(self, logs=None):
        self._swap_out()

    def on_epoch_end(self, epoch, logs=None):
        if self.swap_on_epoch:
            self._swap_in()

    def on_epoch_begin(self, epoch, logs=None):
        if self.swap_on_epoch:
            self._swap_out()

    def on_train_end(self, logs=None):
        self._swap_out()
