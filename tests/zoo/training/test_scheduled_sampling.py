"""Scheduled sampling (`zoo.training.scheduled_sampling`): its schedule is the paper's inverse
sigmoid decay; always feeding gold tokens is teacher forcing; never feeding them feeds the
model's own draws; the draws are a function of (seed, update)."""

import math

import numpy as np
import pytest
import tensorflow as tf

from zoo.models.encoder_decoder import EncoderDecoder
from zoo.training.scheduled_sampling import gold_probability, scheduled_logits

SOURCE = np.array([[3, 4, 5, 6], [7, 8, 0, 0]], np.int32)
LENGTHS = np.array([4, 2], np.int32)
TARGET_IN = np.array([[2, 5, 6, 7, 8], [2, 9, 4, 0, 0]], np.int32)


def model():
    network = EncoderDecoder(12, 10, "gru", 8, 1, True, "additive", 6)
    network([SOURCE, LENGTHS, TARGET_IN])
    return network


@pytest.mark.parametrize("k,update", [(100.0, 0), (100.0, 460.5), (500.0, 2000), (30.0, 10 ** 4)])
def test_the_schedule_is_the_inverse_sigmoid_decay(k, update):
    assert float(gold_probability(tf.constant(update), k)) == pytest.approx(k / (k + math.exp(update / k)), rel=1e-6)


def test_k_zero_is_teacher_forcing_and_the_probability_halves_near_k_ln_k():
    assert float(gold_probability(tf.constant(10 ** 6), 0)) == 1.0
    assert float(gold_probability(tf.constant(100 * math.log(100)), 100.0)) == pytest.approx(0.5)


def test_always_gold_equals_teacher_forcing():
    network = model()
    forced, _ = network.teacher_forced(SOURCE, LENGTHS, TARGET_IN)
    scheduled = scheduled_logits(network, SOURCE, LENGTHS, TARGET_IN, 1.0, tf.constant([0, 3], tf.int64), False)
    np.testing.assert_allclose(scheduled.numpy(), forced.numpy(), atol=1e-5)


def test_never_gold_feeds_the_models_own_draws():
    network = model()
    # A model sure of token 7 at every step: its draws are 7, so never feeding gold tokens
    # is teacher forcing on 7s after the start token.
    bias = network.output_layer.bias
    bias.assign(np.where(np.arange(10) == 7, 50.0, -50.0).astype(np.float32))
    sevens = np.where(np.arange(5)[None, :] == 0, 2, 7).repeat(2, axis=0).astype(np.int32)
    # Small output weights: the logits still follow what the decoder read.
    network.output_layer.kernel.assign(np.random.default_rng(0).normal(0, 0.01, network.output_layer.kernel.shape))
    forced, _ = network.teacher_forced(SOURCE, LENGTHS, sevens)
    scheduled = scheduled_logits(network, SOURCE, LENGTHS, TARGET_IN, 0.0, tf.constant([0, 3], tf.int64), False)
    np.testing.assert_allclose(scheduled.numpy(), forced.numpy(), atol=1e-5)
    gold_fed, _ = network.teacher_forced(SOURCE, LENGTHS, TARGET_IN)
    assert np.abs(gold_fed.numpy() - forced.numpy()).max() > 1e-4  # the fed tokens matter


def test_the_draws_depend_on_seed_and_update_only():
    network = model()
    draw = lambda update: scheduled_logits(network, SOURCE, LENGTHS, TARGET_IN, 0.5,
                                           tf.constant([1, update], tf.int64), False).numpy()
    np.testing.assert_array_equal(draw(4), draw(4))
    assert not np.array_equal(draw(4), draw(5))
