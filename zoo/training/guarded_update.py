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
                   also_on_apply=lambda: None, reported=None):
    """Apply `grads` to `variables` unless non-finite; runs inside the rule's tf.function.

    Returns {loss, grad_norm (global norm before clipping), clipped (whether the norm clip
    acted), finite (False: skipped), grads (after clipping)}, updated with `reported`
    (a penalised objective's task loss and penalty: `zoo.training.flow_penalty`), which
    must be finite too.
    """
    guard = {**_clipped(loss, grads, clip_norm, clip_value), **(reported or {})}
    for value in (reported or {}).values():
        guard["finite"] &= tf.math.is_finite(value)

    def apply():
        optimizer.apply(guard["grads"], variables)
        also_on_apply()
        return tf.constant(True)

    tf.cond(guard["finite"], apply, lambda: tf.constant(False))
    return guard


def refuse_float16(model, rule):
    """ValueError if `model` computes in float16: its gradients underflow without loss
    scaling, which the update rules do not do; bfloat16 has float32's exponent range and
    needs none."""
    float16 = [layer.name for layer in model.layers if layer.dtype_policy.compute_dtype == "float16"]
    if float16:
        raise ValueError(f"{rule}: layers {float16} compute in float16, which needs loss "
                         "scaling; expected float32 or bfloat16 (the 'mixed_bfloat16' policy)")


def distributed_update(strategy, optimizer, variables, replica_loss, inputs, clip_norm=0.0,
                       clip_value=0.0, on_apply=lambda gathered: None):
    """`guarded_update` under a tf.distribute strategy (`zoo.training.distribution` gives the
    semantics); runs inside the rule's tf.function.

    `replica_loss(*inputs)` runs on every replica and returns (its share of the global
    mean loss, a tensor to gather or None), or those and a dict of its shares of values
    to report (summed over the replicas, as `guarded_update`'s `reported`);
    `on_apply(gathered)` gets the replicas' tensors concatenated in replica order, only
    when the update is applied.
    """
    def replica_step(*inputs):
        context = tf.distribute.get_replica_context()
        with tf.GradientTape() as tape:
            loss, extra, *reported = replica_loss(*inputs)
        grads = context.all_reduce(tf.distribute.ReduceOp.SUM, tape.gradient(loss, variables))
        loss = context.all_reduce(tf.distribute.ReduceOp.SUM, loss)
        guard = _clipped(loss, grads, clip_norm, clip_value)
        for name, value in (reported[0] if reported else {}).items():
            guard[name] = context.all_reduce(tf.distribute.ReduceOp.SUM, value)
        return guard, extra

    def replica_apply(grads):
        # Keras' optimizer sums what every replica hands it; the gradient is the sum
        # already, so replica 0 hands it over and the others zeros (exact, unlike g / R).
        # An embedding's IndexedSlices stay slices: Keras' Adam squares each slice
        # before summing duplicate indices, and so must it here as on one device.
        first = tf.equal(tf.distribute.get_replica_context().replica_id_in_sync_group, 0)
        optimizer.apply([_scaled(g, tf.cast(first, g.dtype)) for g in grads], variables)

    with strategy.scope():
        per_replica, extra = strategy.run(replica_step, args=inputs)
        guard = {name: strategy.experimental_local_results(value)[0] for name, value in per_replica.items()}
        gathered = None if extra is None else tf.nest.map_structure(
            lambda value: strategy.gather(value, axis=0), extra)

        def apply():
            # The update runs in the cross-replica context: a replica's branch cannot
            # hold the optimizer's all-reduce (tf.distribute refuses merge calls there).
            strategy.extended.call_for_each_replica(replica_apply, args=(per_replica["grads"],))
            on_apply(gathered)
            return tf.constant(True)

        # `finite` is computed from all-reduced values: every replica takes the same branch.
        tf.cond(guard["finite"], apply, lambda: tf.constant(False))
    return guard


def _scaled(gradient, factor):
    if isinstance(gradient, tf.IndexedSlices):
        return tf.IndexedSlices(gradient.values * factor, gradient.indices, gradient.dense_shape)
    return gradient * factor


def _clipped(loss, grads, clip_norm, clip_value):
    """The guard of `guarded_update` without the apply: {loss, grad_norm, clipped, finite, grads}."""
    grad_norm = tf.linalg.global_norm(grads)
    if clip_value:
        grads = [tf.clip_by_value(g, -clip_value, clip_value) for g in grads]
    clipped = tf.constant(False)
    if clip_norm:
        norm = tf.linalg.global_norm(grads)
        clipped = norm > clip_norm
        grads, _ = tf.clip_by_global_norm(grads, clip_norm, use_norm=norm)
    finite = tf.math.is_finite(loss) & tf.math.is_finite(grad_norm)
    return {"loss": loss, "grad_norm": grad_norm, "clipped": clipped, "finite": finite, "grads": grads}
