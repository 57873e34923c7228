"""The leaky-integrator recurrence over a whole sequence, with a hand-written backward pass.

Equations as in `zoo.cells.LeakyCell` (and `ReservoirCell`, the same maths with fixed
weights), a the per-unit leak rates:

    g_t = tanh(Z_t),   Z_t = x_t W + b + h_{t-1} U
    h_t = (1 - a) * h_{t-1} + a * g_t

Backward through step t, given dh (from h_t's uses):

    dZ_t = dh * a * (1 - g_t^2)
    dh_{t-1} = dh * (1 - a) + dZ_t U^T   (+ the gradient of output h_{t-1})
    da = sum over t and rows of dh * (g_t - h_{t-1})

With a mask, a masked step keeps h_{t-1} and passes dh straight back
(`zoo.fused.plan.StepMasks`).
"""

import tensorflow as tf

from zoo.fused import plan


def leaky_sequence(x, h_0, kernel, recurrent_kernel, bias, leak, mask=None):
    """(h_1..T [batch, T, units], h_T) for x [batch, T, in] with static T; leak [units];
    mask bool [batch, T] or None."""
    steps = plan.StepMasks(mask, x.shape[1])

    @tf.custom_gradient
    def run(x, h_0, kernel, recurrent_kernel, bias, leak):
        h = h_0
        hs, gs = [], []
        for t, x_proj_t in enumerate(plan.project_all_steps(x, kernel, bias)):
            g = tf.tanh(x_proj_t + tf.matmul(h, recurrent_kernel))
            h = steps.keep(t, h + leak * (g - h), h)
            gs.append(g)
            hs.append(h)

        def backward(d_outputs, d_h_last):
            d_outputs = tf.unstack(plan.gradient_or_zeros(d_outputs, outputs), axis=1)
            d_h = plan.gradient_or_zeros(d_h_last, h_0)
            recurrent_kernel_t = plan.transposed_copy(recurrent_kernel)
            keep = 1.0 - leak
            h_prev = [h_0] + hs[:-1]
            d_z, d_new_steps = [None] * len(hs), [None] * len(hs)
            for t in reversed(range(len(hs))):
                d_new, d_kept = steps.split(t, d_h + d_outputs[t])
                d_new_steps[t] = d_new
                d_z[t] = tf.raw_ops.TanhGrad(y=gs[t], dy=d_new * leak)
                d_h = plan.plus(d_new * keep + tf.matmul(d_z[t], recurrent_kernel_t), d_kept)
            d_z = plan.rows(d_z)
            d_x, d_kernel, d_bias = plan.input_gradients(x, kernel, d_z)
            d_recurrent_kernel, _ = plan.recurrent_gradients(h_prev, d_z)
            # da in one reduction over all steps, off the sequential chain.
            d_leak = tf.reduce_sum(plan.rows(d_new_steps) * (plan.rows(gs) - plan.rows(h_prev)), axis=0)
            return d_x, d_h, d_kernel, d_recurrent_kernel, d_bias, d_leak

        outputs = tf.stack(hs, axis=1)
        return (outputs, h), backward

    return run(x, h_0, kernel, recurrent_kernel, bias, leak)
