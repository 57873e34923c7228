"""The request-checking layer itself (`export.requests`), on a small signature traced and
loaded back as a server would: a request of any shape meets a rule that names it, the
first broken rule is the one reported, the budget is a size check, and what passes
reaches the computation with its static shape."""

import numpy as np
import pytest
import tensorflow as tf

from export.requests import any_shape, checked, dims, int64, within_budget

BUDGET = 12


class Summed(tf.Module):
    """`total`: features float32 [batch, time, 3] -> the sum over time, checked."""

    def __init__(self):
        super().__init__()
        self.total = tf.function(self._total, input_signature=[any_shape(tf.float32, "features")])

    def _total(self, features):
        shape = lambda inputs: dims(inputs["features"], 3)
        features = checked({"features": features}, [
            (lambda inputs: tf.equal(shape(inputs)[2], 3), "features: 3 per step"),
            (lambda inputs: shape(inputs)[1] >= 1, "features: at least one step"),
            within_budget(lambda inputs: int64(shape(inputs)[0]) * int64(shape(inputs)[1]), BUDGET,
                          "features: batch x time"),
            (lambda inputs: tf.reduce_all(tf.math.is_finite(inputs["features"])), "features: values must be finite"),
        ], {"features": ([None, None, 3], "float32 [batch, time, 3]")})["features"]
        assert features.shape.as_list() == [None, None, 3]  # the static shape, given back
        return {"total": tf.reduce_sum(features, axis=1)}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    folder = tmp_path_factory.mktemp("summed")
    module = Summed()
    tf.saved_model.save(module, str(folder), signatures={"total": module.total})
    return tf.saved_model.load(str(folder)).signatures["total"]


@pytest.mark.parametrize("features,message", [
    (np.ones([4, 3], np.float32), r"\[features: expected float32 \[batch, time, 3\]\]"),
    (np.ones([2], np.float32), r"\[features: expected float32"),
    (np.ones([1, 2, 3, 4], np.float32), r"\[features: expected float32"),
    (np.ones([2, 2, 4], np.float32), r"\[features: 3 per step\]"),
    (np.ones([2, 0, 3], np.float32), r"\[features: at least one step\]"),
    (np.ones([3, 5, 3], np.float32), r"\[features: batch x time over the request budget of 12 cell steps"),
    (np.full([2, 2, 3], np.nan, np.float32), r"\[features: values must be finite\]"),
    # Several rules broken: the first is reported (width before budget before values).
    (np.full([9, 9, 4], np.inf, np.float32), r"\[features: 3 per step\]"),
])
def test_a_broken_rule_is_reported_by_its_message(served, features, message):
    with pytest.raises(tf.errors.InvalidArgumentError, match=message):
        served(features=tf.constant(features))


def test_a_request_within_every_rule_is_computed(served):
    features = np.arange(12, dtype=np.float32).reshape(2, 2, 3)  # 2 x 2 = 4 cell steps
    np.testing.assert_array_equal(served(features=tf.constant(features))["total"].numpy(), features.sum(1))
    exactly = np.ones([3, 4, 3], np.float32)  # 12 cell steps: the budget itself
    np.testing.assert_array_equal(served(features=tf.constant(exactly))["total"].numpy(), np.full([3, 3], 4.0))
