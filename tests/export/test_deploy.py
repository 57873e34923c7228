"""`python -m export --format litert|onnx`: every file runs in its own runtime (the
standalone `ai-edge-litert` interpreter, onnxruntime), in a process that cannot import
the project, and answers what the served SavedModel answers; bad flags, unconvertible
ops and bad requests behave as docs/deploy.md says."""

import functools
import json
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from isolated import run_without_project
from run_folders import only_run

from export import saved_model as exporter
from export.__main__ import main
from export.deploy import MANIFEST, export_deployable
from export.portable import BATCH, Portable, PortableForms
from recipes.char_lm import TASK as CHAR_LM
from zoo.data import load_corpus, split_corpus
from zoo.data.tokens import PAD_UNKNOWN_START_END, decode, encode
from zoo.run.console import START_UP_LINES
from zoo.run.folders import restore_run

# Runs in the isolated process: each call [path, signature, inputs] of a LiteRT or ONNX
# file in its runtime; prints, per call, the outputs (as [dtype, values]) or the error.
RUN_FILES = """
import json, sys
import numpy as np
import onnxruntime
from ai_edge_litert.interpreter import Interpreter

def answers(path, signature, inputs):
    if path.endswith(".tflite"):
        return dict(Interpreter(model_path=path).get_signature_runner(signature)(**inputs))
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(names, inputs)))

results = []
for path, signature, inputs in json.loads(sys.stdin.read()):
    try:
        outputs = answers(path, signature, {k: np.array(v, dtype) for k, (dtype, v) in inputs.items()})
        results.append({k: [str(v.dtype), v.tolist()] for k, v in outputs.items()})
    except Exception as error:
        results.append("refused: " + str(error).splitlines()[0])
print(json.dumps(results))
"""


def as_request(inputs):
    return {name: [str(np.asarray(value).dtype), np.asarray(value).tolist()] for name, value in inputs.items()}


def run_in_runtimes(calls, cwd):
    """Each call (path, signature, inputs) answered in a process that cannot import the
    project: {output: array}, or the runtime's error as "refused: ..."."""
    results = run_without_project(RUN_FILES, cwd, stdin=json.dumps(
        [(str(path), signature, as_request(inputs)) for path, signature, inputs in calls]))
    return [result if isinstance(result, str) else {name: np.array(values, dtype)
                                                    for name, (dtype, values) in result.items()}
            for result in json.loads(results)]


@functools.lru_cache(maxsize=4)
def loaded(saved_model):
    return tf.saved_model.load(str(saved_model))


def served(saved_model, signature, inputs):
    """The served SavedModel's answer (its checks included)."""
    function = loaded(saved_model).signatures[signature]
    return {name: value.numpy() for name, value in function(**{k: tf.constant(v) for k, v in inputs.items()}).items()}


def largest_difference(expected, answered, outputs):
    """The largest |difference| over the file's outputs ({output: the file's name for it})."""
    return max(float(np.max(np.abs(answered[name_there].astype(np.float64) - expected[name].astype(np.float64))))
               for name, name_there in outputs.items())


def manifest_files(folder, signature, ending=""):
    """[(path, {output: the file's name for it})] of `signature`'s files in an export whose
    names end with `ending`."""
    entry = json.loads((folder / MANIFEST).read_text())["signatures"][signature]
    return [(folder / name, entry["outputs"]) for name in entry["files"] if name.endswith(ending)]


@pytest.fixture(scope="module")
def char_lm_exports(smoke_run, tmp_path_factory):
    """The smoke run exported for TF Serving, LiteRT (batch 1; the slow tests export
    several batch sizes) and ONNX."""
    run_dir, base = smoke_run["run_dir"], tmp_path_factory.mktemp("deploy")
    saved = exporter.export_run(run_dir, base, "char_lm")
    main(["--from", str(run_dir), "--format", "litert", "--export-dir", str(base)])
    main(["--from", str(run_dir), "--format", "onnx", "--export-dir", str(base)])
    return {"run_dir": run_dir, "saved": saved, "litert": base / "litert" / "char_lm" / "1",
            "onnx": base / "onnx" / "char_lm" / "1"}


def test_char_lm_runs_in_litert_and_onnxruntime_as_served_and_the_runtimes_check_ids_not_states(char_lm_exports):
    exports, size = char_lm_exports, restore_run(char_lm_exports["run_dir"]).assets.size
    calls, checks = [], []
    litert, onnx = (lambda signature: manifest_files(exports["litert"], signature),
                    lambda signature: manifest_files(exports["onnx"], signature))
    for batch, files in ((1, litert("step")), (3, onnx("step"))):  # the ONNX file takes any batch
        rng = np.random.default_rng(batch)
        request = {"token_ids": rng.integers(0, size, (batch, 1)).astype(np.int32),
                   **{name: (0.5 * rng.standard_normal((batch, 32))).astype(np.float32)
                      for name in ("state_0_h", "state_0_c")}}
        nan_state = {**request, "state_0_h": np.full((batch, 32), np.nan, np.float32)}
        for path, outputs in files:
            calls += [(path, "step", request), (path, "step", nan_state)]
            checks.append((served(exports["saved"], "step", request), outputs))
    for ids, files in ((np.array([[1, 5, 9]], np.int32), litert("serving_default")),
                       (np.array([[1, 5, 9], [2, 2, 2], [3, 0, 7]], np.int32), onnx("serving_default"))):
        outside = ids.copy()
        outside[-1, 1] = size
        for path, outputs in files:
            calls += [(path, "serving_default", {"token_ids": ids}), (path, "serving_default", {"token_ids": outside})]
            checks.append((served(exports["saved"], "serving_default", {"token_ids": ids}), outputs))
    litert_step, onnx_step = (manifest_files(exports["litert"], "step", ".b1.tflite")[0][0],
                              manifest_files(exports["onnx"], "step")[0][0])
    narrow = {"token_ids": np.ones((1, 1), np.int32), "state_0_h": np.zeros((1, 31), np.float32),
              "state_0_c": np.zeros((1, 32), np.float32)}
    one_row_state = {"token_ids": np.ones((2, 1), np.int32), "state_0_h": np.zeros((1, 32), np.float32),
                     "state_0_c": np.zeros((1, 32), np.float32)}
    shape_calls = [(litert_step, "step", narrow), (onnx_step, "step", narrow), (onnx_step, "step", one_row_state)]
    *answers, litert_narrow, onnx_narrow, onnx_one_row = run_in_runtimes(calls + shape_calls, exports["saved"])
    assert "failed to reshape" in litert_narrow and "invalid dimensions for input: state_0_h" in onnx_narrow
    assert onnx_one_row["logits"].shape[0] == 2  # broadcast, not refused: the app checks the rows
    for (expected, outputs), answer in zip(checks, answers[::2]):
        assert largest_difference(expected, answer, outputs) <= 1e-5
    *nan_steps, litert_outside, onnx_outside = answers[1::2]
    # The SavedModel refuses a NaN state; the files check nothing (docs/deploy.md).
    assert all(np.isnan(answer["logits"]).any() for answer in nan_steps)
    assert litert_outside.startswith("refused") and "gather index out of bounds" in litert_outside
    assert onnx_outside.startswith("refused") and "out of data bounds" in onnx_outside


def test_the_layout_manifest_and_refused_signatures(char_lm_exports, capsys):
    litert_dir, onnx_dir = char_lm_exports["litert"], char_lm_exports["onnx"]
    assert sorted(p.name for p in litert_dir.iterdir()) == [MANIFEST, "serving_default.b1.tflite", "step.b1.tflite"]
    assert sorted(p.name for p in onnx_dir.iterdir()) == [MANIFEST, "serving_default.onnx", "step.onnx"]
    manifest = json.loads((onnx_dir / MANIFEST).read_text())
    vocabulary = restore_run(char_lm_exports["run_dir"]).assets
    assert "".join(manifest["vocabulary"]["characters"]) == vocabulary.characters
    assert manifest["signatures"]["step"]["outputs"]["state_0_h"] == "next_state_0_h"
    assert "generate" in manifest["not_included"]
    assert manifest["signatures"]["step"]["inputs"]["state_0_c"] == {"dtype": "float32", "shape": ["batch", 32]}


def test_the_docs_litert_app_runs_without_the_project_and_predicts_what_the_saved_model_does(char_lm_exports):
    page = (pathlib.Path(__file__).parents[2] / "docs" / "deploy.md").read_text()
    (app,) = re.findall(r"^```python\n(.*?)^```", page, flags=re.S | re.M)
    app = app.replace('"runs/RUN/export/litert/char_lm/1"', repr(str(char_lm_exports["litert"])))
    printed = run_without_project(app, char_lm_exports["litert"]).strip().splitlines()[-1]
    vocabulary = restore_run(char_lm_exports["run_dir"]).assets
    state = {name: np.zeros((1, 32), np.float32) for name in ("state_0_h", "state_0_c")}
    for token_id in vocabulary.encode("The "):
        answer = served(char_lm_exports["saved"], "step", {"token_ids": np.array([[token_id]], np.int32), **state})
        state = {name: answer[name] for name in state}
    best = int(np.argmax(answer["logits"][0, 0]))
    assert printed == "next character: " + (vocabulary.characters[best - 1] if best else "(unknown)")


@pytest.mark.parametrize("flags, expected", [
    (["--format", "litert", "--batch-sizes", "0"], "--batch-sizes '0': expected distinct integers from 1 to 256"),
    (["--format", "litert", "--batch-sizes", "1,a"], "--batch-sizes '1,a': expected comma-separated integers"),
    (["--format", "litert", "--batch-sizes", "2,2"], "--batch-sizes '2,2': expected distinct integers"),
    (["--format", "onnx", "--quantize", "int8"], "--quantize int8: only for --format litert"),
    (["--format", "onnx", "--batch-sizes", "1,32"], "--batch-sizes: only for --format litert"),
    (["--format", "litert", "--request-budget", "10"], "--request-budget: only for --format savedmodel"),
    (["--batch-sizes", "4"], "--batch-sizes and --quantize: only for --format litert"),
    (["--format", "tflite"], "argument --format: invalid choice: 'tflite'"),
])
def test_bad_flags_stop_with_one_line_and_write_nothing(smoke_run, tmp_path, capsys, flags, expected):
    with pytest.raises(SystemExit) as stopped:
        main(["--from", str(smoke_run["run_dir"]), "--export-dir", str(tmp_path / "out"), *flags])
    assert stopped.value.code == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and expected in error, error
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").rglob("*.*"))


CHAR_LM_FORMS = type(CHAR_LM).portable_signatures


def bessel_forms(model, vocabulary):
    """char_lm's forms plus one signature whose op neither LiteRT's builtins nor ONNX has."""
    forms = CHAR_LM_FORMS(CHAR_LM, model, vocabulary)
    unconvertible = Portable("smoothed", {"x": (tf.float32, (BATCH, 4))},
                             lambda inputs: {"y": tf.math.bessel_i0e(inputs["x"])},
                             lambda batch, rng: {"x": np.ones((batch, 4), np.float32)}, "")
    return PortableForms(forms.signatures + [unconvertible], forms.refused, forms.metadata)


@pytest.mark.slow  # a fresh process imports TensorFlow and converts (about 17 s)
def test_an_op_litert_lacks_is_one_line_on_the_console_and_no_half_written_version_is_left(smoke_run, tmp_path):
    # A fresh process: the converter's MLIR diagnostics are C++ output, which only the
    # real file descriptor shows. The conversion is real; only the recipe's list gains a
    # signature that cannot convert.
    script = f"""
import sys
sys.path[:0] = [{str(pathlib.Path(__file__).parent)!r}, {str(pathlib.Path(__file__).parents[1])!r}]
import test_deploy
from recipes.char_lm import TASK
type(TASK).portable_signatures = lambda self, model, assets: test_deploy.bessel_forms(model, assets)
from export.__main__ import main
main(["--from", {str(smoke_run["run_dir"])!r}, "--format", "litert", "--export-dir", {str(tmp_path)!r}])
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"})
    lines = [line for line in result.stderr.splitlines() if not any(marker in line for marker in START_UP_LINES)]
    assert result.returncode == 2
    assert lines == ["error: smoothed: not in litert (needs the TensorFlow op BesselI0e, which only a Flex delegate "
                     "or a custom op runs; builtin ops only)"], result.stderr[-3000:]
    assert list((tmp_path / "litert" / "char_lm").iterdir()) == []  # neither a version nor a partial folder


@pytest.mark.slow  # a real conversion that fails (about 4 s)
@pytest.mark.parametrize("format_name, expected", [
    ("onnx", "smoothed: not in onnx (TensorFlow op BesselI0e has no ONNX counterpart in opset 17)"),
])
def test_an_op_the_format_lacks_is_named_and_no_half_written_version_is_left(
        smoke_run, tmp_path, monkeypatch, format_name, expected):
    # The conversions are real; only the recipe's list gains a signature that cannot convert.
    monkeypatch.setattr(type(CHAR_LM), "portable_signatures", lambda self, model, assets: bessel_forms(model, assets))
    with pytest.raises(Exception) as failed:
        export_deployable(smoke_run["run_dir"], format_name, tmp_path, "char_lm")
    assert str(failed.value).startswith(expected), str(failed.value)
    models = tmp_path / format_name / "char_lm"
    assert list(models.iterdir()) == []  # neither a version nor a hidden partial folder


def export_three_ways(run_dir, base, model_name, batch_sizes="1,4"):
    """(SavedModel folder, LiteRT folder, ONNX folder) of a run."""
    saved = exporter.export_run(run_dir, base, model_name)
    for flags in (["--format", "litert", "--batch-sizes", batch_sizes], ["--format", "onnx"]):
        main(["--from", str(run_dir), "--export-dir", str(base), "--model-name", model_name, *flags])
    return saved, base / "litert" / model_name / "1", base / "onnx" / model_name / "1"


def assert_files_answer_as_served(saved, folders, signature, batches_of, served_inputs, file_inputs=None):
    """Every file of `signature` answers `file_inputs(batch)` (default `served_inputs`) as
    the SavedModel answers `served_inputs(batch)`, to 1e-5."""
    file_inputs = file_inputs or served_inputs
    calls, expected = [], []
    for folder in folders:
        for path, outputs in manifest_files(folder, signature):
            batch = batches_of(path)
            calls.append((path, signature, file_inputs(batch)))
            expected.append((served(saved, signature, served_inputs(batch)), outputs))
    answers = run_in_runtimes(calls, saved)
    for (reference, outputs), answer, (path, _, _) in zip(expected, answers, calls):
        assert not isinstance(answer, str), (path, answer)
        assert largest_difference(reference, answer, outputs) <= 1e-5, path


def batch_of(path):
    """A LiteRT file's static batch (its name), or 3 rows for an ONNX file."""
    return int(path.name.split(".b")[1].split(".")[0]) if path.suffix == ".tflite" else 3


# Trains a smoke run of the recipe, exports it three ways and runs every file in its runtime (20 to 60 s each).
@pytest.mark.slow
def test_classify_sequences_run_in_both_runtimes_as_served(tmp_path):
    from recipes.classify import main as classify

    classify(["--smoke", "--logdir", str(tmp_path / "runs")])
    run_dir = only_run(tmp_path / "runs")
    width = restore_run(run_dir).assets["features"]
    saved, *folders = export_three_ways(run_dir, tmp_path / "export", "classify")

    def inputs(batch):
        rng = np.random.default_rng(batch)
        return {"features": rng.standard_normal((batch, 13, width)).astype(np.float32),
                "lengths": rng.integers(1, 14, batch).astype(np.int32)}

    assert_files_answer_as_served(saved, folders, "classify", batch_of, inputs)


@pytest.mark.slow
def test_long_range_predict_runs_in_both_runtimes_as_served(tmp_path):
    from recipes.long_range import main as long_range
    from zoo.data.synthetic import TASKS

    long_range(["--smoke", "--cells", "lstm", "--lengths", "6", "--logdir", str(tmp_path / "runs")])
    (run_dir,) = [path.parent for path in (tmp_path / "runs").rglob("config.json")]  # the sweep's one run
    assets = restore_run(run_dir).assets
    saved, *folders = export_three_ways(run_dir, tmp_path / "export", "long_range")

    def inputs(batch):
        sequences = TASKS[assets["task"]].generate(np.random.default_rng(batch), batch, assets["length"])[0]
        return {"sequences": sequences.astype(np.float32)}

    assert_files_answer_as_served(saved, folders, "predict", batch_of, inputs)


@pytest.mark.slow
def test_seq2seq_encodes_steps_and_greedy_decodes_in_both_runtimes_as_served(tmp_path):
    from recipes.seq2seq import main as seq2seq

    seq2seq(["--smoke", "--logdir", str(tmp_path / "runs")])
    run_dir = only_run(tmp_path / "runs")
    assets = restore_run(run_dir).assets
    saved, *folders = export_three_ways(run_dir, tmp_path / "export", "seq2seq", "1,2")
    joiner = "" if assets["tokens"] == "char" else " "

    def sources(batch):
        rng = np.random.default_rng(batch)
        return [joiner.join(rng.choice(assets["source"], rng.integers(2, 7))) for _ in range(batch)]

    def source_ids(batch):
        ids, lengths = encode(sources(batch), assets["source"], assets["tokens"], PAD_UNKNOWN_START_END)
        return {"source_ids": ids, "lengths": lengths}

    assert_files_answer_as_served(saved, folders, "encode", batch_of,
                                  lambda batch: {"sources": np.array(sources(batch), object)}, source_ids)

    def decode_inputs(batch):
        encoded = served(saved, "encode", {"sources": np.array(sources(batch), object)})
        return {"previous_ids": encoded["start_ids"], "memory": encoded["memory"], "mask": encoded["mask"],
                **{name: value for name, value in encoded.items() if name.startswith("state_")}}

    assert_files_answer_as_served(saved, folders, "decode_step", batch_of, decode_inputs)
    # greedy_decode against translate with beam width 1, compared as the decoded texts.
    calls = [(path, "greedy_decode", {**source_ids(batch_of(path)), "max_length": np.int32(20)})
             for folder in folders for path, _ in manifest_files(folder, "greedy_decode")]
    for (path, _, _), answer in zip(calls, run_in_runtimes(calls, saved)):
        batch = batch_of(path)
        translations = served(saved, "translate", {"sources": np.array(sources(batch), object),
                                                   "beam_width": np.int32(1), "max_length": np.int32(20)})
        assert decode(answer["target_ids"], answer["target_lengths"], assets["target"], assets["tokens"]) == [
            text.decode() for text in translations["translations"]], path


@pytest.mark.slow
def test_quantised_litert_files_keep_the_bits_per_character_on_validation_text(smoke_run, tmp_path):
    run = restore_run(smoke_run["run_dir"])
    _, valid_text = split_corpus(load_corpus(run.config.data), run.config.validation_fraction)
    ids = run.assets.encode(valid_text[:401])[None, :]
    calls = []
    for quantize in ("none", "float16", "int8"):
        main(["--from", str(smoke_run["run_dir"]), "--format", "litert", "--quantize", quantize,
              "--export-dir", str(tmp_path)])
        calls.append((tmp_path / "litert" / "char_lm" / str(len(calls) + 1) / "serving_default.b1.tflite",
                      "serving_default", {"token_ids": ids[:, :-1]}))
    bits = []
    for answer in run_in_runtimes(calls, tmp_path):
        logits = answer["logits"][0].astype(np.float64)
        log_p = logits - np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1, keepdims=True)) - logits.max(
            -1, keepdims=True)
        bits.append(-log_p[np.arange(400), ids[0, 1:]].mean() / np.log(2))
    float32, float16, int8 = bits
    assert bits[0] < np.log2(run.assets.size)  # the run learned something
    assert abs(float16 - float32) < 0.01 and abs(int8 - float32) < 0.05, bits
