"""tf.distribute (`zoo.training.distribution`): on 2 logical CPU devices, TBPTT(k1, k2) with k2 > k1
and the minibatch rule give the losses and weights of 1 device with the same global
batch; a run stopped on 2 replicas resumes on 1 with the same losses; a NaN on one
replica makes both skip; seq2seq's token-weighted losses, the tagger's word-weighted
ones and the tree recipe's batches of whole trees too (these share one fresh interpreter,
about a minute: slow tests, which `.ci/run` runs after the default suite); bad settings
are refused in one line."""

import json
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from recipes.classify import main as classify_main
from zoo.run.config import TrainingConfig
from zoo.run.errors import InputError

TESTS = pathlib.Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    out = tmp_path_factory.mktemp("distributed")
    result = subprocess.run([sys.executable, str(TESTS / "distributed_runs.py"), str(out)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    return out, json.loads((out / "losses.json").read_text())


def weights(out, name):
    with np.load(out / f"{name}.npz") as archive:
        return [archive[key] for key in sorted(archive.files, key=lambda k: int(k.split("_")[1]))]


def assert_same(out, losses, first, second):
    assert len(losses[first]) == len(losses[second]) == 8
    np.testing.assert_allclose(losses[second], losses[first], rtol=1e-5)
    for a, b in zip(weights(out, first), weights(out, second), strict=True):
        np.testing.assert_allclose(b, a, rtol=1e-5, atol=1e-6)


@pytest.mark.slow
def test_tbptt_on_two_replicas_equals_one_device(runs):
    out, losses = runs
    assert losses["lm-default"][0] != losses["lm-default"][-1]  # it trained
    assert_same(out, losses, "lm-default", "lm-mirrored")


@pytest.mark.slow
def test_a_run_stopped_on_two_replicas_resumes_on_one_with_the_same_losses(runs):
    out, losses = runs
    assert_same(out, losses, "lm-default", "lm-switch")


@pytest.mark.slow
def test_minibatch_updates_on_two_replicas_equal_one_device(runs):
    out, losses = runs
    assert_same(out, losses, "clf-default", "clf-mirrored")


@pytest.mark.slow
def test_token_weighted_losses_on_two_replicas_equal_one_device(runs):
    """seq2seq on word pairs: each replica weighs its mean by its share of the tokens."""
    out, losses = runs
    assert_same(out, losses, "s2s-default", "s2s-mirrored")


@pytest.mark.slow
def test_the_taggers_word_weighted_losses_on_two_replicas_equal_one_device(runs):
    """recipes.tag: each replica weighs its heads' mean by its share of the real words."""
    out, losses = runs
    assert_same(out, losses, "tag-default", "tag-mirrored")


@pytest.mark.slow
def test_tree_batches_on_two_replicas_equal_one_device(runs):
    """recipes.tree: each replica takes whole trees (rows), and the loss is the mean over trees."""
    out, losses = runs
    assert_same(out, losses, "tree-default", "tree-mirrored")


@pytest.mark.slow
def test_a_nan_on_one_replica_makes_every_replica_skip_the_update(runs):
    _, losses = runs
    skipped_finite, unchanged, applied_finite, moved = losses["nan"]
    assert not skipped_finite and unchanged
    assert applied_finite and moved


def test_a_batch_that_does_not_split_into_the_replicas_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit) as stopped:
        classify_main(["--smoke", "--strategy", "mirrored", "--devices", "3", "--batch-size", "16",
                       "--logdir", str(tmp_path / "runs")])
    assert stopped.value.code == 2
    error = capsys.readouterr().err.strip()
    # This process runs on 1 CPU device (TensorFlow has started); a new one would split
    # its CPU in 3 and refuse --batch-size 16.
    assert len(error.splitlines()) == 1 and ("--batch-size 16" in error or "--devices 3" in error), error
    assert not (tmp_path / "runs").exists()


def test_xla_and_multi_worker_without_a_cluster_are_refused(monkeypatch):
    with pytest.raises(InputError, match="--jit-compile"):
        TrainingConfig(strategy="mirrored", jit_compile=True)
    monkeypatch.delenv("TF_CONFIG", raising=False)
    monkeypatch.delenv("SLURM_PROCID", raising=False)
    from zoo.training.distribution import make_strategy
    with pytest.raises(InputError, match="TF_CONFIG"):
        make_strategy("multi_worker")
