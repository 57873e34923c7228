"""What a tagger's validation reports, per label column (head), over the real tokens:

    per label      precision, recall and F1 (scikit-learn's
                   `precision_recall_fscore_support`, zero_division=0)
    micro_f1       over every token; for one label per token it equals token accuracy
    macro_f1       the mean of F1 over the labels that occur in the truth or the
                   predictions (scikit-learn's default label set)
    accuracy       share of tokens whose label is right
    entity_f1      where every label of the column is BIO (IOB2) or BIOES: seqeval's
                   entity-level micro F1 in strict mode, an entity counted right only
                   when its type and both of its ends are

and two baselines a network must beat: the majority label of the training tokens, and
the word-identity label (the label seen most often with the word in training; the
majority label for a word never seen).
"""

import collections
import re

import numpy as np
from sklearn import metrics

ENTITY_LABEL = re.compile(r"^(O|[BIES]-.+)$")


def entity_scheme(labels):
    """"IOBES" or "IOB2" when every label is O or B-/I-/E-/S- plus a type (IOBES when an E-
    or S- label is among them) and some label begins an entity, else None."""
    labels = list(labels)
    if not labels or not all(ENTITY_LABEL.match(label) for label in labels):
        return None
    if not any(label.startswith(("B-", "S-")) for label in labels):
        return None
    return "IOBES" if any(label.startswith(("E-", "S-")) for label in labels) else "IOB2"


def column_scores(true, predicted, names, scheme=None):
    """Scores of one column: `true` and `predicted` are lists of label-id sequences (one
    per sentence, real tokens only), `names` the label names by id."""
    flat_true, flat_predicted = np.concatenate(true), np.concatenate(predicted)
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        flat_true, flat_predicted, labels=np.arange(len(names)), zero_division=0)
    scores = {
        "precision": dict(zip(names, precision.tolist())), "recall": dict(zip(names, recall.tolist())),
        "f1": dict(zip(names, f1.tolist())), "support": dict(zip(names, support.tolist())),
        "micro_f1": float(metrics.f1_score(flat_true, flat_predicted, average="micro", zero_division=0)),
        "macro_f1": float(metrics.f1_score(flat_true, flat_predicted, average="macro", zero_division=0)),
        "accuracy": float(metrics.accuracy_score(flat_true, flat_predicted)),
    }
    if scheme is not None:
        from seqeval import metrics as entity_metrics
        from seqeval import scheme as schemes

        table = np.asarray(names, dtype=object)
        scores["entity_f1"] = float(entity_metrics.f1_score(
            [table[row].tolist() for row in true], [table[row].tolist() for row in predicted],
            mode="strict", scheme=getattr(schemes, scheme), zero_division=0))
    return scores


def majority_baseline(train_words, train_labels, words):
    """Label ids of `words` (sequences of words) by the majority label of training
    (`train_words` unused: the signature of `word_identity_baseline`)."""
    majority = _majority_label(train_labels)
    return [np.full(len(row), majority) for row in words]


def _majority_label(train_labels):
    return collections.Counter(label for row in train_labels for label in row).most_common(1)[0][0]


def word_identity_baseline(train_words, train_labels, words):
    """Label ids of `words` by the label seen most often with each word in training (ties:
    the smaller id); the majority label for a word never seen."""
    counts = collections.defaultdict(collections.Counter)
    for row_words, row_labels in zip(train_words, train_labels):
        for word, label in zip(row_words, row_labels):
            counts[word][label] += 1
    majority = _majority_label(train_labels)
    best = {word: min(count.items(), key=lambda item: (-item[1], item[0]))[0] for word, count in counts.items()}
    return [np.array([best.get(word, majority) for word in row], dtype=np.int64) for row in words]
