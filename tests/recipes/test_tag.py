"""`python -m recipes.tag`: the smoke run on the default restoration task end to end
(scores, TensorBoard, export), the served `tag` and `tag_tokens` without the project
against the Python model, a CoNLL run with entity F1, a non-finite update skipped,
SIGTERM and SIGKILL then `--resume` with the same losses, and the bad-input table."""

import json
import signal
import subprocess
import sys

import numpy as np
import pytest
import tensorflow as tf
from event_files import load_events, scalar_series
from isolated import run_without_project
from poisoned_update import assert_a_poisoned_update_is_skipped
from run_folders import assert_resumes_like_a_straight_run, checkpoint_steps, has_checkpoint, only_run, wait_for

from recipes import tag
from recipes.tag import SMOKE, TASK, TagConfig, main, split_of
from zoo.data.conll import chunked
from zoo.data.restoration import restoration_sentences
from zoo.run.folders import restore_run

CASES = ["lower", "capitalised", "upper", "other"]
MARKS = ["none", "comma", "period", "question", "colon", "semicolon"]


@pytest.fixture(scope="module")
def tag_run(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("tag")
    main(["--smoke", "--logdir", str(logdir)])
    return only_run(logdir)


def test_the_smoke_run_scores_logs_and_exports(tag_run):
    events = load_events(tag_run)
    tags = set(events.Tags()["tensors"])
    assert sorted(scalar_series(events, "train/loss")) == list(range(1, 7))
    for column in ("case", "punctuation"):
        for key in ("accuracy", "micro_f1", "macro_f1"):
            assert sorted(scalar_series(events, f"valid/{column}/{key}")) == [3, 6]
            assert sorted(scalar_series(events, f"test/{column}/{key}")) == [6]
        assert {f"valid/{column}/confusion_matrix", f"test/{column}/confusion_matrix"} <= tags
    assert {f"valid_f1/case/{label}" for label in CASES} <= tags
    assert {f"valid_precision/punctuation/{label}" for label in MARKS} <= tags
    assert {"valid/sample", "test/sample", "_hparams_/session_start_info"} <= tags
    sample = tf.make_ndarray(events.Tensors("valid/sample")[-1].tensor_proto).item().decode()
    assert sample.startswith("| text | restored |")
    assets = json.loads((tag_run / "tagger.json").read_text())
    assert assets["columns"] == ["case", "punctuation"] and assets["labels"] == [CASES, MARKS]
    assert (tag_run / "export" / "tag" / "1" / "assets.extra" / "tf_serving_warmup_requests").exists()


def test_the_served_tag_equals_the_python_model_without_the_project(tag_run, tmp_path):
    texts = ["The value, as in PEP 8: see >>> CPython.", "no such wordzzz here", "x"]
    version = tag_run / "export" / "tag" / "1"
    output = run_without_project(f"""
        import json, numpy as np, tensorflow as tf
        served = tf.saved_model.load({str(version)!r}).signatures
        result = served["tag"](texts=tf.constant({texts!r}))
        by_tokens = served["tag_tokens"](tokens=tf.constant([["The", "value,", "as"], ["x", "", "pad"]]),
                                         lengths=tf.constant([3, 1]))
        print(json.dumps({{"probabilities": result["case_probabilities"].numpy().tolist(),
                           "marks": result["punctuation_probabilities"].numpy().tolist(),
                           "tokens": result["tokens"].numpy().astype(str).tolist(),
                           "lengths": result["lengths"].numpy().tolist(),
                           "labels": result["case_label"].numpy().astype(str).tolist(),
                           "restored": result["restored"].numpy().astype(str).tolist(),
                           "by_tokens": by_tokens["case_probabilities"].numpy().tolist(),
                           "token_labels": by_tokens["punctuation_label"].numpy().astype(str).tolist()}}))
        for call in [lambda: served["tag"](texts=tf.constant(["fine", ">>> --"])),
                     lambda: served["tag"](texts=tf.constant(["a"] * 257)),
                     lambda: served["tag"](texts=tf.constant([" ".join(["w"] * 1000)] * 256)),
                     lambda: served["tag_tokens"](tokens=tf.constant([["a", "b"]]), lengths=tf.constant([3])),
                     lambda: served["tag_tokens"](tokens=tf.constant(["a", "b"]), lengths=tf.constant([2])),
                     lambda: served["tag_tokens"](tokens=tf.constant([["a"]]), lengths=tf.constant([1, 1]))]:
            try:
                call()
                raise SystemExit("a bad request was served")
            except tf.errors.InvalidArgumentError as error:
                print(" ".join(error.message.split()))
    """, cwd=tmp_path)
    served, *refusals = output.splitlines()[-7:]
    for refusal, expected in zip(refusals, [
            "texts: every text needs at least one word", "texts: 1 to 256 per request",
            "texts: batch x words over the request budget of 65536 cell steps",
            "lengths: at most the time axis of tokens", "tokens: expected string [batch, time]",
            "lengths: one per row of tokens"]):
        assert expected in refusal, refusal
    served = json.loads(served)
    run = restore_run(tag_run)
    split = split_of(restoration_sentences(texts), run.assets)
    assert served["lengths"] == split.lengths.tolist() == [8, 4, 1]
    assert served["tokens"][0] == ["the", "value", "as", "in", "pep", "8", "see", "cpython"]
    case, marks = (tf.nn.softmax(head).numpy() for head in run.model([split.ids, split.lengths]))
    for row, length in enumerate(split.lengths):
        np.testing.assert_allclose(np.array(served["probabilities"][row])[:length], case[row, :length], atol=1e-5)
        np.testing.assert_allclose(np.array(served["marks"][row])[:length], marks[row, :length], atol=1e-5)
        assert served["labels"][row][:length] == [CASES[k] for k in case[row, :length].argmax(-1)]
        assert served["labels"][row][length:] == [""] * (8 - length)
    assert len(served["restored"]) == 3 and served["restored"][2].lower().startswith("x")
    first = split_of(restoration_sentences(["The value, as"]), run.assets)
    np.testing.assert_allclose(np.array(served["by_tokens"][0]),
                               tf.nn.softmax(run.model([first.ids, first.lengths])[0]).numpy()[0], atol=1e-5)
    assert served["token_labels"][1][1:] == ["", ""]


BIO = ["B-PER", "I-PER", "O", "B-LOC"]


def write_conll(path, sentences=60, seed=0):
    """Sentences of word<TAB>BIO<TAB>POS lines: people, places and years in a template."""
    rng = np.random.default_rng(seed)
    lines = []
    for _ in range(sentences):
        person = rng.choice(["Ada Lovelace", "Alan Turing", "Grace Hopper"]).split()
        place = rng.choice(["Paris", "London", "Rome"])
        words = [*person, "went", "to", place, "in", str(rng.integers(1800, 2000)), "."]
        bio = ["B-PER", "I-PER", "O", "O", "B-LOC", "O", "O", "O"]
        pos = ["NNP", "NNP", "VBD", "TO", "NNP", "IN", "CD", "."]
        lines += [f"{w}\t{b}\t{p}" for w, b, p in zip(words, bio, pos)] + [""]
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("format_name", [pytest.param("litert", marks=pytest.mark.slow), "onnx"])
def test_no_signature_converts_and_the_export_says_why_in_one_line(tag_run, tmp_path, capsys, format_name):
    from export.__main__ import main as export_main

    with pytest.raises(SystemExit) as stopped:
        export_main(["--from", str(tag_run), "--format", format_name, "--export-dir", str(tmp_path)])
    assert stopped.value.code == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1
    assert f"nothing to export; tag: not in {format_name} (strings in: StringSplit" in error
    assert f"; tag_tokens: not in {format_name} (" in error
    assert not (tmp_path / format_name).exists()


# Trains, scores and serves a CoNLL run (about 20 s): slow.
@pytest.mark.slow
def test_a_conll_run_scores_entities_and_serves_tokens(tmp_path):
    write_conll(tmp_path / "train.conll")
    main(["--smoke", "--data", str(tmp_path / "train.conll"), "--logdir", str(tmp_path / "runs"), "--steps", "12"])
    run_dir = only_run(tmp_path / "runs")
    events = load_events(run_dir)
    assert sorted(scalar_series(events, "test/column_1/entity_f1")) == [12]
    assert "test/column_2/entity_f1" not in events.Tags()["tensors"]  # POS tags are no entities
    output = run_without_project(f"""
        import json, tensorflow as tf
        served = tf.saved_model.load({str(run_dir / "export" / "tag" / "1")!r}).signatures["tag"]
        result = served(texts=tf.constant(["Ada Lovelace went to Rome ."]))
        print(json.dumps([sorted(result), result["column_1_label"].numpy().astype(str).tolist()]))
    """, cwd=tmp_path)
    keys, labels = json.loads(output.splitlines()[-1])
    assert keys == ["column_1_label", "column_1_probabilities", "column_2_label", "column_2_probabilities",
                    "lengths", "tokens"]
    assert len(labels[0]) == 6 and all(label in BIO for label in labels[0])


# A second smoke run (about 10 s): slow; char_lm's guard test runs by default.
@pytest.mark.slow
def test_a_non_finite_update_is_skipped_and_the_run_goes_on(tmp_path, monkeypatch, capsys):
    assert_a_poisoned_update_is_skipped(tag, TagConfig(**{**SMOKE, "logdir": str(tmp_path)}), monkeypatch, capsys)


def tag_config(logdir, **changes):
    return TagConfig(**{**SMOKE, "logdir": str(logdir), **changes})


@pytest.mark.slow  # three interpreters, about 30 s
def test_sigkill_then_resume_continues_with_the_same_losses(tmp_path):
    assert_resumes_like_a_straight_run(TASK, tag_config(tmp_path, steps=12), "test/case/macro_f1", 6)


@pytest.mark.slow  # a subprocess run, about 15 s
def test_sigterm_stops_with_a_checkpoint(tmp_path):
    logdir = tmp_path / "runs"
    process = subprocess.Popen([sys.executable, "-m", "recipes.tag", "--smoke", "--steps", "400", "--logdir",
                                str(logdir)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    wait_for(lambda: has_checkpoint(logdir, 3))
    process.send_signal(signal.SIGTERM)
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 0, output[-2000:]
    stopped_at = int(output.split("stopped by SIGTERM after step ")[1].split(";")[0])
    assert max(checkpoint_steps(only_run(logdir))) == stopped_at < 400


def bad_inputs(folder):
    """name -> (flags, what the one-line error must say)."""
    write_conll(folder / "train.conll", 20)
    (folder / "dev.conll").write_text("Ada\tB-PER\tNNP\nin\tO\tIN\nOslo\tB-GPE\tNNP\n")
    (folder / "cols.conll").write_text("Ada\tB-PER\n")
    (folder / "twice.conll").write_text("a\tO\n\n\nb\tO\n")
    (folder / "nul.conll").write_bytes(b"a\tO\n\x00\n")
    (folder / "latin1.conll").write_bytes("caf\xe9\tO\n".encode("latin-1"))
    (folder / "blank.conll").write_text("\n")
    (folder / "few.conll").write_text("a\tO\n\nb\tO\n")
    cases = {
        "wrong column count": (["--data", "train.conll", "--valid-data", "cols.conll"],
                               "cols.conll:1: 2 tab-separated field(s); expected a token and the training data's "
                               "2 label column(s)"),
        "empty sentence": (["--data", "twice.conll"], "twice.conll:3: an empty sentence"),
        "label only in validation": (["--data", "train.conll", "--valid-data", "dev.conll"],
                                     "dev.conll:3: label 'B-GPE' (column_1) has no training example"),
        "NUL byte": (["--data", "nul.conll"], "nul.conll:2: a NUL byte"),
        "invalid UTF-8": (["--data", "latin1.conll"], "latin1.conll:1: not UTF-8"),
        "no sentence": (["--data", "blank.conll"], "blank.conll: no sentence"),
        "too few sentences": (["--data", "few.conll"], "2 distinct sentences are too few to split"),
        "missing file": (["--data", "nowhere.conll"], "--data 'nowhere.conll': no such file or folder"),
        "head weights": (["--head-weights", "1,x"], "--head-weights '1,x': expected 2 comma-separated "
                         "non-negative numbers, not all 0, one per head (case, punctuation)"),
        "bad cell": (["--cell", "tree"], "--cell"),
        "batch over the data": (["--data", "train.conll", "--batch-size", "64"], "fewer than one batch"),
    }
    return cases


BAD_CASES = ["wrong column count", "empty sentence", "label only in validation", "NUL byte", "invalid UTF-8",
             "no sentence", "too few sentences", "missing file", "head weights", "bad cell", "batch over the data"]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_stops_with_one_line_and_writes_nothing(tmp_path, capsys, monkeypatch, case):
    monkeypatch.chdir(tmp_path)
    cases = bad_inputs(tmp_path)
    assert sorted(cases) == sorted(BAD_CASES)
    flags, expected = cases[case]
    with pytest.raises(SystemExit) as stopped:
        main(["--smoke", "--batch-size", "2", "--logdir", str(tmp_path / "runs"), *flags])
    assert stopped.value.code == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and expected in error, error
    assert not (tmp_path / "runs").exists()


def test_long_sentences_are_cut_before_encoding_and_unseen_words_read_as_unknown():
    data = TASK.prepare(tag_config("unused", max_words=10))
    assert data.train.ids.shape[1] == 10 and (data.train.lengths <= 10).all()
    assets = data.assets
    split = split_of(chunked(restoration_sentences(["Unheardofword and the value of a name here."]), 10), assets)
    assert split.ids[0, 0] == tag.UNKNOWN_ID and (split.ids[0, 1:split.lengths[0]] > tag.UNKNOWN_ID).all()
