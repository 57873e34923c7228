"""What a classifier's validation reports: the confusion matrix and the scores read off it.

    C[i, j]      examples of true class i predicted as j
    precision_j  C[j, j] / sum_i C[i, j]      (0 where class j is never predicted)
    recall_i     C[i, i] / sum_j C[i, j]      (0 where class i never occurs)
    F1_k         2 P_k R_k / (P_k + R_k)      (0 where both are 0)
    macro-F1     mean over classes of F1_k

The definitions of scikit-learn's `precision_recall_fscore_support(average=None,
zero_division=0)`, which the tests check them against; written here because the base
install has no scikit-learn.
"""


import numpy as np

from zoo.evaluation.plots import png_of, subplots


def confusion_matrix(labels, predictions, classes):
    """C [classes, classes] int64 (see the module docstring)."""
    matrix = np.zeros((classes, classes), np.int64)
    np.add.at(matrix, (np.asarray(labels), np.asarray(predictions)), 1)
    return matrix


def _ratio(numerator, denominator):
    return np.divide(numerator, denominator, out=np.zeros(len(numerator)), where=denominator > 0)


def class_scores(matrix):
    """{"precision", "recall", "f1"}: per-class arrays, and "macro_f1", "accuracy" floats."""
    hits = np.diag(matrix).astype(np.float64)
    precision = _ratio(hits, matrix.sum(axis=0))
    recall = _ratio(hits, matrix.sum(axis=1))
    f1 = _ratio(2 * precision * recall, precision + recall)
    return {"precision": precision, "recall": recall, "f1": f1, "macro_f1": float(f1.mean()),
            "accuracy": float(hits.sum() / max(matrix.sum(), 1))}


def confusion_png(matrix, class_names, title):
    """The confusion matrix as a PNG image (rows true, columns predicted, counts written)."""
    size = max(3.0, 0.45 * len(class_names) + 1.5)
    figure, axes = subplots(figsize=(size + 1.0, size), dpi=80)
    axes.imshow(matrix, cmap="Blues")
    ticks = np.arange(len(class_names))
    axes.set_xticks(ticks, class_names, rotation=90)
    axes.set_yticks(ticks, class_names)
    axes.set_xlabel("predicted")
    axes.set_ylabel("true")
    axes.set_title(title)
    peak = max(int(matrix.max()), 1)
    if len(class_names) <= 30:
        for (i, j), count in np.ndenumerate(matrix):
            if count:
                axes.text(j, i, str(count), ha="center", va="center", fontsize=7,
                          color="white" if count > peak / 2 else "black")
    return png_of(figure)
