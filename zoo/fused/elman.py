"""The Elman recurrence over a whole sequence, with a hand-written backward pass.

Equations as in `zoo.cells.ElmanCell`:

    h_t = tanh(Z_t),   Z_t = x_t W + b + h_{t-1} U

Backward through step t, given dh (from h_t's uses):

    dZ_t = dh * (1 - h_t^2),   dh_{t-1} = dZ_t U^T   (+ the gradient of output h_{t-1})
"""

import tensorflow as tf

from zoo.fused.layout import (gradient_or_zeros, input_gradients, project_all_steps, recurrent_gradients,
                              rows, transposed_copy)


@tf.custom_gradient
def elman_sequence(x, h_0, kernel, recurrent_kernel, bias):
    """(h_1..T [batch, T, units], h_T) for x [batch, T, in] with static T."""
    h = h_0
    hs = []
    for x_proj_t in project_all_steps(x, kernel, bias):
        h = tf.tanh(x_proj_t + tf.matmul(h, recurrent_kernel))
        hs.append(h)

    def backward(d_outputs, d_h_last):
        d_outputs = tf.unstack(gradient_or_zeros(d_outputs, outputs), axis=1)
        d_h = gradient_or_zeros(d_h_last, h_0)
        recurrent_kernel_t = transposed_copy(recurrent_kernel)
        d_z = [None] * len(hs)
        for t in reversed(range(len(hs))):
            d_z[t] = tf.raw_ops.TanhGrad(y=hs[t], dy=d_h + d_outputs[t])
            d_h = tf.matmul(d_z[t], recurrent_kernel_t)
        d_z = rows(d_z)
        d_x, d_kernel, d_bias = input_gradients(x, kernel, d_z)
        d_recurrent_kernel, _ = recurrent_gradients([h_0] + hs[:-1], d_z)
        return d_x, d_h, d_kernel, d_recurrent_kernel, d_bias

    outputs = tf.stack(hs, axis=1)
    return (outputs, h), backward
