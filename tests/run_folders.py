"""Looking at run folders from outside, as a user watching a training process would."""

import dataclasses
import pathlib
import subprocess
import sys
import time

import numpy as np
import tensorflow as tf
from event_files import load_events, scalar_series


def wait_for(condition, timeout=120):
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def run_folders(logdir):
    """The run folders under `logdir` (none while it is missing); a hidden folder is a
    run still being created, not yet one."""
    logdir = pathlib.Path(logdir)
    if not logdir.exists():
        return []
    return [p for p in logdir.iterdir() if p.is_dir() and not p.name.startswith(".")]


def only_run(logdir):
    """The one run folder under `logdir`."""
    runs = run_folders(logdir)
    assert len(runs) == 1, runs
    return runs[0]


def has_checkpoint(logdir, step):
    """Whether `logdir`'s one run folder has a checkpoint of `step` (a wait_for condition:
    False while the run folder is still being created)."""
    runs = run_folders(logdir)
    return len(runs) == 1 and step in checkpoint_steps(runs[0])


def checkpoint_steps(run_dir):
    state = tf.train.get_checkpoint_state(str(run_dir / "checkpoints"))
    return [int(p.rsplit("-", 1)[1]) for p in state.all_model_checkpoint_paths] if state else []


def killed_then_resumed(module, logdir, flags, kill_after):
    """The run folder of `python -m module *flags --logdir logdir`, SIGKILLed once its
    checkpoint of step `kill_after` exists, then resumed to the end by `--resume`."""
    process = subprocess.Popen([sys.executable, "-m", module, *flags, "--logdir", str(logdir)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_for(lambda: has_checkpoint(logdir, kill_after))
    process.kill()
    process.wait()
    run_dir = only_run(logdir)
    resumed = subprocess.run([sys.executable, "-m", module, "--resume", str(run_dir)],
                             capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    return run_dir


def assert_resumes_like_a_straight_run(task, config, score_tag, kill_after):
    """`config` (its recipe's --smoke configuration with a `logdir`) trained straight, and
    `python -m RECIPE --smoke --steps N` SIGKILLed after its checkpoint of `kill_after`
    then resumed: the same training losses at every step, and the same final
    `score_tag`."""
    logdir = pathlib.Path(config.logdir)
    from zoo.training.loop import train_and_evaluate

    whole = train_and_evaluate(task, dataclasses.replace(config, logdir=str(logdir / "whole")), show_progress=False)
    run_dir = killed_then_resumed(task.module, logdir / "runs", ["--smoke", "--steps", str(config.steps)], kill_after)
    expected, got = (load_events(folder) for folder in (whole["run_dir"], run_dir))
    losses, resumed = scalar_series(expected, "train/loss"), scalar_series(got, "train/loss")
    assert sorted(resumed) == list(range(1, config.steps + 1))
    np.testing.assert_allclose([resumed[s] for s in sorted(resumed)], [losses[s] for s in sorted(losses)], rtol=1e-5)
    np.testing.assert_allclose(list(scalar_series(got, score_tag).values()),
                               list(scalar_series(expected, score_tag).values()), rtol=1e-6)
