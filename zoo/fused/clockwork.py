"""The Clockwork RNN recurrence over a whole sequence: the fused Elman pass with a clock mask.

Equations as in `zoo.cells.ClockworkCell`, with c the row's clock (steps taken so far),
P the per-unit periods and M the block-triangular mask of U:

    Z_t = x_t W + b + h_{t-1} (U * M),   r_t = (c_t mod P == 0)   (per row and unit)
    h_t = where(r_t, tanh(Z_t), h_{t-1}),   c_{t+1} = c_t + 1

It is the Elman pass (`zoo.fused.elman`) with U * M and a per-unit step mask: r_t is
known before the loop (the clock does not depend on h), so every step's mask comes from
one op. Backward through step t, given dh:

    dZ_t = r_t * dh * (1 - tanh(Z_t)^2),   dh_{t-1} = dZ_t (U * M)^T + (1 - r_t) * dh
    dU = (H_prev^T dZ) * M   (and dc_0 = dc_T: the clock's only path is c + 1)

With a sequence mask, a masked step keeps h and c (Keras' semantics), so c_t counts the
row's taken steps before t, and the step mask is r_t and the row's mask together.
"""

import tensorflow as tf

from zoo.fused.elman import elman_sequence


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
    bool [batch, T] or None.

    The Elman pass with U * M and the per-unit step mask; autodiff takes dU = dU' * M
    through the product and dc_0 = dc_T through the clock (None where the clock is
    unused, as through the cell loop).
    """
    runs = clock_masks(step_0, periods, x.shape[1], mask)
    outputs, h_last = elman_sequence(x, h_0, kernel, recurrent_kernel * recurrent_mask, bias, mask=runs)
    taken_steps = x.shape[1] if mask is None else tf.reduce_sum(tf.cast(mask, step_0.dtype), axis=1, keepdims=True)
    return outputs, h_last, step_0 + taken_steps
