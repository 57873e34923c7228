"""Sampling rules: greedy, temperature, top-k, top-p, seeds."""

import numpy as np
import pytest

from zoo.errors import InputError
from zoo.sampling import check_sampling, next_ids

LOGITS = np.log(np.array([[0.5, 0.3, 0.15, 0.05], [0.05, 0.15, 0.3, 0.5]]))


def draws(n=2000, seed=0, **kwargs):
    rng = np.random.default_rng(seed)
    return np.stack([next_ids(LOGITS, rng, **kwargs) for _ in range(n)])


def test_greedy_and_top_1_take_the_argmax():
    assert list(next_ids(LOGITS, np.random.default_rng(0), temperature=0.0)) == [0, 3]
    assert set(map(tuple, draws(50, top_k=1))) == {(0, 3)}


def test_temperature_one_follows_the_softmax():
    frequencies = np.mean(draws(4000)[:, 0][:, None] == np.arange(4), axis=0)
    np.testing.assert_allclose(frequencies, [0.5, 0.3, 0.15, 0.05], atol=0.03)


def test_top_k_keeps_only_the_k_likeliest():
    sampled = draws(top_k=2)
    assert set(sampled[:, 0]) == {0, 1} and set(sampled[:, 1]) == {3, 2}


def test_top_p_keeps_the_smallest_set_reaching_the_mass():
    sampled = draws(top_p=0.79)  # 0.5 + 0.3 reaches 0.79
    assert set(sampled[:, 0]) == {0, 1}
    sampled = draws(top_p=0.81)
    assert set(sampled[:, 0]) == {0, 1, 2}


def test_same_seed_same_draws():
    np.testing.assert_array_equal(draws(100, seed=3, temperature=1.5), draws(100, seed=3, temperature=1.5))
    assert not np.array_equal(draws(100, seed=3), draws(100, seed=4))


@pytest.mark.parametrize("args,name", [((-1.0, 0, 1.0), "--temperature"), ((1.0, -2, 1.0), "--top-k"),
                                       ((1.0, 0, 0.0), "--top-p"), ((1.0, 0, 1.5), "--top-p")])
def test_bad_sampling_arguments_are_named(args, name):
    with pytest.raises(InputError, match=name):
        check_sampling(*args)
