"""Losses in full precision, whatever the model computes in."""

import keras
from keras import ops


def full_precision(logits):
    """`logits` cast to float32 if narrower (a mixed-precision model's bfloat16), for the
    loss: a sum over a window in bfloat16 keeps about 3 significant digits."""
    if keras.backend.standardize_dtype(logits.dtype) in ("bfloat16", "float16"):
        return ops.cast(logits, "float32")
    return logits
