"""Tagging scores (`zoo.evaluation.tagging`, over scikit-learn and seqeval) on hand-made
cases counted by hand; BIO / BIOES detection; the two baselines."""

import numpy as np
import pytest

from zoo.evaluation.tagging import column_scores, entity_scheme, majority_baseline, word_identity_baseline


def test_per_label_micro_and_macro_scores_counted_by_hand():
    names = ["none", "comma", "period", "question"]
    true = [np.array([0, 0, 1, 0, 2]), np.array([0, 1, 2])]
    predicted = [np.array([0, 1, 1, 0, 0]), np.array([0, 0, 2])]
    scores = column_scores(true, predicted, names)
    # none: 5 true, 4 right of 5 predicted; comma: 2 true, 1 right of 2 predicted; period: 2 true, 1 of 1.
    assert scores["precision"] == pytest.approx({"none": 3 / 5, "comma": 1 / 2, "period": 1.0, "question": 0.0})
    assert scores["recall"] == pytest.approx({"none": 3 / 4, "comma": 1 / 2, "period": 1 / 2, "question": 0.0})
    f1 = {"none": 2 / 3, "comma": 1 / 2, "period": 2 / 3}
    assert scores["f1"] == pytest.approx({**f1, "question": 0.0})
    assert scores["accuracy"] == pytest.approx(5 / 8) == scores["micro_f1"]
    # Macro over the labels that occur (question never does).
    assert scores["macro_f1"] == pytest.approx(sum(f1.values()) / 3)
    assert scores["support"] == {"none": 4, "comma": 2, "period": 2, "question": 0}
    assert "entity_f1" not in scores


@pytest.mark.parametrize("labels,scheme", [
    (["O", "B-PER", "I-PER"], "IOB2"), (["O", "S-LOC", "B-PER", "E-PER"], "IOBES"), (["O", "I-PER"], None),
    (["NN", "VB"], None), (["O", "B-"], None), ([], None)])
def test_entity_columns_are_detected(labels, scheme):
    assert entity_scheme(labels) == scheme


def test_entity_f1_counts_whole_entities():
    names = ["O", "B-PER", "I-PER", "B-LOC"]
    # Truth: PER(0-1), LOC(3) | PER(0). Predicted: PER(0-1) right, LOC missed | PER(0-1) too long.
    true = [np.array([1, 2, 0, 3]), np.array([1, 0])]
    predicted = [np.array([1, 2, 0, 0]), np.array([1, 2])]
    scores = column_scores(true, predicted, names, entity_scheme(names))
    precision, recall = 1 / 2, 1 / 3  # 1 right of 2 predicted entities, of 3 true ones
    assert scores["entity_f1"] == pytest.approx(2 * precision * recall / (precision + recall))


def test_the_majority_and_word_identity_baselines():
    train_words = [["the", "Cat", "sat"], ["the", "cat"]]
    train_labels = [np.array([0, 1, 0]), np.array([0, 2])]
    words = [["cat", "the", "dog"]]
    assert majority_baseline(train_words, train_labels, words)[0].tolist() == [0, 0, 0]
    assert word_identity_baseline(train_words, train_labels, words)[0].tolist() == [2, 0, 0]
    tie = word_identity_baseline([["a", "a"]], [np.array([3, 1])], [["a"]])
    assert tie[0].tolist() == [1]  # equal counts: the smaller id
