"""Sampling from an autoregressive model: temperature, top-k and top-p (nucleus).

Sampling, at draw i, from logits l [batch, vocab]:

    temperature == 0:  argmax l                                     (greedy)
    otherwise:         s = l / temperature;  p = softmax(s)
                       keep the top_k largest s (0: all), and the smallest set of
                       likeliest ids whose mass under p reaches top_p (1: all; both are
                       cut from the same p, ties at a cut are kept)
                       draw from softmax(s) over the kept ids with the stateless random
                       stream (seed, i): the same seed gives the same draws anywhere.
"""

import tensorflow as tf

from zoo.run.errors import InputError


def check_sampling(temperature, top_k, top_p):
    """Raise InputError naming the first sampling argument out of range."""
    if not 0.0 <= temperature < float("inf"):
        raise InputError(f"--temperature must be finite and >= 0 (0 is greedy), received {temperature}")
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
