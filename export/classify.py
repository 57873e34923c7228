"""The served module of `recipes.classify` runs: one `classify` signature.

Sequence runs: `features` float32 [batch, time, features] (raw values: the
standardisation is inside the model) and `lengths` int32 [batch]. Text runs: `texts`
string [batch], tokenised in the graph as the training texts were
(`zoo.data.text_tokens`). Both return `probabilities` float32 [batch, classes], `class_id`
int32 [batch] and `label` string [batch] (the class names the run was trained with).
"""

import numpy as np
import tensorflow as tf

from export.serving import MAX_BATCH, ServingModule, require
from zoo.data.text_tokens import make_vectorizer


class ClassifierServer(ServingModule):
    """`classify` (see the module docstring); requests are checked in the graph."""

    def __init__(self, model, assets):
        super().__init__(model, name="classifier_server")
        self.assets = assets
        self.class_names = tf.constant(assets["class_names"])
        if assets["kind"] == "text":
            # A tracked attribute, so the SavedModel holds the vectorizer's lookup table.
            self.vectorizer = make_vectorizer(assets["tokens"], assets["vocabulary"])
            self.classify = tf.function(self._classify_texts, input_signature=[
                tf.TensorSpec([None], tf.string, name="texts")])
        else:
            self.classify = tf.function(self._classify_sequences, input_signature=[
                tf.TensorSpec([None, None, assets["features"]], tf.float32, name="features"),
                tf.TensorSpec([None], tf.int32, name="lengths")])
        self.track_variables()

    def _classify_sequences(self, features, lengths):
        shape = tf.shape(features)
        checks = [require(shape[0] <= MAX_BATCH, f"features: at most {MAX_BATCH} sequences per request"),
                  require(tf.equal(tf.size(lengths), shape[0]), "lengths: one per sequence of features"),
                  require(tf.reduce_all(lengths >= 1), "lengths: every sequence needs at least one step"),
                  require(tf.reduce_all(lengths <= shape[1]), "lengths: at most the time axis of features"),
                  require(tf.reduce_all(tf.math.is_finite(features)), "features: values must be finite")]
        with tf.control_dependencies(checks):
            return self._outputs(tf.identity(features), tf.identity(lengths))

    def _classify_texts(self, texts):
        ragged = self.vectorizer(texts)[:, :self.assets["max_steps"]]
        lengths = tf.cast(ragged.row_lengths(), tf.int32)
        checks = [require(tf.size(texts) <= MAX_BATCH, f"texts: at most {MAX_BATCH} per request"),
                  require(tf.reduce_all(lengths >= 1), "texts: every text needs at least one token")]
        with tf.control_dependencies(checks):
            return self._outputs(tf.identity(ragged.to_tensor()), tf.identity(lengths))

    def _outputs(self, inputs, lengths):
        logits = self.model([inputs, lengths], training=False)
        class_id = tf.argmax(logits, -1, output_type=tf.int32)
        return {"probabilities": tf.nn.softmax(logits), "class_id": class_id,
                "label": tf.gather(self.class_names, class_id)}

    def signatures(self):
        return {"classify": self.classify}

    def warmup_requests(self):
        if self.assets["kind"] == "text":
            return [("classify", {"texts": np.array([b"a short example", b"another one"])})]
        features = np.zeros((2, 5, self.assets["features"]), np.float32)
        return [("classify", {"features": features, "lengths": np.array([5, 3], np.int32)})]
