"""The served module of `recipes.classify` runs: one `classify` signature.

Sequence runs: `features` float32 [batch, time, features] (raw values: the
standardisation is inside the model) and `lengths` int32 [batch]. Text runs: `texts`
string [batch], tokenised in the graph as the training texts were
(`zoo.data.tokens`). Both return `probabilities` float32 [batch, classes], `class_id`
int32 [batch] and `label` string [batch]: the class names the run was trained with, read
from the export's asset `labels.txt` (one name per line, line k for class id k).
"""

import numpy as np
import tensorflow as tf

from export.serving import MAX_BATCH, ServingModule, require
from zoo.data.tokens import make_vectorizer

LABELS_ASSET = "labels.txt"


class ClassifierServer(ServingModule):
    """`classify` (see the module docstring); requests are checked in the graph."""

    def __init__(self, model, assets, folder):
        super().__init__(model, name="classifier_server")
        self.assets = assets
        path = folder / LABELS_ASSET
        path.write_text("".join(f"{name}\n" for name in assets["class_names"]), encoding="utf-8")
        self.labels = tf.saved_model.Asset(str(path))
        line = tf.lookup.TextFileIndex
        self.label_of_id = tf.lookup.StaticHashTable(tf.lookup.TextFileInitializer(
            self.labels, tf.int64, line.LINE_NUMBER, tf.string, line.WHOLE_LINE), "")
        if assets["kind"] == "text":
            # A tracked attribute, so the SavedModel holds the vectorizer's lookup table.
            self.vectorizer = make_vectorizer(assets["tokens"], assets["vocabulary"])
            self.classify = tf.function(self._classify_texts, input_signature=[
                tf.TensorSpec([None], tf.string, name="texts")])
        else:
            self.classify = tf.function(self._classify_sequences, input_signature=[
                # The feature axis is left open so that a wrong count meets the check below
                # (a loaded signature does not check static shapes).
                tf.TensorSpec([None, None, None], tf.float32, name="features"),
                tf.TensorSpec([None], tf.int32, name="lengths")])
        self.track_variables()

    def _classify_sequences(self, features, lengths):
        shape = tf.shape(features)
        width = self.assets["features"]
        checks = [require(tf.equal(shape[2], width), f"features: {width} per step, as in training"),
                  require(shape[0] <= MAX_BATCH, f"features: at most {MAX_BATCH} sequences per request"),
                  require(tf.equal(tf.size(lengths), shape[0]), "lengths: one per sequence of features"),
                  require(tf.reduce_all(lengths >= 1), "lengths: every sequence needs at least one step"),
                  require(tf.reduce_all(lengths <= shape[1]), "lengths: at most the time axis of features"),
                  require(tf.reduce_all(tf.math.is_finite(features)), "features: values must be finite")]
        with tf.control_dependencies(checks):
            features = tf.ensure_shape(tf.identity(features), [None, None, width])
            return self._outputs(features, tf.identity(lengths))

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
                "label": self.label_of_id.lookup(tf.cast(class_id, tf.int64))}

    def signatures(self):
        return {"classify": self.classify}

    def warmup_requests(self):
        if self.assets["kind"] == "text":
            return [("classify", {"texts": np.array([b"a short example", b"another one"])})]
        features = np.zeros((2, 5, self.assets["features"]), np.float32)
        return [("classify", {"features": features, "lengths": np.array([5, 3], np.int32)})]
