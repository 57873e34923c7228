"""Decoding from any autoregressive model, written once in TensorFlow ops: greedy,
temperature, top-k, top-p (nucleus) sampling, and beam search with length normalisation.

The same functions run from Python (inside a `tf.function`) and inside served
signatures, so one request gives one answer everywhere. A model is seen through

    step_fn(ids [n, 1] int32, state) -> (logits [n, vocab], new state)

with `state` a list of [n, ...] tensors (a recurrent model's carried state, and anything
else that must travel with a row).

One strategy a module: `zoo.decoding.sampling` (temperature, top-k, top-p),
`zoo.decoding.greedy`, `zoo.decoding.beam_search` (length-normalised); and
`zoo.decoding.language_model`, the text sampler over a state-in/state-out language model.
"""

from zoo.decoding.beam_search import beam_search, length_penalty, tile_beams
from zoo.decoding.greedy import greedy_search, static_batch
from zoo.decoding.sampling import check_sampling, filtered_logits, next_ids, sample_sequence

__all__ = ["beam_search", "check_sampling", "filtered_logits", "greedy_search", "length_penalty", "next_ids",
           "sample_sequence", "static_batch", "tile_beams"]
