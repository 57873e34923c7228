"""Looking at run folders from outside, as a user watching a training process would."""

import pathlib
import time

import tensorflow as tf


def wait_for(condition, timeout=120):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def only_run(logdir):
    """The one run folder under `logdir` (a hidden folder is a run still being created)."""
    runs = [p for p in pathlib.Path(logdir).iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(runs) == 1, runs
    return runs[0]


def checkpoint_steps(run_dir):
    state = tf.train.get_checkpoint_state(str(run_dir / "checkpoints"))
    return [int(p.rsplit("-", 1)[1]) for p in state.all_model_checkpoint_paths] if state else []
