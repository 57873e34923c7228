"""What users already have still works: run folders and a `.keras` file written by the code
before `zoo/` was split into packages (`tests/data/old_runs`, see its README) resume with
the losses that code gave, sample the text it sampled, export, and load."""

import importlib
import json
import pathlib
import shutil

import keras
import numpy as np
import pytest
import tensorflow as tf
from event_files import load_events, scalar_series

import export.__main__ as export_command
import zoo.sample

OLD_RUNS = pathlib.Path(__file__).parent.parent / "data" / "old_runs"
RESUMED_LOSSES = json.loads((OLD_RUNS / "resumed_losses.json").read_text())


@pytest.fixture
def old_run(tmp_path, monkeypatch):
    """A copy of an old run folder (resuming writes into it), with the working directory
    in `tmp_path` (its config's export folder is relative)."""
    monkeypatch.chdir(tmp_path)

    def copy(recipe):
        return pathlib.Path(shutil.copytree(OLD_RUNS / recipe, tmp_path / recipe))

    return copy


# classify and seq2seq validate and export for 10-17 s: slow; char_lm and long_range run by default.
@pytest.mark.parametrize("recipe", ["char_lm", pytest.param("classify", marks=pytest.mark.slow),
                                    pytest.param("seq2seq", marks=pytest.mark.slow), "long_range"])
def test_an_old_run_resumes_with_the_losses_the_old_code_gave_and_exports(recipe, old_run, capsys):
    run_dir = old_run(recipe)
    steps = json.loads((run_dir / "config.json").read_text())["steps"]
    importlib.import_module(f"recipes.{recipe}").main(["--resume", str(run_dir), "--steps", str(steps + 2)])
    printed = capsys.readouterr()
    assert f"resumed from {run_dir / 'checkpoints'}" in printed.out
    # Its checkpoints hold no configuration record: one line says config.json is not checked.
    warned = [line for line in printed.err.splitlines() if "before checkpoints recorded their configuration" in line]
    assert len(warned) == 1 and warned[0].startswith("warning: "), printed.err
    losses = scalar_series(load_events(run_dir), "train/loss")
    expected = RESUMED_LOSSES[recipe]
    assert sorted(losses) == sorted(int(step) for step in expected)
    np.testing.assert_allclose([losses[int(step)] for step in expected], list(expected.values()), rtol=1e-5)
    exported = sorted((run_dir / "export").glob("*/1/saved_model.pb"))
    assert len(exported) == 1


def test_an_old_run_samples_the_old_text_and_exports_without_training(old_run, capsys):
    run_dir = old_run("char_lm")
    zoo.sample.main(["--from", str(run_dir), "--length", "40", "--seed", "3"])
    assert capsys.readouterr().out == (OLD_RUNS / "char_lm_sample.txt").read_text()
    export_command.main(["--from", str(run_dir), "--export-dir", str(run_dir.parent / "served")])
    loaded = tf.saved_model.load(str(run_dir.parent / "served" / "char_lm" / "1"))
    assert {"serving_default", "step", "generate"} <= set(loaded.signatures)


def test_an_old_keras_file_of_every_zoo_cell_loads_and_computes_the_same():
    expected = np.load(OLD_RUNS / "zoo_cells_expected.npz", allow_pickle=False)
    model = keras.saving.load_model(OLD_RUNS / "zoo_cells.keras")
    np.testing.assert_allclose(model(expected["x"]).numpy(), expected["y"], rtol=1e-5, atol=1e-6)
