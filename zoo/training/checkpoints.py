"""Checkpoints of a training run: weights, optimizer, the update rule's state, step.

Keras 3 models are not tracked by `tf.train.Checkpoint` on their own (only the
optimizer's references to the weights would be saved, and no dropout seed state), so the
checkpoint lists the variables explicitly: `model.variables` (weights and the dropout
seed generators' states), `optimizer.variables` (moments, iteration count), the step,
the count of clipped updates, and whatever the update rule carries from update to update
(its `checkpointed()`: TBPTT's carried state and window, a minibatch rule's epoch and
batch), so a resumed run continues exactly where the checkpoint was taken.
"""

import pathlib
import warnings

import tensorflow as tf

from zoo.run.errors import InputError

CHECKPOINT_FOLDER = "checkpoints"
# What a truncated, corrupt or half-deleted checkpoint raises when read (a truncated
# data file surfaces from TensorFlow's reader as IndexError "Read less bytes ...").
UNREADABLE = (tf.errors.DataLossError, tf.errors.NotFoundError, tf.errors.InvalidArgumentError,
              tf.errors.OutOfRangeError, tf.errors.UnknownError, IndexError, OSError)


class RunCheckpoints:
    """Saves and restores a run's training state under `run_dir/checkpoints`.

    Args:
        run_dir: The run folder.
        model, optimizer: What is trained (the optimizer already built).
        rule_state: The update rule's `checkpointed()`: name -> variable or list of them.
        keep: How many recent checkpoints to keep.
    """

    def __init__(self, run_dir, model, optimizer, rule_state, keep=3):
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.clipped_steps = tf.Variable(0, dtype=tf.int64, trainable=False, name="clipped_steps")
        self.checkpoint = tf.train.Checkpoint(
            model_variables=list(model.variables),
            optimizer_variables=list(optimizer.variables),
            step=self.step, clipped_steps=self.clipped_steps, **rule_state)
        self.manager = tf.train.CheckpointManager(
            self.checkpoint, str(run_dir / CHECKPOINT_FOLDER), max_to_keep=keep)

    @property
    def folder(self):
        return self.manager.directory

    def save(self):
        return self.manager.save(checkpoint_number=int(self.step))

    def restore_latest(self, run_dir=None):
        """Restore the newest readable checkpoint (of `run_dir`'s checkpoints, default this
        run's own); returns its path, or None when there is none.

        A checkpoint is committed by TensorFlow in two steps (data and index files written
        and renamed, then the `checkpoint` state file replaced), so a kill mid-write
        leaves the previous one current. A newest checkpoint that is nevertheless
        truncated or corrupt is skipped with a warning, and the one before it is used.
        """
        paths = self.manager.checkpoints
        if run_dir is not None and pathlib.Path(run_dir) / CHECKPOINT_FOLDER != pathlib.Path(self.folder):
            state = tf.train.get_checkpoint_state(str(pathlib.Path(run_dir) / CHECKPOINT_FOLDER))
            paths = list(state.all_model_checkpoint_paths) if state else []
        return restore_newest_readable(self.checkpoint, paths, lambda status: status.assert_consumed())


def restore_weights(run_dir, model):
    """Load only the model's variables from the run's newest readable checkpoint (for
    sampling and export); returns the checkpoint path, or None when the run has none."""
    state = tf.train.get_checkpoint_state(str(run_dir / CHECKPOINT_FOLDER))
    paths = list(state.all_model_checkpoint_paths) if state else []
    checkpoint = tf.train.Checkpoint(model_variables=list(model.variables))
    return restore_newest_readable(
        checkpoint, paths, lambda status: status.expect_partial().assert_existing_objects_matched())


def restore_newest_readable(checkpoint, paths, check):
    """Restore the newest of `paths` (oldest first) that reads; warn about each that
    does not. InputError when the checkpoints do not fit the model (another config)."""
    for path in reversed(paths):
        try:
            check(checkpoint.restore(path))
            return path
        except (AssertionError, ValueError) as error:
            raise InputError(f"{path}: the checkpoint does not match this run's model "
                             f"(was config.json changed?): {str(error).splitlines()[0]}") from error
        except UNREADABLE as error:
            warnings.warn(f"checkpoint {path} is unreadable ({type(error).__name__}); "
                          "falling back to the one before it", stacklevel=2)
    if paths:
        raise InputError(f"no readable checkpoint among {len(paths)} in "
                         f"{paths[-1].rsplit('/', 2)[0]}")
    return None
