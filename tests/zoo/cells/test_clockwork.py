"""The Clockwork RNN cell against a NumPy loop written from Koutnik et al. (2014): modules
run on their periods, the recurrent matrix is block-triangular, the clock is carried state."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from finite_differences import assert_gradients_match

from zoo.cells.clockwork import ClockworkCell

UNITS, PERIODS, INPUT_DIM, STEPS = 6, [1, 2, 4], 3, 9


def numpy_run(cell, sequence):
    W, U, b = (np.asarray(w, np.float64) for w in (cell.kernel, cell.recurrent_kernel, cell.bias))
    size = UNITS // len(PERIODS)
    h = np.zeros((len(sequence), UNITS))
    outputs = []
    for t in range(sequence.shape[1]):
        new = h.copy()
        for i, period in enumerate(PERIODS):
            if t % period:
                continue
            block = slice(i * size, (i + 1) * size)
            # Module i reads the modules j >= i (periods >= its own).
            slower = slice(i * size, UNITS)
            new[:, block] = np.tanh(sequence[:, t] @ W[:, block] + h[:, slower] @ U[slower, block] + b[block])
        h = new
        outputs.append(h)
    return np.stack(outputs, axis=1)


def random_cell(rng):
    cell = ClockworkCell(UNITS, PERIODS, dtype="float64")
    cell.build((None, INPUT_DIM))
    for weight in cell.weights:
        weight.assign(rng.normal(scale=0.7, size=weight.shape))
    return cell


def test_the_sequence_equals_a_numpy_loop_of_the_papers_update():
    rng = np.random.default_rng(0)
    cell = random_cell(rng)
    sequence = rng.normal(size=(2, STEPS, INPUT_DIM))
    outputs = np.asarray(keras.layers.RNN(cell, return_sequences=True, dtype="float64")(sequence))
    np.testing.assert_allclose(outputs, numpy_run(cell, sequence), atol=1e-12)
    # The slowest module (period 4) changes only at t = 0, 4, 8.
    slowest = outputs[:, :, 4:]
    changed = [t for t in range(1, STEPS) if not np.array_equal(slowest[:, t], slowest[:, t - 1])]
    assert changed == [4, 8]


def test_the_clock_is_carried_state_so_two_halves_equal_the_whole():
    rng = np.random.default_rng(1)
    cell = random_cell(rng)
    sequence = rng.normal(size=(2, STEPS, INPUT_DIM))
    layer = keras.layers.RNN(cell, return_sequences=True, return_state=True, dtype="float64")
    whole, *_ = layer(sequence)
    first, *state = layer(sequence[:, :5])
    second, *_ = layer(sequence[:, 5:], initial_state=state)
    np.testing.assert_allclose(np.concatenate([first, second], axis=1), whole, atol=1e-12)
    np.testing.assert_array_equal(np.asarray(state[1]), 5.0)


def test_gradients_equal_float64_finite_differences_and_masked_weights_get_none():
    rng = np.random.default_rng(2)
    cell = random_cell(rng)
    layer = keras.layers.RNN(cell, return_sequences=True, dtype="float64")
    sequence = tf.Variable(rng.normal(size=(2, 6, INPUT_DIM)))
    probe = rng.normal(size=(2, 6, UNITS))

    @tf.function
    def loss():
        return tf.reduce_sum(layer(sequence) * probe)

    variables = [sequence, *cell.weights]
    gradients = assert_gradients_match(loss, variables, rng, entries=6)
    recurrent = np.asarray(gradients[2])
    assert (recurrent[2:, :2] != 0).any() and (recurrent[:2, 2:] == 0).all()  # fast units never feed slow ones


def test_config_round_trip_keras_file_and_argument_checks(tmp_path):
    cell = ClockworkCell(UNITS, PERIODS)
    assert ClockworkCell.from_config(cell.get_config()).get_config() == cell.get_config()
    inputs = keras.Input((None, INPUT_DIM))
    model = keras.Model(inputs, keras.layers.RNN(cell, return_sequences=True)(inputs))
    model.save(tmp_path / "clockwork.keras")
    x = np.random.default_rng(3).normal(size=(2, 7, INPUT_DIM)).astype("float32")
    np.testing.assert_allclose(keras.models.load_model(tmp_path / "clockwork.keras")(x), model(x), atol=1e-6)
    for arguments, message in [((7, [1, 2]), "divisible"), ((6, [2, 1]), "increasing"), ((0,), "units")]:
        with pytest.raises(ValueError, match=message):
            ClockworkCell(*arguments)
