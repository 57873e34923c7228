"""Plain minibatch training, as update rules of `zoo.training.loop`: over a fixed set of
padded, masked examples (the many-to-one and encoder-decoder recipes:
`MinibatchRule`), or over batches generated afresh for every update (synthetic tasks:
`GeneratedBatchRule`).

The examples are arrays with one row per example, padded to fixed shapes (padding is the
task's to mask). Epoch e visits them in the order of a permutation drawn from
(seed, e); each batch is the next `batch_size` rows of it, and the last rows that do not
fill a batch wait for a later epoch's order. The position (epoch, batch within it) is
all a checkpoint needs to resume the exact sequence of batches, with no iterator state:

    order_e  = permutation(n) drawn from (seed, e)
    batch b  = examples[order_e[b * batch_size : (b + 1) * batch_size]]
    update   = guarded step on mean loss(model, batch)    (`zoo.training.guarded_update`)

A generated run draws batch b from `make_batch(b)`; the batch count is its position.

Built inside a tf.distribute strategy's scope, each replica takes its block of the
batch's rows and the update applies the all-reduced gradient of the whole batch's mean
loss (`zoo.training.distribution`).
"""

import numpy as np
import tensorflow as tf

from zoo.training.distribution import replica_rows, running_strategy
from zoo.training.flow_penalty import penalised_loss, scaled
from zoo.training.guarded_update import distributed_update, guarded_update, refuse_float16


class MinibatchRule:
    """Runs minibatch updates of `model` on `loss_fn`.

    Args:
        model: Keras model.
        optimizer: Keras optimizer.
        loss_fn: `loss_fn(model, batch, training)` -> scalar mean loss (float32) of a batch,
            a tuple of tensors in the order of `examples`; or (mean loss, weight) where the
            mean is over `weight` items rather than over rows (tokens of a target, say),
            so that replicas weigh their means by their share of the batch's weight.
        examples: Tuple of arrays sharing their first dimension (one row per example).
        batch_size: Examples per update; the batch shape is fixed, so one trace serves all.
        seed: Seed of the per-epoch orders.
        clip_norm, clip_value, jit_compile, flow_penalty: As in `zoo.training.tbptt.TBPTTRule`.
    """

    item_name = "examples"
    by_gradient = True

    def __init__(self, model, optimizer, loss_fn, examples, batch_size, seed=0, clip_norm=0.0,
                 clip_value=0.0, jit_compile=False, flow_penalty=0.0):
        count = len(examples[0])
        if any(len(array) != count for array in examples):
            raise ValueError("MinibatchRule: every array of `examples` needs one row per example")
        if not 1 <= batch_size <= count:
            raise ValueError(f"MinibatchRule: batch_size must be in 1..{count} (the number "
                             f"of examples), received {batch_size}")
        refuse_float16(model, "MinibatchRule")
        self.model, self.optimizer, self.loss_fn = model, optimizer, loss_fn
        self.examples = tuple(np.asarray(array) for array in examples)
        self.batch_size, self.seed = batch_size, seed
        self.clip_norm, self.clip_value, self.flow_penalty = clip_norm, clip_value, flow_penalty
        self.items_per_update = batch_size
        self.strategy = running_strategy()
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.batch = tf.Variable(0, dtype=tf.int64, trainable=False, name="batch")
        optimizer.build(model.trainable_variables)
        self._update = tf.function(lambda *batch: loss_update(self, batch), jit_compile=jit_compile)

    def checkpointed(self):
        return {"epoch": self.epoch, "batch": self.batch}

    def epoch_order(self, epoch):
        """The permutation of the examples that epoch `epoch` visits."""
        return np.random.default_rng([self.seed, epoch]).permutation(len(self.examples[0]))

    def batches(self):
        """Batches from the saved position to the end of the epoch; the position then moves
        to the next epoch."""
        order = self.epoch_order(int(self.epoch.numpy()))
        for b in range(int(self.batch.numpy()), len(order) // self.batch_size):
            rows = order[b * self.batch_size:(b + 1) * self.batch_size]
            self.batch.assign_add(1)
            yield tuple(array[rows] for array in self.examples)
        self.epoch.assign_add(1)
        self.batch.assign(0)

    def train_step(self, *batch):
        """One update on a batch; returns the dict of `zoo.training.guarded_update.guarded_update`."""
        return self._update(*batch)


def loss_update(rule, batch):
    """The guarded update of `rule.model` on `rule.loss_fn` over one batch."""
    variables = rule.model.trainable_variables
    if rule.strategy is not None:
        size = rule.items_per_update

        def replica_loss(*batch):
            first, rows = replica_rows(size, rule.strategy.num_replicas_in_sync)
            own = tuple(array[first:first + rows] for array in batch)
            objective, result, reported = penalised_loss(lambda: rule.loss_fn(rule.model, own, True),
                                                         rule.flow_penalty)
            share = rows / size
            if isinstance(result, tuple):  # a mean over `weight` items: this replica's share of them
                weight = result[1]
                share = weight / tf.distribute.get_replica_context().all_reduce(tf.distribute.ReduceOp.SUM, weight)
            return objective * share, None, scaled(reported, share)

        return distributed_update(rule.strategy, rule.optimizer, variables, replica_loss, batch,
                                  rule.clip_norm, rule.clip_value)
    with tf.GradientTape() as tape:
        objective, _, reported = penalised_loss(lambda: rule.loss_fn(rule.model, batch, True), rule.flow_penalty)
    return guarded_update(rule.optimizer, variables, objective, tape.gradient(objective, variables),
                          rule.clip_norm, rule.clip_value, reported=reported)


class GeneratedBatchRule:
    """Runs minibatch updates of `model` on batches drawn afresh: batch b is `make_batch(b)`.

    Args:
        model, optimizer, loss_fn: As in `MinibatchRule`.
        make_batch: `make_batch(index)` -> a tuple of arrays, one batch; the same index
            must give the same batch (draw it from (seed, index)).
        batch_size: Rows of each batch (for the examples-per-second rate).
        clip_norm, clip_value, jit_compile, flow_penalty: As in `zoo.training.tbptt.TBPTTRule`.
    """

    item_name = "examples"
    by_gradient = True

    def __init__(self, model, optimizer, loss_fn, make_batch, batch_size, clip_norm=0.0,
                 clip_value=0.0, jit_compile=False, flow_penalty=0.0):
        refuse_float16(model, "GeneratedBatchRule")
        self.model, self.optimizer, self.loss_fn, self.make_batch = model, optimizer, loss_fn, make_batch
        self.clip_norm, self.clip_value, self.flow_penalty = clip_norm, clip_value, flow_penalty
        self.items_per_update = batch_size
        self.strategy = running_strategy()
        self.batch = tf.Variable(0, dtype=tf.int64, trainable=False, name="batch")
        optimizer.build(model.trainable_variables)
        # Batches whose shapes vary (the NTM copy task draws a length per batch) share a
        # trace with unknown dimensions after the second shape, rather than one trace each.
        self._update = tf.function(lambda *batch: loss_update(self, batch), jit_compile=jit_compile,
                                   reduce_retracing=True)

    def checkpointed(self):
        return {"batch": self.batch}

    def batches(self):
        """Batches from the saved position on, without end."""
        while True:
            batch = self.make_batch(int(self.batch.numpy()))
            self.batch.assign_add(1)
            yield batch

    def train_step(self, *batch):
        """One update on a batch; returns the dict of `zoo.training.guarded_update.guarded_update`."""
        return self._update(*batch)
