"""The closed-form readout equals the penalised least-squares solution computed independently
(an augmented `numpy.linalg.lstsq`), however the rows arrive."""

import keras
import numpy as np
import pytest

import zoo
from zoo.layers.recurrent import RecurrentLayer
from zoo.training.ridge import RidgeReadoutRule, RidgeSums, fit_ridge


def least_squares(states, targets, ridge):
    """argmin ||S W + 1 b - Y||^2 + ridge ||W||^2 as an ordinary least-squares problem:
    rows [S 1] -> Y, and sqrt(ridge) I rows (bias column 0) -> 0."""
    features = states.shape[1]
    design = np.vstack([np.hstack([states, np.ones((len(states), 1))]),
                        np.hstack([np.sqrt(ridge) * np.eye(features), np.zeros((features, 1))])])
    stacked = np.vstack([targets, np.zeros((features, targets.shape[1]))])
    solution = np.linalg.lstsq(design, stacked, rcond=None)[0]
    return solution[:-1], solution[-1]


@pytest.mark.parametrize("ridge", [0.0, 1e-3, 2.5])
def test_ridge_readout_is_the_penalised_least_squares_solution(ridge):
    rng = np.random.default_rng(0)
    states = rng.normal(size=(300, 7)) + 0.5
    targets = states @ rng.normal(size=(7, 3)) + rng.normal(size=(300, 3)) + 2.0
    kernel, bias = fit_ridge(states, targets, ridge, washout=25)
    expected_kernel, expected_bias = least_squares(states[25:], targets[25:], ridge)
    np.testing.assert_allclose(kernel, expected_kernel, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(bias, expected_bias, rtol=1e-9, atol=1e-10)


def test_sums_added_batch_by_batch_give_the_one_shot_solution():
    rng = np.random.default_rng(1)
    states, targets = rng.normal(size=(120, 5)), rng.normal(size=(120, 2))
    sums = RidgeSums(5, 2)
    for start in range(0, 120, 40):
        sums.add(states[start:start + 40], targets[start:start + 40])
    for got, expected in zip(sums.solve(0.1), least_squares(states, targets, 0.1)):
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-10)


def test_the_ridge_rule_fits_the_readout_on_every_batch_it_has_seen():
    inputs = keras.Input((6, 2))
    hidden = RecurrentLayer(zoo.ReservoirCell(12, connectivity=0.3, seed=4))(inputs)
    readout = keras.layers.Dense(1, name="readout")
    model = keras.Model(inputs, readout(hidden))
    features = keras.Model(model.input, readout.input)
    rng = np.random.default_rng(2)
    batches = [(rng.normal(size=(16, 6, 2)).astype("float32"), rng.normal(size=16).astype("float32"))
               for _ in range(3)]
    rule = RidgeReadoutRule(features, readout, lambda index: batches[index], lambda y: y[:, None], 1e-2)
    for _, batch in zip(range(3), rule.batches()):
        result = rule.train_step(*batch)
        assert result["finite"] and "grad_norm" not in result
    states = np.concatenate([features(x).numpy() for x, _ in batches]).astype(np.float64)
    kernel, bias = least_squares(states, np.concatenate([y for _, y in batches])[:, None], 1e-2)
    np.testing.assert_allclose(readout.kernel.numpy(), kernel, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(readout.bias.numpy(), bias, rtol=1e-4, atol=1e-5)
    assert int(rule.batch) == 3
