"""The Clockwork RNN recurrence over a whole sequence, with a hand-written backward pass.

Equations as in `zoo.cells.ClockworkCell`, with c the row's clock (steps taken so far),
P the per-unit periods and M the block-triangular mask of U:

    Z_t = x_t W + b + h_{t-1} (U * M),   r_t = (c_t mod P == 0)   (per row and unit)
    h_t = where(r_t, tanh(Z_t), h_{t-1}),   c_{t+1} = c_t + 1

It is the Elman pass with a per-unit step mask: r_t is known before the loop (the clock
does not depend on h), so every step's mask comes from one op. Backward through step t,
given dh:

    dZ_t = r_t * dh * (1 - tanh(Z_t)^2),   dh_{t-1} = dZ_t (U * M)^T + (1 - r_t) * dh
    dU = (H_prev^T dZ) * M   (and dc_0 = dc_T: the clock's only path is c + 1)

With a sequence mask, a masked step keeps h and c (Keras' semantics), so c_t counts the
row's taken steps before t, and the step mask is r_t and the row's mask together.
"""

import tensorflow as tf

from zoo.fused import plan


def clock_masks(step_0, periods, steps, mask=None):
    """Which (row, step, unit) updates: bool [batch, T, units]; step_0 [batch, 1] the
    clocks at the start, periods [units]; mask bool [batch, T] or None."""
    if mask is None:
        clocks = step_0 + tf.range(steps, dtype=step_0.dtype)[None, :]
    else:
        clocks = step_0 + tf.cumsum(tf.cast(mask, step_0.dtype), axis=1, exclusive=True)
    runs = tf.equal(tf.math.floormod(clocks[:, :, None], periods), 0.0)
    return runs if mask is None else tf.logical_and(runs, mask[:, :, None])


def clockwork_sequence(x, h_0, step_0, kernel, recurrent_kernel, bias, recurrent_mask, periods, mask=None):
    """(h_1..T [batch, T, units], h_T, c_T) for x [batch, T, in] with static T;
    recurrent_mask [units, units] and periods [units] are constants of the cell; mask
    bool [batch, T] or None."""
    steps = plan.StepMasks(clock_masks(step_0, periods, x.shape[1], mask), x.shape[1])
    taken_steps = x.shape[1] if mask is None else tf.reduce_sum(tf.cast(mask, step_0.dtype), axis=1, keepdims=True)

    @tf.custom_gradient
    def run(x, h_0, kernel, recurrent_kernel, bias):
        masked_kernel = recurrent_kernel * recurrent_mask
        h = h_0
        hs, news = [], []
        for t, x_proj_t in enumerate(plan.project_all_steps(x, kernel, bias)):
            new = tf.tanh(x_proj_t + tf.matmul(h, masked_kernel))
            h = steps.keep(t, new, h)
            news.append(new)
            hs.append(h)

        def backward(d_outputs, d_h_last):
            d_outputs = tf.unstack(plan.gradient_or_zeros(d_outputs, outputs), axis=1)
            d_h = plan.gradient_or_zeros(d_h_last, h_0)
            masked_kernel_t = plan.transposed_copy(masked_kernel)
            d_z = [None] * len(hs)
            for t in reversed(range(len(hs))):
                d_new, d_kept = steps.split(t, d_h + d_outputs[t])
                d_z[t] = tf.raw_ops.TanhGrad(y=news[t], dy=d_new)
                d_h = tf.matmul(d_z[t], masked_kernel_t) + d_kept
            d_z = plan.rows(d_z)
            d_x, d_kernel, d_bias = plan.input_gradients(x, kernel, d_z)
            d_masked_kernel, _ = plan.recurrent_gradients([h_0] + hs[:-1], d_z)
            return d_x, d_h, d_kernel, d_masked_kernel * recurrent_mask, d_bias

        outputs = tf.stack(hs, axis=1)
        return (outputs, h), backward

    # The clock outside the custom gradient: autodiff gives dc_0 = dc_T, or None where the
    # clock is unused, as through the cell loop.
    outputs, h_last = run(x, h_0, kernel, recurrent_kernel, bias)
    return outputs, h_last, step_0 + taken_steps
