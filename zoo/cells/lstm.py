"""Long short-term memory cell with a forget-gate bias."""

import keras
from keras import activations, ops

from zoo.cells.base import RecurrentCell
from zoo.cells.gate_bias import gate_bias_initializer


@keras.saving.register_keras_serializable(package="zoo")
class LSTMCell(RecurrentCell):
    """LSTM cell (Hochreiter & Schmidhuber, 1997; forget gate: Gers et al., 2000).

        i_t = sigmoid(x_t W_i + h_{t-1} U_i + b_i)      input gate
        f_t = sigmoid(x_t W_f + h_{t-1} U_f + b_f)      forget gate
        g_t = tanh(x_t W_c + h_{t-1} U_c + b_c)         candidate
        o_t = sigmoid(x_t W_o + h_{t-1} U_o + b_o)      output gate
        c_t = f_t * c_{t-1} + i_t * g_t
        h_t = o_t * tanh(c_t)

    Fused layout of `keras.layers.LSTM`: `kernel` [input_dim, 4u], `recurrent_kernel`
    [u, 4u], `bias` [4u], column slices in the gate order i, f, c (candidate), o.
    `sigmoid` is `recurrent_activation`, `tanh` is `activation`.

    The forget-gate bias b_f starts at `forget_bias` (default 1.0, so f_0 = sigmoid(1)
    = 0.73): a fresh cell keeps most of its memory and gradients flow through c from the
    first update (Gers et al., 2000; Jozefowicz et al., 2015, "An Empirical Exploration
    of Recurrent Network Architectures"). The other slices use `bias_initializer`;
    `forget_bias=None` leaves b_f to `bias_initializer` too.

    Args:
        units: Positive integer, size of h and c.
        forget_bias: Initial value of the forget-gate bias b_f (None: `bias_initializer`).
        activation: Nonlinearity of g and of c in h (default `"tanh"`).
        recurrent_activation: Gate nonlinearity (default `"sigmoid"`).
        **kwargs: The shared arguments of `zoo.cells.base.RecurrentCell`.

    Call arguments:
        inputs: x_t, [batch, input_dim].
        states: `[h_{t-1}, c_{t-1}]`.
        training: Whether dropout is applied.

    Example:
        >>> layer = keras.layers.RNN(zoo.LSTMCell(32), return_state=True)
        >>> h, h_T, c_T = layer(np.zeros((4, 10, 8)))
        >>> c_T.shape
        (4, 32)
    """

    gate_count = 4

    def __init__(self, units, forget_bias=1.0, activation="tanh",
                 recurrent_activation="sigmoid", **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        self.forget_bias = None if forget_bias is None else float(forget_bias)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.state_size = [self.units, self.units]

    def bias_initializer_for_build(self):
        if self.forget_bias is None:
            return self.bias_initializer
        return gate_bias_initializer(self.bias_initializer, self.units, 1, self.forget_bias)

    def call(self, inputs, states, training=False):
        x_t, h_tm1 = self.dropped_out(inputs, states[0], training)
        c_tm1 = states[1]
        z = ops.matmul(x_t, self.kernel) + ops.matmul(h_tm1, self.recurrent_kernel)
        if self.use_bias:
            z = z + self.bias
        z_i, z_f, z_c, z_o = ops.split(z, 4, axis=-1)
        i = self.recurrent_activation(z_i)
        f = self.recurrent_activation(z_f)
        g = self.activation(z_c)
        o = self.recurrent_activation(z_o)
        c = f * c_tm1 + i * g
        h = o * self.activation(c)
        return h, [h, c]

    def get_config(self):
        config = {
            "forget_bias": self.forget_bias,
            "recurrent_activation": activations.serialize(self.recurrent_activation),
        }
        return {**super().get_config(), **config}
