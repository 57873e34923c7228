"""Greedy search: the argmax id at every step, until every row has emitted the end id."""

import tensorflow as tf


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
    # A static element shape where the batch is known: LiteRT lowers only such arrays.
    row_shape = [batch if isinstance(batch, int) else None]

    def body(t, tokens, state, ids, lengths, finished):
        logits, state = step_fn(tokens[:, None], state)
        token = tf.where(finished, pad, tf.argmax(logits, axis=-1, output_type=tf.int32))
        lengths = lengths + tf.cast(~finished, tf.int32)
        finished = finished | (token == end_id)
        return t + 1, token, state, ids.write(t, token), lengths, finished

    steps, _, _, ids, lengths, _ = tf.while_loop(
        lambda t, *rest: (t < max_length) & ~tf.reduce_all(rest[-1]), body,
        (tf.constant(0), start_ids, list(state), tf.TensorArray(tf.int32, size=max_length, element_shape=row_shape),
         tf.zeros([batch], tf.int32), tf.zeros([batch], tf.bool)))
    # The steps not taken (every row had ended) read as zeros from the array: pad them.
    taken = tf.range(max_length)[None, :] < steps
    return tf.where(taken, tf.transpose(ids.stack()), pad), lengths
