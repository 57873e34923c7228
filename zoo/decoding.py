"""Decoding from any autoregressive model, written once in TensorFlow ops: greedy,
temperature, top-k, top-p (nucleus) sampling, and beam search with length normalisation.

The same functions run from Python (inside a `tf.function`) and inside served
signatures, so one request gives one answer everywhere. A model is seen through

    step_fn(ids [n, 1] int32, state) -> (logits [n, vocab], new state)

with `state` a list of [n, ...] tensors (a recurrent model's carried state, and anything
else that must travel with a row).

Sampling, at draw i, from logits l [batch, vocab]:

    temperature == 0:  argmax l                                     (greedy)
    otherwise:         s = l / temperature;  p = softmax(s)
                       keep the top_k largest s (0: all), and the smallest set of
                       likeliest ids whose mass under p reaches top_p (1: all; both are
                       cut from the same p, ties at a cut are kept)
                       draw from softmax(s) over the kept ids with the stateless random
                       stream (seed, i): the same seed gives the same draws anywhere.

Beam search (Wu et al., 2016, "Google's Neural Machine Translation System", section 7)
ranks a hypothesis Y by

    score(Y) = log P(Y) / lp(Y),   lp(Y) = ((5 + |Y|) / 6) ** alpha

where |Y| counts its tokens up to and including `end_id`; alpha = 0 ranks by log P(Y).
A hypothesis that has emitted `end_id` is finished: it keeps its score and is carried
on (padded with `end_id`) beside the live ones, which compete with it for the beam.
"""

import tensorflow as tf

from zoo.errors import InputError


def check_sampling(temperature, top_k, top_p):
    """Raise InputError naming the first sampling argument out of range."""
    if not temperature >= 0.0:
        raise InputError(f"--temperature must be >= 0 (0 is greedy), received {temperature}")
    if top_k < 0:
        raise InputError(f"--top-k must be >= 0 (0 keeps every id), received {top_k}")
    if not 0.0 < top_p <= 1.0:
        raise InputError(f"--top-p must be in (0, 1], received {top_p}")


def filtered_logits(logits, temperature, top_k, top_p):
    """logits / temperature with every id outside the top-k and top-p sets at -inf
    (see the module docstring); temperature must be > 0 here."""
    scaled = logits / temperature
    vocab = tf.shape(scaled)[-1]
    ranked = tf.sort(scaled, axis=-1, direction="DESCENDING")
    mass_before = tf.math.cumsum(tf.nn.softmax(ranked), axis=-1, exclusive=True)
    # An id stays while the mass ranked above it is still below top_p (the first always).
    nucleus = tf.reduce_sum(tf.cast(mass_before < top_p, tf.int32), axis=-1)
    k = tf.where(top_k > 0, tf.minimum(top_k, vocab), vocab)
    kept = tf.maximum(tf.minimum(nucleus, k), 1)
    threshold = tf.gather(ranked, kept - 1, batch_dims=1)[:, None]
    return tf.where(scaled < threshold, tf.constant(-float("inf"), scaled.dtype), scaled)


def next_ids(logits, temperature, top_k, top_p, seed, draw):
    """One id per row of `logits` [batch, vocab] (float32), draw number `draw` of the
    stream `seed` (int64 scalars); see the module docstring."""
    logits = tf.cast(logits, tf.float32)
    greedy = tf.argmax(logits, axis=-1, output_type=tf.int32)
    # The sampled branch is computed at temperature 0 too (a graph has no lazy where),
    # on a harmless temperature, and discarded.
    safe = tf.where(temperature > 0, temperature, tf.ones_like(temperature))
    sampled = tf.random.stateless_categorical(
        filtered_logits(logits, safe, top_k, top_p), 1,
        seed=tf.stack([tf.cast(seed, tf.int64), tf.cast(draw, tf.int64)]), dtype=tf.int32)[:, 0]
    return tf.where(temperature > 0, sampled, greedy)


def sample_sequence(step_fn, prompt_ids, prompt_lengths, state, max_length, temperature,
                    top_k, top_p, seed):
    """Continue each prompt by `max_length` sampled ids: [batch, max_length] int32.

    Args:
        step_fn: See the module docstring.
        prompt_ids: [batch, P] int32, prompts right-padded to the longest.
        prompt_lengths: [batch] int32, every one >= 1.
        state: The model's state before the prompt (list of [batch, ...] tensors).
        max_length, temperature, top_k, top_p, seed: Scalars (int32, float32, int32,
            float32, int64).

    One id is read per step, so rows of different prompt lengths run together: a row
    still inside its prompt reads its next prompt id; draw i is made after step i, and
    a row's continuation is its draws from the end of its prompt on.
    """
    prompt_width = tf.shape(prompt_ids)[1]
    steps = prompt_width + max_length - 1

    def body(i, ids, state, drawn):
        logits, state = step_fn(ids[:, None], state)
        sample = next_ids(logits, temperature, top_k, top_p, seed, i)
        in_prompt = i + 1 < prompt_lengths
        prompt_next = prompt_ids[:, tf.minimum(i + 1, prompt_width - 1)]
        return i + 1, tf.where(in_prompt, prompt_next, sample), state, drawn.write(i, sample)

    _, _, _, drawn = tf.while_loop(
        lambda i, *_: i < steps, body,
        (tf.constant(0), prompt_ids[:, 0], list(state), tf.TensorArray(tf.int32, size=steps)))
    drawn = tf.transpose(drawn.stack())  # [batch, steps]: the draw after step i
    first = (prompt_lengths - 1)[:, None] + tf.range(max_length)[None, :]
    return tf.gather(drawn, first, batch_dims=1)


def static_batch(start_ids):
    """The batch size as a Python int where the graph knows it (so the loops' shapes stay
    fixed from step to step), else as a tensor."""
    return start_ids.shape[0] if start_ids.shape[0] is not None else tf.shape(start_ids)[0]


def greedy_search(step_fn, state, start_ids, max_length, end_id=-1):
    """The argmax id at every step: (ids [batch, max_length] int32, padded with `end_id`
    (0 without one) after a row emits it; lengths [batch] int32, ids up to and including
    `end_id`). Arguments as in `beam_search`; the loop stops once every row has ended."""
    batch = static_batch(start_ids)
    pad = max(end_id, 0)

    def body(t, tokens, state, ids, lengths, finished):
        logits, state = step_fn(tokens[:, None], state)
        token = tf.where(finished, pad, tf.argmax(logits, axis=-1, output_type=tf.int32))
        lengths = lengths + tf.cast(~finished, tf.int32)
        finished = finished | (token == end_id)
        return t + 1, token, state, ids.write(t, token), lengths, finished

    steps, _, _, ids, lengths, _ = tf.while_loop(
        lambda t, *rest: (t < max_length) & ~tf.reduce_all(rest[-1]), body,
        (tf.constant(0), start_ids, list(state), tf.TensorArray(tf.int32, size=max_length, element_shape=[None]),
         tf.zeros([batch], tf.int32), tf.zeros([batch], tf.bool)))
    # The steps not taken (every row had ended) read as zeros from the array: pad them.
    taken = tf.range(max_length)[None, :] < steps
    return tf.where(taken, tf.transpose(ids.stack()), pad), lengths


def tile_beams(tensor, beam_width):
    """[batch, ...] -> [batch * beam_width, ...], each row repeated beam_width times in a
    row: what a step function closes over (an encoder's outputs) when decoding beams."""
    return tf.repeat(tensor, beam_width, axis=0)


def length_penalty(lengths, alpha):
    """GNMT's lp(Y) = ((5 + |Y|) / 6) ** alpha."""
    return tf.pow((5.0 + tf.cast(lengths, tf.float32)) / 6.0, alpha)


def beam_search(step_fn, state, start_ids, beam_width, max_length, end_id=-1, alpha=0.0):
    """The `beam_width` best hypotheses of at most `max_length` ids per row.

    Args:
        step_fn: See the module docstring; called on batch * beam_width rows.
        state: The model's state for the first step, [batch, ...] per tensor (tiled here).
        start_ids: [batch] int32, the first input id of every row (a start token, or a
            prompt's last id).
        beam_width: Python int >= 1.
        max_length: int32 scalar, at least 1.
        end_id: The id that finishes a hypothesis; -1: none (every hypothesis runs
            `max_length` ids).
        alpha: Length-normalisation strength (float32 scalar); 0 ranks by log P(Y).

    Returns:
        (ids [batch, beam_width, max_length] int32, padded with `end_id` (0 without one)
        after a hypothesis ends; scores [batch, beam_width] float32, score(Y) as in the
        module docstring, best first; lengths [batch, beam_width] int32, |Y|).
    """
    batch = static_batch(start_ids)
    alpha = tf.cast(alpha, tf.float32)
    pad = max(end_id, 0)
    state = [tile_beams(s, beam_width) for s in state]
    ids = tf.fill([batch, beam_width, max_length], pad)
    # Only beam 0 is alive at first, so the first step does not fill the beam with copies.
    log_p = tf.tile(tf.concat([[0.0], tf.fill([beam_width - 1], -float("inf"))], 0)[None], [batch, 1])
    lengths = tf.zeros([batch, beam_width], tf.int32)
    finished = tf.zeros([batch, beam_width], tf.bool)
    tokens = tile_beams(start_ids, beam_width)

    def body(t, tokens, state, ids, log_p, lengths, finished):
        logits, state = step_fn(tokens[:, None], state)
        step_log_p = tf.nn.log_softmax(tf.cast(logits, tf.float32))
        vocab = tf.shape(step_log_p)[-1]
        step_log_p = tf.reshape(step_log_p, [batch, beam_width, vocab])
        if end_id >= 0:
            # A finished hypothesis continues only with end_id, at no cost.
            only_end = tf.where(tf.range(vocab) == end_id, 0.0, -float("inf"))
            step_log_p = tf.where(finished[..., None], only_end, step_log_p)
        candidate_log_p = log_p[..., None] + step_log_p
        candidate_lengths = lengths + tf.cast(~finished, tf.int32)
        scores = candidate_log_p / length_penalty(candidate_lengths, alpha)[..., None]
        _, best = tf.math.top_k(tf.reshape(scores, [batch, -1]), beam_width)
        parent, token = best // vocab, best % vocab
        log_p = tf.gather(tf.reshape(candidate_log_p, [batch, -1]), best, batch_dims=1)
        lengths = tf.gather(candidate_lengths, parent, batch_dims=1)
        was_finished = tf.gather(finished, parent, batch_dims=1)
        finished = was_finished | (token == end_id)
        ids = tf.gather(ids, parent, batch_dims=1)
        ids = tf.where(tf.one_hot(t, max_length, on_value=True, off_value=False)[None, None],
                       token[..., None], ids)
        rows = tf.reshape(parent + beam_width * tf.range(batch)[:, None], [-1])
        state = [tf.gather(s, rows) for s in state]
        return t + 1, tf.reshape(token, [-1]), state, ids, log_p, lengths, finished

    _, _, _, ids, log_p, lengths, _ = tf.while_loop(
        lambda t, *rest: (t < max_length) & ~tf.reduce_all(rest[-1]), body,
        (tf.constant(0), tokens, state, ids, log_p, lengths, finished))
    scores = log_p / length_penalty(lengths, alpha)
    scores, order = tf.math.top_k(scores, beam_width)
    return (tf.gather(ids, order, batch_dims=1), scores,
            tf.gather(lengths, order, batch_dims=1))
