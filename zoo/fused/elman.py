"""The Elman recurrence over a whole sequence, with a hand-written backward pass.

Equations as in `zoo.cells.ElmanCell`:

    h_t = tanh(Z_t),   Z_t = x_t W + b + h_{t-1} U

Backward through step t, given dh (from h_t's uses):

    dZ_t = dh * (1 - h_t^2),   dh_{t-1} = dZ_t U^T   (+ the gradient of output h_{t-1})

With a mask, a masked step keeps h_{t-1} and passes dh straight back
(`zoo.fused.plan.StepMasks`).
"""

import tensorflow as tf

from zoo.fused import plan


def elman_sequence(x, h_0, kernel, recurrent_kernel, bias, mask=None):
    """(h_1..T [batch, T, units], h_T) for x [batch, T, in] with static T; mask bool
    [batch, T], [batch, T, units] (units that take a step apart: the Clockwork cell's) or
    None."""
    steps = plan.StepMasks(mask, x.shape[1])

    @tf.custom_gradient
    def run(x, h_0, kernel, recurrent_kernel, bias):
        h = h_0
        hs, news = [], []
        for t, x_proj_t in enumerate(plan.project_all_steps(x, kernel, bias)):
            new = tf.tanh(x_proj_t + tf.matmul(h, recurrent_kernel))
            h = steps.keep(t, new, h)
            news.append(new)
            hs.append(h)

        def backward(d_outputs, d_h_last):
            d_outputs = tf.unstack(plan.gradient_or_zeros(d_outputs, outputs), axis=1)
            d_h = plan.gradient_or_zeros(d_h_last, h_0)
            recurrent_kernel_t = plan.transposed_copy(recurrent_kernel)
            d_z = [None] * len(hs)
            for t in reversed(range(len(hs))):
                d_new, d_kept = steps.split(t, d_h + d_outputs[t])
                d_z[t] = tf.raw_ops.TanhGrad(y=news[t], dy=d_new)
                d_h = plan.plus(tf.matmul(d_z[t], recurrent_kernel_t), d_kept)
            d_z = plan.rows(d_z)
            d_x, d_kernel, d_bias = plan.input_gradients(x, kernel, d_z)
            d_recurrent_kernel, _ = plan.recurrent_gradients([h_0] + hs[:-1], d_z)
            return d_x, d_h, d_kernel, d_recurrent_kernel, d_bias

        outputs = tf.stack(hs, axis=1)
        return (outputs, h), backward

    return run(x, h_0, kernel, recurrent_kernel, bias)
