"""One guarded parameter update, shared by every update rule (TBPTT, minibatch).

    g        = d loss / d theta                      (the rule computes loss and g)
    g        = clip(g, -clip_value, clip_value)      entrywise, if clip_value > 0
    g        = g * min(1, clip_norm / ||g||)         global norm, if clip_norm > 0
    theta    = optimizer(theta, g)                   only if loss and ||g|| are finite

A non-finite loss or gradient must not reach the weights, the optimizer's moments or
anything else the rule changes with the update (`also_on_apply`, e.g. TBPTT's carried
state): the update is skipped and reported. Every rule reports the same dict.
"""

import tensorflow as tf


def guarded_update(optimizer, variables, loss, grads, clip_norm=0.0, clip_value=0.0,
                   also_on_apply=lambda: None):
    """Apply `grads` to `variables` unless non-finite; runs inside the rule's tf.function.

    Returns {loss, grad_norm (global norm before clipping), clipped (whether the norm clip
    acted), finite (False: skipped), grads (after clipping)}.
    """
    grad_norm = tf.linalg.global_norm(grads)
    if clip_value:
        grads = [tf.clip_by_value(g, -clip_value, clip_value) for g in grads]
    clipped = tf.constant(False)
    if clip_norm:
        norm = tf.linalg.global_norm(grads)
        clipped = norm > clip_norm
        grads, _ = tf.clip_by_global_norm(grads, clip_norm, use_norm=norm)
    finite = tf.math.is_finite(loss) & tf.math.is_finite(grad_norm)

    def apply():
        optimizer.apply(grads, variables)
        also_on_apply()
        return tf.constant(True)

    tf.cond(finite, apply, lambda: tf.constant(False))
    return {"loss": loss, "grad_norm": grad_norm, "clipped": clipped, "finite": finite,
            "grads": grads}


def refuse_float16(model, rule):
    """ValueError if `model` computes in float16: its gradients underflow without loss
    scaling, which the update rules do not do; bfloat16 has float32's exponent range and
    needs none."""
    float16 = [layer.name for layer in model.layers if layer.dtype_policy.compute_dtype == "float16"]
    if float16:
        raise ValueError(f"{rule}: layers {float16} compute in float16, which needs loss "
                         "scaling; expected float32 or bfloat16 (the 'mixed_bfloat16' policy)")
