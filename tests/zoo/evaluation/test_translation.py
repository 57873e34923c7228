"""Scores of decoded strings (`zoo.evaluation.translation`) against references written here."""

import numpy as np
import pytest

from zoo.evaluation.translation import attention_png, character_error_rate, corpus_scores, exact_match, samples_table


def levenshtein(a, b):
    """Edit distance by the textbook dynamic programme."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        previous, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            previous, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, previous + (ca != cb))
    return row[-1]


def test_character_error_rate_is_edits_over_reference_characters():
    hypotheses = ["2026-11-23", "2026-1-23", "", "日本語x", "abc"]
    references = ["2026-11-23", "2026-11-23", "1999", "日本語", "cba"]
    expected = sum(levenshtein(h, r) for h, r in zip(hypotheses, references)) / sum(map(len, references))
    assert character_error_rate(hypotheses, references) == pytest.approx(expected)
    assert exact_match(hypotheses, references) == 0.2


def test_identical_decodes_score_100_and_others_less():
    references = ["the cat sat on the mat", "a dog ran in the park today"]
    assert corpus_scores(references, references) == {"bleu": pytest.approx(100.0), "chrf": pytest.approx(100.0)}
    worse = corpus_scores(["the cat sat", "a dog ran in a park"], references)
    assert 0 < worse["bleu"] < 100 and 0 < worse["chrf"] < 100


def test_the_samples_table_escapes_bars_and_the_heatmap_is_a_png():
    table = samples_table(["a|b"], ["c"], {"greedy": ["d"], "beam": ["e"]}).splitlines()
    assert table[0] == "| source | reference | greedy | beam |" and table[2] == "| a\\|b | c | d | e |"
    image = attention_png([(np.eye(3), ["a", "b", "ب"], ["x", "y", "</s>"])], "title")
    assert image.startswith(b"\x89PNG")
