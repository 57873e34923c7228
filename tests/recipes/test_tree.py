"""recipes.tree end to end: the smoke run scores by depth, logs and exports; the served
`classify_trees` equals the Python model without the project and refuses bad trees by
rule; bad files stop in one line naming FILE:LINE; resume after SIGKILL (slow)."""

import json

import numpy as np
import pytest
import tensorflow as tf
from event_files import load_events, scalar_series
from isolated import run_without_project
from poisoned_update import assert_a_poisoned_update_is_skipped
from run_folders import assert_resumes_like_a_straight_run, only_run, run_folders

from export.tree import MAX_DEPTH, TreeServer
from recipes import tree
from recipes.tree import SMOKE, TASK, TreeConfig, main, model_inputs, split_of, token_positions
from zoo.data.listops import parse_tree
from zoo.data.tree_batch import tree_batch
from zoo.run.folders import restore_run

REQUESTS = ["[MAX 2 9 [MIN 4 7 ] 0 ]", "[SM 1 2 ]", "[MED 3 [MAX 1 8 ] 5 ]", "7"]


@pytest.fixture(scope="module")
def tree_run(tmp_path_factory):
    logdir = tmp_path_factory.mktemp("tree")
    main(["--smoke", "--logdir", str(logdir)])
    return only_run(logdir)


def test_the_smoke_run_scores_by_depth_logs_and_exports(tree_run):
    events = load_events(tree_run)
    assert sorted(scalar_series(events, "train/loss")) == list(range(1, 7))
    tags = set(events.Tags()["tensors"])
    for tag in ("valid/accuracy", "test/accuracy", "deeper/accuracy", "valid_depth/accuracy_1",
                "deeper_depth/accuracy_3", "valid/confusion_matrix", "_hparams_/session_start_info",
                "valid_gradient/depth_0", "deeper_gradient/depth_3"):
        assert tag in tags, tag
    assert (tree_run / "export" / "tree" / "1" / "saved_model.pb").exists()


def python_probabilities(run_dir, texts):
    run = restore_run(run_dir)
    names = run.assets["class_names"]
    rows = [(names[0], parse_tree(text), text, k) for k, text in enumerate(texts, 1)]
    split = split_of(rows, names, "requests")
    logits = run.model(list(model_inputs(split, run.assets, run.assets["model"])), training=False)
    return tf.nn.softmax(logits).numpy()


def test_the_served_trees_equal_the_python_model_without_the_project(tree_run, tmp_path):
    version = tree_run / "export" / "tree" / "1"
    output = run_without_project(f"""
        import json, tensorflow as tf
        served = tf.saved_model.load({str(version)!r}).signatures["classify_trees"]
        result = served(trees=tf.constant({REQUESTS!r}))
        print(json.dumps({{"probabilities": result["probabilities"].numpy().tolist(),
                           "class_id": result["class_id"].numpy().tolist(),
                           "label": result["label"].numpy().astype(str).tolist()}}))
        for trees in [["[MAX 1 2"], ["[MAX 1 ] ]"], ["] 1"], ["[MAX ]"], ["1 2"], [""], ["1"] * 257,
                      [" ".join(["[MAX"] + ["1"] * 40 + ["]"])], [[["1"]]]]:
            try:
                served(trees=tf.constant(trees))
                raise SystemExit("a bad request was served")
            except tf.errors.InvalidArgumentError as error:
                print(" ".join(error.message.split()))
    """, cwd=tmp_path)
    served, *refusals = output.splitlines()[-10:]
    for refusal, expected in zip(refusals, [
            "a node is never closed", "a closing ] with no open node", "a closing ] with no open node",
            "a node with no child", "tokens after the tree has ended", "every tree needs at least one token",
            "trees: 1 to 256 per request", "trees: at most 40 tokens each", "trees: expected string [batch]"]):
        assert expected in refusal, refusal
    served = json.loads(served)
    expected = python_probabilities(tree_run, REQUESTS)
    np.testing.assert_allclose(served["probabilities"], expected, atol=1e-5)
    assert served["class_id"] == expected.argmax(-1).tolist()
    assert served["label"] == [str(k) for k in served["class_id"]]  # ListOps labels are the values


def test_nesting_and_work_are_bounded_before_the_parse(tree_run, tmp_path):
    run = restore_run(tree_run)
    server = TreeServer(run.model, {**run.assets, "max_tokens": 400}, tmp_path, budget=600, max_tokens=400)
    deep = " ".join(["[MAX"] * (MAX_DEPTH + 1) + ["1"] + ["]"] * (MAX_DEPTH + 1))
    allowed = " ".join(["[MAX"] * MAX_DEPTH + ["1"] + ["]"] * MAX_DEPTH)
    assert server.classify_trees(tf.constant([allowed]))["probabilities"].shape == (1, 10)
    for trees, message in [([deep], f"trees: at most {MAX_DEPTH} levels of nesting"),
                           ([allowed] * 5, "trees: batch x tokens over the request budget of 600 cell steps")]:
        with pytest.raises(tf.errors.InvalidArgumentError, match=message):
            server.classify_trees(tf.constant(trees))


@pytest.mark.parametrize("model", ["tree-lstm", "binary-tree-lstm", "lstm"])
def test_token_positions_give_each_head_and_leaf_its_nesting_depth(model):
    text = "[MAX 2 [MIN 4 7 ] 0 ]"
    names = ["0"]
    split = split_of([("0", parse_tree(text), text, 1)], names, "t")
    ids = model_inputs(split, {"vocabulary": text.split(), "class_names": names}, model)[0]
    keep, depth = token_positions(ids, split, model)
    assert keep.sum() == 6
    # Heads and leaves in string order, whatever the model's positions: [MAX 2 [MIN 4 7 0.
    assert depth[keep].tolist() == [0, 1, 1, 2, 2, 1]
    if model == "tree-lstm":
        np.testing.assert_array_equal(depth[keep], tree_batch([parse_tree(text)]).depths[0, :6])


@pytest.mark.parametrize("model", ["lstm", "gru"])
def test_a_batch_cut_to_its_longest_string_gives_the_logits_of_the_whole_width(model):
    texts = ["[MAX 2 [MIN 4 7 ] 0 ]", "[SM 1 2 ]", "[MED 3 [MAX 1 9 8 ] 5 [MIN 0 2 ] ]"]
    names = ["0"]
    split = split_of([("0", parse_tree(t), t, 1) for t in texts], names, "t")
    assets = {"vocabulary": sorted({token for t in texts for token in t.split()}), "class_names": names}
    ids, lengths = model_inputs(split, assets, model)
    config = TreeConfig(**{**SMOKE, "model": model})
    network = TASK.build_model(config, assets)
    wide = np.concatenate([ids, np.zeros((3, 40), np.int32)], axis=1)  # padded far past the longest
    cut = tree.batch_width([tf.constant(wide[:2]), tf.constant(lengths[:2])], model)
    assert cut[0].shape[1] == lengths[:2].max() < ids.shape[1]
    np.testing.assert_allclose(network(cut).numpy(), network([wide[:2], lengths[:2]]).numpy(), atol=1e-6)


def write(path, content):
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


GOOD = "".join(f"{label}\t[{head} a{k} b ]\n" for k in range(12) for label, head in (("x", "[P"), ("y", "[Q")))


@pytest.mark.parametrize("content, valid, message", [
    (GOOD + "x\t[P a b\n", None, ":25: unbalanced brackets: '[P' at token 1 is never closed"),
    (GOOD + "x\t\n", None, ":25: empty tree"),
    (GOOD + "x\t[P ]\n", None, ":25: token 2 ']' closes '[P' with no child"),
    (GOOD + "x [P a ]\n", None, ":25: no tab; expected LABEL<TAB>TREE"),
    (GOOD.encode() + b"x\t[P \xff ]\n", None, "is not UTF-8"),
    (GOOD.encode() + b"x\t[P \x00 ]\n", None, "looks binary"),
    (GOOD, "z\t[P a ]\n", ":1: label 'z' is not among the training labels"),
    ("", None, "no trees; expected LABEL<TAB>TREE lines"),
])
def test_bad_files_stop_with_one_line_naming_the_line_and_write_nothing(tmp_path, capsys, content, valid,
                                                                        message):
    data = write(tmp_path / "trees.tsv", content)
    flags = ["--smoke", "--data", str(data), "--logdir", str(tmp_path / "runs"), "--batch-size", "4"]
    if valid is not None:
        flags += ["--valid-data", str(write(tmp_path / "valid.tsv", valid))]
    with pytest.raises(SystemExit) as stopped:
        main(flags)
    assert stopped.value.code == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and message in error, error
    assert run_folders(tmp_path / "runs") == [] if (tmp_path / "runs").exists() else True


def test_a_users_trees_train_and_the_labels_are_theirs(tmp_path):
    data = write(tmp_path / "trees.tsv", GOOD)
    config = TreeConfig(**{**SMOKE, "data": str(data), "batch_size": 4, "logdir": str(tmp_path)})
    prepared = TASK.prepare(config)
    assert prepared.assets["class_names"] == ["x", "y"] and prepared.deeper is None
    assert len(prepared.train.labels) + len(prepared.valid.labels) == 24


@pytest.mark.slow
@pytest.mark.parametrize("model", ["binary-tree-lstm", "tree-rnn", "lstm", "gru"])
def test_every_model_trains_and_serves_as_the_python_model(model, tmp_path):
    main(["--smoke", "--model", model, "--logdir", str(tmp_path / "runs")])
    run_dir = only_run(tmp_path / "runs")
    version = run_dir / "export" / "tree" / "1"
    output = run_without_project(f"""
        import json, tensorflow as tf
        served = tf.saved_model.load({str(version)!r}).signatures["classify_trees"]
        print(json.dumps(served(trees=tf.constant({REQUESTS!r}))["probabilities"].numpy().tolist()))
    """, cwd=tmp_path)
    np.testing.assert_allclose(json.loads(output.splitlines()[-1]), python_probabilities(run_dir, REQUESTS),
                               atol=1e-5)


@pytest.mark.slow  # a second smoke run; char_lm's guard test runs by default
def test_a_non_finite_update_is_skipped_and_the_run_goes_on(tmp_path, monkeypatch, capsys):
    assert_a_poisoned_update_is_skipped(tree, TreeConfig(**{**SMOKE, "logdir": str(tmp_path)}), monkeypatch, capsys)


@pytest.mark.slow
def test_sigkill_then_resume_continues_with_the_same_losses(tmp_path):
    config = TreeConfig(**{**SMOKE, "steps": 12, "logdir": str(tmp_path)})
    assert_resumes_like_a_straight_run(TASK, config, "test/accuracy", 6)


def test_a_flow_penalty_on_a_tree_model_is_refused_in_one_line(tmp_path, capsys):
    """Trees recurse over children, not time steps; the sequential baselines take it."""
    with pytest.raises(SystemExit) as stopped:
        main(["--smoke", "--logdir", str(tmp_path / "runs"), "--flow-penalty", "1"])
    assert stopped.value.code == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "--flow-penalty" in error and "--model lstm" in error, error
    assert not (tmp_path / "runs").exists()
