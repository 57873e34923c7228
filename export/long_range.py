"""The served module of `recipes.long_range` runs: one `predict` signature over raw sequences.

Requests are checked before any work (`export.requests`): 1 to MAX_BATCH sequences of
1 to MAX_TIME steps with the task's feature count, finite values, batch x time cell
steps within the export's budget; an output that overflows is refused.
"""

import numpy as np
import tensorflow as tf

from export.portable import BATCH, Portable, PortableForms
from export.requests import all_finite, any_shape, checked, dims, int64, within_budget
from export.serving import MAX_BATCH, ServingModule
from zoo.data.synthetic import ORDER_CLASSES, TASKS

MAX_TIME = 100000  # the longest sequences the recipe trains on


class LongRangeServer(ServingModule):
    """`predict`: sequences float32 [batch, time, features] -> the task's prediction:
    `prediction` [batch] (adding), `probabilities` [batch, 4] and `label` (temporal
    order), or `probabilities` [batch, time, 10] and `symbol_ids` [batch, time] (copy)."""

    # The default model (one layer of 64 units) at this budget: docs/serving.md.
    DEFAULT_BUDGET = 1 << 20

    def __init__(self, model, assets, folder, budget=0):
        super().__init__(model, name="long_range_server", budget=budget)
        self.assets = assets
        self.predict = tf.function(self._predict, input_signature=[any_shape(tf.float32, "sequences")])
        self.track_variables()
        self.record_budget(folder, {"predict": "batch x time"}, {"batch": MAX_BATCH, "time": MAX_TIME})

    def _predict(self, sequences):
        spec = TASKS[self.assets["task"]]
        shape = lambda inputs: dims(inputs["sequences"], 3)
        sequences = self.checked("predict", {"sequences": sequences}, [
            (lambda inputs: tf.equal(shape(inputs)[2], spec.features),
             f"sequences: {spec.features} features per step, as in training"),
            (lambda inputs: (shape(inputs)[0] >= 1) & (shape(inputs)[0] <= MAX_BATCH),
             f"sequences: 1 to {MAX_BATCH} per request"),
            (lambda inputs: (shape(inputs)[1] >= 1) & (shape(inputs)[1] <= MAX_TIME),
             f"sequences: 1 to {MAX_TIME} time steps"),
            within_budget(lambda inputs: int64(shape(inputs)[0]) * int64(shape(inputs)[1]), self.budget,
                          "sequences: batch x time"),
            (lambda inputs: tf.reduce_all(tf.math.is_finite(inputs["sequences"])), "sequences: values must be finite"),
        ], {"sequences": ([None, None, spec.features], f"float32 [batch, time, {spec.features}]")})["sequences"]
        outputs = checked({"outputs": self.model(sequences, training=False)}, [all_finite(
            ["outputs"], "sequences: values so large that the model output overflows; expected values on the "
             "scale of the task")])["outputs"]
        if spec.regression:
            return {"prediction": outputs[:, 0]}
        probabilities = tf.nn.softmax(outputs)
        if spec.per_step:
            return {"probabilities": probabilities, "symbol_ids": tf.argmax(outputs, -1, tf.int32)}
        class_id = tf.argmax(outputs, -1, tf.int32)
        return {"probabilities": probabilities, "class_id": class_id,
                "label": tf.gather(tf.constant(ORDER_CLASSES), class_id)}

    def signatures(self):
        return {"predict": self.predict}

    def warmup_requests(self):
        spec = TASKS[self.assets["task"]]
        inputs, _ = spec.generate(np.random.default_rng(0), 2, self.assets["length"])
        return [("predict", {"sequences": inputs})]


def portable_forms(model, assets):
    """The id-input form of `predict` for LiteRT and ONNX (`export.portable`): raw
    sequences in, the served outputs out but the temporal-order label (a string; the
    manifest lists the labels by class id)."""
    spec = TASKS[assets["task"]]

    def predict(inputs):
        outputs = model(inputs["sequences"], training=False)
        if spec.regression:
            return {"prediction": outputs[:, 0]}
        key = "symbol_ids" if spec.per_step else "class_id"
        return {"probabilities": tf.nn.softmax(outputs), key: tf.argmax(outputs, -1, tf.int32)}

    def example(batch, rng):
        return {"sequences": spec.generate(rng, batch, min(assets["length"], 40))[0].astype(np.float32)}

    labels = {} if spec.regression or spec.per_step else {"labels": list(ORDER_CLASSES)}
    return PortableForms(
        signatures=[Portable("predict", {"sequences": (tf.float32, (BATCH, None, spec.features))}, predict, example,
                             f"sequences: finite, [batch, time >= 1, {spec.features}] as the task generates them")],
        refused={}, metadata=labels)
