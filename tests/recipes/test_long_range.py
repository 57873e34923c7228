"""`python -m recipes.long_range`: the smoke sweep end to end (runs, exports, table,
TensorBoard), exact resume of both update rules, the served `predict` without the
project, and bad flags."""

import csv
import dataclasses
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from event_files import load_events, scalar_series
from isolated import run_without_project

from export.saved_model import export_run
from recipes.long_range import SMOKE, TASK, LongRangeConfig, main, run_config
from zoo.data.synthetic import TASKS
from zoo.run.folders import restore_run
from zoo.training.loop import train_and_evaluate


def run_recipe(*flags, cwd):
    return subprocess.run([sys.executable, "-m", "recipes.long_range", *flags], cwd=cwd,
                          capture_output=True, text=True, timeout=600)


def test_the_smoke_sweep_trains_exports_and_writes_its_table(tmp_path):
    result = run_recipe("--smoke", "--logdir", str(tmp_path / "runs"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (sweep,) = (tmp_path / "runs").iterdir()
    cells, lengths = LongRangeConfig().cell_list(), [6, 12]
    with open(sweep / "sweep.csv") as table:
        rows = list(csv.DictReader(table))
    assert [(row["cell"], int(row["T"])) for row in rows] == [(c, t) for t in lengths for c in cells]
    for row in rows:
        assert float(row["baseline"]) == pytest.approx(1 / 6)
        assert np.isfinite(float(row["test_error"]))
        assert row["solved"] in ("True", "False")
    markdown = (sweep / "sweep.md").read_text()
    assert markdown.count("\n| ") == 2 + len(rows) and markdown in result.stdout
    runs = sorted(path for path in sweep.iterdir() if path.name[0].isdigit())
    assert len(runs) == len(rows)
    for run in runs:
        (version,) = (run / "export").glob("long_range_adding_*/1")
        assert (version / "saved_model.pb").exists()
        assert (version / "assets.extra" / "tf_serving_warmup_requests").exists()
        assert "gradient_flow/plot" in load_events(run).Tags()["tensors"]
    assert {"sweep/table", "sweep/error_against_length"} <= set(load_events(sweep / "sweep").Tags()["tensors"])
    for cell in cells:
        curve = scalar_series(load_events(sweep / "curves" / cell), "sweep/test_error_against_T")
        assert sorted(curve) == lengths


def test_a_flow_penalty_sweep_runs_beside_the_unpenalised_runs_and_logs_omega(tmp_path):
    # --flow-penalty runs beside the unpenalised runs, as --flow-penalties 0,2 would; on a stack.
    main(["--smoke", "--logdir", str(tmp_path / "runs"), "--cells", "elman", "--lengths", "6",
          "--flow-penalty", "2", "--layers", "2"])
    (sweep,) = (tmp_path / "runs").iterdir()
    with open(sweep / "sweep.csv") as table:
        rows = list(csv.DictReader(table))
    assert [(row["cell"], float(row["flow_penalty"])) for row in rows] == [
        ("elman", 0), ("elman-flow2", 2)]  # other cells: test_flow_penalty.py
    for run in sorted(path for path in sweep.iterdir() if path.name[0].isdigit()):
        omega = scalar_series(load_events(run), "valid/flow_penalty")
        assert sorted(omega) == [3, 6] and all(np.isfinite(value) and value >= 0 for value in omega.values())
        if "flow" in run.name:  # the update's Omega, logged with every penalised update
            trained = scalar_series(load_events(run), "train/flow_penalty")
            assert len(trained) == 6 and all(np.isfinite(value) and value > 0 for value in trained.values())
        else:
            assert "train/flow_penalty" not in load_events(run).Tags()["tensors"]
    # The penalty moves the weights: the penalised runs end elsewhere from the same start.
    errors = {row["cell"]: float(row["test_error"]) for row in rows}
    assert errors["elman"] != errors["elman-flow2"]


def one_run(tmp_path, **overrides):
    config = LongRangeConfig(**{**SMOKE, "logdir": str(tmp_path), **overrides})
    cell, = config.cell_list()
    length, = config.length_list()
    return run_config(config, cell, length, tmp_path)


def readout_weights(run_dir):
    return [w.numpy() for w in restore_run(run_dir).model.get_layer("readout").weights]


@pytest.mark.parametrize("cells,readout", [("gru", "gradient"), ("reservoir", "ridge"), ("ntm", "gradient"),
                                           ("clockwork", "gradient")])
def test_a_stopped_run_resumes_to_the_uninterrupted_result(tmp_path, cells, readout):
    config = one_run(tmp_path, cells=cells, lengths="8", readout=readout)
    whole = train_and_evaluate(TASK, config, tmp_path / "whole", show_progress=False)
    stopped = train_and_evaluate(TASK, config, tmp_path / "parts", show_progress=False,
                                 stop_requested=lambda step: step == 3)
    assert stopped["stopped"] and stopped["steps"] == 3
    resumed = train_and_evaluate(TASK, config, tmp_path / "parts", resume=True, show_progress=False)
    assert resumed["test_error"] == pytest.approx(whole["test_error"], rel=1e-5)
    for a, b in zip(readout_weights(tmp_path / "whole"), readout_weights(tmp_path / "parts")):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_the_ntm_copy_task_trains_across_lengths_and_is_tested_at_each(tmp_path):
    main(["--smoke", "--logdir", str(tmp_path / "runs"), "--task", "ntm_copy", "--cells", "lstm",
          "--lengths", "3,25"])
    (sweep,) = (tmp_path / "runs").iterdir()
    (run,) = [path for path in sweep.iterdir() if path.name[0].isdigit()]
    assert run.name.endswith("lstm-T1-20")  # one run for both test lengths
    with open(sweep / "sweep.csv") as table:
        rows = list(csv.DictReader(table))
    assert [(row["cell"], int(row["T"]), float(row["baseline"])) for row in rows] == [
        ("lstm", 3, 12.0), ("lstm", 25, 100.0)]  # half of the 8 T bits
    assert {"test/error_T3", "test/error_T25"} <= set(load_events(run).Tags()["tensors"])
    # Each batch draws its length from 1-20, the same for the same index.
    data = TASK.prepare(restore_run(run).config)
    lengths = [data.make_batch(index)[1].shape[1] for index in range(60)]
    assert set(lengths) <= set(range(1, 21)) and len(set(lengths)) > 10
    np.testing.assert_array_equal(data.make_batch(7)[0], data.make_batch(7)[0])
    # The test error is the bits wrong per sequence of the restored model at each length.
    model = restore_run(run).model
    for length, (inputs, targets) in data.test.items():
        copied = model(inputs).numpy()[:, length + 1:] > 0
        wrong = sum(int(copied[i, t, b] != targets[i, t, b]) for i in range(len(inputs))
                    for t in range(length) for b in range(8)) / len(inputs)
        (row,) = [row for row in rows if int(row["T"]) == length]
        assert float(row["test_error"]) == pytest.approx(wrong, rel=1e-6)


def test_the_bits_loss_is_binary_cross_entropy_of_the_written_copy():
    from recipes.long_range import task_loss

    rng = np.random.default_rng(0)
    outputs, targets = rng.normal(size=(4, 11, 8)).astype(np.float32), rng.integers(0, 2, (4, 5, 8)).astype(np.float32)
    expected = keras.losses.BinaryCrossentropy(from_logits=True)(targets, outputs[:, 6:])
    assert float(task_loss(TASKS["ntm_copy"], tf.constant(outputs), tf.constant(targets))) == pytest.approx(
        float(expected), rel=1e-5)


def test_a_ridge_readout_beats_the_mean_on_short_adding_sequences(tmp_path):
    config = dataclasses.replace(one_run(tmp_path, cells="reservoir", lengths="4", readout="ridge"),
                                 units=64, steps=20, batch_size=64, test_examples=1024)
    result = train_and_evaluate(TASK, config, tmp_path / "run", show_progress=False)
    assert result["test_error"] < 0.5 * TASKS["adding"].baseline(4)


# Fresh processes, 10-26 s: slow (CI runs it after the default suite).
@pytest.mark.slow
def test_exports_serve_without_the_project_as_the_python_model_predicts(tmp_path):
    # The NTM (flat memory state) and the Clockwork cell (step-counter state) on three tasks.
    cases = {"adding": ("ntm", "12"), "copy": ("clockwork", "5"), "temporal_order": ("lstm", "12"),
             "ntm_copy": ("ntm", "3")}
    expected = {}
    for task, (cell, length) in cases.items():
        config = one_run(tmp_path, task=task, cells=cell, lengths=length)
        result = train_and_evaluate(TASK, config, tmp_path / task, show_progress=False)
        version = export_run(result["run_dir"])
        inputs, _ = TASKS[task].generate(np.random.default_rng(5), 3, int(length))
        np.save(tmp_path / f"{task}.npy", inputs)
        expected[task] = (version, restore_run(result["run_dir"]).model(inputs).numpy())
    output = run_without_project(f"""
        import json, numpy as np, tensorflow as tf
        for task, version in {({task: str(v) for task, (v, _) in expected.items()})!r}.items():
            signatures = tf.saved_model.load(version).signatures
            sequences = np.load({str(tmp_path)!r} + f"/{{task}}.npy")
            result = signatures["predict"](sequences=tf.constant(sequences))
            for name, value in result.items():
                np.save({str(tmp_path)!r} + f"/{{task}}.{{name}}.npy", value.numpy())
            print(task, sorted(result))
            # step: the same sequences one step at a time, the states carried here; their
            # widths are in the export's requests asset
            step = signatures["step"]
            declared = json.load(open(version + "/assets/requests.json"))["inputs"]["step"]
            state = {{name: tf.zeros((len(sequences), spec["shape"][1])) for name, spec in declared.items()
                     if name.startswith("state_")}}
            stepped = []
            for t in range(sequences.shape[1]):
                out = step(inputs=tf.constant(sequences[:, t]), **state)
                state = {{name: out[name] for name in state}}
                key = next(key for key in ("probabilities", "bit_probabilities", "prediction") if key in out)
                stepped.append(out[key].numpy())
            print(task, "states", len(state))
            np.save({str(tmp_path)!r} + f"/{{task}}.stepped.npy", np.stack(stepped, axis=1))
    """, cwd=tmp_path)
    assert "adding states 6" in output and "copy states 2" in output  # the NTM's six, the Clockwork's two
    served = {"adding": "prediction", "ntm_copy": "bit_probabilities"}
    for task in cases:
        stepped = np.load(tmp_path / f"{task}.stepped.npy")
        whole = np.load(tmp_path / f"{task}.{served.get(task, 'probabilities')}.npy")
        per_step = task in ("copy", "ntm_copy")
        np.testing.assert_allclose(stepped if per_step else stepped[:, -1], whole, atol=1e-5)
    assert "adding ['prediction']" in output
    assert "copy ['probabilities', 'symbol_ids']" in output
    assert "temporal_order ['class_id', 'label', 'probabilities']" in output
    assert "ntm_copy ['bit_probabilities', 'bits']" in output
    logits = expected["ntm_copy"][1]
    np.testing.assert_allclose(np.load(tmp_path / "ntm_copy.bit_probabilities.npy"), 1 / (1 + np.exp(-logits)),
                               atol=1e-5)
    np.testing.assert_array_equal(np.load(tmp_path / "ntm_copy.bits.npy"), logits > 0)
    np.testing.assert_allclose(np.load(tmp_path / "adding.prediction.npy"), expected["adding"][1][:, 0], atol=1e-5)
    for task in ("copy", "temporal_order"):
        probabilities = tf.nn.softmax(expected[task][1]).numpy()
        np.testing.assert_allclose(np.load(tmp_path / f"{task}.probabilities.npy"), probabilities, atol=1e-5)
    labels = np.load(tmp_path / "temporal_order.label.npy", allow_pickle=True)  # bytes objects
    assert [label.decode() for label in labels] == [
        ("XX", "XY", "YX", "YY")[i] for i in expected["temporal_order"][1].argmax(-1)]


@pytest.mark.parametrize("flags,named", [
    (["--cells", "lstm,transformer"], "--cells"),
    (["--cells", "lstm,lstm"], "--cells"),
    (["--lengths", "10,x"], "--lengths"),
    (["--lengths", ""], "--lengths"),
    (["--task", "temporal_order", "--lengths", "5"], "--lengths"),
    (["--task", "copy", "--readout", "ridge"], "--readout"),
    (["--units", "0"], "--units"),
    (["--spectral-radius", "-1"], "--spectral-radius"),
    (["--flow-penalties", "0,-1"], "--flow-penalties"),
    (["--flow-penalties", "nan"], "--flow-penalties"),
    (["--cells", "reservoir", "--readout", "ridge", "--flow-penalties", "0.5"], "--flow-penalty"),
    (["--cells", "reservoir", "--readout", "ridge", "--flow-penalty", "0.5"], "--flow-penalty"),
    (["--flow-penalty", "-1"], "--flow-penalty"),
    (["--jit-compile", "--flow-penalties", "1"], "--flow-penalty"),
    (["--jit-compile", "--flow-penalty", "1"], "--flow-penalty"),
    (["--task", "ntm_copy", "--lengths", "0"], "--lengths"),
    (["--task", "ntm_copy", "--cells", "ntm", "--memory-rows", "-1"], "--memory-rows"),
])
def test_bad_flags_stop_with_one_line_and_write_nothing(tmp_path, capsys, flags, named):
    with pytest.raises(SystemExit) as stopped:
        main(["--smoke", "--logdir", str(tmp_path / "runs"), *flags])
    assert stopped.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and named in lines[0]
    assert not (tmp_path / "runs").exists()
