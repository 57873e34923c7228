"""The many-to-one classifier (`zoo.models.classifier`): padding changes nothing, a bidirectional
layer is a forward pass plus a reversed pass (NumPy, by hand, per row's valid steps),
the pools read valid steps only, attention puts exactly 0 on padding; and the scores of
`zoo.evaluation.classification` equal scikit-learn's."""

import keras
import numpy as np
import numpy_reference as ref
import pytest
import tensorflow as tf
from cell_kinds import randomize

from zoo.data.labelled import stratified_split
from zoo.evaluation.classification import class_scores, confusion_matrix
from zoo.layers.pooling import MaskedPooling
from zoo.models.classifier import POOLS, build_sequence_classifier

FEATURES, CLASSES, UNITS = 3, 4, 5
LENGTHS = np.array([9, 4, 1, 6], np.int32)


def classifier(pool="mean", bidirectional=True, merge="concat", layers=2, residual=True, cell="gru", **kw):
    model = build_sequence_classifier(CLASSES, cell, UNITS, layers, bidirectional, merge, residual, pool,
                                      features=FEATURES, mean=[0.5] * FEATURES, variance=[4.0] * FEATURES,
                                      **kw)
    for layer in model.layers:
        if layer.weights and not isinstance(layer, keras.layers.Normalization):
            randomize(layer, seed=len(layer.name))
    return model


def padded(steps, fill, seed=0):
    """Fixed sequences of LENGTHS (the same valid steps for every call) padded to `steps`
    with `fill`: a number, or "noise" (large random values)."""
    valid = np.random.default_rng(99).normal(size=(len(LENGTHS), max(LENGTHS), FEATURES))
    if fill == "noise":
        out = np.random.default_rng(seed).normal(size=(len(LENGTHS), steps, FEATURES)) * 100
    else:
        out = np.full((len(LENGTHS), steps, FEATURES), fill)
    for row, length in enumerate(LENGTHS):
        out[row, :length] = valid[row, :length]
    return out.astype(np.float32)


@pytest.mark.parametrize("merge", ["concat", "sum"])
@pytest.mark.parametrize("pool", POOLS)
def test_padding_a_sequence_further_does_not_change_its_probabilities(pool, merge):
    model = classifier(pool, merge=merge)
    results = [tf.nn.softmax(model([padded(steps, fill), LENGTHS])).numpy()
               for steps, fill in [(max(LENGTHS), 0.0), (17, 0.0), (30, "noise"), (12, 7.0)]]
    for other in results[1:]:
        np.testing.assert_allclose(other, results[0], atol=1e-6)


def test_a_bidirectional_layer_is_a_forward_pass_plus_a_reversed_pass_by_hand():
    """One bidirectional LSTM layer (concat, mean pool) recomputed row by row in NumPy on
    each row's valid steps only: forward over x[:L], backward over x[:L] reversed."""
    model = classifier("mean", layers=1, residual=False, cell="lstm")
    x = padded(11, "noise", seed=3)
    bidirectional = model.get_layer("bidirectional_0")
    sequence = keras.Model(model.inputs, model.get_layer("concat_0").output)([x, LENGTHS]).numpy()
    standardised = (x.astype(np.float64) - 0.5) / 2.0
    pooled = []
    for row, length in enumerate(LENGTHS):
        steps = standardised[row:row + 1, :length]
        forward, _ = ref.lstm_forward(steps, *[w.numpy().astype(np.float64)
                                              for w in bidirectional.forward_layer.weights])
        backward, _ = ref.lstm_forward(steps[:, ::-1], *[w.numpy().astype(np.float64)
                                                          for w in bidirectional.backward_layer.weights])
        by_hand = np.concatenate([forward[0], backward[0, ::-1]], axis=-1)
        np.testing.assert_allclose(sequence[row, :length], by_hand, atol=1e-5)
        pooled.append(by_hand.mean(axis=0))
    logits = model.get_layer("logits")
    np.testing.assert_allclose(model([x, LENGTHS]).numpy(),
                               np.stack(pooled) @ logits.kernel.numpy() + logits.bias.numpy(), atol=1e-5)


def test_last_pooling_reads_each_directions_final_output():
    model = classifier("last", layers=1, residual=False, merge="sum")
    x = padded(10, "noise", seed=4)
    layer = model.get_layer("bidirectional_0")
    forward, backward = keras.Model(model.inputs, layer.output)([x, LENGTHS])
    ends = forward.numpy()[np.arange(len(LENGTHS)), LENGTHS - 1] + backward.numpy()[:, 0]
    logits = model.get_layer("logits")
    np.testing.assert_allclose(model([x, LENGTHS]).numpy(), ends @ logits.kernel.numpy() + logits.bias.numpy(),
                               atol=1e-5)


def test_pools_and_attention_weights_read_valid_steps_only():
    rng = np.random.default_rng(5)
    sequence = rng.normal(size=(len(LENGTHS), 10, 6)).astype(np.float32)
    mask = np.arange(10)[None, :] < LENGTHS[:, None]
    valid = [sequence[row, :length] for row, length in enumerate(LENGTHS)]
    np.testing.assert_allclose(MaskedPooling("mean")(sequence, mask), [v.mean(0) for v in valid], atol=1e-6)
    np.testing.assert_allclose(MaskedPooling("max")(sequence, mask), [v.max(0) for v in valid], atol=1e-6)
    attention = MaskedPooling("attention", attention_units=7)
    pooled = attention(sequence, mask).numpy()
    weights = attention.attention_weights(sequence, mask).numpy()
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-6)
    assert (weights[~mask] == 0.0).all() and (weights[mask] > 0.0).all()
    np.testing.assert_allclose(pooled, np.einsum("bt,btd->bd", weights, sequence), atol=1e-6)


@pytest.mark.parametrize("pool", ["attention", "last"])
def test_the_classifier_runs_the_fused_pass_and_matches_the_cell_loop(pool):
    """The same weights with fused=False: equal logits and gradients."""
    fused = classifier(pool, cell="lstm")
    loop = classifier(pool, cell="lstm", fused=False)
    loop.set_weights(fused.get_weights())
    x = padded(10, "noise", seed=6)
    assert fused.get_layer("bidirectional_0").forward_layer.runs_fused(tf.constant(x))
    results = []
    for model in (fused, loop):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.sin(model([x, LENGTHS])))
        results.append([loss, *tape.gradient(loss, model.trainable_variables)])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, atol=2e-5)


def test_class_scores_equal_scikit_learns():
    metrics = pytest.importorskip("sklearn.metrics")
    rng = np.random.default_rng(7)
    labels = rng.integers(0, 5, 200)
    predictions = np.where(rng.random(200) < 0.6, labels, rng.integers(0, 6, 200)) % 6
    labels[labels == 4] = 3  # class 4 never occurs; class 5 only predicted
    matrix = confusion_matrix(labels, predictions, 6)
    np.testing.assert_array_equal(matrix, metrics.confusion_matrix(labels, predictions, labels=range(6)))
    scores = class_scores(matrix)
    precision, recall, f1, _ = metrics.precision_recall_fscore_support(
        labels, predictions, labels=range(6), zero_division=0)
    np.testing.assert_allclose(scores["precision"], precision)
    np.testing.assert_allclose(scores["recall"], recall)
    np.testing.assert_allclose(scores["f1"], f1)
    assert scores["macro_f1"] == pytest.approx(metrics.f1_score(labels, predictions, labels=range(6),
                                                                average="macro", zero_division=0))
    assert scores["accuracy"] == pytest.approx(metrics.accuracy_score(labels, predictions))


def test_the_stratified_split_holds_out_each_class_in_proportion():
    labels = np.repeat(np.arange(4), [30, 10, 2, 7])
    kept, held = stratified_split(labels, 0.1, seed=3)
    assert sorted(np.concatenate([kept, held])) == list(range(len(labels)))
    assert np.bincount(labels[held]).tolist() == [3, 1, 1, 1]
    again, _ = stratified_split(labels, 0.1, seed=3)
    assert np.array_equal(kept, again)
    assert not np.array_equal(held, stratified_split(labels, 0.1, seed=4)[1])
