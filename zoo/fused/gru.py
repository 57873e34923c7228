"""The GRU (reset_after=True, the cuDNN variant) over a whole sequence, with a
hand-written backward pass.

Equations as in `zoo.cells.GRUCell`; per step, with X_t = x_t W + b and
H_t = h_{t-1} U + b' split into gate slices z, r, h:

    [z r] = sigmoid(X_zr + H_zr),   hh = tanh(X_h + r * H_h)
    h_t   = z * h_{t-1} + (1 - z) * hh

Backward through step t, given dh (from h_t's uses):

    dX_h = dh * (1 - z) * (1 - hh^2)
    [dX_z dX_r] = [dh * (h_{t-1} - hh),  dX_h * H_h] * s * (1 - s),   s = [z r]
    dH = [dX_z, dX_r, dX_h * r],   dh_{t-1} = dh * z + dH U^T

With a mask, a masked step keeps h_{t-1} and passes dh straight back
(`zoo.fused.plan.StepMasks`).
"""

import tensorflow as tf

from zoo.fused import plan


def gru_sequence(x, h_0, kernel, recurrent_kernel, bias, mask=None):
    """(h_1..T [batch, T, units], h_T) for x [batch, T, in] with static T; mask bool
    [batch, T] or None.

    `bias` is the [2, 3 * units] bias of `reset_after=True` (row 0 input, row 1
    recurrent).
    """
    steps = plan.StepMasks(mask, x.shape[1])

    @tf.custom_gradient
    def run(x, h_0, kernel, recurrent_kernel, input_bias, recurrent_bias):
        units = h_0.shape[-1]
        h = h_0
        hs, h_prev, gates, candidates, recurrent_candidates = [], [], [], [], []
        for t, x_proj_t in enumerate(plan.project_all_steps(x, kernel, input_bias)):
            x_zr, x_h = tf.split(x_proj_t, [2 * units, units], axis=1)
            h_zr, h_h = tf.split(tf.matmul(h, recurrent_kernel) + recurrent_bias, [2 * units, units], axis=1)
            s = tf.sigmoid(x_zr + h_zr)
            z, r = tf.split(s, 2, axis=1)
            hh = tf.tanh(x_h + r * h_h)
            h_prev.append(h)
            h = steps.keep(t, hh + z * (h - hh), h)
            hs.append(h)
            gates.append((s, z, r))
            candidates.append(hh)
            recurrent_candidates.append(h_h)

        def backward(d_outputs, d_h_last):
            d_outputs = tf.unstack(plan.gradient_or_zeros(d_outputs, outputs), axis=1)
            d_h = plan.gradient_or_zeros(d_h_last, h_0)
            recurrent_kernel_t = plan.transposed_copy(recurrent_kernel)
            d_x, d_h_proj = [None] * len(hs), [None] * len(hs)
            for t in reversed(range(len(hs))):
                s, z, r = gates[t]
                d_h, d_kept = steps.split(t, d_h + d_outputs[t])
                d_x_h = tf.raw_ops.TanhGrad(y=candidates[t], dy=d_h * (1.0 - z))
                d_s = tf.concat([d_h * (h_prev[t] - candidates[t]), d_x_h * recurrent_candidates[t]], axis=1)
                d_x_zr = tf.raw_ops.SigmoidGrad(y=s, dy=d_s)
                d_x[t] = tf.concat([d_x_zr, d_x_h], axis=1)
                d_h_proj[t] = tf.concat([d_x_zr, d_x_h * r], axis=1)
                d_h = plan.plus(d_h * z + tf.matmul(d_h_proj[t], recurrent_kernel_t), d_kept)
            # The two projections see different gradients (r scales H_h).
            d_inputs, d_kernel, d_input_bias = plan.input_gradients(x, kernel, plan.rows(d_x))
            d_recurrent_kernel, d_recurrent_bias = plan.recurrent_gradients(h_prev, plan.rows(d_h_proj))
            return d_inputs, d_h, d_kernel, d_recurrent_kernel, d_input_bias, d_recurrent_bias

        outputs = tf.stack(hs, axis=1)
        return (outputs, h), backward

    return run(x, h_0, kernel, recurrent_kernel, bias[0], bias[1])
