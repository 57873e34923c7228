"""TBPTT(k1, k2) semantics of the trainer, checked against unbroken forward passes and a
NumPy BPTT."""

import keras
import numpy as np
import numpy_reference as ref
import pytest
import tensorflow as tf

from zoo.data import cut_into_streams, tbptt_windows
from zoo.layers.stack import zero_state
from zoo.models.language_model import build_language_model
from zoo.training.tbptt import TBPTTRule

VOCAB, BATCH = 11, 3


def frozen_trainer(cell, k1, k2, vocab=VOCAB, batch=BATCH):
    """A trainer whose updates leave the weights unchanged (SGD, learning rate 0)."""
    model = build_language_model(vocab, cell, units=6, layers=2, embedding_dim=4)
    return TBPTTRule(model, keras.optimizers.SGD(0.0), batch, k1, k2)


def random_streams(length, seed=0, vocab=VOCAB, batch=BATCH):
    ids = np.random.default_rng(seed).integers(0, vocab, size=batch * length)
    return cut_into_streams(ids, batch)


@pytest.mark.parametrize("cell", ["lstm", "gru", "elman"])
@pytest.mark.parametrize("k1,k2", [(5, 5), (3, 7), (4, 9)])
def test_carried_state_equals_one_unbroken_forward_pass(cell, k1, k2):
    trainer = frozen_trainer(cell, k1, k2)
    streams = random_streams(60)
    for n, (inputs, targets) in enumerate(tbptt_windows(streams, k1, k2)):
        trainer.train_step(inputs, targets)
        _, *unbroken = trainer.model([streams[:, :(n + 1) * k1], *zero_state(trainer.model, BATCH)])
        for carried, expected in zip(trainer.carried_state, unbroken):
            np.testing.assert_allclose(carried.numpy(), expected, atol=1e-5, err_msg=f"window {n}")
    assert n >= 5


def test_one_window_over_the_whole_sequence_gives_the_full_bptt_gradient():
    """k1 = k2 = T on an Elman model in float64 against the NumPy BPTT of the equations."""
    keras.config.set_floatx("float64")
    keras.config.set_dtype_policy("float64")
    try:
        time, vocab = 13, 7
        model = build_language_model(vocab, "elman", units=5, layers=1, embedding_dim=4)
        rng = np.random.default_rng(4)
        model.set_weights([rng.normal(0, 0.5, w.shape) for w in model.get_weights()])
        trainer = TBPTTRule(model, keras.optimizers.SGD(0.0), 2, time, time)
        ids = rng.integers(0, vocab, size=(2, time + 1)).astype("int32")
        state = [np.zeros((2, 5))]
        loss, grads, *_ = trainer.gradients(ids[:, :-1], ids[:, 1:], state)
    finally:
        keras.config.set_floatx("float32")
    named = dict(zip([v.path for v in model.trainable_variables], grads))
    embedding = model.get_layer("embedding").embeddings.numpy()
    cell = model.get_layer("rnn_0").cell
    output = model.get_layer("logits")
    U, W, b = cell.kernel.numpy(), cell.recurrent_kernel.numpy(), cell.bias.numpy()
    V, c = output.kernel.numpy(), output.bias.numpy()
    expected_loss, expected = ref.elman_bptt(embedding[ids[:, :-1]], ids[:, 1:], U, W, b, V, c)
    scored = 2 * time  # the trainer's loss is the mean over rows and steps
    np.testing.assert_allclose(float(loss), expected_loss / scored, rtol=1e-12)
    for variable, name in [(cell.kernel, "U"), (cell.recurrent_kernel, "W"), (cell.bias, "b"),
                           (output.kernel, "V"), (output.bias, "c")]:
        np.testing.assert_allclose(named[variable.path], expected[name] / scored,
                                   rtol=1e-8, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("k1,k2", [(4, 4), (3, 8)])
def test_no_gradient_reaches_inputs_more_than_k2_steps_back(k1, k2):
    """Every stream position has its own token, so the embedding row of a token is the
    gradient with respect to the input at that position."""
    length = 40
    streams = np.arange(BATCH * length, dtype=np.int32).reshape(BATCH, length)
    trainer = frozen_trainer("lstm", k1, k2, vocab=BATCH * length)
    for n, (inputs, targets) in enumerate(tbptt_windows(streams, k1, k2)):
        state = [s.numpy() for s in trainer.carried_state]
        _, grads, *_ = trainer.gradients(inputs, targets, state, training=False)
        embedding_grad = tf.convert_to_tensor(grads[0]).numpy()  # [vocab, embedding_dim]
        per_position = np.abs(embedding_grad[streams]).sum(axis=-1)  # [batch, length]
        start = n * k1
        assert np.all(per_position[:, :start] == 0.0), f"window {n}: gradient leaked back"
        assert np.all(per_position[:, start:start + k2] > 0.0), f"window {n}: window not reached"
        assert np.all(per_position[:, start + k2:] == 0.0)
        trainer.train_step(inputs, targets)
    assert n >= 4


@pytest.mark.parametrize("k1,k2", [(5, 5), (3, 7), (2, 9)])
def test_loss_counts_exactly_the_last_k1_steps_of_the_window(k1, k2):
    trainer = frozen_trainer("gru", k1, k2)
    streams = random_streams(40, seed=3)
    windows = list(tbptt_windows(streams, k1, k2))
    trainer.train_step(*windows[0])  # a nonzero carried state
    inputs, targets = (w.numpy() for w in windows[1])
    state = [s.numpy() for s in trainer.carried_state]

    loss, _ = trainer.window_loss(inputs, targets, state, training=False)
    logits, *_ = trainer.model([inputs, *state])
    per_step = keras.losses.sparse_categorical_crossentropy(targets, logits, from_logits=True)
    np.testing.assert_allclose(float(loss), np.mean(per_step[:, k2 - k1:]), rtol=1e-6)

    unscored = targets.copy()
    unscored[:, :k2 - k1] = (unscored[:, :k2 - k1] + 1) % VOCAB
    assert float(trainer.window_loss(inputs, unscored, state, False)[0]) == float(loss)
    scored = targets.copy()
    scored[:, -1] = (scored[:, -1] + 1) % VOCAB
    assert float(trainer.window_loss(inputs, scored, state, False)[0]) != float(loss)


def test_trainer_refuses_k2_below_k1():
    with pytest.raises(ValueError, match="k1=5, k2=3"):
        frozen_trainer("lstm", 5, 3)


def test_non_finite_update_is_skipped_and_leaves_weights_and_state_alone():
    model = build_language_model(VOCAB, "lstm", units=6, layers=1, embedding_dim=4)
    trainer = TBPTTRule(model, keras.optimizers.Adam(1e-2), BATCH, 5, 5)
    streams = random_streams(30)
    inputs, targets = next(iter(tbptt_windows(streams, 5, 5)))
    trainer.train_step(inputs, targets)
    before = [v.numpy().copy() for v in model.variables + trainer.optimizer.variables
              + trainer.carried_state]
    embedding = model.get_layer("embedding").embeddings
    poisoned = embedding.numpy()
    poisoned[int(inputs[0, 0])] = np.nan
    weights_before_poison = embedding.numpy()
    embedding.assign(poisoned)
    result = trainer.train_step(inputs, targets)
    embedding.assign(weights_before_poison)
    assert not bool(result["finite"])
    after = [v.numpy() for v in model.variables + trainer.optimizer.variables
             + trainer.carried_state]
    for a, b in zip(before, after):
        np.testing.assert_array_equal(a, b)


def model_under(policy, cell="lstm", weights=None):
    keras.config.set_dtype_policy(policy)
    try:
        model = build_language_model(VOCAB, cell, units=6, layers=2, embedding_dim=4)
    finally:
        keras.config.set_dtype_policy("float32")
    if weights is not None:
        model.set_weights(weights)
    return model


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_mixed_bfloat16_model_trains_with_float32_loss_and_carried_state(cell):
    """The same weights in float32 and under mixed_bfloat16: the bfloat16 trainer carries
    float32 state, reports a float32 loss, and both agree to bfloat16's precision."""
    exact = model_under("float32", cell)
    rng = np.random.default_rng(5)
    exact.set_weights([rng.normal(0, 0.5, w.shape) for w in exact.get_weights()])
    mixed = model_under("mixed_bfloat16", cell, exact.get_weights())
    trainers = [TBPTTRule(model, keras.optimizers.SGD(0.0), BATCH, 4, 6) for model in (exact, mixed)]
    for inputs, targets in list(tbptt_windows(random_streams(40), 4, 6))[:4]:
        expected, result = (trainer.train_step(inputs, targets) for trainer in trainers)
        assert result["loss"].dtype == tf.float32 and bool(result["finite"])
        np.testing.assert_allclose(float(result["loss"]), float(expected["loss"]), rtol=2e-2)
    for carried, reference in zip(trainers[1].carried_state, trainers[0].carried_state):
        assert carried.dtype == tf.float32
        np.testing.assert_allclose(carried.numpy(), reference.numpy(), atol=3e-2)
        assert np.abs(reference.numpy()).max() > 0.3  # far from zero, so the check means something


def test_trainer_refuses_float16_compute_naming_the_layers():
    with pytest.raises(ValueError, match=r"rnn_0.*float16.*loss scaling.*mixed_bfloat16"):
        TBPTTRule(model_under("mixed_float16"), keras.optimizers.SGD(0.0), BATCH, 4, 4)
