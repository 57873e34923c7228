"""What every zoo cell promises: config round trip, .keras save/load, checks, mixed precision."""


import keras
import numpy as np
import pytest
from cell_kinds import CELL_KINDS, assert_reloads_identically, randomize

INPUT_DIM, UNITS = 6, 5


def model_with(kind):
    make_cell, _, _ = CELL_KINDS[kind]
    inputs = keras.Input((None, INPUT_DIM))
    hidden = keras.layers.RNN(
        make_cell(UNITS, dropout=0.1, recurrent_dropout=0.2, seed=3), return_sequences=True
    )(inputs)
    hidden = keras.layers.RNN([make_cell(UNITS), make_cell(UNITS)], go_backwards=True,
                              return_sequences=True)(hidden)
    model = keras.Model(inputs, keras.layers.Dense(3)(hidden))
    for layer in model.layers:
        if layer.weights:
            randomize(layer, seed=len(layer.name))
    return model


@pytest.mark.parametrize("kind", sorted(CELL_KINDS))
def test_get_config_round_trips(kind):
    make_cell, _, _ = CELL_KINDS[kind]
    cell = make_cell(UNITS, dropout=0.25, recurrent_dropout=0.5, seed=4,
                     kernel_regularizer="l2", use_bias=False)
    config = cell.get_config()
    clone = type(cell).from_config(config)
    assert clone.get_config() == config
    assert keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(cell)).get_config() == config


# Fresh processes, 10-26 s: slow (CI runs it after the default suite).
@pytest.mark.slow
def test_saved_models_reload_in_a_fresh_process_with_identical_outputs(tmp_path):
    x = np.random.default_rng(0).normal(size=(3, 8, INPUT_DIM)).astype("float32")
    assert_reloads_identically({kind: model_with(kind) for kind in CELL_KINDS}, x, tmp_path)


@pytest.mark.parametrize("kind", sorted(CELL_KINDS))
@pytest.mark.parametrize("argument,value", [
    ("units", 0), ("units", -3), ("units", 2.5), ("dropout", 1.0), ("dropout", -0.1),
    ("recurrent_dropout", 1.5),
])
def test_bad_arguments_are_named_in_the_error(kind, argument, value):
    make_cell, _, _ = CELL_KINDS[kind]
    kwargs = {"units": UNITS, argument: value}
    units = kwargs.pop("units")
    with pytest.raises(ValueError, match=f"`{argument}`.*{value}"):
        make_cell(units, **kwargs)


@pytest.mark.parametrize("kind", sorted(CELL_KINDS))
@pytest.mark.parametrize("policy,compute_dtype,tolerance", [
    ("mixed_float16", "float16", 1e-2), ("mixed_bfloat16", "bfloat16", 5e-2),
])
def test_mixed_precision_keeps_float32_variables(kind, policy, compute_dtype, tolerance):
    make_cell, _, _ = CELL_KINDS[kind]
    x = np.random.default_rng(2).normal(size=(4, 10, INPUT_DIM)).astype("float32")
    exact = keras.layers.RNN(make_cell(UNITS), return_sequences=True)
    exact.build((None, None, INPUT_DIM))
    randomize(exact, seed=8, scale=0.3)

    keras.config.set_dtype_policy(policy)
    mixed = keras.layers.RNN(make_cell(UNITS, dropout=0.2), return_sequences=True)
    mixed.build((None, None, INPUT_DIM))
    mixed.set_weights(exact.get_weights())
    outputs = mixed(x)
    assert all(w.dtype == "float32" for w in mixed.weights)
    assert outputs.dtype == compute_dtype
    assert keras.ops.convert_to_numpy(mixed(x, training=True)).dtype.itemsize == 2
    np.testing.assert_allclose(keras.ops.convert_to_numpy(outputs).astype("float32"),
                               exact(x), atol=tolerance)
