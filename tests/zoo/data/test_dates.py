"""The date normalisation pairs (`zoo.data.dates`): one target per input, splits that
share no day, the same pairs from the same seed, non-Latin scripts and native digits."""

import datetime
import unicodedata

import pytest

from zoo.data.dates import FIRST_DAY, LOCALES, DateWriter, date_splits, split_days
from zoo.run.errors import InputError


@pytest.fixture(scope="module")
def splits():
    return date_splits(0, 20000, 1000, 2000)


def test_no_input_maps_to_two_targets(splits):
    targets = {}
    for source, target in splits.train + splits.valid + splits.test:
        assert targets.setdefault(source, target) == target, source


def test_the_splits_share_no_day(splits):
    days = [set(target for _, target in pairs) for pairs in (splits.train, splits.valid, splits.test)]
    assert not days[0] & days[1] and not days[0] & days[2] and not days[1] & days[2]
    train, valid, test = (set(map(int, d)) for d in split_days(0, 0.05))
    assert len(valid) == len(test) == 1826 and not train & valid and not train & test and not valid & test


def test_the_same_seed_gives_the_same_pairs(splits):
    again = date_splits(0, 200, 10, 10)
    assert again.train == date_splits(0, 200, 10, 10).train
    assert again.train != date_splits(1, 200, 10, 10).train


def scripts(text):
    return {unicodedata.name(ch).split()[0] for ch in text if ch.isalpha()}


def test_forty_locales_many_scripts_and_native_digits():
    assert len(LOCALES) >= 40
    writer = DateWriter()
    day = datetime.date(2026, 11, 23)
    seen = set().union(*(scripts(writer.source(day, locale, "full").split(" | ")[1]) for locale in LOCALES))
    assert {"LATIN", "CYRILLIC", "GREEK", "ARABIC", "HEBREW", "DEVANAGARI", "BENGALI", "THAI", "CJK",
            "HANGUL", "GEORGIAN", "ETHIOPIC"} <= seen
    assert writer.source(day, "fr_FR", "long") == "fr_FR | 23 novembre 2026"
    assert writer.source(day, "ar_EG", "short") == (
        "ar_EG | \u0662\u0663\u200f/\u0661\u0661\u200f/\u0662\u0660\u0662\u0666")
    assert "\u09e8\u09e9" in writer.source(day, "bn_BD", "long")  # Bengali 23
    assert writer.source(FIRST_DAY, "en_US", "short") == "en_US | 1/1/50"


def test_an_unknown_locale_is_named():
    with pytest.raises(InputError, match="unknown locale 'xx_YY'"):
        DateWriter(("fr_FR", "xx_YY"))
