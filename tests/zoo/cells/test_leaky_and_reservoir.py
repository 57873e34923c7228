"""The leaky-integrator and echo-state cells: their equations against NumPy (float64), the
leaky cell at a = 1 against the Elman cell, the reservoir's spectral radius and
connectivity, fixed weights under training, config and .keras round trips."""


import keras
import numpy as np
import numpy_reference as ref
import pytest
import tensorflow as tf
from cell_kinds import assert_reloads_identically, randomize

import zoo
from zoo.layers.recurrent import RecurrentLayer
from zoo.training.minibatch import GeneratedBatchRule

BATCH, STEPS, FEATURES, UNITS = 3, 9, 4, 6


def sequences(seed=0):
    return np.random.default_rng(seed).normal(size=(BATCH, STEPS, FEATURES))


LEAKY = {
    "scalar": dict(leak=0.3),
    "per_unit": dict(leak=zoo.time_scale_spread(UNITS, 50)),
    "trainable": dict(leak=zoo.time_scale_spread(UNITS, 50, 2.0), trainable_leak=True),
}


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "loop"])
@pytest.mark.parametrize("kind", sorted(LEAKY))
def test_leaky_cell_matches_its_equations(kind, fused):
    x = sequences()
    layer = RecurrentLayer(zoo.LeakyCell(UNITS, dtype="float64", **LEAKY[kind]), fused=fused,
                           return_sequences=True, dtype="float64")
    layer.build(x.shape)
    randomize(layer, seed=1)
    if kind == "trainable":  # the rates are sigmoid(leak_logit), wherever training took them
        layer.cell.leak_logit.assign(np.random.default_rng(2).normal(size=UNITS))
    cell = layer.cell
    leak = (1.0 / (1.0 + np.exp(-cell.leak_logit.numpy())) if kind == "trainable"
            else np.asarray(LEAKY[kind]["leak"]))
    h0 = np.random.default_rng(3).normal(size=(BATCH, UNITS))
    expected = ref.leaky_forward(x, cell.kernel.numpy(), cell.recurrent_kernel.numpy(),
                                 cell.bias.numpy(), leak, h0)
    assert layer.runs_fused(tf.constant(x)) == fused
    np.testing.assert_allclose(layer(x, initial_state=[h0]).numpy(), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "loop"])
def test_leaky_cell_at_rate_one_is_the_elman_cell(fused):
    x = sequences(4)
    leaky = RecurrentLayer(zoo.LeakyCell(UNITS, leak=1.0, dtype="float64"), fused=fused,
                           return_sequences=True, dtype="float64")
    elman = RecurrentLayer(zoo.ElmanCell(UNITS, dtype="float64"), fused=fused,
                           return_sequences=True, dtype="float64")
    for layer in (leaky, elman):
        layer.build(x.shape)
    randomize(leaky, seed=5)
    elman.set_weights(leaky.get_weights())
    np.testing.assert_allclose(leaky(x).numpy(), elman(x).numpy(), rtol=1e-12, atol=1e-12)


def reservoir_layer(fused=True, **kwargs):
    arguments = dict(connectivity=0.4, spectral_radius=0.8, input_scaling=0.7, bias_scaling=0.3,
                     leak=0.35, seed=7)
    layer = RecurrentLayer(zoo.ReservoirCell(UNITS, dtype="float64", **{**arguments, **kwargs}),
                           fused=fused, return_sequences=True, dtype="float64")
    layer.build((BATCH, STEPS, FEATURES))
    return layer


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "loop"])
def test_reservoir_cell_matches_its_equations(fused):
    x = sequences(6)
    layer = reservoir_layer(fused)
    cell = layer.cell
    h0 = np.random.default_rng(8).normal(size=(BATCH, UNITS))
    expected = ref.leaky_forward(x, cell.kernel.numpy(), cell.recurrent_kernel.numpy(),
                                 cell.bias.numpy(), 0.35, h0)
    assert layer.runs_fused(tf.constant(x)) == fused
    np.testing.assert_allclose(layer(x, initial_state=[h0]).numpy(), expected, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("units,connectivity,radius", [(6, 0.4, 0.8), (200, 0.05, 0.95), (50, 1.0, 1.3)])
def test_reservoir_weights_have_the_requested_radius_connectivity_and_scales(units, connectivity, radius):
    cell = zoo.ReservoirCell(units, spectral_radius=radius, connectivity=connectivity,
                             input_scaling=0.5, bias_scaling=0.2, seed=3)
    keras.layers.RNN(cell).build((None, None, 3))
    recurrent = cell.recurrent_kernel.numpy().astype(np.float64)
    np.testing.assert_allclose(np.max(np.abs(np.linalg.eigvals(recurrent))), radius, rtol=1e-6)
    assert np.count_nonzero(recurrent) == round(connectivity * units * units)
    assert np.all(np.abs(cell.kernel.numpy()) <= 0.5) and np.abs(cell.kernel.numpy()).max() > 0.4
    assert np.all(np.abs(cell.bias.numpy()) <= 0.2)
    assert cell.trainable_weights == [] and len(cell.non_trainable_weights) == 3


def test_reservoir_weights_follow_the_seed():
    def weights(seed):
        cell = zoo.ReservoirCell(20, seed=seed)
        keras.layers.RNN(cell).build((None, None, 2))
        return [w.numpy() for w in cell.weights]

    for same, other in zip(weights(1), weights(1)):
        np.testing.assert_array_equal(same, other)
    assert not np.allclose(weights(1)[1], weights(2)[1])


def test_only_the_readout_learns_and_the_reservoir_stays_fixed():
    inputs = keras.Input((STEPS, FEATURES))
    hidden = RecurrentLayer(zoo.ReservoirCell(UNITS, connectivity=0.5, seed=1))(inputs)
    model = keras.Model(inputs, keras.layers.Dense(1)(hidden))
    reservoir_before = [w.numpy().copy() for w in model.layers[1].weights]
    readout_before = [w.numpy().copy() for w in model.layers[2].weights]
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(32, STEPS, FEATURES)).astype("float32"), rng.normal(size=32).astype("float32")
    trainer = GeneratedBatchRule(
        model, keras.optimizers.Adam(1e-2),
        lambda m, batch, training: tf.reduce_mean(tf.square(m(batch[0], training=training)[:, 0] - batch[1])),
        lambda index: (x, y), 32)
    for batch in zip(range(5), trainer.batches()):
        assert bool(trainer.train_step(*batch[1])["finite"])
    assert len(model.trainable_weights) == 2  # the readout's kernel and bias
    for before, after in zip(reservoir_before, model.layers[1].weights):
        np.testing.assert_array_equal(before, after.numpy())
    assert not np.allclose(readout_before[0], model.layers[2].kernel.numpy())


def test_a_nilpotent_draw_is_refused():
    with pytest.raises(ValueError, match="nilpotent"):
        keras.layers.RNN(zoo.ReservoirCell(10, connectivity=0.01, seed=0)).build((None, None, 1))


CELLS = {
    "leaky": lambda: zoo.LeakyCell(UNITS, leak=zoo.time_scale_spread(UNITS, 30, 2.0), trainable_leak=True,
                                   dropout=0.1, seed=2),
    "reservoir": lambda: zoo.ReservoirCell(UNITS, spectral_radius=0.7, connectivity=0.3, input_scaling=0.4,
                                           bias_scaling=0.1, leak=0.6, seed=9),
}


@pytest.mark.parametrize("kind", sorted(CELLS))
def test_get_config_round_trips(kind):
    cell = CELLS[kind]()
    config = cell.get_config()
    assert type(cell).from_config(config).get_config() == config
    assert keras.saving.deserialize_keras_object(
        keras.saving.serialize_keras_object(cell)).get_config() == config


# Fresh processes, 10-26 s: slow (CI runs it after the default suite).
@pytest.mark.slow
def test_keras_files_reload_in_a_fresh_process_with_identical_outputs(tmp_path):
    models = {}
    for kind, make in CELLS.items():
        inputs = keras.Input((None, FEATURES))
        hidden = keras.layers.RNN(make(), return_sequences=True)(inputs)
        models[kind] = keras.Model(inputs, keras.layers.Dense(2)(hidden))
        if kind == "leaky":
            randomize(models[kind].layers[1], seed=3)
    assert_reloads_identically(models, sequences(10).astype("float32"), tmp_path)


@pytest.mark.parametrize("make,argument", [
    (lambda: zoo.LeakyCell(4, leak=0.0), "leak"),
    (lambda: zoo.LeakyCell(4, leak=1.5), "leak"),
    (lambda: zoo.LeakyCell(4, leak=[0.5, 0.5]), "leak"),
    (lambda: zoo.LeakyCell(4, leak=1.0, trainable_leak=True), "leak"),
    (lambda: zoo.ReservoirCell(0), "units"),
    (lambda: zoo.ReservoirCell(4, spectral_radius=0.0), "spectral_radius"),
    (lambda: zoo.ReservoirCell(4, connectivity=1.5), "connectivity"),
    (lambda: zoo.ReservoirCell(4, leak=0.0), "leak"),
    (lambda: zoo.ReservoirCell(4, bias_scaling=-1.0), "bias_scaling"),
])
def test_bad_arguments_are_named_in_the_error(make, argument):
    with pytest.raises(ValueError, match=f"`{argument}`"):
        make()
