"""What every zoo cell shares: argument checks, the fused weight layout, dropout, config.

Notation for every cell in `zoo.cells`: inputs are row vectors, so `x_t` is
[batch, input_dim] and `h_{t-1}` is [batch, units]. A cell with G gates keeps one fused

    kernel            W  [input_dim, G * units]
    recurrent_kernel  U  [units,     G * units]
    bias              b  [G * units]            (GRU with reset_after: [2, G * units])

exactly as the matching `keras.layers` cell does, so weights copy across unchanged and
a fused kernel (cuDNN) can run the same maths. Gate pre-activations are
`x_t W + h_{t-1} U + b`, split into G slices of `units` columns in the order each cell
documents.

Dropout is variational (Gal & Ghahramani, 2016, "A Theoretically Grounded Application of
Dropout in Recurrent Neural Networks"): one mask per sequence for `x_t` and one for
`h_{t-1}`, drawn when `keras.layers.RNN` starts a sequence and reused at every step;
each row of the batch gets its own mask.
"""

import numbers

import keras
from keras import activations, constraints, initializers, ops, regularizers

# keras.layers.RNN draws and clears the per-sequence masks only for cells that are
# instances of this mixin; it is not exported under keras.layers.
from keras.src.layers.rnn.dropout_rnn_cell import DropoutRNNCell


def check_positive_int(name, value):
    """`value` as an int; ValueError naming the argument `name` unless it is a positive integer."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value <= 0:
        raise ValueError(f"Argument `{name}` must be a positive integer, received: {value!r}")
    return int(value)


def _check_rate(name, rate):
    if isinstance(rate, bool) or not isinstance(rate, numbers.Real) or not 0.0 <= rate < 1.0:
        raise ValueError(f"Argument `{name}` must be a float in [0, 1), received: {rate!r}")
    return float(rate)


class RecurrentCell(keras.layers.Layer, DropoutRNNCell):
    """Base of the zoo cells; not a cell on its own.

    Subclasses set `gate_count`, `state_size`, and implement `call`. They may override
    `bias_shape` and `bias_initializer_for_build` (the gate-bias initialisations).

    Args:
        units: Positive integer, size of the hidden state h.
        activation: Nonlinearity of the state / candidate (default `tanh`).
        use_bias: Whether the cell has the bias b.
        kernel_initializer, recurrent_initializer, bias_initializer: Initializers of
            W, U, b (defaults as in Keras: Glorot uniform, orthogonal, zeros).
        kernel_regularizer, recurrent_regularizer, bias_regularizer: Regularizers.
        kernel_constraint, recurrent_constraint, bias_constraint: Constraints.
        dropout: Rate in [0, 1) of the variational dropout on x_t.
        recurrent_dropout: Rate in [0, 1) of the variational dropout on h_{t-1}.
        seed: Integer seed of the dropout masks.
    """

    gate_count = 1

    def __init__(
        self,
        units,
        activation="tanh",
        use_bias=True,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="orthogonal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        recurrent_regularizer=None,
        bias_regularizer=None,
        kernel_constraint=None,
        recurrent_constraint=None,
        bias_constraint=None,
        dropout=0.0,
        recurrent_dropout=0.0,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_positive_int("units", units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.recurrent_initializer = initializers.get(recurrent_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.recurrent_regularizer = regularizers.get(recurrent_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.recurrent_constraint = constraints.get(recurrent_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.dropout = _check_rate("dropout", dropout)
        self.recurrent_dropout = _check_rate("recurrent_dropout", recurrent_dropout)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed=seed)
        self.output_size = self.units

    def bias_shape(self):
        return (self.gate_count * self.units,)

    def bias_initializer_for_build(self):
        return self.bias_initializer

    def build(self, input_shape):
        super().build(input_shape)
        fused = self.gate_count * self.units
        self.kernel = self.add_weight(
            shape=(input_shape[-1], fused),
            name="kernel",
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, fused),
            name="recurrent_kernel",
            initializer=self.recurrent_initializer,
            regularizer=self.recurrent_regularizer,
            constraint=self.recurrent_constraint,
        )
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight(
                shape=self.bias_shape(),
                name="bias",
                initializer=self.bias_initializer_for_build(),
                regularizer=self.bias_regularizer,
                constraint=self.bias_constraint,
            )

    def _create_dropout_mask(self, step_input, dropout_rate):
        # Keras' draw, except within a row window (zoo.layers.row_window): there the
        # whole batch's mask, this window's rows of it. (zoo.layers imports the cells.)
        from zoo.layers.row_window import windowed_dropout

        return windowed_dropout(ops.ones_like(step_input), dropout_rate, self.seed_generator)

    def dropped_out(self, x_t, h_tm1, training):
        """x_t and h_{t-1} with this sequence's dropout masks applied (training only)."""
        if training and self.dropout > 0.0:
            x_t = x_t * self.get_dropout_mask(x_t)
        if training and self.recurrent_dropout > 0.0:
            h_tm1 = h_tm1 * self.get_recurrent_dropout_mask(h_tm1)
        return x_t, h_tm1

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, size), dtype=self.compute_dtype) for size in self.state_size]

    def get_config(self):
        config = {
            "units": self.units,
            "activation": activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_initializer": initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": initializers.serialize(self.recurrent_initializer),
            "bias_initializer": initializers.serialize(self.bias_initializer),
            "kernel_regularizer": regularizers.serialize(self.kernel_regularizer),
            "recurrent_regularizer": regularizers.serialize(self.recurrent_regularizer),
            "bias_regularizer": regularizers.serialize(self.bias_regularizer),
            "kernel_constraint": constraints.serialize(self.kernel_constraint),
            "recurrent_constraint": constraints.serialize(self.recurrent_constraint),
            "bias_constraint": constraints.serialize(self.bias_constraint),
            "dropout": self.dropout,
            "recurrent_dropout": self.recurrent_dropout,
            "seed": self.seed,
        }
        return {**super().get_config(), **config}
