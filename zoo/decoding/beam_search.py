"""Beam search (Wu et al., 2016, "Google's Neural Machine Translation System", section 7)
ranks a hypothesis Y by

    score(Y) = log P(Y) / lp(Y),   lp(Y) = ((5 + |Y|) / 6) ** alpha

where |Y| counts its tokens up to and including `end_id`; alpha = 0 ranks by log P(Y).
A hypothesis that has emitted `end_id` is finished: it keeps its score and is carried
on (padded with `end_id`) beside the live ones, which compete with it for the beam.
"""

import tensorflow as tf

from zoo.decoding.greedy import static_batch


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
