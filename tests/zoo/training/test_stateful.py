"""`zoo.training.tbptt_fit` / `StatefulTrainer`: TBPTT for a user's state-in/state-out
model, with the state in the trainer, exact resume from checkpoints, and the contract
(batch size, state shapes, ids) checked where it enters."""

import keras
import numpy as np
import pytest

import zoo
from zoo.models.language_model import language_model_from_layers
from zoo.training import StatefulTrainer, tbptt_fit

TEXT = "the quick brown fox jumps over the lazy dog; " * 16
VOCABULARY = zoo.data.CharacterVocabulary.from_text(TEXT)
IDS = VOCABULARY.encode(TEXT)
SETTINGS = dict(batch_size=4, k1=10, k2=15)


def user_model(layers=lambda: [zoo.layers.LSTM(12), zoo.layers.GRU(8)]):
    keras.utils.set_random_seed(3)
    return language_model_from_layers(VOCABULARY.size, layers(), 8)


def test_a_run_stopped_inside_an_epoch_resumes_exactly(tmp_path):
    straight = user_model()
    straight_trainer = tbptt_fit(straight, TEXT, epochs=2, vocabulary=VOCABULARY, **SETTINGS)
    windows = len(straight_trainer.losses) // 2
    first = StatefulTrainer(user_model(), checkpoint_dir=tmp_path, **SETTINGS)
    stopped = first.fit(IDS, epochs=2, windows=windows + 7)  # into the second epoch
    resumed_model = user_model()
    resumed = tbptt_fit(resumed_model, TEXT, epochs=2, vocabulary=VOCABULARY, checkpoint_dir=tmp_path, **SETTINGS)
    assert stopped + resumed.losses == straight_trainer.losses
    for ours, expected in zip(resumed_model.get_weights(), straight.get_weights()):
        np.testing.assert_array_equal(ours, expected)
    for ours, expected in zip(resumed.get_states(), straight_trainer.get_states()):
        np.testing.assert_array_equal(ours, expected)


def test_the_state_is_carried_set_and_reset_by_the_trainer():
    trainer = StatefulTrainer(user_model(lambda: [keras.layers.LSTM(6)]), **SETTINGS)  # a built-in layer too
    assert [s.shape for s in trainer.get_states()] == [(4, 6), (4, 6)] and not np.any(trainer.get_states()[0])
    trainer.fit(IDS, windows=3)
    carried = trainer.get_states()
    assert np.all(np.abs(carried[0]) > 0)
    trainer.reset_states()
    assert not np.any(trainer.get_states()[1])
    trainer.set_states(carried)
    np.testing.assert_array_equal(trainer.get_states()[0], carried[0])


def test_a_batch_size_mismatch_is_refused_not_broadcast():
    trainer = StatefulTrainer(user_model(), **SETTINGS)
    states = trainer.get_states()
    with pytest.raises(ValueError, match=r"state 0 must be \(4, 12\).*received \(1, 12\)"):
        trainer.set_states([s[:1] for s in states])
    with pytest.raises(ValueError, match="carries 3 states, received 2"):
        trainer.set_states(states[:2])
    ids = keras.Input((None,), batch_size=8, dtype="int32")
    state = keras.Input((5,), batch_size=8)
    hidden, new_state = zoo.layers.GRU(5, return_sequences=True, return_state=True)(
        keras.layers.Embedding(VOCABULARY.size, 4)(ids), initial_state=[state])
    fixed = keras.Model([ids, state], [keras.layers.Dense(VOCABULARY.size)(hidden), new_state])
    with pytest.raises(ValueError, match="has batch size 8, but batch_size is 4"):
        StatefulTrainer(fixed, **SETTINGS)


@pytest.mark.parametrize("data,message", [
    (IDS[:40], r"40 ids make 4 streams of 10, shorter than one window of k2 \+ 1 = 16"),
    (np.append(IDS, 999), r"ids must be in \[0, \d+\)"),
    (IDS.astype(np.float32), "1-D array of integer ids"),
])
def test_bad_data_is_refused_naming_what_was_expected(data, message):
    with pytest.raises(ValueError, match=message):
        StatefulTrainer(user_model(), **SETTINGS).fit(data)


def test_a_model_without_the_state_contract_is_refused():
    ids = keras.Input((None,), dtype="int32")
    plain = keras.Model(ids, keras.layers.Dense(5)(keras.layers.Embedding(5, 3)(ids)))
    with pytest.raises(ValueError, match=r"0 state inputs and 0 state outputs.*language_model_from_layers"):
        StatefulTrainer(plain, **SETTINGS)
    with pytest.raises(ValueError, match="already built"):
        layer = zoo.layers.LSTM(4)
        layer(np.zeros((1, 2, 3)))
        language_model_from_layers(5, [layer], 3)


def test_a_checkpoint_folder_of_other_settings_is_refused_naming_the_setting(tmp_path):
    StatefulTrainer(user_model(), checkpoint_dir=tmp_path, **SETTINGS).fit(IDS, windows=2)
    with pytest.raises(ValueError, match=r"^StatefulTrainer: k1 is 5, but .*ckpt-2 was written with 10"):
        StatefulTrainer(user_model(), checkpoint_dir=tmp_path, **{**SETTINGS, "k1": 5})
