"""Checkpoints of a training run: weights, optimizer, carried state, data position, step.

Keras 3 models are not tracked by `tf.train.Checkpoint` on their own (only the
optimizer's references to the weights would be saved, and no dropout seed state), so the
checkpoint lists the variables explicitly: `model.variables` (weights and the dropout
seed generators' states), `optimizer.variables` (moments, iteration count), the trainer's
carried state, the position (step, epoch, window within the epoch) and the count of
clipped updates.
"""

import tensorflow as tf

CHECKPOINT_FOLDER = "checkpoints"


class RunCheckpoints:
    """Saves and restores a run's training state under `run_dir/checkpoints`.

    Args:
        run_dir: The run folder.
        model, optimizer: What is trained (the optimizer already built).
        carried_state: The trainer's carried-state variables.
        keep: How many recent checkpoints to keep.
    """

    def __init__(self, run_dir, model, optimizer, carried_state, keep=3):
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.epoch = tf.Variable(0, dtype=tf.int64, trainable=False, name="epoch")
        self.window = tf.Variable(0, dtype=tf.int64, trainable=False, name="window")
        self.clipped_steps = tf.Variable(0, dtype=tf.int64, trainable=False, name="clipped_steps")
        self.checkpoint = tf.train.Checkpoint(
            model_variables=list(model.variables),
            optimizer_variables=list(optimizer.variables),
            carried_state=list(carried_state),
            step=self.step, epoch=self.epoch, window=self.window,
            clipped_steps=self.clipped_steps)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, str(run_dir / CHECKPOINT_FOLDER), max_to_keep=keep)

    @property
    def folder(self):
        return self.manager.directory

    def save(self):
        return self.manager.save(checkpoint_number=int(self.step))

    def restore_latest(self):
        """Restore the newest checkpoint; returns its path, or None when there is none."""
        path = self.manager.latest_checkpoint
        if path:
            self.checkpoint.restore(path).assert_consumed()
        return path


def restore_weights(run_dir, model):
    """Load only the model's variables from the run's newest checkpoint (for sampling and
    export); returns the checkpoint path, or None when the run has none."""
    path = tf.train.latest_checkpoint(str(run_dir / CHECKPOINT_FOLDER))
    if path:
        checkpoint = tf.train.Checkpoint(model_variables=list(model.variables))
        checkpoint.restore(path).expect_partial().assert_existing_objects_matched()
    return path
