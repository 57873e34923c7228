"""Stateful truncated backpropagation through time, TBPTT(k1, k2).

Every k1 time steps, one parameter update that backpropagates through the last k2 steps
(k2 >= k1; Williams & Peng, 1990). Per window of k2 steps (see `zoo.data.streams`):

    s_0 = carried state (no gradient flows into it)
    logits_1..k1,  s_k1 = model(x_1..k1,     s_0)     first k1 steps
    logits_k1+1..k2     = model(x_k1+1..k2,  s_k1)    the rest of the window
    loss  = mean over rows and the window's LAST k1 steps of -log p(target)
    carried state <- s_k1                             the next window starts k1 later

so every stream position is scored exactly once, with at least k2 - k1 steps of
gradient history behind it. k1 == k2 is ordinary stateful training. The rule owns the
carried state (variables it checkpoints), not the model, so checkpoints restore it and
an exported model never holds it.

As an update rule of `zoo.training.loop` it also walks the streams: `batches()` yields the
windows of an epoch from the checkpointed position (`window`), zeroing the carried
state at the start of each epoch.

Built inside a tf.distribute strategy's scope, each replica takes its block of streams
(`zoo.training.distribution`): it reads its rows of the carried state, and the rows every replica
carries on are gathered back in stream order, so the carried state (and its checkpoint)
is the same global [batch, units] tensor whatever the replica count.
"""

import contextlib

import keras
import tensorflow as tf

from zoo.data.streams import tbptt_windows
from zoo.layers.recurrent import portable_kernels
from zoo.layers.stack import zero_state
from zoo.training.distribution import replica_rows, running_strategy
from zoo.training.flow_penalty import penalised_loss, scaled
from zoo.training.guarded_update import distributed_update, guarded_update, refuse_float16
from zoo.training.precision import full_precision
from zoo.training.row_groups import loss_in_row_groups, update_row_groups


class TBPTTRule:
    """Runs TBPTT(k1, k2) updates of a state-in/state-out model (see `zoo.models.language_model`).

    Args:
        model: Keras model, `logits, *state = model([token_ids, *state])`.
        optimizer: Keras optimizer.
        batch_size: Number of streams (rows); fixes the carried state's shape.
        k1: Steps between updates, and steps scored per window.
        k2: Steps backpropagated through per update (window length), k2 >= k1.
        clip_norm: Clip gradients to this global norm (0: off).
        clip_value: Clip each gradient entry to [-clip_value, clip_value] (0: off),
            applied before the global-norm clip.
        jit_compile: Compile the update with XLA.
        streams: [batch_size, stream_length] int32 ids (`zoo.data.streams`), for
            `batches()`; not needed to call `train_step` directly.
        flow_penalty: lambda of the information-flow regulariser over the window's steps
            (`zoo.training.flow_penalty`; 0: off).
    """

    item_name = "chars"
    by_gradient = True

    def __init__(self, model, optimizer, batch_size, k1, k2, clip_norm=0.0, clip_value=0.0,
                 jit_compile=False, streams=None, flow_penalty=0.0):
        if not 1 <= k1 <= k2:
            raise ValueError(f"TBPTT needs 1 <= k1 <= k2, received k1={k1}, k2={k2}")
        refuse_float16(model, "TBPTTRule")
        self.model = model
        self.optimizer = optimizer
        self.k1, self.k2 = k1, k2
        self.clip_norm, self.clip_value = clip_norm, clip_value
        self.flow_penalty = flow_penalty
        self.carried_state = [tf.Variable(s, trainable=False, name=f"carried_state_{i}")
                              for i, s in enumerate(zero_state(model, batch_size))]
        self.window = tf.Variable(0, dtype=tf.int64, trainable=False, name="window")
        self.streams = streams
        self.batch_size = batch_size
        self.items_per_update = batch_size * k1
        self.strategy = running_strategy()
        optimizer.build(model.trainable_variables)
        self.jit_compile = bool(jit_compile)
        self._update = tf.function(self._update_step, jit_compile=jit_compile)

    def checkpointed(self):
        """What a checkpoint must hold besides the weights and optimizer (names are those
        of the checkpoints written before the core was shared, so old runs resume)."""
        return {"carried_state": list(self.carried_state), "window": self.window}

    def batches(self):
        """(inputs, targets) windows from the saved position to the end of the epoch.

        `window` counts the windows handed out this epoch, so a checkpoint taken after an
        update resumes at the next window; it returns to 0 when the epoch is done.
        """
        first = int(self.window.numpy())
        if first == 0:
            self.reset_state()  # every epoch starts from zero state
        for batch in tbptt_windows(self.streams, self.k1, self.k2, first):
            self.window.assign_add(1)
            yield batch
        self.window.assign(0)

    def reset_state(self):
        """Zero the carried state (start of an epoch)."""
        for variable in self.carried_state:
            variable.assign(tf.zeros_like(variable))

    def window_loss(self, inputs, targets, state, training):
        """(loss in nats per scored character, state after the first k1 steps).

        The loss is computed in at least float32 whatever the model's compute dtype. A
        training window on one device runs in row groups where the schedule splits
        (`zoo.training.row_groups`; not with the flow penalty's probed loop or XLA)."""
        inputs = tf.convert_to_tensor(inputs)
        state = [tf.convert_to_tensor(s) for s in state]
        groups = 1
        if training and self.strategy is None and not self.flow_penalty and not self.jit_compile:
            groups = update_row_groups(self.model, inputs.shape[0])
        if groups > 1:
            return loss_in_row_groups(lambda *rows: self._rows_loss(*rows, training), groups, inputs, targets, state)
        return self._rows_loss(inputs, targets, state, training)

    def _rows_loss(self, inputs, targets, state, training):
        """`window_loss` of these rows in one call."""
        logits, *carried = self.model([inputs[:, :self.k1], *state], training=training)
        if self.k2 > self.k1:
            rest, *_ = self.model([inputs[:, self.k1:], *carried], training=training)
            logits = tf.concat([logits, rest], axis=1)
        scored = slice(self.k2 - self.k1, self.k2)
        loss = keras.losses.sparse_categorical_crossentropy(
            targets[:, scored], full_precision(logits[:, scored]), from_logits=True)
        return tf.reduce_mean(loss), carried

    def gradients(self, inputs, targets, state, training=True):
        """(loss, gradients of every trainable variable, carried state, reported) for one
        window; the gradients are of loss + flow_penalty * Omega, and `reported` holds the
        loss and Omega where the penalty is on (`zoo.training.flow_penalty.penalised_loss`)."""
        variables = self.model.trainable_variables
        with tf.GradientTape() as tape:
            objective, (loss, carried), reported = penalised_loss(
                lambda: self.window_loss(inputs, targets, state, training), self.flow_penalty)
        return loss, tape.gradient(objective, variables), carried, reported

    def _update_step(self, inputs, targets):
        if self.strategy is not None:
            return self._distributed_step(inputs, targets)
        # Runs while tracing only. XLA cannot compile the cuDNN kernels, so an XLA step
        # is traced without them.
        with portable_kernels() if self.jit_compile else contextlib.nullcontext():
            loss, grads, carried, reported = self.gradients(inputs, targets, self.carried_state)

        def carry():
            for variable, value in zip(self.carried_state, carried):
                # float32 variables; a mixed-precision model returns its compute dtype.
                variable.assign(tf.cast(value, variable.dtype))

        # A skipped (non-finite) update leaves the carried state as it was, too.
        return guarded_update(self.optimizer, self.model.trainable_variables, loss, grads,
                              self.clip_norm, self.clip_value, also_on_apply=carry, reported=reported)

    def _distributed_step(self, inputs, targets):
        def replica_loss(inputs, targets):
            first, rows = replica_rows(self.batch_size, self.strategy.num_replicas_in_sync)
            state = [tf.convert_to_tensor(s)[first:first + rows] for s in self.carried_state]
            objective, (_, carried), reported = penalised_loss(
                lambda: self.window_loss(inputs[first:first + rows], targets[first:first + rows], state, True),
                self.flow_penalty)
            share = rows / self.batch_size
            return objective * share, [tf.cast(c, tf.float32) for c in carried], scaled(reported, share)

        def carry(carried):
            for variable, value in zip(self.carried_state, carried):
                variable.assign(value)

        return distributed_update(self.strategy, self.optimizer, self.model.trainable_variables,
                                  replica_loss, (inputs, targets), self.clip_norm, self.clip_value,
                                  on_apply=carry)

    def train_step(self, inputs, targets):
        """One TBPTT update on a window; returns loss, grad_norm (before clipping),
        clipped (whether the global-norm clip acted), finite (False: the update was
        skipped) and the grads after clipping."""
        return self._update(inputs, targets)
