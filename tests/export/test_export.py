"""The exported SavedModel: servable without project code, pure signatures, TF Serving
layout, warm-up records, atomic versions and clear errors for bad requests."""

import pathlib
import subprocess
import sys
import threading

import numpy as np
import pytest
import tensorflow as tf
import wire_format
from char_lm_runs import restore_model
from isolated import run_without_project
from served_state import state_sizes

from export import saved_model as exporter
from export.language_model import MAX_GENERATE_LENGTH
from export.versions import versions
from export.warmup import WARMUP_FILE
from recipes.char_lm import TASK
from zoo.layers.stack import zero_state

PROMPT = "The function "


@pytest.fixture(scope="module")
def exported(smoke_run, tmp_path_factory):
    base = tmp_path_factory.mktemp("exports")
    path = exporter.export_run(smoke_run["run_dir"], base, "char_lm")
    _, vocabulary, model = restore_model(smoke_run["run_dir"])
    return {"path": path, "base": base, "vocabulary": vocabulary, "model": model}


@pytest.fixture(scope="module")
def served(exported):
    return tf.saved_model.load(str(exported["path"]))


def generate(served, prompts, max_length=30, temperature=1.0, top_k=0, seed=1, top_p=1.0):
    out = served.signatures["generate"](
        prompt=tf.constant(prompts), max_length=tf.constant(max_length, tf.int32),
        temperature=tf.constant(temperature, tf.float32), top_k=tf.constant(top_k, tf.int32),
        top_p=tf.constant(top_p, tf.float32), seed=tf.constant(seed, tf.int64))
    return [t.decode("utf-8") for t in out["text"].numpy()]


def test_tf_serving_layout(exported):
    path = exported["path"]
    assert path == exported["base"] / "char_lm" / "1"
    assert (path / "saved_model.pb").is_file() and (path / "variables").is_dir()
    codepoints = (path / "assets" / "vocabulary.txt").read_text().split()
    assert "".join(chr(int(c)) for c in codepoints) == exported["vocabulary"].characters
    assert (path / "assets.extra" / WARMUP_FILE).is_file()


def test_a_fresh_isolated_process_without_the_project_serves_the_same_logits(exported, tmp_path):
    vocabulary, model = exported["vocabulary"], exported["model"]
    ids = np.stack([vocabulary.encode(PROMPT), vocabulary.encode("Return a new ")[:len(PROMPT)]])
    logits = model([ids, *zero_state(model, 2)])[0].numpy()
    np.save(tmp_path / "ids.npy", ids)
    np.save(tmp_path / "expected.npy", logits)
    run_without_project(f"""
        import json, numpy as np, tensorflow as tf
        loaded = tf.saved_model.load({str(exported["path"])!r})
        ids = np.load("ids.npy")
        logits = loaded.signatures["serving_default"](token_ids=tf.constant(ids))["logits"].numpy()
        step = loaded.signatures["step"]
        sizes = json.load(open({str(exported["path"])!r} + "/assets/requests.json"))["inputs"]["step"]
        names = [k for k in sizes if k != "token_ids"]
        state = {{k: tf.zeros([2, sizes[k]["shape"][-1]]) for k in names}}
        stepped = []
        for t in range(ids.shape[1]):
            out = step(token_ids=tf.constant(ids[:, t:t + 1]), **state)
            stepped.append(out["logits"].numpy()[:, 0])
            state = {{k: out[k] for k in names}}
        np.save("served.npy", logits)
        np.save("stepped.npy", np.stack(stepped, axis=1))
    """, tmp_path)
    expected = np.load(tmp_path / "expected.npy")
    np.testing.assert_allclose(np.load(tmp_path / "served.npy"), expected, atol=1e-5)
    np.testing.assert_allclose(np.load(tmp_path / "stepped.npy"), expected, atol=1e-5)


def test_generate_is_a_pure_function_of_its_inputs(served):
    variables_before = [v.numpy().copy() for v in served.captured_variables]
    assert variables_before
    first = generate(served, [PROMPT, "x"], seed=5)
    assert generate(served, [PROMPT, "x"], seed=5) == first
    assert generate(served, [PROMPT, "x"], seed=6) != first
    assert all(len(text) == 30 for text in first)
    for before, variable in zip(variables_before, served.captured_variables):
        np.testing.assert_array_equal(before, variable.numpy())


@pytest.mark.parametrize("greedy", [dict(top_k=1), dict(temperature=0.0), dict(top_p=1e-6)])
def test_generate_matches_a_python_loop_over_step(served, exported, greedy):
    """Greedy sampling (temperature 0, or top_k 1, or a tiny top_p) must follow step's
    argmax, character by character."""
    text = generate(served, [PROMPT], max_length=12, **greedy)[0]
    vocabulary = exported["vocabulary"]
    step = served.signatures["step"]
    sizes = state_sizes(exported["path"])
    names = list(sizes)
    state = {k: tf.zeros([1, units]) for k, units in sizes.items()}
    ids = list(vocabulary.encode(PROMPT))
    produced = []
    for position in range(len(PROMPT) + 11):
        out = step(token_ids=tf.constant([[ids[position]]], tf.int32), **state)
        state = {k: out[k] for k in names}
        if position >= len(PROMPT) - 1:
            ids.append(int(np.argmax(out["logits"].numpy()[0, 0])))
            produced.append(ids[-1])
    assert text == vocabulary.decode(produced)


def test_unknown_prompt_characters_read_as_the_unknown_id(served, exported):
    text = generate(served, ["\u2603\u2603 snow"], seed=2)
    assert len(text[0]) == 30


@pytest.mark.slow  # saved_model_cli, about 10 s
def test_saved_model_cli_shows_and_runs_the_signatures(exported):
    cli = str(pathlib.Path(sys.executable).parent / "saved_model_cli")
    shown = subprocess.run([cli, "show", "--all", "--dir", str(exported["path"])],
                           capture_output=True, text=True, check=True).stdout
    for signature in ("serving_default", "step", "generate"):
        assert f"signature_def['{signature}']" in shown
    for needle in ("inputs['token_ids']", "DT_INT32", "outputs['logits']", "inputs['prompt']",
                   "DT_STRING", "inputs['temperature']", "DT_FLOAT", "inputs['top_p']", "inputs['seed']",
                   "DT_INT64",
                   "outputs['text']", "inputs['state_0_h']", "outputs['state_0_c']"):
        assert needle in shown, needle
    # `run` goes through the TF1 session loader, the path TF Serving takes.
    ran = subprocess.run(
        [cli, "run", "--dir", str(exported["path"]), "--tag_set", "serve",
         "--signature_def", "generate", "--input_exprs",
         'prompt=[b"The "];max_length=16;temperature=0.8;top_k=0;top_p=0.9;seed=3'],
        capture_output=True, text=True)
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert "Result for output key text" in ran.stdout


def test_warmup_records_parse_as_prediction_logs_and_run(exported, served):
    records = [r.numpy() for r in tf.data.TFRecordDataset(
        str(exported["path"] / "assets.extra" / WARMUP_FILE))]
    assert 1 <= len(records) <= 1000
    seen = set()
    for record in records:
        predict_log = wire_format.fields(record)[6][0]          # PredictionLog.predict_log
        request = wire_format.fields(predict_log)[1][0]         # PredictLog.request
        request_fields = wire_format.fields(request)
        spec = wire_format.fields(request_fields[1][0])         # PredictRequest.model_spec
        assert spec[1] == [b"char_lm"]
        signature = spec[3][0].decode()
        inputs = {}
        for entry in request_fields[2]:                         # map<string, TensorProto>
            entry_fields = wire_format.fields(entry)
            proto = tf.make_tensor_proto(0)
            proto.ParseFromString(entry_fields[2][0])
            inputs[entry_fields[1][0].decode()] = tf.constant(tf.make_ndarray(proto))
        outputs = served.signatures[signature](**inputs)
        assert outputs and all(np.all(np.isfinite(v.numpy())) for v in outputs.values()
                               if v.dtype.is_floating)
        seen.add(signature)
    assert seen == {"serving_default", "step", "generate"}


def test_a_failed_export_leaves_no_version_behind(exported, monkeypatch, tmp_path):
    def fail(folder, logs):
        folder.mkdir(parents=True)
        (folder / WARMUP_FILE).write_bytes(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(exporter, "write_warmup", fail)
    with pytest.raises(OSError, match="disk full"):
        exporter.export_model(TASK, exported["model"], exported["vocabulary"], tmp_path, "char_lm")
    assert list((tmp_path / "char_lm").iterdir()) == []


# Fresh processes, 10-26 s: slow (CI runs it after the default suite).
@pytest.mark.slow
def test_a_polling_reader_never_sees_a_partial_version(exported, tmp_path):
    base = tmp_path / "char_lm"
    seen_incomplete, stop = [], threading.Event()

    def poll():
        while not stop.is_set():
            for version in versions(base):
                folder = base / str(version)
                if not ((folder / "saved_model.pb").is_file() and (folder / "variables").is_dir()):
                    seen_incomplete.append(version)

    def export_five():
        for _ in range(5):
            exporter.export_model(TASK, exported["model"], exported["vocabulary"], tmp_path, "char_lm")

    reader = threading.Thread(target=poll)
    reader.start()
    writers = [threading.Thread(target=export_five) for _ in range(2)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    stop.set()
    reader.join()
    assert seen_incomplete == []
    assert versions(base) == list(range(1, 11))
    assert [p.name for p in base.iterdir() if not p.name.isdigit()] == []


@pytest.mark.parametrize("call,message", [
    (lambda s: generate(s, [""]), "prompt: every prompt must hold at least one character"),
    (lambda s: generate(s, [PROMPT, ""]), "prompt: every prompt must hold at least one character"),
    (lambda s: generate(s, [PROMPT], max_length=MAX_GENERATE_LENGTH + 1), "max_length: 1 to 2000"),
    (lambda s: generate(s, [PROMPT], max_length=0), "max_length: 1 to 2000"),
    (lambda s: generate(s, [PROMPT], temperature=-1.0), "temperature: finite and >= 0"),
    (lambda s: generate(s, [PROMPT], temperature=float("nan")), "temperature: finite and >= 0"),
    (lambda s: generate(s, [PROMPT], top_k=-1), "top_k: must be >= 0"),
    (lambda s: generate(s, [PROMPT], top_p=0.0), r"top_p: must be in \(0, 1\]"),
    (lambda s: generate(s, [PROMPT], top_p=1.5), r"top_p: must be in \(0, 1\]"),
    (lambda s: generate(s, [PROMPT] * 300), "prompt: 1 to 256 prompts"),
    (lambda s: s.signatures["serving_default"](token_ids=tf.constant([[1, 10**6]])),
     "token_ids: id outside the vocabulary"),
    (lambda s: s.signatures["serving_default"](token_ids=tf.constant([[1.5, 2.0]])), "int32"),
    (lambda s: s.signatures["generate"](prompt=tf.constant([1]), max_length=tf.constant(3),
                                        temperature=tf.constant(1.0), top_k=tf.constant(0),
                                        top_p=tf.constant(1.0), seed=tf.constant(1, tf.int64)),
     "string"),
])
def test_bad_requests_fail_clearly_and_do_not_disturb_the_next(served, call, message):
    good = generate(served, [PROMPT], seed=9)
    with pytest.raises((tf.errors.InvalidArgumentError, TypeError, ValueError), match=message):
        call(served)
    assert generate(served, [PROMPT], seed=9) == good


def test_export_command_exports_an_interrupted_run(tmp_path, capsys):
    from char_lm_runs import smoke_config, train_char_lm

    from export.__main__ import main

    run = train_char_lm(smoke_config(tmp_path / "runs", steps=20),
                        stop_requested=lambda step: step == 3)
    main(["--from", str(run["run_dir"]), "--export-dir", str(tmp_path / "out"), "--version", "7"])
    assert "exported:" in capsys.readouterr().out
    assert (tmp_path / "out" / "char_lm" / "7" / "saved_model.pb").is_file()
    with pytest.raises(SystemExit) as exit_info:
        main(["--from", str(run["run_dir"]), "--export-dir", str(tmp_path / "out"), "--version", "7"])
    assert exit_info.value.code == 2
    assert "already exists" in capsys.readouterr().err


@pytest.mark.parametrize("request_", [
    dict(temperature=0.9, top_k=5, top_p=0.9, seed=3),
    dict(temperature=1.3, top_k=0, top_p=1.0, seed=11),
    dict(temperature=0.0, top_k=0, top_p=1.0, seed=0),
])
def test_the_command_line_python_and_the_server_give_the_same_text(smoke_run, exported, served,
                                                                    capsys, request_):
    from zoo.decoding.language_model import TextSampler
    from zoo.sample import main as sample_main

    sample_main(["--from", str(smoke_run["run_dir"]), "--prompt", PROMPT, "--length", "40",
                 "--temperature", str(request_["temperature"]), "--top-k", str(request_["top_k"]),
                 "--top-p", str(request_["top_p"]), "--seed", str(request_["seed"])])
    from_command_line = capsys.readouterr().out.rstrip("\n")
    from_python = TextSampler(exported["model"], exported["vocabulary"])(PROMPT, 40, **request_)
    from_server = PROMPT + generate(served, [PROMPT], max_length=40, **request_)[0]
    assert from_command_line == from_python == from_server
    assert len(from_server) == len(PROMPT) + 40
