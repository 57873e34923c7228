"""Clockwork RNN cell: units in modules that run at several time scales."""

import keras
import numpy as np
from keras import initializers, ops

from zoo.cells.base import check_positive_int


@keras.saving.register_keras_serializable(package="zoo")
class ClockworkCell(keras.layers.Layer):
    """Clockwork RNN cell (Koutnik, Greff, Gomez & Schmidhuber, 2014, "A Clockwork RNN").

    The units are split into g equal modules with periods T_1 < ... < T_g. At step t
    (t = 0, 1, ... counted by the cell), module i runs only when t mod T_i = 0:

        h_t^(i) = tanh(x_t W^(i) + h_{t-1} U^(i) + b^(i))    if t mod T_i = 0
        h_t^(i) = h_{t-1}^(i)                                  otherwise

    and U is block-triangular: module i reads only modules j with T_j >= T_i (the slower
    ones and itself), so slow modules carry information across many steps untouched and
    feed the fast ones. A module of period T is a skip connection through time of length
    T: its state reaches T steps ahead through one update instead of T (Deep Learning book,
    10.9.1). Chosen over a dilated recurrent layer (state from t - d) because its state is
    one vector, as every zoo cell's is, where a dilation d needs the last d states carried.

    `kernel` W [input_dim, units], `recurrent_kernel` U [units, units] (entries outside the
    blocks are held at zero by a mask), `bias` b [units]. The state is `[h, t]`, t the step
    count [batch, 1], so TBPTT and a served step carry the clock with the state.

    Args:
        units: Positive integer, divisible by the number of periods.
        periods: Increasing positive integers, one per module (default 1, 2, 4, 8).

    Example:
        >>> layer = keras.layers.RNN(zoo.cells.clockwork.ClockworkCell(32), return_sequences=True)
        >>> layer(np.zeros((4, 10, 8))).shape
        (4, 10, 32)
    """

    def __init__(self, units, periods=(1, 2, 4, 8), kernel_initializer="glorot_uniform",
                 recurrent_initializer="orthogonal", **kwargs):
        super().__init__(**kwargs)
        units = check_positive_int("units", units)
        periods = [int(p) for p in periods]
        if not periods or any(p <= 0 for p in periods) or sorted(set(periods)) != periods:
            raise ValueError(f"Argument `periods` must be increasing positive integers, received: {periods!r}")
        if units % len(periods):
            raise ValueError(f"Argument `units` ({units}) must be divisible by the {len(periods)} periods")
        self.units, self.periods = int(units), periods
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.state_size = [self.units, 1]
        self.output_size = self.units

    def unit_periods(self):
        """The period of each unit, [units]."""
        return np.repeat(self.periods, self.units // len(self.periods))

    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel",
                                      initializer=self.kernel_initializer)
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), name="recurrent_kernel",
                                                initializer=self.recurrent_initializer)
        self.bias = self.add_weight(shape=(self.units,), name="bias", initializer="zeros")
        period = self.unit_periods()
        # Row: the unit read from; column: the unit written. A unit reads the slower or equal ones.
        self.recurrent_mask = ops.convert_to_tensor(period[:, None] >= period[None, :], dtype=self.compute_dtype)
        self.built = True

    def call(self, inputs, states, training=False):
        h_tm1, step = states
        candidate = ops.tanh(ops.matmul(inputs, self.kernel)
                             + ops.matmul(h_tm1, self.recurrent_kernel * self.recurrent_mask) + self.bias)
        period = ops.convert_to_tensor(self.unit_periods(), dtype=self.compute_dtype)
        runs = ops.equal(ops.mod(step, period), 0.0)  # [batch, units]
        h = ops.where(runs, candidate, h_tm1)
        return h, [h, step + 1.0]

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, size), dtype=self.compute_dtype) for size in self.state_size]

    def get_config(self):
        return {**super().get_config(), "units": self.units, "periods": list(self.periods),
                "kernel_initializer": initializers.serialize(self.kernel_initializer),
                "recurrent_initializer": initializers.serialize(self.recurrent_initializer)}
