"""Masks of padded sequences: which steps are real, a softmax over them, the last of them.

    mask[b, t]       = t < lengths[b]                     (row b's real steps come first)
    masked_softmax   = softmax over the valid entries, exactly 0 on the others
    last_valid_step  = sequence[b, lengths[b] - 1]
"""

import keras
from keras import ops


def step_mask(lengths, steps):
    """bool [batch, steps]: t < lengths[b]."""
    return ops.less(ops.arange(steps, dtype="int32")[None, :], ops.cast(lengths, "int32")[:, None])


def masked_softmax(scores, mask, axis=-1):
    """Softmax of `scores` along `axis` over the entries where `mask` is True; the others get
    exactly 0 (not a tiny weight), so padding cannot leak into a weighted sum."""
    scores = ops.where(mask, scores, ops.full_like(scores, -1e9))
    return ops.where(mask, ops.softmax(scores, axis=axis), ops.zeros_like(scores))


@keras.saving.register_keras_serializable(package="zoo")
class StepMask(keras.layers.Layer):
    """(sequences [batch, time, ...], lengths [batch]) -> bool mask [batch, time]: t < length."""

    def call(self, sequences, lengths):
        return step_mask(lengths, ops.shape(sequences)[1])

    def compute_output_spec(self, sequences, lengths):
        return keras.KerasTensor(sequences.shape[:2], dtype="bool")


def last_valid_step(sequence, lengths):
    """sequence [batch, time, width] at t = lengths - 1 per row -> [batch, width]."""
    index = ops.maximum(ops.cast(lengths, "int32") - 1, 0)
    return ops.take_along_axis(sequence, index[:, None, None], axis=1)[:, 0]


