"""The encoder-decoder (`zoo.encoder_decoder`): teacher-forced logits equal step-by-step
decoding with the gold tokens fed back, attention weights sum to 1 with exactly 0 on
padded source steps, and padding the source further changes nothing."""

import numpy as np
import pytest

from zoo.encoder_decoder import ATTENTIONS, EncoderDecoder

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
