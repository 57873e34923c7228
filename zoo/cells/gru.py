"""Gated recurrent unit cell with an update-gate bias."""

import keras
from keras import activations, ops

from zoo.cells.base import RecurrentCell
from zoo.cells.gate_bias import gate_bias_initializer


@keras.saving.register_keras_serializable(package="zoo")
class GRUCell(RecurrentCell):
    """GRU cell (Cho et al., 2014, "Learning Phrase Representations using RNN
    Encoder-Decoder"), in the convention of `keras.layers.GRU`.

        z_t  = sigmoid(x_t W_z + h_{t-1} U_z + b_z)            update gate
        r_t  = sigmoid(x_t W_r + h_{t-1} U_r + b_r)            reset gate
        hh_t = tanh(x_t W_h + r_t * (h_{t-1} U_h + b'_h) + b_h)   reset_after=True
        hh_t = tanh(x_t W_h + (r_t * h_{t-1}) U_h + b_h)          reset_after=False
        h_t  = z_t * h_{t-1} + (1 - z_t) * hh_t

    Fused layout of `keras.layers.GRU`: `kernel` [input_dim, 3u], `recurrent_kernel`
    [u, 3u], column slices in the gate order z, r, h. `bias` is [3u] with
    `reset_after=False` and [2, 3u] with `reset_after=True` (row 0: input bias b, row 1:
    recurrent bias b'; the z and r gates see b + b'). `reset_after=True` is the variant
    cuDNN runs; `reset_after=False` is Cho et al.'s original.

    Here z_t is the share of the old state that is kept, so the update-gate bias b_z
    starts at `update_bias` (default 1.0, z_0 = sigmoid(1) = 0.73): a fresh cell carries
    most of its state from step to step, the GRU analogue of the LSTM forget bias
    (Gers et al., 2000; Jozefowicz et al., 2015). `update_bias=0.0` gives Keras' default.

    Args:
        units: Positive integer, size of h.
        reset_after: Apply the reset gate after the recurrent matmul (cuDNN-compatible).
        update_bias: Initial value of the update-gate bias b_z.
        activation: Nonlinearity of the candidate hh (default `"tanh"`).
        recurrent_activation: Gate nonlinearity (default `"sigmoid"`).
        **kwargs: The shared arguments of `zoo.cells.base.RecurrentCell`.

    Call arguments:
        inputs: x_t, [batch, input_dim].
        states: `[h_{t-1}]`.
        training: Whether dropout is applied.

    Example:
        >>> layer = keras.layers.RNN(zoo.GRUCell(32), return_sequences=True)
        >>> layer(np.zeros((4, 10, 8))).shape
        (4, 10, 32)
    """

    gate_count = 3

    def __init__(self, units, reset_after=True, update_bias=1.0, activation="tanh",
                 recurrent_activation="sigmoid", **kwargs):
        super().__init__(units, activation=activation, **kwargs)
        self.reset_after = bool(reset_after)
        self.update_bias = float(update_bias)
        self.recurrent_activation = activations.get(recurrent_activation)
        self.state_size = [self.units]

    def bias_shape(self):
        return (2, 3 * self.units) if self.reset_after else (3 * self.units,)

    def bias_initializer_for_build(self):
        return gate_bias_initializer(self.bias_initializer, self.units, 0, self.update_bias)

    def call(self, inputs, states, training=False):
        h_tm1 = states[0]
        x_t, h_tm1_dropped = self.dropped_out(inputs, h_tm1, training)
        x_proj = ops.matmul(x_t, self.kernel)
        if self.use_bias:
            input_bias = self.bias[0] if self.reset_after else self.bias
            x_proj = x_proj + input_bias
        x_z, x_r, x_h = ops.split(x_proj, 3, axis=-1)
        if self.reset_after:
            h_proj = ops.matmul(h_tm1_dropped, self.recurrent_kernel)
            if self.use_bias:
                h_proj = h_proj + self.bias[1]
            h_z, h_r, h_h = ops.split(h_proj, 3, axis=-1)
            z = self.recurrent_activation(x_z + h_z)
            r = self.recurrent_activation(x_r + h_r)
            hh = self.activation(x_h + r * h_h)
        else:
            u_zr = self.recurrent_kernel[:, : 2 * self.units]
            u_h = self.recurrent_kernel[:, 2 * self.units :]
            h_z, h_r = ops.split(ops.matmul(h_tm1_dropped, u_zr), 2, axis=-1)
            z = self.recurrent_activation(x_z + h_z)
            r = self.recurrent_activation(x_r + h_r)
            hh = self.activation(x_h + ops.matmul(r * h_tm1_dropped, u_h))
        h = z * h_tm1 + (1.0 - z) * hh
        return h, [h]

    def get_config(self):
        config = {
            "reset_after": self.reset_after,
            "update_bias": self.update_bias,
            "recurrent_activation": activations.serialize(self.recurrent_activation),
        }
        return {**super().get_config(), **config}
