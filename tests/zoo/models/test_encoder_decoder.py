"""The encoder-decoder (`zoo.models.encoder_decoder`): teacher-forced logits equal step-by-step
decoding with the gold tokens fed back, attention weights sum to 1 with exactly 0 on
padded source steps, padding the source further changes nothing, beam width 1 is greedy,
and beam search finds the best sequence that enumerating every hypothesis finds."""

import itertools

import numpy as np
import pytest
import tensorflow as tf

from zoo.models.encoder_decoder import ATTENTIONS, EncoderDecoder

BATCH, SOURCE_STEPS, TARGET_STEPS = 3, 7, 5
LENGTHS = np.array([7, 4, 2], np.int32)


def example(seed=0):
    rng = np.random.default_rng(seed)
    source = rng.integers(1, 20, (BATCH, SOURCE_STEPS)).astype(np.int32)
    source[np.arange(SOURCE_STEPS)[None, :] >= LENGTHS[:, None]] = 0
    return source, rng.integers(1, 15, (BATCH, TARGET_STEPS)).astype(np.int32)


CASES = [(cell, bidirectional, attention) for attention in ATTENTIONS for bidirectional in (False, True)
         for cell in ("lstm",)] + [("gru", True, "additive"), ("elman", False, "general")]


@pytest.mark.parametrize("cell,bidirectional,attention", CASES)
def test_teacher_forcing_equals_step_by_step_decoding_with_the_gold_tokens(cell, bidirectional, attention):
    model = EncoderDecoder(20, 15, cell, 8, 2, bidirectional, attention, 6)
    source, target = example()
    forced, forced_weights = model.teacher_forced(source, LENGTHS, target)
    memory, mask, state = model.encode(source, LENGTHS)
    steps, weights = [], []
    for t in range(TARGET_STEPS):
        logits, state, step_weights = model.decode_step(target[:, t], state, memory, mask)
        steps.append(logits.numpy())
        weights.append(None if step_weights is None else step_weights.numpy())
    np.testing.assert_allclose(forced.numpy(), np.stack(steps, axis=1), atol=1e-5)
    if attention != "none":
        np.testing.assert_allclose(forced_weights.numpy(), np.stack(weights, axis=1), atol=1e-6)


@pytest.mark.parametrize("attention", ATTENTIONS[1:])
def test_attention_weights_sum_to_one_and_padding_gets_exactly_zero(attention):
    model = EncoderDecoder(20, 15, "lstm", 8, 1, True, attention, 6)
    source, target = example(1)
    _, weights = model.teacher_forced(source, LENGTHS, target)
    weights = weights.numpy()
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-6)
    for row, length in enumerate(LENGTHS):
        assert (weights[row, :, length:] == 0.0).all() and (weights[row, :, :length] > 0.0).all()


@pytest.mark.parametrize("attention", ["none", "dot", "additive"])
def test_padding_the_source_further_changes_nothing(attention):
    model = EncoderDecoder(20, 15, "gru", 8, 2, True, attention, 6)
    source, target = example(2)
    padded = np.concatenate([source, np.full((BATCH, 9), 7, np.int32)], axis=1)  # even non-zero padding
    np.testing.assert_allclose(model.teacher_forced(padded, LENGTHS, target)[0].numpy(),
                               model.teacher_forced(source, LENGTHS, target)[0].numpy(), atol=1e-6)


START, END = 1, 2


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_beam_width_one_equals_greedy(seed):
    model = EncoderDecoder(20, 6, "gru", 8, 1, True, "additive", 6, seed=seed)
    source, _ = example(seed)
    greedy_ids, _, greedy_lengths = model.translate(source, LENGTHS, START, END, 6, beam_width=0)
    beam_ids, _, beam_lengths = model.translate(source, LENGTHS, START, END, 6, beam_width=1)
    np.testing.assert_array_equal(beam_lengths, greedy_lengths)
    for row, length in enumerate(greedy_lengths.numpy()):
        np.testing.assert_array_equal(beam_ids[row, :length], greedy_ids[row, :length])


def sequence_score(model, source, lengths, hypothesis, alpha):
    """GNMT's score of one hypothesis per row, from teacher-forced log-probabilities."""
    target_in = np.concatenate([np.full((len(source), 1), START), hypothesis[:, :-1]], axis=1).astype(np.int32)
    log_p = tf.nn.log_softmax(model.teacher_forced(source, lengths, target_in)[0]).numpy()
    picked = np.take_along_axis(log_p, hypothesis[:, :, None], axis=-1)[:, :, 0].sum(axis=1)
    return picked / ((5.0 + hypothesis.shape[1]) / 6.0) ** alpha


@pytest.mark.parametrize("alpha", [0.0, 0.8])
def test_beam_search_finds_the_best_sequence_that_enumeration_finds(alpha):
    """Target vocabulary 4, at most 3 ids: every hypothesis (ending at END, or running 3
    ids without it) scored by teacher forcing; a beam as wide as 4^2 keeps them all."""
    model = EncoderDecoder(20, 4, "lstm", 8, 1, False, "dot", 6, seed=3)
    source, _ = example(3)
    best = np.full(BATCH, -np.inf)
    for length in (1, 2, 3):
        for ids in itertools.product(range(4), repeat=length):
            if END in ids[:-1] or (length < 3 and ids[-1] != END):
                continue
            hypothesis = np.tile(np.array(ids, np.int32), (BATCH, 1))
            best = np.maximum(best, sequence_score(model, source, LENGTHS, hypothesis, alpha))
    _, scores, _ = model.translate(source, LENGTHS, START, END, 3, beam_width=16, alpha=alpha)
    np.testing.assert_allclose(scores.numpy(), best, rtol=1e-5)


def test_translation_traces_into_one_graph():
    model = EncoderDecoder(20, 6, "lstm", 8, 2, True, "general", 6)
    source, _ = example(4)
    eager = model.translate(source, LENGTHS, START, END, 5, beam_width=3, alpha=0.6)
    traced = tf.function(lambda s, n: model.translate(s, n, START, END, 5, beam_width=3, alpha=0.6))(source, LENGTHS)
    np.testing.assert_array_equal(traced[0], eager[0])
    np.testing.assert_allclose(traced[1], eager[1], rtol=1e-5)
