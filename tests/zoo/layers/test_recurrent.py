"""The fused pass of `RecurrentLayer` computes what the cell loop computes: outputs, final
states and every gradient, in float64 to 1e-12, with dropout, in eager and graph mode;
and it is taken exactly where its maths match the cell's."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from cell_kinds import randomize

import zoo
from zoo.cells.clockwork import ClockworkCell
from zoo.data import cut_into_streams, tbptt_windows
from zoo.fused import schedule
from zoo.fused.schedule import fused_schedule, row_groups
from zoo.layers.recurrent import MAX_FUSED_STEPS, RecurrentLayer
from zoo.models.language_model import build_language_model
from zoo.training.tbptt import TBPTTRule

BATCH, STEPS, FEATURES, UNITS = 3, 7, 5, 4

FUSED_KINDS = {
    "lstm": lambda **kw: zoo.LSTMCell(UNITS, **kw),
    "gru_reset_after": lambda **kw: zoo.GRUCell(UNITS, reset_after=True, **kw),
    "elman": lambda **kw: zoo.ElmanCell(UNITS, **kw),
    "leaky": lambda **kw: zoo.LeakyCell(UNITS, leak=0.3, **kw),
    # Per-unit rates through a sigmoid: the gradient reaches leak_logit too.
    "leaky_trainable": lambda **kw: zoo.LeakyCell(UNITS, leak=zoo.time_scale_spread(UNITS, 20, 1.5),
                                                  trainable_leak=True, **kw),
    # Two modules of two units, periods 1 and 3; it has no dropout, so no dropout seed.
    "clockwork": lambda seed=None, **kw: ClockworkCell(UNITS, periods=(1, 3), **kw),
}
# The cells that take dropout and use_bias (the Clockwork cell takes neither).
DROPOUT_KINDS = sorted(set(FUSED_KINDS) - {"clockwork"})


def with_dropout(kind, rate):
    """Cell arguments for `rate` of input dropout where `kind` takes dropout."""
    return {"dropout": rate} if kind in DROPOUT_KINDS else {}


def reseed_dropout(layer):
    """The same dropout masks in every layer reseeded so (a no-op without dropout)."""
    if hasattr(layer.cell, "seed_generator"):
        layer.cell.seed_generator.state.assign([11, 0])


def layer_pair(kind, dtype="float64", layer_kwargs=None, **cell_kwargs):
    """(fused, loop): two layers with the same weights and the same dropout seed;
    `layer_kwargs` are more arguments of both layers (go_backwards=True, say)."""
    layers = [RecurrentLayer(FUSED_KINDS[kind](dtype=dtype, seed=3, **cell_kwargs), fused=fused,
                             return_sequences=True, return_state=True, dtype=dtype, **(layer_kwargs or {}))
              for fused in (True, False)]
    for layer in layers:
        layer.build((BATCH, STEPS, FEATURES))
    randomize(layers[0], seed=5)
    layers[1].set_weights(layers[0].get_weights())
    return layers


def outputs_and_gradients(layer, x, state, training, uses=("outputs", "states")):
    """Outputs, final states and the gradients of a loss that mixes them nonlinearly."""
    with tf.GradientTape() as tape:
        tape.watch([x, *state])
        outputs, *final = layer(x, initial_state=state, training=training)
        loss = tf.constant(0.0, x.dtype)
        if "outputs" in uses:
            loss += tf.reduce_sum(tf.sin(3.0 * outputs))
        if "states" in uses:
            loss += sum(tf.reduce_sum(tf.cos(2.0 * s)) for s in final)
    gradients = tape.gradient(loss, [x, *state, *layer.trainable_variables])
    return [outputs, *final, *gradients]


def inputs_for(layer, seed=7, dtype="float64"):
    rng = np.random.default_rng(seed)
    x = tf.constant(rng.normal(size=(BATCH, STEPS, FEATURES)), dtype)
    state = [tf.constant(rng.normal(size=(BATCH, UNITS)), dtype) for _ in layer.cell.state_size]
    if isinstance(layer.cell, ClockworkCell):  # the clock: each row part way through a period
        state[1] = tf.constant(rng.integers(0, 6, size=(BATCH, 1)), dtype)
    return x, state


def assert_all_close(first, second, tolerance):
    assert len(first) == len(second)
    for a, b in zip(first, second):
        # Both None only where nothing depends on the input (the clock, when only the
        # outputs are used); the loop is the reference for which.
        assert (a is None) == (b is None)
        if a is None:
            continue
        a, b = (np.asarray(tf.convert_to_tensor(v)) for v in (a, b))  # IndexedSlices too
        np.testing.assert_allclose(a, b, rtol=tolerance, atol=tolerance)


@pytest.mark.parametrize("graph", [False, True], ids=["eager", "tf.function"])
@pytest.mark.parametrize("training", [False, True], ids=["inference", "dropout"])
@pytest.mark.parametrize("kind", sorted(FUSED_KINDS))
def test_fused_pass_equals_the_cell_loop(kind, training, graph):
    fused, loop = layer_pair(kind, **with_dropout(kind, 0.3))
    x, state = inputs_for(fused)
    assert fused.runs_fused(x) and not loop.runs_fused(x)
    results = []
    for layer in (fused, loop):
        reseed_dropout(layer)
        run = tf.function(outputs_and_gradients) if graph else outputs_and_gradients
        results.append(run(layer, x, state, training))
    assert_all_close(*results, tolerance=1e-12)


@pytest.mark.parametrize("kind", DROPOUT_KINDS)
def test_fused_pass_without_bias_equals_the_cell_loop(kind):
    fused, loop = layer_pair(kind, use_bias=False)
    x, state = inputs_for(fused)
    assert fused.runs_fused(x)
    assert_all_close(outputs_and_gradients(fused, x, state, False),
                     outputs_and_gradients(loop, x, state, False), tolerance=1e-12)


@pytest.mark.parametrize("uses", [("outputs",), ("states",)], ids=["outputs-only", "states-only"])
@pytest.mark.parametrize("kind", sorted(FUSED_KINDS))
def test_fused_gradients_when_only_part_of_the_result_is_used(kind, uses):
    fused, loop = layer_pair(kind)
    x, state = inputs_for(fused)
    assert_all_close(outputs_and_gradients(fused, x, state, False, uses),
                     outputs_and_gradients(loop, x, state, False, uses), tolerance=1e-12)


def assert_gradients_match_central_differences(layer, loss, eps=1e-6):
    """The autodiff gradients of `loss()` for `layer`'s weights against central differences."""
    with tf.GradientTape() as tape:
        value = loss()
    autodiff = tape.gradient(value, layer.trainable_variables)
    for variable, gradient in zip(layer.trainable_variables, autodiff):
        base = variable.numpy()
        numeric = np.zeros_like(base)
        for index in np.ndindex(base.shape):
            shifted = []
            for sign in (1.0, -1.0):
                moved = base.copy()
                moved[index] += sign * eps
                variable.assign(moved)
                shifted.append(float(loss()))
            numeric[index] = (shifted[0] - shifted[1]) / (2 * eps)
        variable.assign(base)
        np.testing.assert_allclose(gradient.numpy(), numeric, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("kind", sorted(FUSED_KINDS))
def test_fused_gradients_match_central_differences(kind):
    fused, _ = layer_pair(kind)
    x, state = inputs_for(fused)
    rng = np.random.default_rng(13)
    probe = tf.constant(rng.normal(size=(BATCH, STEPS, UNITS)))

    def loss():
        outputs, *final = fused(x, initial_state=state)
        return tf.reduce_sum(outputs * probe) + sum(tf.reduce_sum(s * s) for s in final)

    assert_gradients_match_central_differences(fused, loss)


def loop_only_cases():
    return {
        "gru_reset_before": (lambda: zoo.GRUCell(UNITS, reset_after=False, dtype="float64"), {}),
        "recurrent_dropout": (lambda: zoo.LSTMCell(UNITS, recurrent_dropout=0.2, dtype="float64"), {}),
        "relu_elman": (lambda: zoo.ElmanCell(UNITS, activation="relu", dtype="float64"), {}),
        "hard_sigmoid_lstm": (lambda: zoo.LSTMCell(UNITS, recurrent_activation="hard_sigmoid",
                                                   dtype="float64"), {}),
        "fused_off": (lambda: zoo.LSTMCell(UNITS, dtype="float64"), {"fused": False}),
    }


@pytest.mark.parametrize("case", sorted(loop_only_cases()))
def test_cells_whose_maths_differ_run_the_loop_and_match_keras_rnn(case):
    make_cell, layer_kwargs = loop_only_cases()[case]
    ours = RecurrentLayer(make_cell(), return_sequences=True, dtype="float64", **layer_kwargs)
    plain = keras.layers.RNN(make_cell(), return_sequences=True, dtype="float64",
                             go_backwards=layer_kwargs.get("go_backwards", False))
    x = tf.constant(np.random.default_rng(2).normal(size=(BATCH, STEPS, FEATURES)))
    ours.build(x.shape)
    plain.build(x.shape)
    randomize(ours, seed=4)
    plain.set_weights(ours.get_weights())
    assert not ours.runs_fused(x)
    np.testing.assert_allclose(ours(x).numpy(), plain(x).numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("training", [False, True], ids=["inference", "dropout"])
@pytest.mark.parametrize("kind", sorted(FUSED_KINDS))
def test_a_one_step_sequence_equals_the_cell_loop(kind, training):
    """One step (generation, serving's `step`) calls the cell once: outputs, states and
    gradients as the loop's, dropout included."""
    fused, loop = layer_pair(kind, **with_dropout(kind, 0.3))
    x, state = inputs_for(fused)
    results = []
    for layer in (fused, loop):
        reseed_dropout(layer)
        results.append(outputs_and_gradients(layer, x[:, :1], state, training))
    assert_all_close(*results, tolerance=1e-12)


def test_unknown_and_overlong_time_lengths_run_the_loop():
    layer = RecurrentLayer(zoo.LSTMCell(UNITS), return_sequences=True)
    layer.build((None, None, FEATURES))
    known = tf.zeros((BATCH, STEPS, FEATURES))
    assert layer.runs_fused(known)
    assert layer.runs_fused(known, mask=tf.ones((BATCH, STEPS), bool))
    assert not layer.runs_fused(tf.zeros((BATCH, MAX_FUSED_STEPS + 1, FEATURES)))
    assert not layer.runs_fused(keras.KerasTensor((BATCH, None, FEATURES)))


# Rows of mixed lengths (right padding, one row full, one of a single step) and one mask
# with holes, which Keras' loop also takes: a masked step keeps the state.
MASKS = {
    "right_padded": [[True] * STEPS, [True] * 3 + [False] * 4, [True] + [False] * 6],
    "holes": [[True, False, True, True, False, False, True], [False, True] * 3 + [True],
              [False] * 4 + [True] * 3],
}


def masked_pair(kind, go_backwards, zero_output_for_mask=False, **cell_kwargs):
    """(fused, loop) as `layer_pair`, reading the sequence backwards or not."""
    return layer_pair(kind, layer_kwargs={"go_backwards": go_backwards,
                                          "zero_output_for_mask": zero_output_for_mask}, **cell_kwargs)


def masked_outputs_and_gradients(layer, x, state, mask, training=False):
    with tf.GradientTape() as tape:
        tape.watch([x, *state])
        outputs, *final = layer(x, initial_state=state, mask=mask, training=training)
        loss = tf.reduce_sum(tf.sin(3.0 * outputs)) + sum(tf.reduce_sum(tf.cos(2.0 * s)) for s in final)
    return [outputs, *final, *tape.gradient(loss, [x, *state, *layer.trainable_variables])]


# Each mask in one mode: the graph (training's) with right padding, eager with holes.
@pytest.mark.parametrize("mask,graph", [("right_padded", True), ("holes", False)],
                         ids=["right_padded-tf.function", "holes-eager"])
@pytest.mark.parametrize("go_backwards", [False, True], ids=["forward", "reversed"])
@pytest.mark.parametrize("kind", sorted(FUSED_KINDS))
def test_masked_and_reversed_fused_passes_equal_the_cell_loop(kind, go_backwards, mask, graph):
    """Outputs (padded steps included), final states and every gradient, float64."""
    fused, loop = masked_pair(kind, go_backwards)
    x, state = inputs_for(fused)
    step_mask = tf.constant(MASKS[mask])
    assert fused.runs_fused(x, step_mask) and not loop.runs_fused(x, step_mask)
    run = tf.function(masked_outputs_and_gradients) if graph else masked_outputs_and_gradients
    assert_all_close(run(fused, x, state, step_mask), run(loop, x, state, step_mask), tolerance=1e-12)


@pytest.mark.parametrize("kind", ["gru_reset_after", "lstm"])
def test_masked_fused_pass_with_zero_outputs_and_dropout_equals_the_cell_loop(kind):
    fused, loop = masked_pair(kind, True, zero_output_for_mask=True, dropout=0.3)
    x, state = inputs_for(fused)
    results = []
    for layer in (fused, loop):
        layer.cell.seed_generator.state.assign([11, 0])
        results.append(masked_outputs_and_gradients(layer, x, state, tf.constant(MASKS["right_padded"]), True))
    assert_all_close(*results, tolerance=1e-12)


@pytest.mark.parametrize("kind", ["lstm", "leaky_trainable", "clockwork"])
def test_masked_fused_gradients_match_central_differences(kind):
    """Independent of the loop: the masked, reversed pass against finite differences."""
    fused, _ = masked_pair(kind, True)
    x, state = inputs_for(fused)
    mask = tf.constant(MASKS["right_padded"])
    probe = tf.constant(np.random.default_rng(13).normal(size=(BATCH, STEPS, UNITS)))

    def loss():
        outputs, *final = fused(x, initial_state=state, mask=mask)
        return tf.reduce_sum(outputs * probe) + sum(tf.reduce_sum(s * s) for s in final)

    assert_gradients_match_central_differences(fused, loss)


def test_mixed_precision_fused_pass_tracks_float32():
    x = tf.constant(np.random.default_rng(6).normal(size=(BATCH, STEPS, FEATURES)), tf.float32)
    exact = RecurrentLayer(zoo.LSTMCell(UNITS), return_sequences=True)
    exact.build(x.shape)
    randomize(exact, seed=8)
    mixed = RecurrentLayer(zoo.LSTMCell(UNITS, dtype="mixed_bfloat16"), return_sequences=True,
                           dtype="mixed_bfloat16")
    mixed.build(x.shape)
    mixed.set_weights(exact.get_weights())
    assert mixed.runs_fused(x)
    assert mixed.cell.kernel.dtype == "float32"
    mixed_outputs = mixed(x)
    assert mixed_outputs.dtype == tf.bfloat16
    np.testing.assert_allclose(tf.cast(mixed_outputs, tf.float32).numpy(), exact(x).numpy(), atol=3e-2)


def test_config_round_trips_with_the_fused_flag():
    layer = RecurrentLayer(zoo.GRUCell(UNITS), fused=False, return_sequences=True)
    rebuilt = RecurrentLayer.from_config(layer.get_config())
    assert rebuilt.fused is False
    assert rebuilt.get_config() == layer.get_config()


# Whole TBPTT updates, 8-13 s per cell: the LSTM by default, the others slow (every cell's
# fused pass is checked against the loop by default above, in float64).
@pytest.mark.parametrize("cell", ["lstm", *(pytest.param(cell, marks=pytest.mark.slow)
                                             for cell in ("gru", "elman", "leaky"))])
def test_tbptt_updates_are_the_same_fused_or_looped(cell):
    """Whole trainer updates (k1 < k2, two stacked layers, dropout): loss, gradients and
    carried state agree between a model on the fused pass and its twin on the loop, and
    between ordinary and XLA-compiled updates."""
    vocab, batch, k1, k2 = 13, 4, 5, 8
    ids = np.random.default_rng(9).integers(0, vocab, size=batch * 40)
    windows = list(tbptt_windows(cut_into_streams(ids, batch), k1, k2))[:3]
    results = []
    # The fused pass and the loop with dropout; the fused pass without dropout, in an
    # ordinary and in an XLA-compiled update (XLA draws other dropout masks).
    for fused, jit_compile, dropout in ((True, False, 0.2), (False, False, 0.2), (True, False, 0.0),
                                        (True, True, 0.0)):
        keras.utils.set_random_seed(1)
        model = build_language_model(vocab, cell, units=6, layers=2, embedding_dim=5, dropout=dropout,
                                     fused=fused)
        trainer = TBPTTRule(model, keras.optimizers.Adam(1e-2), batch, k1, k2, jit_compile=jit_compile)
        run = []
        for inputs, targets in windows:
            update = trainer.train_step(inputs, targets)
            run += [update["loss"], *update["grads"], *(s.numpy() for s in trainer.carried_state)]
        results.append(run)
    assert_all_close(results[0], results[1], tolerance=2e-5)
    assert_all_close(results[2], results[3], tolerance=2e-5)


def test_a_model_with_the_layer_saves_and_reloads(tmp_path):
    inputs = keras.Input((STEPS, FEATURES))
    model = keras.Model(inputs, RecurrentLayer(zoo.LSTMCell(UNITS), return_sequences=True)(inputs))
    x = np.random.default_rng(3).normal(size=(BATCH, STEPS, FEATURES)).astype("float32")
    model.save(tmp_path / "model.keras")
    reloaded = keras.saving.load_model(tmp_path / "model.keras")
    assert isinstance(reloaded.layers[-1], RecurrentLayer) and reloaded.layers[-1].fused
    np.testing.assert_allclose(reloaded(x).numpy(), model(x).numpy(), atol=1e-6)


@keras.saving.register_keras_serializable(package="zoo_tests")
class HalfLeakyElman(zoo.ElmanCell):
    """Another recurrence on ElmanCell's weights: h_t = (h_{t-1} + tanh(...)) / 2."""

    def call(self, inputs, states, training=False):
        h, _ = super().call(inputs, states, training)
        h = 0.5 * states[0] + 0.5 * h
        return h, [h]


@keras.saving.register_keras_serializable(package="zoo_tests")
class HalvedMemoryLSTM(zoo.LSTMCell):
    """An LSTM subclass whose cell state is halved: not the LSTM the kernels compute."""

    def call(self, inputs, states, training=False):
        h, (_, c) = super().call(inputs, states, training)
        return h, [h, 0.5 * c]


@pytest.mark.parametrize("cell_class", [HalfLeakyElman, HalvedMemoryLSTM])
def test_a_subclass_of_a_cell_runs_its_own_maths_not_its_parents_fused_pass(cell_class):
    x = np.random.default_rng(0).normal(size=(3, 7, 4)).astype(np.float32)
    layer = RecurrentLayer(cell_class(5), return_sequences=True)
    loop = keras.layers.RNN(cell_class(5), return_sequences=True)
    layer.build(x.shape)
    loop.build(x.shape)
    loop.set_weights(layer.get_weights())
    assert not layer.runs_fused(x)
    np.testing.assert_allclose(layer(x).numpy(), loop(x).numpy(), atol=1e-6)
    parent = RecurrentLayer(cell_class.__mro__[1](5), return_sequences=True)
    parent.build(x.shape)
    parent.set_weights(layer.get_weights())
    assert parent.runs_fused(x)
    assert not np.allclose(parent(x).numpy(), layer(x).numpy(), atol=1e-3)


# The batch-split schedule (zoo.fused.schedule): BATCH = 3 rows in groups of 2 and 1.
@pytest.mark.parametrize("mask", [None, "holes"], ids=["unmasked", "masked-reversed"])
@pytest.mark.parametrize("kind", sorted(FUSED_KINDS))
def test_the_batch_split_schedule_equals_the_cell_loop(kind, mask):
    """Outputs, final states and every gradient in float64, with a mask read backwards too."""
    fused, loop = masked_pair(kind, go_backwards=mask is not None)
    x, state = inputs_for(fused)
    step_mask = None if mask is None else tf.constant(MASKS[mask])
    with fused_schedule("batch-split"):
        assert row_groups(BATCH, UNITS) == 2
        split = tf.function(masked_outputs_and_gradients)(fused, x, state, step_mask)
    assert_all_close(split, masked_outputs_and_gradients(loop, x, state, step_mask), tolerance=1e-12)


def test_auto_splits_the_rows_on_a_cpu_with_two_cores_and_enough_rows_and_units(monkeypatch):
    monkeypatch.setattr(schedule, "cpu_cores", lambda: 2)
    monkeypatch.setattr(tf.config, "list_logical_devices", lambda kind=None: [])  # no GPU
    units = schedule.MIN_UNITS
    assert schedule.DEFAULT_SCHEDULE == "auto"
    assert row_groups(64, units) == 2  # outside any fused_schedule: the default
    with fused_schedule("auto"):
        assert [row_groups(rows, units) for rows in (None, 1, 2 * schedule.MIN_ROWS - 1, 2 * schedule.MIN_ROWS,
                                                     64)] == [1, 1, 1, 2, 2]
        assert row_groups(64, units - 1) == 1
        monkeypatch.setattr(schedule, "cpu_cores", lambda: 1)
        assert row_groups(64, units) == 1
        with fused_schedule("single"):
            monkeypatch.setattr(schedule, "cpu_cores", lambda: 2)
            assert row_groups(64, units) == 1
        monkeypatch.setattr(tf.config, "list_logical_devices", lambda kind=None: ["GPU:0"])
        assert row_groups(64, units) == 1
    with pytest.raises(ValueError, match="schedule must be one of"):
        with fused_schedule("wavefronts"):
            pass
