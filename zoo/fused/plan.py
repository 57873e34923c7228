"""What the fused sequences share: per-step slices, transposed weights, the weight gradients.

Every fused sequence runs the same plan (that of cuDNN's RNN kernels; Appleyard et al.,
2016, "Optimizing Performance of Recurrent Neural Networks on GPUs"):

    forward:   X W + b for all T steps in one matmul, then per step one h_{t-1} U
    backward:  per step one dZ_t U^T (the gradient flowing to h_{t-1});
               after the loop dU = H_prev^T dZ, dW = X^T dZ, dX = dZ W^T, db = sum dZ,
               each one matmul over all T * batch rows

where Z are the gate pre-activations. Only the h_{t-1} U and dZ_t U^T chains are
sequential; everything else is a few large matmuls.
"""

import tensorflow as tf


def transposed_copy(matrix):
    """matrix^T as a new row-major tensor.

    `dZ_t @ transposed_copy(U)` is the same product as `tf.matmul(dZ_t, U,
    transpose_b=True)`, but that form ran about 3x slower per step on the CPUs measured
    here (64 x 1024 @ (256 x 1024)^T). A bare `tf.transpose` feeding a MatMul is folded
    back into `transpose_b=True` by Grappler's arithmetic optimizer, so the copy goes
    through a gather, which it leaves alone.
    """
    transposed = tf.transpose(matrix)
    return tf.gather(transposed, tf.range(tf.shape(transposed)[0]))


def time_major(sequence):
    """[batch, T, n] <-> [T, batch, n]."""
    return tf.transpose(sequence, [1, 0, 2])


def time_major_rows(x):
    """x [batch, T, n] -> [T * batch, n], the row order of `project_all_steps` and `rows`."""
    return tf.reshape(time_major(x), [-1, x.shape[-1]])


def project_all_steps(x, kernel, bias):
    """x [batch, T, in] -> list of T tensors x_t W + b, [batch, out]: one matmul for all steps.

    The matmul's rows are time-major (x is transposed first, the smaller of the two), so
    each step's rows are one contiguous block that unstacking hands out without a copy;
    unstacking a batch-major projection copied every step's rows out of a strided view
    (about 2 ms of 100 steps of [32, 1024] on the CPUs measured here).
    """
    flat = tf.matmul(time_major_rows(x), kernel) + bias
    return tf.unstack(tf.reshape(flat, [x.shape[1], -1, kernel.shape[-1]]), axis=0)


def rows(steps):
    """T tensors [batch, n] -> one [T * batch, n] tensor, in the row order of
    `project_all_steps` (time-major): stacked as contiguous blocks."""
    return tf.reshape(tf.stack(steps, axis=0), [-1, steps[0].shape[-1]])


def input_gradients(x, kernel, d_z_rows):
    """(dX, dW, db) of Z = X W + b from dZ as `rows` [T * batch, G * units]; x [batch, T, in]."""
    d_x = tf.matmul(d_z_rows, transposed_copy(kernel))
    d_x = time_major(tf.reshape(d_x, [x.shape[1], -1, x.shape[-1]]))
    d_kernel = tf.matmul(time_major_rows(x), d_z_rows, transpose_a=True)
    return d_x, d_kernel, column_sums(d_z_rows)


def recurrent_gradients(h_prev, d_z_rows):
    """(dU, db) of Z = H_prev U + b from dZ as rows; h_prev the T tensors h_0..h_{T-1}."""
    d_recurrent_kernel = tf.matmul(rows(h_prev), d_z_rows, transpose_a=True)
    return d_recurrent_kernel, column_sums(d_z_rows)


def column_sums(rows):
    """sum over the rows of `rows` [n, m] -> [m], as the matmul ones[1, n] rows.

    `tf.reduce_sum(rows, axis=0)` over [6400, 1024] (a bias gradient at batch 64, T = 100,
    256 LSTM units) took 10 ms on the CPUs measured here, the matmul about 3 ms: the
    reduction runs on one thread, the matmul on oneDNN's blocked kernel.
    """
    return tf.matmul(tf.ones([1, tf.shape(rows)[0]], rows.dtype), rows)[0]


def gradient_or_zeros(gradient, like):
    """An upstream gradient; None (the output was not used) reads as zeros."""
    return tf.zeros_like(like) if gradient is None else gradient


class StepMasks:
    """Which rows take step t, for a fused pass over a masked sequence (Keras' semantics).

    A masked step keeps the state it had: state_t = where(m_t, new_t, state_{t-1}). In the
    backward pass the gradient of state_t splits the same way: m_t * dstate_t reaches the
    step's new state (and through it the gate pre-activations), (1 - m_t) * dstate_t
    passes to state_{t-1} unchanged. Any mask works (not only right-padded ones), and
    without a mask every step is taken at no cost.

    Args:
        mask: bool [batch, T], or [batch, T, units] where units of a row take a step
            apart (the Clockwork cell's modules), or None (every step of every row).
        steps: T.
    """

    def __init__(self, mask, steps):
        if mask is not None:
            mask = tf.cast(mask, tf.bool)
            mask = mask if mask.shape.rank == 3 else mask[:, :, None]
        self.masks = None if mask is None else tf.unstack(mask, steps, axis=1)

    def keep(self, t, new, old):
        """State after step t: `new` on the rows that take it, `old` elsewhere."""
        return new if self.masks is None else tf.where(self.masks[t], new, old)

    def split(self, t, gradient):
        """(gradient to step t's new state, gradient passed straight to the old state or None)."""
        if self.masks is None:
            return gradient, None
        taken = tf.cast(self.masks[t], gradient.dtype)
        return gradient * taken, gradient * (1.0 - taken)


def plus(gradient, carried):
    """gradient + carried, where carried may be None (nothing carried)."""
    return gradient if carried is None else gradient + carried
