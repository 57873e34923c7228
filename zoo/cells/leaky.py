"""Leaky-integrator cell: units that keep part of their state, at one or many time scales."""

import numbers

import keras
import numpy as np
from keras import ops

from zoo.cells.base import RecurrentCell


def time_scale_spread(units, longest, shortest=1.0):
    """Per-unit leak rates a_i = 1 / tau_i, the time constants tau_i spaced geometrically
    from `shortest` to `longest` steps: a spread of time scales (Goodfellow et al., Deep
    Learning, 10.9.2), so some units follow the input and others average over `longest`
    steps. A trainable leak needs `shortest` > 1 (a < 1)."""
    if not 1.0 <= shortest <= longest:
        raise ValueError(f"time_scale_spread needs 1 <= shortest <= longest (steps), received "
                         f"shortest={shortest!r}, longest={longest!r}")
    return [float(1.0 / tau) for tau in np.geomspace(shortest, longest, units)]


def _check_leak(leak, units, trainable):
    values = [leak] if isinstance(leak, numbers.Real) else list(leak)
    if (any(isinstance(v, bool) or not isinstance(v, numbers.Real) for v in values)
            or len(values) not in (1, units)
            or not all(0.0 < v <= 1.0 for v in values)
            or (trainable and not all(v < 1.0 for v in values))):
        bound = "(0, 1)" if trainable else "(0, 1]"
        raise ValueError(f"Argument `leak` must be a float in {bound} or a list of {units} "
                         f"such floats, received: {leak!r}")
    return float(values[0]) if isinstance(leak, numbers.Real) else [float(v) for v in values]


@keras.saving.register_keras_serializable(package="zoo")
class LeakyCell(RecurrentCell):
    """Leaky-integrator units (Jaeger et al., 2007; Goodfellow et al., Deep Learning, 10.9.2):

        g_t = tanh(x_t W + h_{t-1} U + b)
        h_t = (1 - a) * h_{t-1} + a * g_t

    with the Elman cell's weights (`kernel` W [input_dim, units], `recurrent_kernel` U
    [units, units], `bias` b [units]) and a leak rate a in (0, 1], one per unit. A unit
    with a = 1 is an Elman unit; with a = 1 / tau it keeps an exponential average over
    about tau steps, and the gradient through it decays like (1 - a)^k instead of with
    the product of k Jacobians of tanh.

    The leak rate is

    - fixed, one value for every unit (`leak=0.1`);
    - fixed, one value per unit (`leak=time_scale_spread(units, 100)`: time constants
      from 1 to 100 steps);
    - trainable (`trainable_leak=True`): a = sigmoid(leak_logit), the weight
      `leak_logit` [units] starting at logit(leak), so a stays in (0, 1).

    Args:
        units: Positive integer, size of h.
        leak: A float, or a list of `units` floats, in (0, 1] ((0, 1) when trainable).
        trainable_leak: Whether a is learned.
        **kwargs: The shared arguments of `zoo.cells.base.RecurrentCell` (activation,
            initializers, regularizers, constraints, `dropout`, `recurrent_dropout`, `seed`).

    Example:
        >>> cell = zoo.LeakyCell(32, leak=zoo.time_scale_spread(32, 100))
        >>> keras.layers.RNN(cell, return_sequences=True)(np.zeros((4, 10, 8))).shape
        (4, 10, 32)
    """

    def __init__(self, units, leak=0.5, trainable_leak=False, **kwargs):
        super().__init__(units, **kwargs)
        self.trainable_leak = bool(trainable_leak)
        self.leak = _check_leak(leak, self.units, self.trainable_leak)
        # The configured rates per unit: fixed ones as they are, trainable ones' start.
        self._rates = np.broadcast_to(np.asarray(self.leak, np.float64), (self.units,))
        self.state_size = [self.units]

    def build(self, input_shape):
        super().build(input_shape)
        self.leak_logit = None
        if self.trainable_leak:
            self.leak_logit = self.add_weight(
                shape=(self.units,), name="leak_logit",
                initializer=keras.initializers.Constant(np.log(self._rates / (1.0 - self._rates))))

    def leak_rates(self):
        """a, [units], in the cell's compute dtype."""
        if self.trainable_leak:
            return ops.sigmoid(ops.cast(self.leak_logit, self.compute_dtype))
        return ops.convert_to_tensor(self._rates, dtype=self.compute_dtype)

    def call(self, inputs, states, training=False):
        h_tm1 = states[0]
        x_t, h_dropped = self.dropped_out(inputs, h_tm1, training)
        pre = ops.matmul(x_t, self.kernel) + ops.matmul(h_dropped, self.recurrent_kernel)
        if self.use_bias:
            pre = pre + self.bias
        rates = self.leak_rates()
        h = (1.0 - rates) * h_tm1 + rates * self.activation(pre)
        return h, [h]

    def get_config(self):
        return {**super().get_config(), "leak": self.leak, "trainable_leak": self.trainable_leak}
