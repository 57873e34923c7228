"""`zoo.layers.LSTM`, `GRU`, `Elman`, `Leaky` and `Reservoir` stand in for Keras' built-in
layers: Keras' arguments and defaults, weights that copy both ways, the same losses in
`model.fit` from copied weights (masked, bidirectional), and the Keras machinery (fit,
evaluate, predict, `.keras`, `model.export`) with the fused pass taken."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import zoo
from zoo.layers.recurrent import RecurrentLayer

TWINS = {"lstm": (keras.layers.LSTM, zoo.layers.LSTM), "gru": (keras.layers.GRU, zoo.layers.GRU),
         "elman": (keras.layers.SimpleRNN, zoo.layers.Elman)}
ZOO_ONLY = {"lstm": {"fused", "forget_bias"}, "gru": {"fused", "update_bias"}, "elman": {"fused", "seed"}}
VOCAB, CLASSES = 20, 3


@pytest.mark.parametrize("kind", sorted(TWINS))
def test_the_arguments_and_their_defaults_are_the_builtin_layers(kind):
    builtin, ours = (layer(4).get_config() for layer in TWINS[kind])
    assert set(ours) - set(builtin) == ZOO_ONLY[kind] and set(builtin) <= set(ours)
    assert {key: ours[key] for key in builtin if key != "name"} == {
        key: value for key, value in builtin.items() if key != "name"}


def padded_ids(rows=32, time=12, seed=0):
    """[rows, time] ids with right padding (id 0) from a random length per row, and labels."""
    rng = np.random.default_rng(seed)
    ids = rng.integers(1, VOCAB, (rows, time))
    ids[np.arange(time) >= rng.integers(3, time + 1, rows)[:, None]] = 0
    return ids, rng.integers(0, CLASSES, rows)


def masked_bidirectional_model(layer_class, **options):
    """Embedding(mask_zero) -> Bidirectional(layer, sequences) -> layer -> Dense."""
    ids = keras.Input((None,), dtype="int32")
    hidden = keras.layers.Embedding(VOCAB, 6, mask_zero=True)(ids)
    hidden = keras.layers.Bidirectional(layer_class(5, return_sequences=True, **options))(hidden)
    hidden = layer_class(7, **options)(hidden)
    return keras.Model(ids, keras.layers.Dense(CLASSES)(hidden))


def fit_losses(model, ids, labels, epochs=3):
    model.compile(keras.optimizers.Adam(0.01), keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return model.fit(ids, labels, batch_size=8, epochs=epochs, shuffle=False, verbose=0).history["loss"]


@pytest.mark.parametrize("kind", sorted(TWINS))
def test_weights_copy_both_ways_and_give_the_builtin_outputs(kind):
    ids, _ = padded_ids()
    builtin, ours = (masked_bidirectional_model(layer) for layer in TWINS[kind])
    ours.set_weights(builtin.get_weights())
    np.testing.assert_allclose(ours(ids), builtin(ids), atol=2e-6)
    ours.set_weights([w + 0.1 for w in ours.get_weights()])
    builtin.set_weights(ours.get_weights())
    np.testing.assert_allclose(builtin(ids), ours(ids), atol=2e-6)


@pytest.fixture
def fused_calls(monkeypatch):
    """How many times a recurrent layer traced the fused pass (the real one runs)."""
    calls = []
    real = RecurrentLayer._fused_pass

    def counted(self, *args, **kwargs):
        calls.append(self.name)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(RecurrentLayer, "_fused_pass", counted)
    return calls


# LSTM in the default suite; GRU and Elman (about 10 s each) with the slow tests.
@pytest.mark.parametrize("kind", ["lstm", pytest.param("gru", marks=pytest.mark.slow),
                                  pytest.param("elman", marks=pytest.mark.slow)])
def test_fit_from_copied_weights_gives_the_builtin_losses_masked_and_bidirectional(kind, fused_calls):
    ids, labels = padded_ids()
    builtin, ours = (masked_bidirectional_model(layer) for layer in TWINS[kind])
    ours.set_weights(builtin.get_weights())
    np.testing.assert_allclose(fit_losses(ours, ids, labels), fit_losses(builtin, ids, labels), rtol=2e-5)
    np.testing.assert_allclose(ours.predict(ids, verbose=0), builtin.predict(ids, verbose=0), atol=1e-4)
    # Both directions and the top layer took the fused pass inside model.fit.
    assert {name.split("_")[0] for name in fused_calls} >= {"forward", "backward"}
    assert len(set(fused_calls)) == 3


def test_fit_takes_the_fused_pass_for_a_fixed_length_and_the_loop_for_any_length(fused_calls):
    ids, labels = padded_ids(rows=16)
    model = keras.Sequential([keras.Input((None,), dtype="int32"), keras.layers.Embedding(VOCAB, 4),
                              zoo.layers.GRU(4), keras.layers.Dense(CLASSES)])
    fit_losses(model, ids, labels, epochs=1)  # NumPy arrays: [batch, 12] when traced
    assert fused_calls
    fused_calls.clear()
    lengths = tf.data.Dataset.from_tensor_slices((tf.ragged.constant([row[:3 + i % 5] for i, row in
                                                                      enumerate(ids.tolist())]), labels))
    any_length = lengths.map(lambda row, label: (row, label)).padded_batch(4)  # [batch, None] when traced
    model.fit(any_length, epochs=1, shuffle=False, verbose=0)
    assert fused_calls == []


VARIANTS = [  # (kind, options, masked): the rest of the argument space, unmasked and masked
    ("lstm", {}, False), ("gru", {}, False), ("elman", {}, False),
    ("lstm", {"go_backwards": True}, True), ("gru", {"reset_after": False}, True),
    ("lstm", {"unit_forget_bias": False}, False), ("elman", {"activation": "relu"}, True),
    ("gru", {"zero_output_for_mask": True}, True),
]


@pytest.mark.slow
@pytest.mark.parametrize("kind,options,masked", VARIANTS)
def test_fit_gives_the_builtin_losses_across_the_arguments(kind, options, masked):
    ids, labels = padded_ids(seed=1)
    if not masked:
        ids = np.where(ids == 0, 1, ids)
    models = []
    for layer in TWINS[kind]:
        inputs = keras.Input((None,), dtype="int32")
        hidden = keras.layers.Embedding(VOCAB, 6, mask_zero=masked)(inputs)
        hidden = layer(8, return_sequences=True, **options)(hidden)
        models.append(keras.Model(inputs, keras.layers.Dense(CLASSES)(layer(4, **options)(hidden))))
    builtin, ours = models
    ours.set_weights(builtin.get_weights())
    np.testing.assert_allclose(fit_losses(ours, ids, labels), fit_losses(builtin, ids, labels), rtol=2e-5)


@pytest.mark.slow
def test_every_layer_fits_evaluates_predicts_saves_loads_and_exports(tmp_path, fused_calls):
    ids, labels = padded_ids()
    model = keras.Sequential([
        keras.Input((12,), dtype="int32"),
        keras.layers.Embedding(VOCAB, 6, mask_zero=True),
        keras.layers.Bidirectional(zoo.layers.LSTM(5, return_sequences=True, dropout=0.1, seed=1)),
        zoo.layers.GRU(5, return_sequences=True),
        zoo.layers.Elman(5, return_sequences=True),
        zoo.layers.Leaky(5, leak=zoo.time_scale_spread(5, 10), return_sequences=True),
        zoo.layers.Reservoir(6, seed=3),
        keras.layers.Dense(CLASSES),
    ])
    losses = fit_losses(model, ids, labels, epochs=2)
    assert np.all(np.isfinite(losses)) and model.evaluate(ids, labels, verbose=0) < losses[0]
    assert len(set(fused_calls)) == 6  # both directions and the four other layers
    expected = model.predict(ids, verbose=0)
    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    assert [type(layer).__name__ for layer in reloaded.layers[1:-1]] == [
        "Bidirectional", "GRU", "Elman", "Leaky", "Reservoir"]
    assert reloaded.layers[1].backward_layer.fused and reloaded.layers[1].backward_layer.go_backwards
    np.testing.assert_allclose(reloaded.predict(ids, verbose=0), expected, atol=1e-6)
    model.export(str(tmp_path / "exported"), verbose=False)
    served = tf.saved_model.load(str(tmp_path / "exported"))
    np.testing.assert_allclose(served.serve(tf.constant(ids, tf.int32)), expected, atol=1e-5)


def test_stateful_is_refused_in_one_line_that_points_to_the_tbptt_trainer():
    with pytest.raises(ValueError, match=r"^LSTM: stateful=True is not supported.*zoo.training.tbptt_fit") as error:
        zoo.layers.LSTM(8, stateful=True)
    assert "\n" not in str(error.value)
