"""The char_lm recipe end to end on a shrunk config: TensorBoard output, resume, CLI errors."""

import json
import math
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
import tensorflow as tf
from char_lm_runs import restore_model, resume_char_lm, smoke_config, train_char_lm
from event_files import load_events, scalar_series
from tensorboard_server import tensorboard

from recipes.char_lm import SMOKE, CharLMConfig


def test_smoke_run_learns_and_writes_its_folder(smoke_run):
    run_dir = smoke_run["run_dir"]
    config = json.loads((run_dir / "config.json").read_text())
    assert config["units"] == SMOKE["units"] and config["steps"] == 30
    vocabulary = json.loads((run_dir / "vocabulary.json").read_text())["characters"]
    assert tf.train.latest_checkpoint(str(run_dir / "checkpoints")).endswith("ckpt-30")
    uniform_bits = math.log2(len(vocabulary) + 1)
    assert smoke_run["valid/bits_per_char"] < uniform_bits - 1.0
    assert smoke_run["sample"].startswith(SMOKE.get("sample_prompt", "The "))


EXPECTED_SCALARS = [
    "train/loss", "train/bits_per_char", "train/learning_rate", "train/grad_norm",
    "train/clipped_share", "train/chars_per_second", "valid/loss", "valid/bits_per_char",
    "valid/perplexity", "gradient_flow/first_to_last_ratio",
]


def test_tensorboard_tags_exist_with_finite_values(smoke_run):
    events = load_events(smoke_run["run_dir"])
    tags = events.Tags()["tensors"]
    for tag in EXPECTED_SCALARS:
        series = scalar_series(events, tag)
        assert series, tag
        assert all(math.isfinite(v) for v in series.values()), tag
    assert sorted(scalar_series(events, "train/loss")) == list(range(1, 31))
    assert sorted(scalar_series(events, "valid/loss")) == [15, 30]
    plugins = {tag: events.SummaryMetadata(tag).plugin_data.plugin_name for tag in tags}
    histograms = [t for t, p in plugins.items() if p == "histograms"]
    assert any(t.startswith("weights/") and "kernel" in t for t in histograms)
    assert any(t.startswith("gradients/") for t in histograms)
    for tag in histograms:
        assert all(np.isfinite(tf.make_ndarray(e.tensor_proto)).all() for e in events.Tensors(tag))
    assert plugins["samples/text"] == "text"
    assert plugins["gradient_flow/plot"] == "images"
    assert "_hparams_/session_start_info" in tags
    # No experiment list in the shared logdir: TensorBoard builds it from every run's
    # hparams, so recipes sharing a logdir do not hide each other (zoo.run.summaries).
    root = load_events(smoke_run["run_dir"].parent)
    assert "_hparams_/experiment" not in root.Tags()["tensors"]


def test_resumed_run_continues_with_the_same_losses_and_weights(tmp_path):
    whole = train_char_lm(smoke_config(tmp_path / "a", steps=16))
    # Interrupted after step 7, between checkpoints (every 10 steps in SMOKE).
    half = train_char_lm(smoke_config(tmp_path / "b", steps=16),
                         stop_requested=lambda step: step == 7)
    assert half["stopped"] and half["steps"] == 7
    resume_char_lm(half["run_dir"])

    expected = scalar_series(load_events(whole["run_dir"]), "train/loss")
    resumed = scalar_series(load_events(half["run_dir"]), "train/loss")
    assert sorted(resumed) == sorted(expected) == list(range(1, 17))
    np.testing.assert_allclose([resumed[s] for s in range(1, 17)],
                               [expected[s] for s in range(1, 17)], rtol=1e-5)
    _, _, model_a = restore_model(whole["run_dir"])
    _, _, model_b = restore_model(half["run_dir"])
    for a, b in zip(model_a.weights, model_b.weights):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-6)


# Fresh processes, 10-26 s: slow (CI runs it after the default suite).
@pytest.mark.slow
def test_a_real_tensorboard_serves_the_scalar_tags(smoke_run):
    with tensorboard(smoke_run["run_dir"].parent) as url:
        run, tags, deadline = smoke_run["run_dir"].name, {}, time.monotonic() + 60
        while run not in tags and time.monotonic() < deadline:
            with urllib.request.urlopen(f"{url}/data/plugin/scalars/tags", timeout=10) as reply:
                tags = json.load(reply)
            time.sleep(0.5)
        for tag in EXPECTED_SCALARS:
            assert tag in tags[run], tag
        query = f"{url}/data/plugin/scalars/scalars?run={run}&tag=train/loss"
        with urllib.request.urlopen(query, timeout=10) as reply:
            points = json.load(reply)
        assert len(points) == 30 and all(math.isfinite(p[2]) for p in points)


def test_sample_command_continues_the_prompt(smoke_run, capsys):
    from zoo.sample import main as sample_main

    argv = ["--from", str(smoke_run["run_dir"]), "--prompt", "In ", "--length", "25", "--seed", "3"]
    sample_main(argv)
    first = capsys.readouterr().out
    sample_main(argv)
    assert capsys.readouterr().out == first
    assert first.startswith("In ") and len(first.rstrip("\n")) >= 28


# A fresh process (about 10 s); the bad-input tables check the same line in-process: slow.
@pytest.mark.slow
def test_command_line_error_has_no_traceback(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "recipes.char_lm", "--data", str(tmp_path / "none.txt"),
         "--logdir", str(tmp_path / "runs")], capture_output=True, text=True)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith("error: --data")
    assert not (tmp_path / "runs").exists()


@pytest.mark.slow
def test_the_default_configuration_learns_within_its_first_updates(tmp_path):
    """The default model and corpus (minutes): 150 updates reach below the corpus'
    unigram entropy (4.69 bits per character)."""
    result = train_char_lm(CharLMConfig(logdir=str(tmp_path), steps=150, validate_every=150,
                                        warmup_steps=20, sample_length=20))
    assert result["valid/bits_per_char"] < 4.0


def test_a_run_written_before_recipes_were_named_still_resumes_and_exports(tmp_path):
    """Runs from before the shared core have no "recipe" in config.json (their checkpoints
    use the same names); they belong to char_lm."""
    from export.saved_model import export_run

    half = train_char_lm(smoke_config(tmp_path, steps=12), stop_requested=lambda step: step == 10)
    config_file = half["run_dir"] / "config.json"
    values = json.loads(config_file.read_text())
    del values["recipe"]
    config_file.write_text(json.dumps(values))
    assert resume_char_lm(half["run_dir"])["steps"] == 12
    assert (export_run(half["run_dir"], tmp_path / "out") / "saved_model.pb").is_file()


@pytest.mark.parametrize("stddev", [1.0, 0.25])
def test_the_recipe_starts_its_embedding_at_the_configured_scale_and_its_cells_as_keras_does(stddev):
    """The recipe's configuration sets the embedding's scale; the LSTM cells keep
    `keras.layers.LSTMCell`'s initialisers (users copy weights between the two)."""
    import keras

    from recipes.char_lm import TASK

    config = CharLMConfig(embedding_stddev=stddev)
    model = TASK.build_model(config, TASK.prepare(config).assets)
    table = model.get_layer("embedding").embeddings.numpy()
    assert table.mean() == pytest.approx(0.0, abs=0.05 * stddev)
    assert table.std() == pytest.approx(stddev, rel=0.05)
    keras_cell = keras.layers.LSTMCell(config.units)
    for cell in (model.get_layer(f"rnn_{n}").cell for n in range(config.layers)):
        for part in ("kernel_initializer", "recurrent_initializer"):
            assert keras.initializers.serialize(getattr(cell, part)) == \
                keras.initializers.serialize(getattr(keras_cell, part))
        assert cell.forget_bias == 1.0  # Keras' unit_forget_bias
