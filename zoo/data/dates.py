"""Date normalisation pairs across languages, generated offline from CLDR through babel.

    source  "fr_FR | 23 novembre 2026"      a date as the locale writes it, after its locale
    target  "2026-11-23"                     ISO 8601

Every date is written by `babel.dates.format_date` in the locale's full, long, medium and
short forms; the locale prefix makes each input have exactly one right answer (without
it "03/04/26" would be 3 April or 4 March). Dates run from 1950-01-01 to 2049-12-31, so
the two-digit years of short forms name one year each. The digits are those of the
locale's default numbering system in CLDR (Arabic-Indic for ar_EG, Bengali for bn_BD,
...): babel 2.18 writes dates with Latin digits whatever the locale, so they are
transliterated here.

The days are split, not the pairs: a seeded share of the days is held out for validation
and another for the test, so a test date is never seen in training, in any locale or
form.
"""

import dataclasses
import datetime
import functools
import unicodedata

import numpy as np

from zoo.run.errors import InputError

FORMATS = ("full", "long", "medium", "short")
FIRST_DAY, LAST_DAY = datetime.date(1950, 1, 1), datetime.date(2049, 12, 31)
SEPARATOR = " | "

# 48 locales: Latin, Cyrillic, Greek, Arabic, Hebrew, Devanagari, Bengali, Tamil, Thai,
# Myanmar, Georgian, Armenian, Ethiopic, Han, Kana and Hangul scripts.
LOCALES = (
    "en_US", "en_GB", "fr_FR", "de_DE", "es_ES", "es_MX", "it_IT", "pt_BR", "pt_PT", "nl_NL",
    "sv_SE", "da_DK", "nb_NO", "fi_FI", "pl_PL", "cs_CZ", "hu_HU", "ro_RO", "tr_TR", "id_ID",
    "vi_VN", "sw_KE", "ru_RU", "uk_UA", "bg_BG", "sr_RS", "el_GR", "ar_EG", "ar_SA", "fa_IR",
    "ur_PK", "he_IL", "hi_IN", "mr_IN", "ne_NP", "bn_BD", "ta_IN", "th_TH", "my_MM", "ka_GE",
    "hy_AM", "am_ET", "zh_CN", "zh_TW", "ja_JP", "ko_KR", "lt_LT", "ca_ES",
)

# Unicode names of the zero digit of CLDR numbering systems the locales above default to
# (the other nine digits follow it).
ZERO_DIGITS = {"arab": "ARABIC-INDIC DIGIT ZERO", "arabext": "EXTENDED ARABIC-INDIC DIGIT ZERO",
               "deva": "DEVANAGARI DIGIT ZERO", "beng": "BENGALI DIGIT ZERO", "mymr": "MYANMAR DIGIT ZERO",
               "thai": "THAI DIGIT ZERO", "tamldec": "TAMIL DIGIT ZERO"}


def _babel():
    try:
        import babel.core
        import babel.dates
    except ImportError:
        raise InputError("the date data are written by babel, which is not installed; "
                         'install the project: pip install -e "."') from None
    return babel


def native_digits(locale):
    """str.translate table from Latin digits to `locale`'s default CLDR digits (or None)."""
    system = _babel().core.Locale.parse(locale).default_numbering_system
    if system == "latn":
        return None
    if system not in ZERO_DIGITS:
        raise InputError(f"locale {locale}: numbering system {system!r} has no digit table here")
    zero = ord(unicodedata.lookup(ZERO_DIGITS[system]))
    return str.maketrans("0123456789", "".join(chr(zero + k) for k in range(10)))


def check_locales(locales, flag="--locales"):
    """InputError naming the first locale CLDR (babel) does not know."""
    babel = _babel()
    for locale in locales:
        try:
            babel.core.Locale.parse(locale)
        except (ValueError, babel.core.UnknownLocaleError):
            raise InputError(f"{flag}: unknown locale {locale!r}; expected a CLDR locale such as "
                             "fr_FR or ar_EG") from None


@functools.cache
def script_of(locale):
    """The ISO 15924 script `locale` writes in, from CLDR's likely subtags ("Latn", "Arab", ...)."""
    babel = _babel()
    parsed = babel.core.Locale.parse(locale)
    if parsed.script:
        return parsed.script
    likely = babel.core.get_global("likely_subtags")
    full = likely.get(f"{parsed.language}_{parsed.territory}") or likely.get(parsed.language, "")
    return (babel.core.parse_locale(full)[2] if full else None) or "Zyyy"


def locale_of(source):
    """The locale prefix of a generated source string."""
    return source.split(SEPARATOR, 1)[0]


class DateWriter:
    """Writes dates as the locales do: `source(day, locale, form)`."""

    def __init__(self, locales=LOCALES):
        check_locales(locales)
        self.format_date = _babel().dates.format_date
        self.digits = {locale: native_digits(locale) for locale in locales}

    def source(self, day, locale, form):
        text = self.format_date(day, form, locale=locale)
        table = self.digits[locale]
        return f"{locale}{SEPARATOR}{text if table is None else text.translate(table)}"


@dataclasses.dataclass
class DateSplits:
    """(source, target) pairs of each split; the splits share no day."""
    train: list
    valid: list
    test: list


def split_days(seed, held_out_share):
    """(train, valid, test) arrays of day numbers (days since FIRST_DAY): a seeded
    `held_out_share` of the days each for validation and test."""
    days = (LAST_DAY - FIRST_DAY).days + 1
    order = np.random.default_rng([seed, 7]).permutation(days)
    held = int(round(held_out_share * days))
    return np.sort(order[2 * held:]), np.sort(order[:held]), np.sort(order[held:2 * held])


def date_pairs(writer, days, count, seed, locales=LOCALES):
    """`count` pairs drawn from (seed): a day of `days`, a locale and a form each."""
    rng = np.random.default_rng(seed)
    picks = zip(rng.choice(days, count), rng.integers(0, len(locales), count), rng.integers(0, len(FORMATS), count))
    pairs = []
    for day, locale, form in picks:
        date = FIRST_DAY + datetime.timedelta(days=int(day))
        pairs.append((writer.source(date, locales[locale], FORMATS[form]), date.isoformat()))
    return pairs


def date_splits(seed, train_pairs, valid_pairs, test_pairs, held_out_share=0.05, locales=LOCALES):
    """The pairs of the three splits (see the module docstring)."""
    writer = DateWriter(locales)
    train_days, valid_days, test_days = split_days(seed, held_out_share)
    return DateSplits(date_pairs(writer, train_days, train_pairs, [seed, 0], locales),
                      date_pairs(writer, valid_days, valid_pairs, [seed, 1], locales),
                      date_pairs(writer, test_days, test_pairs, [seed, 2], locales))
