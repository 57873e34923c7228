"""Which rows of the batch a model call computes, so its dropout draws what the whole batch's would.

An update may run the model once per group of the batch's rows (`zoo.training.row_groups`).
Rows are independent, so each call computes its rows of the whole-batch call, except for
random draws: a dropout mask drawn for a group's rows alone holds other numbers than the
same rows of the whole batch's mask. Within `row_window(window)` the zoo's dropout (the
cells' masks, `zoo.cells.base.RecurrentCell`, and `WindowedDropout`) draws the whole
batch's mask with the seed the whole-batch call takes and keeps the window's rows:

    mask_g = dropout(ones[batch, ...], seed)[first_g : first_g + rows_g]

Every window of one update takes the seeds the first window drew, in the order it drew
them, so each seed generator advances as far as in one whole-batch call. Outside a window
the draws are Keras' own.
"""

import contextlib
import contextvars

import keras
import tensorflow as tf

# How keras.random.dropout folds a seed generator's int64 state into int32 and fills a noise
# shape's None sizes; the windowed draw must take both as it does.
from keras.src.backend.tensorflow.random import _cast_seed, _get_concrete_noise_shape

_window = contextvars.ContextVar("row_window", default=None)


class RowWindows:
    """The row windows of one update over `batch` rows in groups of `sizes` rows, and the
    seeds their draws share."""

    def __init__(self, batch, sizes):
        self.batch = batch
        self.firsts = [sum(sizes[:g]) for g in range(len(sizes))]
        self.sizes = list(sizes)
        self._drawn = {}  # id(seed generator) -> the seeds the first window drew, in order
        self._taken = {}  # (window, id(seed generator)) -> how many of them it has used

    def seed(self, window, generator):
        """The seed of `generator`'s next draw in `window`: drawn (advancing the generator)
        in the first window, the first window's in the others."""
        drawn = self._drawn.setdefault(id(generator), [])
        taken = self._taken.get((window, id(generator)), 0)
        if window == 0:
            drawn.append(generator.next())
        elif taken >= len(drawn):
            raise RuntimeError("a row window drew more random numbers than the first window")
        self._taken[(window, id(generator))] = taken + 1
        return drawn[taken]


@contextlib.contextmanager
def row_window(windows, window):
    """Within this context, model calls traced compute rows `window` of `windows` (a
    `RowWindows`): their zoo dropout draws as the whole batch's (module docstring)."""
    token = _window.set((windows, window))
    try:
        yield
    finally:
        _window.reset(token)


def windowed_dropout(inputs, rate, generator, noise_shape=None):
    """`keras.random.dropout(inputs, rate, noise_shape, seed=generator)`, or within a row
    window, the window's rows of it as the whole batch draws it."""
    current = _window.get()
    if current is None:
        return keras.random.dropout(inputs, rate, noise_shape=noise_shape, seed=generator)
    windows, window = current
    # The seed and noise shape as keras.random.dropout takes them, the noise over the
    # whole batch's rows unless one mask row serves every row.
    seed = _cast_seed(windows.seed(window, generator))
    noise_shape = noise_shape or [None] * inputs.shape.rank
    noise = _get_concrete_noise_shape(inputs, noise_shape)
    per_row = noise_shape[0] != 1
    if per_row:
        noise[0] = windows.batch
    # stateless_dropout(ones) is the scaled keep mask, 0 or 1 / (1 - rate); inputs times
    # it are the values stateless_dropout(inputs) gives.
    mask = tf.nn.experimental.stateless_dropout(tf.ones(noise, inputs.dtype), rate=rate, seed=seed)
    if per_row:
        first = windows.firsts[window]
        mask = mask[first:first + windows.sizes[window]]
    return inputs * mask


@keras.saving.register_keras_serializable(package="zoo")
class WindowedDropout(keras.layers.Dropout):
    """`keras.layers.Dropout` whose mask, within a row window, is the whole batch's
    (`windowed_dropout`); the same layer outside one."""

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        return windowed_dropout(inputs, self.rate, self.seed_generator, self.noise_shape)
