"""The tagger (`zoo.models.tagger`): a bidirectional layer's per-step outputs equal a
forward pass plus a reversed pass written by hand in NumPy (each row's real words only);
padding a sentence further changes neither its logits nor the masked loss of
`recipes.tag`; every head reads the same states."""

import keras
import numpy as np
import numpy_reference as ref
import pytest
from cell_kinds import randomize

from recipes.tag import tagging_loss
from zoo.models.tagger import build_tagger

VOCAB, HEADS = 11, (4, 6)
LENGTHS = np.array([7, 3, 1, 5], np.int32)


def tagger(cell="elman", layers=1, bidirectional=True, **options):
    model = build_tagger(list(HEADS), VOCAB, 5, cell, 4, layers, bidirectional, head_names=["case", "marks"],
                         **options)
    for layer in model.layers:
        if layer.weights:
            randomize(layer, seed=len(layer.name))
    return model


def padded_ids(steps, fill, seed=0):
    """Fixed word ids for LENGTHS' real steps, padded to `steps` with `fill` (an id or
    "random": any id at all)."""
    valid = np.random.default_rng(99).integers(1, VOCAB, (len(LENGTHS), max(LENGTHS)))
    out = (np.random.default_rng(seed).integers(0, VOCAB, (len(LENGTHS), steps)) if fill == "random"
           else np.full((len(LENGTHS), steps), fill))
    for row, length in enumerate(LENGTHS):
        out[row, :length] = valid[row, :length]
    return out.astype(np.int32)


def test_a_bidirectional_tagger_is_a_forward_pass_plus_a_reversed_pass_by_hand():
    model = tagger("elman")
    ids = padded_ids(9, "random", seed=1)
    embedding = model.get_layer("embedding").embeddings.numpy().astype(np.float64)
    layer = model.get_layer("bidirectional_0")
    forward_weights = [w.numpy().astype(np.float64) for w in layer.forward_layer.weights]
    backward_weights = [w.numpy().astype(np.float64) for w in layer.backward_layer.weights]
    logits = model([ids, LENGTHS])
    for row, length in enumerate(LENGTHS):
        x = embedding[ids[row:row + 1, :length]]
        forward = ref.elman_forward(x, *forward_weights)[0]
        backward = ref.elman_forward(x[:, ::-1], *backward_weights)[0, ::-1]
        states = np.concatenate([forward, backward], axis=-1)
        for head, name in enumerate(["case", "marks"]):
            dense = model.get_layer(f"logits_{name}")
            np.testing.assert_allclose(logits[head].numpy()[row, :length],
                                       states @ dense.kernel.numpy() + dense.bias.numpy(), atol=1e-5)


def test_a_forward_only_tagger_sees_the_past_only():
    model = tagger("elman", bidirectional=False)
    ids = padded_ids(9, 0)
    changed = ids.copy()
    changed[0, 4] = (ids[0, 4] % (VOCAB - 1)) + 1  # a later word of row 0
    before, after = (model([x, LENGTHS])[0].numpy()[0] for x in (ids, changed))
    np.testing.assert_allclose(after[:4], before[:4], atol=1e-6)
    assert not np.allclose(after[4], before[4])
    both = tagger("elman")
    before, after = (both([x, LENGTHS])[0].numpy()[0] for x in (ids, changed))
    assert not np.allclose(after[:4], before[:4])  # the backward direction carries it back


@pytest.mark.parametrize("cell,options", [("lstm", dict(layers=2, residual=True)), ("gru", dict(merge="sum")),
                                          ("elman", {})])
def test_padding_a_sentence_further_changes_neither_its_logits_nor_its_loss(cell, options):
    model = tagger(cell, **options)
    labels_of = lambda ids: [ids % HEADS[0], (ids * 3) % HEADS[1]]  # real steps' labels fixed by their ids
    results = []
    for steps, fill in [(max(LENGTHS), 0), (12, 0), (16, "random"), (10, 5)]:
        ids = padded_ids(steps, fill, seed=steps)
        logits = model([ids, LENGTHS])
        loss, words = tagging_loss(model, ids, LENGTHS, labels_of(ids), [1.0, 0.5], False)
        results.append(([head.numpy() for head in logits], float(loss), float(words)))
    for logits, loss, words in results[1:]:
        assert words == LENGTHS.sum()
        np.testing.assert_allclose(loss, results[0][1], rtol=1e-6)
        for head, first in zip(logits, results[0][0]):
            for row, length in enumerate(LENGTHS):
                np.testing.assert_allclose(head[row, :length], first[row, :length], atol=1e-6)


def test_the_loss_is_the_weighted_sum_of_the_heads_mean_cross_entropies():
    model = tagger("gru")
    ids = padded_ids(8, 0)
    labels = [ids % HEADS[0], (ids + 1) % HEADS[1]]
    logits = [head.numpy().astype(np.float64) for head in model([ids, LENGTHS])]
    mask = np.arange(8)[None, :] < LENGTHS[:, None]
    expected = 0.0
    for weight, head, target in zip([2.0, 0.25], logits, labels):
        log_p = head - np.log(np.exp(head).sum(-1, keepdims=True))
        expected += weight * -np.take_along_axis(log_p, target[..., None], -1)[..., 0][mask].mean()
    loss, words = tagging_loss(model, ids, LENGTHS, labels, [2.0, 0.25], False)
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)
    assert float(words) == LENGTHS.sum()


def test_the_tagger_needs_a_name_per_head():
    with pytest.raises(ValueError, match="one name per head"):
        build_tagger([3, 4], VOCAB, head_names=["one"])
    assert isinstance(build_tagger([3], VOCAB, units=2, layers=1), keras.Model)
