"""`zoo.callbacks.GradientFlow` in any `model.fit`: the norms it measures equal BPTT
written in NumPy, its step-by-step pass is the layer's own function (masks, both
directions), and it writes the recipes' tags for every recurrent layer of a model of
built-in Keras layers or of zoo layers."""

import keras
import numpy as np
import numpy_reference as ref
import pytest
import tensorflow as tf
from event_files import load_events, scalar_series

import zoo
from zoo.callbacks import GradientFlow
from zoo.evaluation import gradient_flow
from zoo.evaluation.gradient_flow import layer_gradient_norms, recurrent_layers

BATCH, TIME, FEATURES, UNITS, CLASSES = 3, 9, 4, 5, 6


@pytest.mark.parametrize("layer_class", [keras.layers.SimpleRNN, zoo.layers.Elman])
def test_the_norms_are_numpy_bptts_state_gradients_in_float64(layer_class):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(BATCH, TIME, FEATURES))
    targets = rng.integers(0, CLASSES, (BATCH, TIME))
    rnn = layer_class(UNITS, return_sequences=True, dtype="float64")
    model = keras.Sequential([keras.Input((TIME, FEATURES), dtype="float64"), rnn,
                              keras.layers.Dense(CLASSES, dtype="float64")])
    weights = [rng.normal(0, 0.6, w.shape) for w in model.get_weights()]
    model.set_weights(weights)
    model.compile(loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum",
                                                                  dtype="float64"))
    norms = layer_gradient_norms(model, [rnn], x, targets)[rnn.name]
    _, expected = ref.elman_bptt(x, targets, *weights)
    np.testing.assert_allclose(norms, np.linalg.norm(expected["h"], axis=-1).mean(axis=1), rtol=1e-5)


def masked_model(layer_class):
    ids = keras.Input((None,), dtype="int32")
    hidden = keras.layers.Embedding(20, 6, mask_zero=True)(ids)
    hidden = keras.layers.Bidirectional(layer_class(5, return_sequences=True))(hidden)
    model = keras.Model(ids, keras.layers.Dense(CLASSES)(layer_class(4)(hidden)))
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model


def padded_batch(rows=16, time=10):
    rng = np.random.default_rng(1)
    ids = rng.integers(1, 20, (rows, time))
    ids[np.arange(time) >= rng.integers(2, time + 1, rows)[:, None]] = 0
    return ids, rng.integers(0, CLASSES, rows)


@pytest.mark.parametrize("layer_class", [keras.layers.LSTM, zoo.layers.GRU])
def test_the_step_by_step_pass_computes_the_layers_own_function(layer_class):
    ids, _ = padded_batch()
    model = masked_model(layer_class)
    expected = model(ids)
    layers = recurrent_layers(model)
    with tf.GradientTape() as tape:
        for layer in layers:
            layer.inner_loop = gradient_flow._recording_loop(layer, tape, [])
        recorded = model(ids)
    np.testing.assert_allclose(recorded, expected, atol=1e-6)


# Built-in layers in the default suite; zoo layers (9 s) with the slow tests (the
# step-by-step pass on zoo layers is checked above).
@pytest.mark.parametrize("layer_class", [keras.layers.LSTM, pytest.param(zoo.layers.LSTM, marks=pytest.mark.slow)])
def test_the_callback_writes_every_recurrent_layer_of_builtin_and_zoo_models(layer_class, tmp_path):
    ids, labels = padded_batch()
    model = masked_model(layer_class)
    layers = [layer.name for layer in recurrent_layers(model)]
    assert len(layers) == 3 and sum(layer.startswith(("forward_", "backward_")) for layer in layers) == 2
    batch = (ids[:8], labels[:8])
    model.fit(ids, labels, batch_size=8, epochs=2, verbose=0,
              callbacks=[GradientFlow(tmp_path / "epochs", batch),
                         GradientFlow(tmp_path / "batches", batch, every=3, unit="batch")])
    events = load_events(tmp_path / "epochs" / "validation")
    for layer in layers:
        ratios = scalar_series(events, f"gradient_flow/first_to_last_ratio/{layer}")
        assert sorted(ratios) == [0, 1] and all(np.isfinite(list(ratios.values())))
        assert events.SummaryMetadata(f"gradient_flow/plot/{layer}").plugin_data.plugin_name == "images"
    # Every 3 batches, counted from the start of training: the 3rd of 2 + 2 (epoch 2's first).
    batches = scalar_series(load_events(tmp_path / "batches" / "validation"),
                            f"gradient_flow/first_to_last_ratio/{layers[-1]}")
    assert sorted(batches) == [3]


@pytest.mark.parametrize("arguments,message", [
    (dict(every=0), "`every` must be a positive integer"),
    (dict(unit="step"), "`unit` must be one of"),
    (dict(validation_batch=np.zeros(3)), "`validation_batch` must be"),
])
def test_bad_arguments_are_refused_naming_them(arguments, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        GradientFlow(tmp_path, **{"validation_batch": (np.zeros((1, 2)), np.zeros(1)), **arguments})


def test_a_model_without_a_recurrent_layer_is_refused(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile("adam", "mse")
    with pytest.raises(ValueError, match="has no recurrent layer"):
        model.fit(np.zeros((2, 3)), np.zeros((2, 2)), verbose=0,
                  callbacks=[GradientFlow(tmp_path, (np.zeros((2, 3)), np.zeros((2, 2))))])
