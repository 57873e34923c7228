"""`python -m recipes.classify`: smoke runs on JapaneseVowels and on text end to end
(scores, TensorBoard, export), the served `classify` without the project against the
Python model, resume after SIGKILL with the same losses, and the bad-input table."""

import json
import pathlib
import sys

import numpy as np
import pytest
import tensorflow as tf
from event_files import load_events, scalar_series
from isolated import run_without_project
from run_folders import assert_resumes_like_a_straight_run, only_run

from recipes.classify import SMOKE, TASK, ClassifyConfig, main, split_of
from zoo.data.labelled import Examples, load_labelled
from zoo.run.errors import InputError
from zoo.run.folders import restore_run
from zoo.training.loop import train_and_evaluate

VOWEL_CLASSES = [str(k) for k in range(1, 10)]


@pytest.fixture(scope="module")
def vowel_run(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("vowels")
    main(["--smoke", "--logdir", str(logdir)])
    return only_run(logdir)


def test_the_smoke_run_scores_logs_and_exports(vowel_run):
    events = load_events(vowel_run)
    tags = set(events.Tags()["tensors"])
    assert sorted(scalar_series(events, "train/loss")) == list(range(1, 7))
    for tag in ("train/accuracy", "train/macro_f1", "valid/loss", "valid/accuracy", "valid/macro_f1"):
        assert sorted(scalar_series(events, tag)) == [3, 6]
    assert {f"valid_precision/{k}" for k in VOWEL_CLASSES} <= tags
    assert {f"valid_recall/{k}" for k in VOWEL_CLASSES} <= tags
    # The test set is scored once, at the end.
    assert sorted(scalar_series(events, "test/accuracy")) == [6]
    assert {"valid/confusion_matrix", "test/confusion_matrix", "_hparams_/session_start_info"} <= tags
    image = events.Tensors("valid/confusion_matrix")[-1]
    width, height = (int(v) for v in tf.make_ndarray(image.tensor_proto)[:2])
    assert width > 100 and height > 100
    assets = json.loads((vowel_run / "classes.json").read_text())
    assert assets["class_names"] == VOWEL_CLASSES and assets["features"] == 12
    version = vowel_run / "export" / "classify" / "1"
    assert (version / "assets.extra" / "tf_serving_warmup_requests").exists()
    assert (version / "assets" / "labels.txt").read_text().split("\n")[:-1] == VOWEL_CLASSES


def test_japanese_vowels_is_the_official_split():
    data = load_labelled("default")
    assert (len(data.train.labels), len(data.test.labels)) == (270, 370)
    assert data.class_names == VOWEL_CLASSES
    lengths = [len(s) for s in data.train.sequences + data.test.sequences]
    assert (min(lengths), max(lengths)) == (7, 29)
    assert np.bincount(data.train.labels).tolist() == [30] * 9


def test_missing_sktime_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "sktime", None)
    monkeypatch.setitem(sys.modules, "sktime.datasets", None)
    with pytest.raises(InputError, match=r'pip install -e "\.\[timeseries\]"'):
        load_labelled("default")


def test_the_served_classify_equals_the_python_model_without_the_project(vowel_run, tmp_path):
    data = load_labelled("default")
    rows = [0, 5, 100, 369]
    sequences = [data.test.sequences[i] for i in rows]
    lengths = np.array([len(s) for s in sequences], np.int32)
    features = np.zeros((len(rows), 40, 12), np.float32)  # padded further than any sequence
    for row, sequence in enumerate(sequences):
        features[row, :len(sequence)] = sequence
    np.save(tmp_path / "features.npy", features)
    np.save(tmp_path / "lengths.npy", lengths)
    version = vowel_run / "export" / "classify" / "1"
    output = run_without_project(f"""
        import numpy as np, tensorflow as tf
        served = tf.saved_model.load({str(version)!r}).signatures["classify"]
        folder = {str(tmp_path)!r}
        result = served(features=tf.constant(np.load(folder + "/features.npy")),
                        lengths=tf.constant(np.load(folder + "/lengths.npy")))
        for name, value in result.items():
            np.save(folder + f"/served_{{name}}.npy", value.numpy())
        x = np.load(folder + "/features.npy")
        nan = x.copy()
        nan[0, 0, 0] = np.nan
        for features, lengths in [(x, [41, 1, 1, 1]), (x, [0, 1, 1, 1]), (nan, [3, 3, 3, 3]),
                                  (np.zeros((257, 5, 12), np.float32), [5] * 257)]:
            try:
                served(features=tf.constant(features), lengths=tf.constant(lengths, tf.int32))
                raise SystemExit("a bad request was served")
            except tf.errors.InvalidArgumentError as error:
                print(" ".join(error.message.split()))
        try:
            served(features=tf.constant(x[:, :, :11]), lengths=tf.constant([3, 3, 3, 3]))
            raise SystemExit("a request with 11 features was served")
        except tf.errors.InvalidArgumentError as error:
            print(" ".join(error.message.split()))
    """, cwd=tmp_path)
    for refusal in ("lengths: at most the time axis of features", "every sequence needs at least one step",
                    "features: values must be finite", "features: 1 to 256 sequences per request",
                    "features: 12 per step, as in training"):
        assert refusal in output
    model = restore_run(vowel_run).model
    expected = tf.nn.softmax(model([features, lengths])).numpy()
    np.testing.assert_allclose(np.load(tmp_path / "served_probabilities.npy"), expected, atol=1e-5)
    labels = np.load(tmp_path / "served_label.npy", allow_pickle=True)
    assert [label.decode() for label in labels] == [VOWEL_CLASSES[k] for k in expected.argmax(-1)]


def write_text_classes(folder):
    rng = np.random.default_rng(0)
    words = {"pos": ["good", "great", "fine", "lovely"], "neg": ["bad", "awful", "poor", "grim"]}
    pairs = [(label, " ".join(rng.choice(words[label], rng.integers(2, 8)))) for label in ("pos", "neg") * 40]
    for index, (label, text) in enumerate(pairs):
        (folder / label).mkdir(parents=True, exist_ok=True)
        (folder / label / f"{index:03d}.txt").write_text(text + "\n")
    return pairs


# Each trains, validates and serves a text run (about 20 s): slow.
@pytest.mark.slow
@pytest.mark.parametrize("layout,tokens", [("folder", "word"), ("tsv", "char")])
def test_text_runs_train_show_mistakes_and_serve_strings(tmp_path, layout, tokens):
    pairs = write_text_classes(tmp_path / "texts")
    data = tmp_path / "texts"
    if layout == "tsv":
        data = tmp_path / "pairs.tsv"
        data.write_text("".join(f"{label}\t{text}\n" for label, text in pairs))
    main(["--smoke", "--data", str(data), "--tokens", tokens, "--logdir", str(tmp_path / "runs")])
    run_dir = only_run(tmp_path / "runs")
    assert "valid/misclassified" in load_events(run_dir).Tags()["tensors"]
    texts = ["good great", "awful GRIM poor", "zzz unseen", "fine"]
    version = run_dir / "export" / "classify" / "1"
    output = run_without_project(f"""
        import json, tensorflow as tf
        served = tf.saved_model.load({str(version)!r}).signatures["classify"]
        result = served(texts=tf.constant({texts!r}))
        print(json.dumps(result["probabilities"].numpy().tolist()))
        try:
            served(texts=tf.constant(["fine", ""]))
        except tf.errors.InvalidArgumentError as error:
            print(" ".join(error.message.split()))
    """, cwd=tmp_path)
    served, refusal = output.splitlines()[-2:]
    assert "every text needs at least one token" in refusal
    run = restore_run(run_dir)
    inputs = split_of(Examples(texts, np.zeros(4, np.int64), "request"), None, run.assets)
    expected = tf.nn.softmax(run.model([inputs.inputs, inputs.lengths])).numpy()
    np.testing.assert_allclose(np.array(json.loads(served)), expected, atol=1e-5)


def classify_config(logdir, **changes):
    return ClassifyConfig(**{**SMOKE, "logdir": str(logdir), **changes})


@pytest.mark.slow  # three interpreters, about 25 s
def test_sigkill_then_resume_continues_with_the_same_losses(tmp_path):
    assert_resumes_like_a_straight_run(TASK, classify_config(tmp_path, steps=24), "test/accuracy", 6)


def write_npz(path, x, y):
    """x padded to [n, time, features] with its lengths, the form read without pickle."""
    lengths = np.array([len(s) for s in x], np.int32)
    padded = np.zeros((len(x), max(lengths), x[0].shape[1]), np.float32)
    for index, sequence in enumerate(x):
        padded[index, :len(sequence)] = sequence
    np.savez(path, x=padded, lengths=lengths, y=np.array(y))


class RunsCode:
    """Unpickling this runs `touch WITNESS`: what a crafted .npz can do under allow_pickle."""

    def __init__(self, witness):
        self.witness = witness

    def __reduce__(self):
        return (pathlib.Path.touch, (pathlib.Path(self.witness),))


def write_object_npz(path, x, y, payload=None):
    """x as an object array of [time, features] arrays (ragged), optionally with a payload."""
    objects = np.empty(len(x) + (payload is not None), dtype=object)
    for index, sequence in enumerate(x):
        objects[index] = sequence
    if payload is not None:
        objects[-1] = payload
    np.savez(path, x=objects, y=np.array(y))


def sequences(count, features=2, steps=5):
    return [np.ones((steps, features), np.float32) * k for k in range(count)]


def bad_inputs(folder):
    """name -> (flags, what the one-line error must say)."""
    write_object_npz(folder / "ragged.npz", sequences(6), [0, 1] * 3)
    write_object_npz(folder / "crafted.npz", sequences(6), [0, 1] * 3, RunsCode(folder / "witness"))
    np.savez(folder / "lengths.npz", x=np.ones((6, 5, 2), np.float32), lengths=np.full(6, 9), y=[0, 1] * 3)
    nan = sequences(6)
    nan[2][1, 0] = np.nan
    write_npz(folder / "nan.npz", nan, [0, 1] * 3)
    empty = sequences(6)
    empty[4] = np.zeros((0, 2), np.float32)
    write_npz(folder / "empty.npz", empty, [0, 1] * 3)
    write_npz(folder / "train.npz", sequences(6), [0, 1] * 3)
    write_npz(folder / "unknown.npz", sequences(2), [0, 7])
    header = "@problemName t\n@timeStamps false\n@univariate true\n@classLabel true a b c\n@data\n"
    (folder / "missing_TRAIN.ts").write_text(header + "1,2,3:a\n2,3,4:b\n3,4,5:a\n4,5,6:b\n")
    (folder / "broken.ts").write_text(header + "1,2,x:a\n")
    (folder / "notab.tsv").write_text("pos\tgood\nneg bad\n")
    (folder / "binary.tsv").write_bytes(b"pos\tgood\x00\xff\n")
    (folder / "empty_class" / "pos").mkdir(parents=True)
    (folder / "empty_class" / "neg").mkdir()
    (folder / "empty_class" / "pos" / "a.txt").write_text("good")
    (folder / "data.csv").write_text("1,2\n")
    cases = {
        "ragged object array": (["--data", "ragged.npz"], "ragged.npz: holds an object array, which needs "
                                "pickle (refused: loading one can run code); expected x float [n, time, "
                                "features] padded with lengths"),
        "object array that runs code": (["--data", "crafted.npz"], "crafted.npz: holds an object array"),
        "lengths past the time axis": (["--data", "lengths.npz"], "lengths run from 9 to 9; expected 0 to "
                                       "the time axis of x (5)"),
        "nan feature": (["--data", "nan.npz"], "sequence 2 has a NaN or infinite value"),
        "empty sequence": (["--data", "empty.npz"], "sequence 4 is empty"),
        "class without training example": (["--data", "missing_TRAIN.ts"], "class 'c' has no training example"),
        "unknown test label": (["--data", "train.npz", "--test-data", "unknown.npz"],
                               "unknown.npz: test labels 7 have no training example"),
        "malformed ts": (["--data", "broken.ts"], "broken.ts: "),
        "line without tab": (["--data", "notab.tsv"], "notab.tsv:2: no tab"),
        "binary file": (["--data", "binary.tsv"], "binary.tsv: a NUL byte"),
        "empty class folder": (["--data", "empty_class"], "class 'neg' has no example"),
        "missing file": (["--data", "nowhere.npz"], "nowhere.npz: no such file"),
        "unknown format": (["--data", "data.csv"], "unknown format .csv"),
        "bad pool": (["--pool", "median"], "--pool"),
        "bad validation share": (["--validation-share", "0.7"], "--validation-share"),
        "batch over the data": (["--data", "train.npz", "--batch-size", "64"], "fewer than one batch"),
    }
    assert sorted(cases) == sorted(BAD_CASES)
    return cases


BAD_CASES = ["ragged object array", "object array that runs code", "lengths past the time axis",
             "nan feature", "empty sequence", "class without training example",
             "unknown test label", "malformed ts", "line without tab", "binary file", "empty class folder",
             "missing file", "unknown format", "bad pool", "bad validation share", "batch over the data"]


@pytest.mark.parametrize("case", BAD_CASES)
def test_bad_input_stops_with_one_line_and_writes_nothing(tmp_path, capsys, monkeypatch, case):
    monkeypatch.chdir(tmp_path)
    flags, expected = bad_inputs(tmp_path)[case]
    with pytest.raises(SystemExit) as stopped:
        main(["--smoke", "--batch-size", "2", "--logdir", str(tmp_path / "runs"), *flags])
    assert stopped.value.code == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and expected in error, error
    assert not (tmp_path / "runs").exists()
    assert not (tmp_path / "witness").exists()  # nothing in the data ran


@pytest.mark.slow
def test_the_default_run_reaches_98_percent_on_japanese_vowels_on_seeds_0_to_4(tmp_path):
    """The default run on five seeds (about 16 s each here): every test accuracy at least
    98% (Kudo et al. 1999: 94.1%; 1-NN DTW about 95-96%)."""
    accuracies = [train_and_evaluate(TASK, ClassifyConfig(seed=seed, logdir=str(tmp_path)), show_progress=False)
                  ["test/accuracy"] for seed in range(5)]
    assert min(accuracies) >= 0.98, accuracies
