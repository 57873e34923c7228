"""Checkpoints of a training run: weights, optimizer, the update rule's state, step, and
the configuration they were written with.

Keras 3 models are not tracked by `tf.train.Checkpoint` on their own (only the
optimizer's references to the weights would be saved, and no dropout seed state), so the
checkpoint lists the variables explicitly: `model.variables` (weights and the dropout
seed generators' states), `optimizer.variables` (moments, iteration count), the step,
the count of clipped updates, and whatever the update rule carries from update to update
(its `checkpointed()`: TBPTT's carried state and window, a minibatch rule's epoch and
batch), so a resumed run continues exactly where the checkpoint was taken.

Each checkpoint also holds `config`: the run's configuration as canonical JSON, less
what may change on resume (`zoo.run.folders.config_record`). A resume or an export whose
config.json differs from it is refused, naming the field. Checkpoints written before
the record existed are read as before, with a one-line warning.

Reading tries every checkpoint on disk, newest first (found by their `ckpt-N.index`
files, so an empty or damaged `checkpoint` state file loses nothing), and skips, with a
warning, each that is truncated, bit-flipped or missing a file.
"""

import json
import pathlib
import re
import shutil
import sys

import tensorflow as tf

from zoo.run.errors import InputError

CHECKPOINT_FOLDER = "checkpoints"
CONFIG_KEY = "config/.ATTRIBUTES/VARIABLE_VALUE"
# What reading a damaged checkpoint raises: TensorFlow's errors (a truncated index is
# a bare OpError "file is too short to be an sstable"), a truncated data file's
# IndexError "Read less bytes ...", and the file system's.
UNREADABLE = (tf.errors.OpError, IndexError, OSError, UnicodeDecodeError)
_INDEX = re.compile(r"^ckpt-(\d+)\.index$")
# A recipe run's: its config.json, and the flags a resume may change.
RUN_SETTINGS = ("config.json", "only --steps, --strategy and --devices may change on resume")


class RunCheckpoints:
    """Saves and restores a run's training state under `run_dir/checkpoints`.

    Args:
        run_dir: The run folder.
        model, optimizer: What is trained (the optimizer already built).
        rule_state: The update rule's `checkpointed()`: name -> variable or list of them.
        config_record: The run's `zoo.run.folders.config_record`, saved in every checkpoint.
        keep: How many recent checkpoints to keep.
        settings: How a refusal names where `config_record` came from, and what may change
            (a recipe's run folder by default; `zoo.training.stateful` names its arguments).
    """

    def __init__(self, run_dir, model, optimizer, rule_state, config_record, keep=3, settings=None):
        self.settings = settings
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.clipped_steps = tf.Variable(0, dtype=tf.int64, trainable=False, name="clipped_steps")
        self.config_record = config_record
        self.state = dict(model_variables=list(model.variables), optimizer_variables=list(optimizer.variables),
                          step=self.step, clipped_steps=self.clipped_steps, **rule_state)
        self.checkpoint = tf.train.Checkpoint(
            **self.state, config=tf.Variable(config_record, dtype=tf.string, trainable=False))
        folder = pathlib.Path(run_dir) / CHECKPOINT_FOLDER
        try:
            self.manager = tf.train.CheckpointManager(self.checkpoint, str(folder), max_to_keep=keep)
        except ValueError:  # an empty or damaged `checkpoint` state file: rebuilt from the files
            rewrite_state_file(folder)
            self.manager = tf.train.CheckpointManager(self.checkpoint, str(folder), max_to_keep=keep)

    @property
    def folder(self):
        return self.manager.directory

    def save(self):
        return self.manager.save(checkpoint_number=int(self.step))

    def restore_latest(self, run_dir=None):
        """Restore the newest readable checkpoint of `run_dir`'s checkpoints (default this
        run's own); returns its path, or None when there is none. Removes the `_temp`
        folders a kill during a write leaves behind."""
        folder = pathlib.Path(run_dir or pathlib.Path(self.folder).parent) / CHECKPOINT_FOLDER
        remove_unfinished_writes(pathlib.Path(self.folder))
        return restore_newest_readable(
            checkpoint_paths(folder), self.config_record,
            lambda has_config: tf.train.Checkpoint(**self.state, **(
                {"config": self.checkpoint.config} if has_config else {})),
            lambda status: status.assert_consumed(), self.settings)


def restore_weights(run_dir, model, config_record):
    """Load only the model's variables from the run's newest readable checkpoint (for
    sampling and export); returns the checkpoint path, or None when the run has none."""
    return restore_newest_readable(
        checkpoint_paths(pathlib.Path(run_dir) / CHECKPOINT_FOLDER), config_record,
        lambda has_config: tf.train.Checkpoint(model_variables=list(model.variables)),
        lambda status: status.expect_partial().assert_existing_objects_matched())


def checkpoint_paths(folder):
    """The checkpoints in `folder`, oldest first, by the number of their index files."""
    if not pathlib.Path(folder).is_dir():
        return []
    numbered = [(int(match.group(1)), str(pathlib.Path(folder) / f"ckpt-{match.group(1)}"))
                for match in map(_INDEX.match, (p.name for p in pathlib.Path(folder).iterdir())) if match]
    return [path for _, path in sorted(numbered)]


def rewrite_state_file(folder):
    """Replace the `checkpoint` state file by one that lists the checkpoints on disk."""
    paths = checkpoint_paths(folder)
    (pathlib.Path(folder) / "checkpoint").unlink(missing_ok=True)
    if paths:
        tf.compat.v1.train.update_checkpoint_state(str(folder), paths[-1], all_model_checkpoint_paths=paths)


def remove_unfinished_writes(folder):
    """Delete `ckpt-N_temp` folders: what a kill during a save leaves (the save writes
    there, then moves its files into place)."""
    if pathlib.Path(folder).is_dir():
        for temporary in pathlib.Path(folder).glob("*_temp"):
            shutil.rmtree(temporary, ignore_errors=True)


def restore_newest_readable(paths, config_record, checkpoint_for, check, settings=None):
    """Restore the newest of `paths` (oldest first) that reads, with the checkpoint object
    `checkpoint_for(has_config)`; warn about each that does not. InputError when the
    checkpoints were written with another configuration, or do not fit the model."""
    legacy_warned = False
    for path in reversed(paths):
        try:
            reader = tf.train.load_checkpoint(path)
            has_config = reader.has_tensor(CONFIG_KEY)
            if has_config:
                check_config_record(path, reader.get_tensor(CONFIG_KEY).decode(), config_record, settings)
            elif not legacy_warned:
                warn(f"{path} was written before checkpoints recorded their configuration; "
                     "config.json is not checked against it")
                legacy_warned = True
            check(checkpoint_for(has_config).restore(path))
            return path
        except (AssertionError, ValueError) as error:
            if isinstance(error, InputError):
                raise
            raise InputError(f"{path}: the checkpoint does not match this run's model "
                             f"(was config.json changed?): {str(error).splitlines()[0]}") from error
        except UNREADABLE as error:
            warn(f"checkpoint {path} is unreadable ({type(error).__name__}); "
                 "falling back to the one before it")
    if paths:
        raise InputError(f"no readable checkpoint among {len(paths)} in {pathlib.Path(paths[-1]).parent}")
    return None


def warn(message):
    """One line on stderr (a Python warning would add the source line)."""
    print(f"warning: {message}", file=sys.stderr)


def check_config_record(path, saved, now, settings=None):
    """InputError naming the first field whose value differs between the configuration a
    checkpoint was written with (`saved`) and the run's config.json (`now`); `settings`
    is (where `now` comes from, what may change), `RUN_SETTINGS` by default."""
    source, changeable = settings or RUN_SETTINGS
    if saved == now:
        return
    saved, now = json.loads(saved), json.loads(now)
    for name in sorted(set(saved) | set(now)):
        if saved.get(name, "(absent)") != now.get(name, "(absent)"):
            raise InputError(
                f"{source}: {name} is {now.get(name, '(absent)')!r}, but {path} was written with "
                f"{saved.get(name, '(absent)')!r}; {changeable}")
