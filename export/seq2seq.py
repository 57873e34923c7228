"""The served module of `recipes.seq2seq` runs (work in progress): `translate`.

    translate(sources string [batch], beam_width int32, max_length int32)
        -> translations string [batch], scores float32 [batch]

Characters are looked up in the run's source vocabulary inside the graph (unknown ones
read as the unknown id), the whole beam search runs in the graph on core TensorFlow ops
(`zoo.decoding`), and the best hypothesis is joined back into a string. Requests are
checked in the graph: a batch of 1 to 256 non-empty sources, the beam width and the
length within their limits.
"""

import numpy as np
import tensorflow as tf

from export.serving import MAX_BATCH, ServingModule, require

MAX_BEAM, MAX_DECODE = 64, 512


class TranslatorServer(ServingModule):
    """`translate` (see the module docstring) over an `zoo.encoder_decoder.EncoderDecoder`."""

    def __init__(self, model, assets, special):
        super().__init__(model, name="translator_server")
        self.special = special  # (pad, start, end, unknown) ids
        source = assets["source"]
        self.source_ids = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer(
            tf.constant(source[len(special):]), tf.range(len(special), len(source), dtype=tf.int32)),
            special[3])
        self.target_tokens = tf.constant([""] * len(special) + assets["target"][len(special):])
        self.translate = tf.function(self._translate, input_signature=[
            tf.TensorSpec([None], tf.string, name="sources"),
            tf.TensorSpec([], tf.int32, name="beam_width"),
            tf.TensorSpec([], tf.int32, name="max_length")])
        self.track_variables()

    def _translate(self, sources, beam_width, max_length):
        characters = tf.strings.unicode_split(sources, "UTF-8")
        lengths = tf.cast(characters.row_lengths(), tf.int32)
        checks = [require((tf.size(sources) >= 1) & (tf.size(sources) <= MAX_BATCH),
                          f"sources: 1 to {MAX_BATCH} per request"),
                  require(tf.reduce_all(lengths >= 1), "sources: every source needs at least one character"),
                  require((beam_width >= 1) & (beam_width <= MAX_BEAM), f"beam_width: 1 to {MAX_BEAM}"),
                  require((max_length >= 1) & (max_length <= MAX_DECODE), f"max_length: 1 to {MAX_DECODE}")]
        with tf.control_dependencies(checks):
            ids = tf.identity(self.source_ids.lookup(characters).to_tensor(self.special[0]))
        _, start, end, _ = self.special
        tokens, scores, token_counts = self.model.translate(ids, lengths, start, end, max_length, beam_width, 0.6)
        kept = tf.sequence_mask(token_counts - 1, tf.shape(tokens)[1])  # the end token is not text
        pieces = tf.where(kept, tf.gather(self.target_tokens, tokens), "")
        return {"translations": tf.strings.reduce_join(pieces, axis=1), "scores": scores}

    def signatures(self):
        return {"translate": self.translate}

    def warmup_requests(self):
        return [("translate", {"sources": np.array(["en_US | January 2, 2020".encode()]),
                               "beam_width": np.int32(2), "max_length": np.int32(12)})]
