"""Zoo cells inside keras.layers.RNN equal the Keras built-ins with the same weights."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from cell_kinds import CELL_KINDS, randomize

INPUT_DIM, UNITS = 6, 5


def twin_layers(kind, **layer_kwargs):
    make_cell, make_keras, _ = CELL_KINDS[kind]
    kwargs = dict(return_sequences=True, return_state=True, **layer_kwargs)
    ours = keras.layers.RNN(make_cell(UNITS), **kwargs)
    theirs = make_keras(UNITS, **kwargs)
    ours.build((None, None, INPUT_DIM))
    theirs.build((None, None, INPUT_DIM))
    randomize(theirs, seed=7)
    ours.set_weights(theirs.get_weights())
    return ours, theirs


def right_padded_mask(batch, time, rng):
    lengths = rng.integers(1, time + 1, size=batch)
    return np.arange(time)[None, :] < lengths[:, None]


def outputs_and_gradients(layer, x, mask, initial_state, probe):
    with tf.GradientTape() as tape:
        outputs = layer(x, mask=mask, initial_state=initial_state)
        loss = sum(tf.reduce_sum(o * p) for o, p in zip(outputs, probe))
    grads = tape.gradient(loss, [w.value for w in layer.trainable_weights])
    return [o.numpy() for o in outputs], [g.numpy() for g in grads]


@pytest.mark.parametrize("kind", sorted(CELL_KINDS))
@pytest.mark.parametrize("batch,time", [(1, 1), (3, 7), (8, 19)])
@pytest.mark.parametrize("masked", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_outputs_states_and_gradients_match_keras(kind, batch, time, masked, go_backwards):
    rng = np.random.default_rng(batch * 100 + time)
    ours, theirs = twin_layers(kind, go_backwards=go_backwards)
    x = rng.normal(size=(batch, time, INPUT_DIM)).astype("float32")
    mask = right_padded_mask(batch, time, rng) if masked else None
    # A nonzero initial state, so that even one step exercises the recurrent kernel.
    initial_state = [rng.normal(size=(batch, UNITS)).astype("float32")
                     for _ in ours.cell.state_size]
    shapes = [(batch, time, UNITS)] + [(batch, UNITS)] * len(initial_state)
    probe = [rng.normal(size=s).astype("float32") for s in shapes]

    our_out, our_grads = outputs_and_gradients(ours, x, mask, initial_state, probe)
    their_out, their_grads = outputs_and_gradients(theirs, x, mask, initial_state, probe)

    assert len(our_out) == len(their_out)
    for a, b in zip(our_out, their_out):
        np.testing.assert_allclose(a, b, atol=1e-5, rtol=0)
    for w, a, b in zip(ours.trainable_weights, our_grads, their_grads):
        relative = np.linalg.norm(a - b) / np.linalg.norm(b)
        assert relative < 1e-4, f"{w.path}: relative gradient error {relative:.2e}"


@pytest.mark.parametrize("kind", sorted(CELL_KINDS))
def test_stacked_cells_match_stacked_keras_layers(kind):
    make_cell, make_keras, _ = CELL_KINDS[kind]
    rng = np.random.default_rng(3)
    x = rng.normal(size=(4, 9, INPUT_DIM)).astype("float32")
    ours = keras.layers.RNN([make_cell(UNITS), make_cell(UNITS + 2)], return_sequences=True)
    lower = make_keras(UNITS, return_sequences=True)
    upper = make_keras(UNITS + 2, return_sequences=True)
    ours.build((None, None, INPUT_DIM))
    lower.build((None, None, INPUT_DIM))
    upper.build((None, None, UNITS))
    randomize(lower, seed=1)
    randomize(upper, seed=2)
    ours.set_weights(lower.get_weights() + upper.get_weights())
    np.testing.assert_allclose(ours(x), upper(lower(x)), atol=1e-5, rtol=0)
