"""The shared core runs any recipe: a throwaway recipe (`tests/toy_recipe.py`, a few dozen
lines over a toy data set) trains, validates, checkpoints, resumes after SIGKILL with the
same losses, and exports a servable SavedModel, all through the core's own commands."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import urllib.parse
import urllib.request

import numpy as np
import pytest
import tensorflow as tf
import toy_recipe
from char_lm_runs import smoke_config, train_char_lm
from event_files import load_events, scalar_series
from isolated import run_without_project
from run_folders import checkpoint_steps, has_checkpoint, only_run, wait_for
from tensorboard_server import tensorboard

from zoo.run.errors import InputError
from zoo.run.folders import load_config, restore_run
from zoo.training.loop import train_and_evaluate

TESTS = pathlib.Path(__file__).resolve().parents[2]
STEPS = 12  # the toy's SMOKE checkpoints every 4 steps


def command(*argv):
    """`python -m ...` with the toy recipe importable, as a user's own recipe would be."""
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(TESTS), *filter(None, [os.environ.get("PYTHONPATH")])])}
    return subprocess.Popen([sys.executable, "-m", *argv], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=environment)


def toy_config(logdir, **changes):
    return toy_recipe.ToyConfig(**{**toy_recipe.SMOKE, "logdir": str(logdir), **changes})


@pytest.fixture(scope="module")
def toy_run(tmp_path_factory):
    return train_and_evaluate(toy_recipe.TASK, toy_config(tmp_path_factory.mktemp("toy")),
                              show_progress=False)


def test_the_core_trains_validates_and_logs_a_new_recipe(toy_run):
    run_dir = toy_run["run_dir"]
    assert json.loads((run_dir / "config.json").read_text())["recipe"] == "toy_recipe"
    assert max(checkpoint_steps(run_dir)) == STEPS and toy_run["steps"] == STEPS
    events = load_events(run_dir)
    assert sorted(scalar_series(events, "train/loss")) == list(range(1, STEPS + 1))
    assert sorted(scalar_series(events, "valid/accuracy")) == [6, 12]
    assert scalar_series(events, "train/examples_per_second")
    assert toy_run["valid/accuracy"] == scalar_series(events, "valid/accuracy")[12]
    plugins = {tag: events.SummaryMetadata(tag).plugin_data.plugin_name for tag in events.Tags()["tensors"]}
    assert any(tag.startswith("weights/") and plugin == "histograms" for tag, plugin in plugins.items())
    assert "_hparams_/session_start_info" in plugins


# Fresh processes, 10-26 s: slow (CI runs it after the default suite).
@pytest.mark.slow
def test_the_export_command_exports_it_and_a_process_without_the_project_serves_it(toy_run, tmp_path):
    exporter = command("export", "--from", str(toy_run["run_dir"]), "--export-dir", str(tmp_path))
    output, _ = exporter.communicate(timeout=300)
    assert exporter.returncode == 0, output[-2000:]
    path = tmp_path / "toy" / "1"  # the run's own model name
    assert (path / "saved_model.pb").is_file()
    assert (path / "assets.extra" / "tf_serving_warmup_requests").is_file()
    ids, _ = toy_recipe.sequences(5, 99)
    np.save(tmp_path / "ids.npy", ids)
    run_without_project(f"""
        import numpy as np, tensorflow as tf
        served = tf.saved_model.load({str(path)!r}).signatures["classify"]
        np.save("served.npy", served(token_ids=tf.constant(np.load("ids.npy")))["probabilities"].numpy())
    """, tmp_path)
    model = restore_run(toy_run["run_dir"]).model
    np.testing.assert_allclose(np.load(tmp_path / "served.npy"), tf.nn.softmax(model(ids)).numpy(),
                               atol=1e-6)


@pytest.mark.slow  # subprocess runs, about 11 s; the default suite kills char_lm
def test_sigkill_then_resume_continues_with_the_same_losses(toy_run, tmp_path):
    logdir = tmp_path / "runs"
    process = command("toy_recipe", "--smoke", "--logdir", str(logdir))

    wait_for(lambda: has_checkpoint(logdir, 8))
    process.send_signal(signal.SIGKILL)
    process.wait()
    run_dir = only_run(logdir)
    assert max(checkpoint_steps(run_dir)) < STEPS
    resumed = command("toy_recipe", "--resume", str(run_dir))
    output, _ = resumed.communicate(timeout=300)
    assert resumed.returncode == 0, output[-2000:]
    assert "export:" in output
    expected = scalar_series(load_events(toy_run["run_dir"]), "train/loss")
    losses = scalar_series(load_events(run_dir), "train/loss")
    assert sorted(losses) == list(range(1, STEPS + 1))
    np.testing.assert_allclose([losses[s] for s in sorted(losses)],
                               [expected[s] for s in sorted(expected)], rtol=1e-5)


# Fresh processes, 10-26 s: slow (CI runs it after the default suite).
@pytest.mark.slow
def test_commands_name_a_run_of_the_wrong_kind_in_one_line(toy_run, tmp_path):
    sampler = command("zoo.sample", "--from", str(toy_run["run_dir"]))
    output, _ = sampler.communicate(timeout=300)
    assert sampler.returncode == 2
    assert output.strip().splitlines()[-1] == "error: toy_recipe does not generate text from a prompt"
    char_lm_run = train_char_lm(smoke_config(tmp_path, steps=2))["run_dir"]
    with pytest.raises(InputError, match="a run of recipes.char_lm, not of toy_recipe"):
        load_config(toy_recipe.TASK, char_lm_run)


@pytest.mark.slow  # a TensorBoard server, about 8 s
def test_tensorboard_shows_the_hparams_of_two_recipes_in_one_logdir(tmp_path):
    train_and_evaluate(toy_recipe.TASK, toy_config(tmp_path, steps=2), show_progress=False)
    train_char_lm(smoke_config(tmp_path, steps=2))
    with tensorboard(tmp_path) as url:
        query = urllib.parse.quote(json.dumps({"experimentName": ""}))
        with urllib.request.urlopen(f"{url}/data/plugin/hparams/experiment?request={query}",
                                    timeout=30) as reply:
            infos = {info["name"]: info for info in json.load(reply)["hparamInfos"]}
    assert sorted(infos["recipe"]["domainDiscrete"]) == ["char_lm", "toy"]
    assert {"cell", "units", "k1", "k2"} <= set(infos)  # both recipes' own hparams


@pytest.mark.parametrize("recipe", ["recipes.char_lm", "recipes.long_range", "recipes.classify", "recipes.seq2seq"])
def test_every_recipes_help_lists_each_setting_with_its_why(recipe, capsys):
    """--help shows every config field (a why with a literal "%" once broke argparse's
    formatting of the whole page)."""
    import dataclasses
    import importlib

    module = importlib.import_module(recipe)
    with pytest.raises(SystemExit) as stopped:
        module.main(["--help"])
    assert stopped.value.code == 0
    # Compared without white space: argparse wraps lines at spaces and after hyphens.
    page = "".join(capsys.readouterr().out.split())
    for field in dataclasses.fields(module.TASK.config_class):
        assert "--" + field.name.replace("_", "-") in page
        assert "".join(field.metadata["why"].split()) in page


def test_the_request_budget_set_at_export_is_recorded_and_enforced(toy_run, tmp_path):
    from export.__main__ import main

    main(["--from", str(toy_run["run_dir"]), "--export-dir", str(tmp_path), "--request-budget", "60"])
    version = tmp_path / "toy" / "1"
    assert json.loads((version / "assets" / "requests.json").read_text())["request_budget_cell_steps"] == 60
    served = tf.saved_model.load(str(version)).signatures["classify"]
    assert served(token_ids=tf.ones([5, 12], tf.int32))["probabilities"].shape == [5, 2]
    with pytest.raises(tf.errors.InvalidArgumentError, match="over the request budget of 60 cell steps"):
        served(token_ids=tf.ones([5, 13], tf.int32))
