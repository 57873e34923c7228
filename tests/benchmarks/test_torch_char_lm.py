"""The PyTorch peer of `benchmarks.same_time` trains the recipe's job: the same streams
and the same learning-rate schedule (its model needs PyTorch, which the tests do not
install; what it is fed and when it steps are checked here)."""

import keras
import numpy as np
import pytest

from benchmarks.same_time import plan
from benchmarks.torch_char_lm import corpus_streams, learning_rate, tbptt_windows
from recipes.char_lm import TASK, CharLMConfig
from zoo.data import tbptt_windows as zoo_windows


def test_the_peer_reads_the_recipes_streams_and_windows():
    config = CharLMConfig(batch_size=16, k1=50, k2=50)
    data = TASK.prepare(config)
    vocab_size, train, valid = corpus_streams(config)
    assert vocab_size == data.assets.size
    np.testing.assert_array_equal(train, data.train_streams)
    np.testing.assert_array_equal(valid, data.valid_streams)
    ours = list(tbptt_windows(valid, config.k1))
    recipes = [(x.numpy(), y.numpy()) for x, y in zoo_windows(valid, config.k1, config.k2)]
    assert len(ours) == len(recipes) > 1
    for (inputs, targets), (zoo_inputs, zoo_targets) in zip(ours, recipes):
        np.testing.assert_array_equal(inputs, zoo_inputs)
        np.testing.assert_array_equal(targets, zoo_targets)


@pytest.mark.parametrize("steps,warmup", [(800, 50), (37, 5), (10, 0)])
def test_the_peers_learning_rate_is_the_recipes_schedule_at_every_update(steps, warmup):
    config = CharLMConfig(steps=steps, warmup_steps=warmup, lr=3e-3)
    keras_schedule = keras.optimizers.schedules.CosineDecay(
        0.0, decay_steps=max(1, steps - warmup), alpha=0.1, warmup_target=config.lr,
        warmup_steps=warmup)
    updates = np.arange(steps + 3)
    np.testing.assert_allclose([learning_rate(config, int(i)) for i in updates],
                               [float(keras_schedule(int(i))) for i in updates], rtol=1e-5, atol=1e-12)


def test_a_plan_fits_the_first_update_and_median_steps_into_the_budget():
    assert plan(first=10.0, steps=[0.5, 0.4, 9.0], seconds=100.0) == 1 + 180
    assert plan(first=200.0, steps=[0.5], seconds=100.0) == 1
