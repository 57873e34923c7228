"""The NTM cell against a NumPy step written from Graves et al. (2014), float64 finite
differences, weightings that sum to 1, erase and add as the equations say, and the Keras
contract (keras.layers.RNN, config, .keras)."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from finite_differences import assert_gradients_match

from zoo.cells.ntm import SHIFTS, NTMCell, address, write

UNITS, ROWS, WIDTH, INPUT_DIM = 5, 6, 4, 3


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def softplus(x):
    return np.log1p(np.exp(x))


def softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def numpy_address(memory, key, beta, g, s, gamma, previous, eps=1e-6):
    """Section 3.3, one row of the batch: content, interpolation, shift, sharpening."""
    n = len(memory)
    norm = lambda u: np.sqrt(u @ u + eps ** 2)  # smooth at a zero row
    cosine = np.array([key @ memory[i] / (norm(key) * norm(memory[i]) + eps) for i in range(n)])
    content = softmax(beta * cosine)
    gated = g * content + (1 - g) * previous
    # w~(i) = sum_j w^g(j) s(i - j mod N), s indexed by the shift -1, 0, +1.
    shifted = np.array([sum(gated[j] * {-1 % n: s[0], 0: s[1], 1 % n: s[2]}.get((i - j) % n, 0.0)
                            for j in range(n)) for i in range(n)])
    sharpened = (shifted + eps) ** gamma
    return sharpened / sharpened.sum()


def numpy_step(cell, x, state):
    W, U, b = (np.asarray(w, np.float64) for w in cell.controller.weights)
    head_kernel, head_bias = np.asarray(cell.head_kernel), np.asarray(cell.head_bias)
    h, c, r, w_read, w_write, flat = state
    memory = flat.reshape(ROWS, WIDTH)
    u = UNITS
    z = np.concatenate([x, r]) @ W + h @ U + b
    i, f, g, o = sigmoid(z[:u]), sigmoid(z[u:2 * u]), np.tanh(z[2 * u:3 * u]), sigmoid(z[3 * u:])
    c = f * c + i * g
    h = o * np.tanh(c)
    p = h @ head_kernel + head_bias
    columns = WIDTH + 3 + SHIFTS

    def head(q, previous):
        return numpy_address(memory, q[:WIDTH], softplus(q[WIDTH]), sigmoid(q[WIDTH + 1]),
                             softmax(q[WIDTH + 2:WIDTH + 2 + SHIFTS]), 1 + softplus(q[WIDTH + 2 + SHIFTS]),
                             previous)

    w_read, w_write = head(p[:columns], w_read), head(p[columns:2 * columns], w_write)
    erase, add = sigmoid(p[2 * columns:2 * columns + WIDTH]), np.tanh(p[2 * columns + WIDTH:])
    read = w_read @ memory
    written = np.array([memory[k] * (1 - w_write[k] * erase) + w_write[k] * add for k in range(ROWS)])
    return np.concatenate([h, read]), [h, c, read, w_read, w_write, written.ravel()]


def random_cell(rng):
    cell = NTMCell(UNITS, ROWS, WIDTH, dtype="float64")
    cell.build((None, INPUT_DIM))
    for weight in cell.weights:
        weight.assign(rng.normal(scale=0.5, size=weight.shape))
    return cell


def random_state(rng, batch):
    weights = [softmax(rng.normal(size=(batch, ROWS))) for _ in range(2)]
    return [rng.normal(size=(batch, UNITS)), rng.normal(size=(batch, UNITS)), rng.normal(size=(batch, WIDTH)),
            *weights, rng.normal(size=(batch, ROWS * WIDTH))]


def test_a_step_equals_the_papers_equations_in_numpy():
    rng = np.random.default_rng(0)
    cell = random_cell(rng)
    x, state = rng.normal(size=(3, INPUT_DIM)), random_state(rng, 3)
    output, new_state = cell(x, state)
    for row in range(3):
        expected_output, expected_state = numpy_step(cell, x[row], [s[row] for s in state])
        np.testing.assert_allclose(np.asarray(output)[row], expected_output, atol=1e-12)
        for got, expected in zip(new_state, expected_state):
            np.testing.assert_allclose(np.asarray(got)[row], expected, atol=1e-12)


def test_weightings_sum_to_one_even_from_a_zero_state():
    rng = np.random.default_rng(1)
    cell = random_cell(rng)
    sequence = rng.normal(size=(2, 7, INPUT_DIM))
    layer = keras.layers.RNN(cell, return_state=True, dtype="float64")
    _, *state = layer(sequence)  # from the zero state
    for weighting in state[3:5]:
        np.testing.assert_allclose(np.asarray(weighting).sum(-1), 1.0, atol=1e-12)
        assert (np.asarray(weighting) >= 0).all()
    assert all(np.isfinite(np.asarray(s)).all() for s in state)


def test_erase_and_add_do_what_the_equations_say():
    rng = np.random.default_rng(4)
    memory = rng.normal(size=(1, ROWS, WIDTH))
    add = rng.normal(size=(1, WIDTH))
    # All weight on row 2 with a full erase: row 2 becomes a, the other rows keep theirs.
    on_row_2 = np.eye(ROWS)[None, 2]
    written = np.asarray(write(memory, on_row_2, np.ones((1, WIDTH)), add))
    np.testing.assert_allclose(written[0, 2], add[0])
    np.testing.assert_array_equal(np.delete(written[0], 2, axis=0), np.delete(memory[0], 2, axis=0))
    # No erase: the row gains w(i) a on top of what it held.
    spread = softmax(rng.normal(size=(1, ROWS)))
    kept = np.asarray(write(memory, spread, np.zeros((1, WIDTH)), add))
    np.testing.assert_allclose(kept, memory + spread[:, :, None] * add[:, None], atol=1e-12)
    # A half erase and no add scale each row by 1 - w(i) / 2.
    halved = np.asarray(write(memory, spread, np.full((1, WIDTH), 0.5), np.zeros((1, WIDTH))))
    np.testing.assert_allclose(halved, memory * (1 - spread[:, :, None] / 2), atol=1e-12)


def test_shift_moves_the_weighting_one_row_circularly():
    memory = np.zeros((1, ROWS, WIDTH))
    previous = np.zeros((1, ROWS))
    previous[0, ROWS - 1] = 1.0
    # Gate 0 keeps the previous weighting; shift +1 moves row N-1 to row 0; gamma 1.
    moved = address(memory, np.ones((1, WIDTH)), np.array([[1.0]]), np.array([[0.0]]),
                    np.array([[0.0, 0.0, 1.0]]), np.array([[1.0]]), previous)
    assert np.asarray(moved).argmax() == 0 and np.asarray(moved)[0, 0] > 0.99


def test_gradients_equal_float64_finite_differences():
    rng = np.random.default_rng(2)
    cell = random_cell(rng)
    layer = keras.layers.RNN(cell, return_sequences=True, dtype="float64")
    sequence = tf.Variable(rng.normal(size=(2, 4, INPUT_DIM)))
    probe = rng.normal(size=(2, 4, UNITS + WIDTH))

    @tf.function
    def loss():
        return tf.reduce_sum(layer(sequence) * probe)

    variables = [sequence, *cell.weights]
    assert_gradients_match(loss, variables, rng, entries=6)


def test_config_round_trip_and_keras_file(tmp_path):
    cell = NTMCell(UNITS, ROWS, WIDTH)
    assert NTMCell.from_config(cell.get_config()).get_config() == cell.get_config()
    inputs = keras.Input((None, INPUT_DIM))
    model = keras.Model(inputs, keras.layers.RNN(cell, return_sequences=True)(inputs))
    path = tmp_path / "ntm.keras"
    model.save(path)
    x = np.random.default_rng(3).normal(size=(2, 5, INPUT_DIM)).astype("float32")
    np.testing.assert_allclose(keras.models.load_model(path)(x), model(x), atol=1e-6)
    with pytest.raises(ValueError, match="memory_rows"):
        NTMCell(4, memory_rows=0)
