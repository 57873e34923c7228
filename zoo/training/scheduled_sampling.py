"""Scheduled sampling (Bengio et al. 2015): the decoder reads its own guesses while it trains.

At update i, every decoder step reads the gold previous token with probability

    eps_i = k / (k + exp(i / k))          (the paper's inverse sigmoid decay, k >= 1)

and otherwise a token drawn from the model's own distribution at the step before (no
gradient flows through the draw). eps_0 is close to 1 (teacher forcing) and eps_i falls
to one half near i = k ln k and towards 0 after; k = 0 here means teacher forcing
throughout. The draws are stateless, seeded by (seed, update, step), so a resumed run
draws what the uninterrupted one drew.

The decoder runs one step at a time (the next input depends on the last output), and
its recurrent layers draw their dropout masks afresh at every step.
"""

import tensorflow as tf


def gold_probability(update, k):
    """eps_i of the module docstring for update `update` (a scalar tensor)."""
    if k == 0:
        return tf.constant(1.0)
    k = tf.constant(float(k), tf.float64)
    return tf.cast(k / (k + tf.exp(tf.cast(update, tf.float64) / k)), tf.float32)


def scheduled_logits(model, source_ids, source_lengths, target_in, gold, seed, training=True):
    """Logits [batch, T, vocab] of `model` (an `zoo.models.encoder_decoder.EncoderDecoder`) decoding
    the T steps of `target_in` one by one, each step after the first reading the gold token
    with probability `gold`, else a draw from the previous step's logits; `seed` is a
    [2] int tensor (seed, update)."""
    memory, mask, state = model.encode(source_ids, source_lengths, training)
    steps = target_in.shape[1]
    batch = tf.shape(target_in)[0]
    previous, outputs = target_in[:, 0], []
    for t in range(steps):
        logits, state, _ = model.decode(previous[:, None], state, memory, mask, training)
        outputs.append(logits[:, 0])
        if t + 1 < steps:
            step_seed = tf.cast(tf.stack([seed[0], seed[1] * steps + t]), tf.int64)
            drawn = tf.random.stateless_categorical(tf.stop_gradient(logits[:, 0]), 1, step_seed,
                                                    dtype=tf.int32)[:, 0]
            take_gold = tf.random.stateless_uniform([batch], step_seed + [0, 1 << 40]) < gold
            previous = tf.where(take_gold, target_in[:, t + 1], drawn)
    return tf.stack(outputs, axis=1)
