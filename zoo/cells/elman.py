"""Elman (simple recurrent) cell."""

import keras
from keras import ops

from zoo.cells.base import RecurrentCell


@keras.saving.register_keras_serializable(package="zoo")
class ElmanCell(RecurrentCell):
    """Elman cell (Elman, 1990, "Finding Structure in Time"); the cell of `SimpleRNN`.

        h_t = tanh(x_t W_xh + h_{t-1} W_hh + b)

    with `W_xh` = `kernel` [input_dim, units], `W_hh` = `recurrent_kernel` [units, units]
    and `b` = `bias` [units]; `tanh` is the `activation` argument. The output is h_t;
    the output layer (o_t = h_t V + c) lives in the model.

    Args:
        units: Positive integer, size of h.
        activation: Nonlinearity (default `"tanh"`).
        **kwargs: The shared arguments of `zoo.cells.base.RecurrentCell` (initializers,
            regularizers, constraints, `dropout`, `recurrent_dropout`, `seed`).

    Call arguments:
        inputs: x_t, [batch, input_dim].
        states: `[h_{t-1}]`.
        training: Whether dropout is applied.

    Example:
        >>> layer = keras.layers.RNN(zoo.ElmanCell(32), return_sequences=True)
        >>> layer(np.zeros((4, 10, 8))).shape
        (4, 10, 32)
    """

    def __init__(self, units, activation="tanh", **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        self.state_size = [self.units]

    def call(self, inputs, states, training=False):
        x_t, h_tm1 = self.dropped_out(inputs, states[0], training)
        pre = ops.matmul(x_t, self.kernel) + ops.matmul(h_tm1, self.recurrent_kernel)
        if self.use_bias:
            pre = pre + self.bias
        h = self.activation(pre)
        return h, [h]
