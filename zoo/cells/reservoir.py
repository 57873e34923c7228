"""Echo-state reservoir cell: fixed random recurrent weights; only a readout learns."""

import numbers

import keras
import numpy as np
from keras import activations, ops


def _check_range(name, value, low, high, low_open=True):
    inside = (low < value if low_open else low <= value) and value <= high
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not inside:
        bound = f"{'(' if low_open else '['}{low}, {high}]"
        raise ValueError(f"Argument `{name}` must be a float in {bound}, received: {value!r}")
    return float(value)


def sparse_recurrent_weights(units, connectivity, spectral_radius, seed):
    """[units, units] float64: exactly round(connectivity * units^2) nonzero entries (at
    least one), drawn N(0, 1) at random positions, then scaled so that the largest
    |eigenvalue| is `spectral_radius`."""
    rng = np.random.default_rng(seed)
    count = max(1, round(connectivity * units * units))
    weights = np.zeros(units * units)
    weights[rng.choice(units * units, size=count, replace=False)] = rng.normal(size=count)
    weights = weights.reshape(units, units)
    radius = np.max(np.abs(np.linalg.eigvals(weights)))
    if radius < 1e-12:
        raise ValueError(f"ReservoirCell: a reservoir of {units} units at connectivity "
                         f"{connectivity} drew a nilpotent matrix (spectral radius 0) with seed "
                         f"{seed}; raise `connectivity` or change `seed`")
    return weights * (spectral_radius / radius)


@keras.saving.register_keras_serializable(package="zoo")
class ReservoirCell(keras.layers.Layer):
    """Leaky echo-state reservoir (Jaeger, 2001; Jaeger et al., 2007, "Optimization and
    applications of echo state networks with leaky-integrator neurons"):

        h_t = (1 - a) * h_{t-1} + a * tanh(x_t W_in + h_{t-1} W + b)

    `kernel` W_in [input_dim, units]: dense, U(-1, 1) * `input_scaling`.
    `recurrent_kernel` W [units, units]: `connectivity` of its entries nonzero (N(0, 1)
    at random positions), scaled to spectral radius `spectral_radius` (below 1 is the
    usual choice for the echo-state property: the state forgets its start).
    `bias` b [units]: U(-1, 1) * `bias_scaling`.
    a: the leak rate. All of them are drawn from `seed` and none is trainable: only the
    readout on h_t learns, by gradient (the zoo update rules) or in closed form
    (`zoo.training.ridge`). Its maths are `zoo.LeakyCell`'s with fixed weights, and it runs the
    same fused pass.

    Args:
        units: Positive integer, size of h.
        spectral_radius: Largest |eigenvalue| of W, > 0.
        connectivity: Share of nonzero entries of W, in (0, 1].
        input_scaling: Scale of W_in, > 0.
        bias_scaling: Scale of b, >= 0 (0: no bias).
        leak: Leak rate a, in (0, 1].
        seed: Integer seed of W_in, W and b.

    Example:
        >>> cell = zoo.ReservoirCell(200, spectral_radius=0.9, connectivity=0.1, leak=0.3)
        >>> keras.layers.RNN(cell, return_sequences=True)(np.zeros((4, 10, 1))).shape
        (4, 10, 200)
    """

    # What the zoo's layers read from every cell: no dropout, tanh, a bias.
    dropout = recurrent_dropout = 0.0
    use_bias = True

    def __init__(self, units, spectral_radius=0.9, connectivity=0.1, input_scaling=1.0,
                 bias_scaling=0.0, leak=1.0, seed=0, **kwargs):
        kwargs.pop("trainable", None)  # never trainable
        super().__init__(trainable=False, **kwargs)
        if isinstance(units, bool) or not isinstance(units, numbers.Integral) or units <= 0:
            raise ValueError(f"Argument `units` must be a positive integer, received: {units!r}")
        self.units = int(units)
        self.spectral_radius = _check_range("spectral_radius", spectral_radius, 0.0, 1e3)
        self.connectivity = _check_range("connectivity", connectivity, 0.0, 1.0)
        self.input_scaling = _check_range("input_scaling", input_scaling, 0.0, 1e3)
        self.bias_scaling = _check_range("bias_scaling", bias_scaling, 0.0, 1e3, low_open=False)
        self.leak = _check_range("leak", leak, 0.0, 1.0)
        if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
            raise ValueError(f"Argument `seed` must be an integer, received: {seed!r}")
        self.seed = int(seed)
        self.activation = activations.get("tanh")
        self.state_size = [self.units]
        self.output_size = self.units

    def build(self, input_shape):
        rng = np.random.default_rng([self.seed, 1])
        drawn = {
            "kernel": rng.uniform(-1.0, 1.0, (input_shape[-1], self.units)) * self.input_scaling,
            "recurrent_kernel": sparse_recurrent_weights(self.units, self.connectivity,
                                                         self.spectral_radius, [self.seed, 2]),
            "bias": rng.uniform(-1.0, 1.0, (self.units,)) * self.bias_scaling,
        }
        for name, value in drawn.items():
            setattr(self, name, self.add_weight(shape=value.shape, name=name, trainable=False,
                                                initializer=keras.initializers.Constant(value)))
        super().build(input_shape)

    def bias_shape(self):
        return (self.units,)

    def leak_rates(self):
        """a for every unit, [units], in the compute dtype."""
        return ops.full((self.units,), self.leak, dtype=self.compute_dtype)

    def call(self, inputs, states, training=False):
        h_tm1 = states[0]
        pre = ops.matmul(inputs, self.kernel) + ops.matmul(h_tm1, self.recurrent_kernel) + self.bias
        h = (1.0 - self.leak) * h_tm1 + self.leak * ops.tanh(pre)
        return h, [h]

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype)]

    def get_config(self):
        config = {"units": self.units, "spectral_radius": self.spectral_radius,
                  "connectivity": self.connectivity, "input_scaling": self.input_scaling,
                  "bias_scaling": self.bias_scaling, "leak": self.leak, "seed": self.seed}
        return {**super().get_config(), **config}
