"""zoo.decoding against references: NumPy distributions, an argmax loop, enumeration."""

import itertools

import numpy as np
import pytest
import tensorflow as tf

from zoo.decoding import beam_search, check_sampling, length_penalty, next_ids, sample_sequence
from zoo.decoding.language_model import language_model_step
from zoo.layers.stack import zero_state
from zoo.models.language_model import build_language_model
from zoo.run.errors import InputError

PROBABILITIES = np.array([[0.5, 0.3, 0.15, 0.05], [0.05, 0.15, 0.3, 0.5]])
LOGITS = tf.constant(np.log(PROBABILITIES), tf.float32)


def draws(n=2000, temperature=1.0, top_k=0, top_p=1.0, seed=0):
    """[n, 2] ids: n independent draws for both rows of LOGITS (rows are drawn
    independently, so one call on LOGITS repeated n times gives them)."""
    return next_ids(tf.tile(LOGITS, [n, 1]), tf.constant(temperature), tf.constant(top_k),
                    tf.constant(top_p), tf.constant(seed, tf.int64), 0).numpy().reshape(n, 2)


def frequencies(sampled, row):
    return np.bincount(sampled[:, row], minlength=4) / len(sampled)


def test_temperature_zero_is_the_argmax():
    assert list(draws(5, temperature=0.0)[0]) == [0, 3]


def test_temperature_one_follows_the_softmax():
    np.testing.assert_allclose(frequencies(draws(4000), 0), PROBABILITIES[0], atol=0.03)


def test_temperature_sharpens_as_the_equations_say():
    # softmax(log p / T) is p^(1/T), renormalised.
    expected = PROBABILITIES[1] ** 2 / np.sum(PROBABILITIES[1] ** 2)
    np.testing.assert_allclose(frequencies(draws(4000, temperature=0.5), 1), expected, atol=0.03)


def test_top_k_keeps_only_the_k_likeliest():
    sampled = draws(top_k=2)
    assert set(sampled[:, 0]) == {0, 1} and set(sampled[:, 1]) == {3, 2}
    np.testing.assert_allclose(frequencies(sampled, 0)[:2], [0.5 / 0.8, 0.3 / 0.8], atol=0.04)


def test_top_p_keeps_the_smallest_set_reaching_the_mass():
    assert set(draws(top_p=0.79)[:, 0]) == {0, 1}  # 0.5 + 0.3 reaches 0.79
    assert set(draws(top_p=0.81)[:, 0]) == {0, 1, 2}
    assert set(draws(200, top_p=0.5)[:, 0]) == {0}


def test_same_seed_same_draws_and_another_seed_others():
    np.testing.assert_array_equal(draws(100, seed=3, temperature=1.5), draws(100, seed=3, temperature=1.5))
    assert not np.array_equal(draws(100, seed=3), draws(100, seed=4))


@pytest.mark.parametrize("args,name", [((-1.0, 0, 1.0), "--temperature"), ((1.0, -2, 1.0), "--top-k"),
                                       ((1.0, 0, 0.0), "--top-p"), ((1.0, 0, 1.5), "--top-p"),
                                       ((float("nan"), 0, 1.0), "--temperature")])
def test_bad_sampling_arguments_are_named(args, name):
    with pytest.raises(InputError, match=name):
        check_sampling(*args)


def tiny_language_model(vocab=3, seed=0, scale=1.5):
    """A random one-layer Elman language model whose next-token distribution depends on
    the whole history (so greedy and beam search differ)."""
    model = build_language_model(vocab, "elman", units=4, layers=1, embedding_dim=3)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0.0, scale, w.shape).astype(np.float32) for w in model.get_weights()])
    return model


def test_greedy_sampling_is_the_argmax_step_by_step():
    model = tiny_language_model(vocab=5)
    step = language_model_step(model)
    prompt = tf.constant([[1, 2, 0], [4, 0, 0]])
    lengths = tf.constant([3, 1])
    decoded = sample_sequence(step, prompt, lengths, zero_state(model, 2), tf.constant(8),
                              tf.constant(0.0), tf.constant(0), tf.constant(1.0),
                              tf.constant(0, tf.int64)).numpy()
    for row, length in enumerate([3, 1]):
        state, ids = zero_state(model, 1), list(prompt.numpy()[row, :length])
        for position in range(length + 7):
            logits, state = step(tf.constant([[ids[position]]]), state)
            if position >= length - 1:
                ids.append(int(np.argmax(logits.numpy()[0])))
        assert list(decoded[row]) == ids[length:]


def greedy_until_end(step, state, start, end_id, max_length):
    """The argmax loop written out: stops after end_id."""
    ids, token = [], start
    for _ in range(max_length):
        logits, state = step(tf.constant([[token]]), state)
        token = int(np.argmax(logits.numpy()[0]))
        ids.append(token)
        if token == end_id:
            break
    return ids


@pytest.mark.parametrize("alpha", [0.0, 0.6])
def test_beam_width_one_is_greedy(alpha):
    model = tiny_language_model(vocab=4, seed=1)
    step = language_model_step(model)
    ids, scores, lengths = beam_search(step, zero_state(model, 3), tf.constant([0, 1, 2]), 1,
                                       tf.constant(6), end_id=3, alpha=alpha)
    for row, start in enumerate([0, 1, 2]):
        expected = greedy_until_end(step, zero_state(model, 1), start, 3, 6)
        assert int(lengths[row, 0]) == len(expected)
        assert list(ids.numpy()[row, 0, :len(expected)]) == expected
        assert all(ids.numpy()[row, 0, len(expected):] == 3)  # padded with the end id


def log_probability(step, model, start, sequence):
    state, token, total = zero_state(model, 1), start, 0.0
    for next_token in sequence:
        logits, state = step(tf.constant([[token]]), state)
        total += float(tf.nn.log_softmax(logits)[0, next_token])
        token = next_token
    return total


def every_hypothesis(vocab, end_id, max_length):
    """Every sequence of at most max_length ids that ends at its first end_id, or runs
    max_length ids without one."""
    words = [w for w in range(vocab) if w != end_id]
    for length in range(1, max_length + 1):
        for body in itertools.product(words, repeat=length - 1):
            yield [*body, end_id]
    yield from (list(body) for body in itertools.product(words, repeat=max_length))


@pytest.mark.parametrize("alpha", [0.0, 0.8])
def test_beam_search_finds_the_best_scoring_sequence_of_all(alpha):
    vocab, end_id, max_length = 3, 2, 4
    model = tiny_language_model(vocab=vocab, seed=4)
    step = language_model_step(model)
    scored = []
    for hypothesis in every_hypothesis(vocab, end_id, max_length):
        penalty = float(length_penalty(len(hypothesis), alpha))
        scored.append((log_probability(step, model, 0, hypothesis) / penalty, hypothesis))
    scored.sort(reverse=True)
    assert len(scored) == 31
    # A beam as wide as the set of all hypotheses prunes nothing.
    ids, scores, lengths = beam_search(step, zero_state(model, 1), tf.constant([0]), 32,
                                       tf.constant(max_length), end_id=end_id, alpha=alpha)
    best_length = int(lengths[0, 0])
    assert list(ids.numpy()[0, 0, :best_length]) == scored[0][1]
    np.testing.assert_allclose(float(scores[0, 0]), scored[0][0], rtol=1e-5)
    # And every hypothesis it returns carries its own score, best first.
    for beam in range(5):
        hypothesis = list(ids.numpy()[0, beam, :int(lengths[0, beam])])
        np.testing.assert_allclose(float(scores[0, beam]), scored[beam][0], rtol=1e-5)
        assert hypothesis == scored[beam][1]


def test_a_narrow_beam_returns_hypotheses_scored_by_their_own_probability():
    model = tiny_language_model(vocab=5, seed=2)
    step = language_model_step(model)
    ids, scores, lengths = beam_search(step, zero_state(model, 2), tf.constant([0, 1]), 3,
                                       tf.constant(5), end_id=4, alpha=0.6)
    assert np.all(np.diff(scores.numpy(), axis=1) <= 0)
    for row, start in enumerate([0, 1]):
        for beam in range(3):
            hypothesis = list(ids.numpy()[row, beam, :int(lengths[row, beam])])
            expected = log_probability(step, model, start, hypothesis) / float(
                length_penalty(len(hypothesis), 0.6))
            np.testing.assert_allclose(float(scores[row, beam]), expected, rtol=1e-5)


def test_validation_and_sampling_trace_their_graphs_once():
    from zoo.data import CharacterVocabulary, cut_into_streams, tbptt_windows
    from zoo.decoding.language_model import TextSampler
    from zoo.evaluation.stream_loss import StreamLoss

    model = tiny_language_model(vocab=5)
    vocabulary = CharacterVocabulary("abcd")
    streams = cut_into_streams(vocabulary.encode("abcdabcaddcba" * 20), 4)
    stream_loss, sampler = StreamLoss(model), TextSampler(model, vocabulary)
    for call in range(3):  # three validations
        stream_loss(tbptt_windows(streams, 10, 10), 4)
        sampler("ab" * (call + 1), 5 + call, temperature=0.5 * call, top_k=call, seed=call)
    assert stream_loss._window_loss.experimental_get_tracing_count() == 1
    assert sampler._continue.experimental_get_tracing_count() == 1
