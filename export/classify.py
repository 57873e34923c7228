"""The served module of `recipes.classify` runs: one `classify` signature.

Sequence runs: `features` float32 [batch, time, features] (raw values: the
standardisation is inside the model) and `lengths` int32 [batch]. Text runs: `texts`
string [batch], tokenised in the graph as the training texts were
(`zoo.data.tokens`). Both return `probabilities` float32 [batch, classes], `class_id`
int32 [batch] and `label` string [batch]: the class names the run was trained with, read
from the export's asset `labels.txt` (one name per line, line k for class id k).

Requests are checked before any work (`export.requests`): 1 to MAX_BATCH sequences of
1 to MAX_TIME steps with the training's feature count, `lengths` within the time axis,
finite features; texts of at most MAX_TEXT_BYTES bytes each. A request's work, in cell
steps, is at most the export's budget: batch x time for sequences, batch x the tokens
read (at most the run's `max_steps` per text) for texts. Features so large that the
model's output overflows are refused, not answered with NaN probabilities.
"""

import numpy as np
import tensorflow as tf

from export.portable import BATCH, Portable, PortableForms
from export.requests import all_finite, any_shape, checked, dims, int64, string_batch, within_budget
from export.serving import MAX_BATCH, ServingModule
from zoo.data.tokens import make_vectorizer

LABELS_ASSET = "labels.txt"
MAX_TIME = 20000
MAX_TEXT_BYTES = 1 << 20


class ClassifierServer(ServingModule):
    """`classify` (see the module docstring); requests are checked in the graph."""

    # The default model (bidirectional GRU, 64 units) at this budget: docs/serving.md.
    DEFAULT_BUDGET = 262144

    def __init__(self, model, assets, folder, budget=0):
        super().__init__(model, name="classifier_server", budget=budget)
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
            self.classify = tf.function(self._classify_texts, input_signature=[any_shape(tf.string, "texts")])
        else:
            self.classify = tf.function(self._classify_sequences, input_signature=[
                any_shape(tf.float32, "features"), any_shape(tf.int32, "lengths")])
        self.track_variables()
        work = "batch x tokens read" if assets["kind"] == "text" else "batch x time"
        self.record_budget(folder, {"classify": work}, {"batch": MAX_BATCH, "time": MAX_TIME,
                                                        "text_bytes": MAX_TEXT_BYTES})

    def _classify_sequences(self, features, lengths):
        width = self.assets["features"]
        shape = lambda inputs: dims(inputs["features"], 3)
        inputs = self.checked("classify", {"features": features, "lengths": lengths}, [
            (lambda inputs: tf.equal(shape(inputs)[2], width), f"features: {width} per step, as in training"),
            (lambda inputs: (shape(inputs)[0] >= 1) & (shape(inputs)[0] <= MAX_BATCH),
             f"features: 1 to {MAX_BATCH} sequences per request"),
            (lambda inputs: (shape(inputs)[1] >= 1) & (shape(inputs)[1] <= MAX_TIME),
             f"features: 1 to {MAX_TIME} steps"),
            within_budget(lambda inputs: int64(shape(inputs)[0]) * int64(shape(inputs)[1]), self.budget,
                          "features: batch x time"),
            (lambda inputs: tf.equal(tf.size(inputs["lengths"]), shape(inputs)[0]),
             "lengths: one per sequence of features"),
            (lambda inputs: tf.reduce_all(inputs["lengths"] >= 1), "lengths: every sequence needs at least one step"),
            (lambda inputs: tf.reduce_all(inputs["lengths"] <= shape(inputs)[1]),
             "lengths: at most the time axis of features"),
            (lambda inputs: tf.reduce_all(tf.math.is_finite(inputs["features"])), "features: values must be finite"),
        ], {"features": ([None, None, width], f"float32 [batch, time, {width}]"),
            "lengths": ([None], "int32 [batch]")})
        return self._outputs(inputs["features"], inputs["lengths"], "features")

    def _classify_texts(self, texts):
        texts = self.checked("classify", {"texts": texts}, string_batch("texts", MAX_BATCH, MAX_TEXT_BYTES),
                             {"texts": ([None], "string [batch]")})["texts"]
        ragged = self.vectorizer(texts)[:, :self.assets["max_steps"]]
        inputs = checked({"lengths": tf.cast(ragged.row_lengths(), tf.int32)}, [
            (lambda inputs: tf.reduce_all(inputs["lengths"] >= 1), "texts: every text needs at least one token"),
            within_budget(lambda inputs: int64(tf.size(inputs["lengths"])) * int64(tf.reduce_max(inputs["lengths"])),
                          self.budget, "texts: batch x tokens read"),
        ])
        ids = tf.RaggedTensor.from_row_lengths(ragged.flat_values, inputs["lengths"]).to_tensor()
        return self._outputs(ids, inputs["lengths"], "texts")

    def _outputs(self, inputs, lengths, name):
        logits = checked({"logits": self.model([inputs, lengths], training=False)}, [all_finite(
            ["logits"], f"{name}: values so large that the model output overflows; expected values on the "
             "scale of the training data")])["logits"]
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


def portable_forms(model, assets):
    """The id-input form of `classify` for LiteRT and ONNX (`export.portable`): sequence
    runs only (features and lengths in, probabilities and class ids out; the app maps
    class ids to the manifest's labels). A text run's `classify` takes strings."""
    if assets["kind"] == "text":
        return PortableForms([], {"classify": "texts are strings (StringSplit and the vocabulary's hash table "
                                              "do not convert)"}, {})
    width = assets["features"]

    def classify(inputs):
        logits = model([inputs["features"], inputs["lengths"]], training=False)
        return {"probabilities": tf.nn.softmax(logits), "class_id": tf.argmax(logits, -1, output_type=tf.int32)}

    def example(batch, rng):
        steps = 9
        return {"features": rng.standard_normal((batch, steps, width)).astype(np.float32),
                "lengths": rng.integers(1, steps + 1, batch).astype(np.int32)}

    return PortableForms(
        signatures=[Portable("classify", {"features": (tf.float32, (BATCH, None, width)),
                                          "lengths": (tf.int32, (BATCH,))}, classify, example,
                             f"features: finite, [batch, time >= 1, {width}] raw values as in training; "
                             "lengths: 1..time each")],
        refused={}, metadata={"labels": list(assets["class_names"])})
