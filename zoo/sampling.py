"""Sampling characters from a state-in/state-out language model: greedy, temperature,
top-k and top-p (nucleus, Holtzman et al., 2020), reproducible from a seed."""

import numpy as np
import tensorflow as tf

from zoo.errors import InputError
from zoo.model import zero_state


def check_sampling(temperature, top_k, top_p):
    """Raise InputError naming the first sampling argument out of range."""
    if not temperature >= 0.0:
        raise InputError(f"--temperature must be >= 0 (0 is greedy), received {temperature}")
    if top_k < 0:
        raise InputError(f"--top-k must be >= 0 (0 keeps every id), received {top_k}")
    if not 0.0 < top_p <= 1.0:
        raise InputError(f"--top-p must be in (0, 1], received {top_p}")


def next_ids(logits, rng, temperature=1.0, top_k=0, top_p=1.0):
    """Draw one id per row of `logits` [batch, vocab].

    temperature 0 is greedy (argmax). Otherwise p = softmax(logits / temperature),
    restricted to the `top_k` most likely ids (0: all) and to the smallest set of most
    likely ids whose mass reaches `top_p` (1: all), renormalised, then sampled with
    `rng` (a `numpy.random.Generator`).
    """
    logits = np.asarray(logits, dtype=np.float64)
    if temperature == 0.0:
        return logits.argmax(axis=-1)
    logits = logits / temperature
    order = np.argsort(-logits, axis=-1, kind="stable")
    ranked = np.take_along_axis(logits, order, axis=-1)
    probs = np.exp(ranked - ranked[:, :1])
    probs /= probs.sum(axis=-1, keepdims=True)
    keep = np.ones_like(probs, dtype=bool)
    if top_k:
        keep[:, top_k:] = False
    if top_p < 1.0:
        # Keep an id while the mass of the ids ranked above it is still below top_p.
        mass_before = np.cumsum(probs, axis=-1) - probs
        keep &= mass_before < top_p
    probs = np.where(keep, probs, 0.0)
    probs /= probs.sum(axis=-1, keepdims=True)
    ranks = np.array([rng.choice(probs.shape[-1], p=row) for row in probs])
    return np.take_along_axis(order, ranks[:, None], axis=-1)[:, 0]


def generate(model, vocabulary, prompt, length, temperature=1.0, top_k=0, top_p=1.0, seed=0):
    """`prompt` followed by `length` sampled characters.

    The prompt is read in one call, then one character per step, carrying the state.
    Characters of the prompt outside the vocabulary read as the unknown id.
    """
    if not prompt:
        raise InputError("--prompt must hold at least one character")
    if length < 0:
        raise InputError(f"--length must be >= 0, received {length}")
    check_sampling(temperature, top_k, top_p)
    rng = np.random.default_rng(seed)
    step = tf.function(lambda ids, state: model([ids, *state], training=False),
                       reduce_retracing=True)
    logits, *state = step(tf.constant(vocabulary.encode(prompt)[None, :]), zero_state(model, 1))
    sampled = []
    for _ in range(length):
        token = next_ids(logits[:, -1].numpy(), rng, temperature, top_k, top_p)
        sampled.append(int(token[0]))
        logits, *state = step(tf.constant(token[:, None], dtype=tf.int32), state)
    return prompt + vocabulary.decode(sampled)
