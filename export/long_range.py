"""The served module of `recipes.long_range` runs: one `predict` signature over raw sequences."""

import numpy as np
import tensorflow as tf

from export.serving import MAX_BATCH, ServingModule, require
from zoo.data.synthetic import ORDER_CLASSES, TASKS


class LongRangeServer(ServingModule):
    """`predict`: sequences float32 [batch, time, features] -> the task's prediction:
    `prediction` [batch] (adding), `probabilities` [batch, 4] and `label` (temporal
    order), or `probabilities` [batch, time, 10] and `symbol_ids` [batch, time] (copy)."""

    def __init__(self, model, assets):
        super().__init__(model, name="long_range_server")
        self.assets = assets
        spec = TASKS[assets["task"]]
        self.predict = tf.function(self._predict, input_signature=[
            tf.TensorSpec([None, None, spec.features], tf.float32, name="sequences")])
        self.track_variables()

    def _predict(self, sequences):
        spec = TASKS[self.assets["task"]]
        shape = tf.shape(sequences)
        checks = [require(shape[0] <= MAX_BATCH, f"sequences: at most {MAX_BATCH} per request"),
                  require(shape[1] >= 1, "sequences: at least one time step"),
                  require(tf.reduce_all(tf.math.is_finite(sequences)), "sequences: values must be finite")]
        with tf.control_dependencies(checks):
            outputs = self.model(tf.identity(sequences), training=False)
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
