"""A real 2-process `MultiWorkerMirroredStrategy` cluster on 127.0.0.1 (free ports,
`TF_CONFIG` per process): a SIGTERM to one worker stops both with a checkpoint, only the
chief writes, the chief's checkpoint resumes on 1 process, and the losses are those of
the 1-process run; a SIGKILLed worker makes the other exit non-zero naming it, within
the test's timeout. Marked slow (about 20 s each); `.ci/run` runs them after the default suite."""

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest
from char_lm_runs import smoke_config
from event_files import load_events, scalar_series
from run_folders import checkpoint_steps, has_checkpoint, only_run, wait_for

from recipes.char_lm import TASK
from zoo.training.loop import train_and_evaluate

# Dropout off: each replica draws its own masks, which 1 device draws for all rows at once.
FLAGS = ["--smoke", "--dropout", "0", "--k1", "5", "--k2", "9"]
STEPS = 40  # the smoke configuration checkpoints every 10 steps


def free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def start_cluster(logdir, *flags):
    """Two workers, each `python -m recipes.char_lm ... --strategy multi_worker`, their
    temporary files in logdir/../tmp."""
    scratch = logdir.parent / "tmp"
    scratch.mkdir(exist_ok=True)
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    workers = []
    for index in range(2):
        environment = {**os.environ, "TMPDIR": str(scratch), "TF_CONFIG": json.dumps(
            {"cluster": cluster, "task": {"type": "worker", "index": index}})}
        workers.append(subprocess.Popen(
            [sys.executable, "-m", "recipes.char_lm", *FLAGS, "--strategy", "multi_worker",
             "--logdir", str(logdir), *flags], env=environment, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True))
    return workers, cluster["worker"]


def losses(run_dir):
    series = scalar_series(load_events(run_dir), "train/loss")
    return [series[step] for step in sorted(series)]


def one_process(tmp_path, steps):
    config = smoke_config(tmp_path / f"single-{steps}", steps=steps, dropout=0.0, k1=5, k2=9)
    return losses(train_and_evaluate(TASK, config, show_progress=False)["run_dir"])


@pytest.mark.slow
def test_a_two_worker_run_has_the_losses_of_one_process_and_resumes_on_one(tmp_path):
    """SIGTERM to the non-chief worker (a preemption) stops both at the same step with the
    chief's checkpoint; that checkpoint (2 replicas) continues on 1 process; all the
    losses are those of one uninterrupted 1-process run."""
    logdir = tmp_path / "runs"
    workers, _ = start_cluster(logdir, "--steps", str(STEPS))
    wait_for(lambda: has_checkpoint(logdir, 10), timeout=180)
    workers[1].send_signal(signal.SIGTERM)
    outputs = [worker.communicate(timeout=300)[0] for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], outputs[0][-2000:] + outputs[1][-2000:]
    assert "SIGTERM: stopping" in outputs[1] and "the chief wrote the run" in outputs[1]
    assert "stopped by another worker's stop after step" in outputs[0]
    run_dir = only_run(logdir)  # the other worker wrote no run folder,
    assert not list((tmp_path / "tmp").glob("zoo-worker-*"))  # and removed its scratch one
    stopped_at = max(checkpoint_steps(run_dir))
    assert stopped_at < STEPS and sorted(scalar_series(load_events(run_dir), "train/loss"))[-1] == stopped_at
    resumed = subprocess.run([sys.executable, "-m", "recipes.char_lm", "--resume", str(run_dir),
                              "--strategy", "default"], capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    np.testing.assert_allclose(losses(run_dir), one_process(tmp_path, STEPS), rtol=1e-5)


@pytest.mark.slow
def test_a_killed_worker_stops_the_other_with_a_line_naming_it(tmp_path):
    workers, addresses = start_cluster(tmp_path / "runs", "--steps", "100000", "--checkpoint-every", "5")
    try:
        wait_for(lambda: has_checkpoint(tmp_path / "runs", 5), timeout=180)
        workers[1].kill()
        killed = time.monotonic()
        output, _ = workers[0].communicate(timeout=120)
        waited = time.monotonic() - killed
    finally:
        for worker in workers:
            worker.kill()
    assert workers[0].returncode == 1, output[-3000:]
    error = [line for line in output.splitlines() if line.startswith("error: ")]
    assert len(error) == 1 and f"lost worker 1 ({addresses[1]})" in error[0], output[-3000:]
    assert "the last checkpoint is" in error[0]
    print(f"the surviving worker stopped {waited:.1f} s after the kill")
