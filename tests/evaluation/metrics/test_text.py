"""metrics.text: SQuAD normalisation, exact match, token F1, best over alternatives (hand-computed)."""

from __future__ import annotations

import pytest

from brewslm.evaluation.metrics.text import (
    answer_tokens,
    best_exact_match,
    best_token_f1,
    exact_match,
    normalize_answer,
    token_f1,
)


@pytest.mark.parametrize(
    "text, expected",
    [
        ("The Denver Broncos.", "denver broncos"),
        ("  a   cat,  AN owl & the-end  ", "cat owl theend"),  # hyphen is punctuation: removed, not a space
        ("Theatre anthem", "theatre anthem"),  # articles only as whole words
        ("The", ""),
        ("", ""),
        ("Café \t\n Ünïcode", "café ünïcode"),
    ],
)
def test_normalize_answer(text, expected):
    assert normalize_answer(text) == expected


def test_exact_match_ignores_case_punctuation_articles_and_spacing():
    assert exact_match("the Denver  Broncos!", "Denver Broncos") == 1.0
    assert exact_match("Denver", "Denver Broncos") == 0.0
    assert exact_match("", "") == 1.0


def test_token_f1_hand_computed():
    # prediction tokens: [denver, broncos, won]; gold: [broncos]; overlap 1 -> p 1/3, r 1 -> f1 0.5
    assert token_f1("Denver Broncos won", "the Broncos") == pytest.approx(0.5)
    # multiset overlap: prediction x y y, gold x x y -> common x:1 + y:1 = 2 of 3 each side
    assert token_f1("x y y", "x x y") == pytest.approx(2 / 3)
    assert token_f1("Paris", "Paris") == 1.0
    assert token_f1("London", "Paris") == 0.0


def test_token_f1_empty_sides_follow_the_official_script():
    assert token_f1("", "") == 1.0
    assert token_f1("the", "a") == 1.0  # both normalise to nothing
    assert token_f1("", "Paris") == 0.0
    assert token_f1("Paris", "the") == 0.0


def test_best_over_alternatives():
    golds = ["Denver Broncos", "Broncos", "the Denver Broncos"]
    assert best_exact_match("broncos", golds) == 1.0
    assert best_token_f1("Broncos team", golds) == pytest.approx(2 / 3)  # vs "Broncos": p 1/2, r 1
    assert best_exact_match("x", []) == 0.0 and best_token_f1("x", []) == 0.0


def test_answer_tokens():
    assert answer_tokens("The quick, brown fox.") == ["quick", "brown", "fox"]


# --- issue 15, class 9: the best alias, as the official SQuAD v2.0 script scores it ----------------
# A direct transcription of evaluate-v2.0.py (normalize_answer, get_tokens, compute_exact,
# compute_f1, and the max over the golds of get_raw_scores, with its filter of golds that
# normalise to nothing), to compare with on hand examples.

import collections as _collections  # noqa: E402
import re as _re  # noqa: E402
import string as _string  # noqa: E402


def _official_normalize_answer(s):
    def remove_articles(text):
        regex = _re.compile(r"\b(a|an|the)\b", _re.UNICODE)
        return _re.sub(regex, " ", text)

    def white_space_fix(text):
        return " ".join(text.split())

    def remove_punc(text):
        exclude = set(_string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    def lower(text):
        return text.lower()

    return white_space_fix(remove_articles(remove_punc(lower(s))))


def _official_get_tokens(s):
    if not s:
        return []
    return _official_normalize_answer(s).split()


def _official_compute_exact(a_gold, a_pred):
    return int(_official_normalize_answer(a_gold) == _official_normalize_answer(a_pred))


def _official_compute_f1(a_gold, a_pred):
    gold_toks = _official_get_tokens(a_gold)
    pred_toks = _official_get_tokens(a_pred)
    common = _collections.Counter(gold_toks) & _collections.Counter(pred_toks)
    num_same = sum(common.values())
    if len(gold_toks) == 0 or len(pred_toks) == 0:
        return int(gold_toks == pred_toks)
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(pred_toks)
    recall = 1.0 * num_same / len(gold_toks)
    return (2 * precision * recall) / (precision + recall)


def _official_scores(golds, a_pred):
    gold_answers = [a for a in golds if _official_normalize_answer(a)]
    if not gold_answers:
        gold_answers = [""]
    return (
        max(_official_compute_exact(a, a_pred) for a in gold_answers),
        max(_official_compute_f1(a, a_pred) for a in gold_answers),
    )


ALIAS_CASES = [
    (["Paris", "paris, france"], "Paris, France."),
    (["Paris", "paris, france"], "in paris"),
    (["14 December 1972 UTC", "December 1972"], "december 1972"),
    (["14 December 1972 UTC", "December 1972"], "On 14 December"),
    (["Bobby Scott", "Bob Russell"], "Russell and Scott"),
    (["The", "Denver Broncos"], "a"),  # a gold that normalises to nothing is left out ...
    (["The", "An"], "the"),  # ... unless all do: then the gold is the empty answer
    (["The", "An"], "Paris"),
    (["Broncos", "Denver Broncos", "Broncos"], "Broncos team"),
    (["x y y", "x"], "x x y"),
]


@pytest.mark.parametrize("golds, prediction", ALIAS_CASES)
def test_best_alias_equals_the_official_max_over_golds(golds, prediction):
    official_em, official_f1 = _official_scores(golds, prediction)
    assert best_exact_match(prediction, golds) == official_em
    assert best_token_f1(prediction, golds) == pytest.approx(official_f1)


def test_best_alias_hand_computed():
    # one alias matches exactly though the first does not
    assert best_exact_match("paris, france", ["Paris", "paris, france"]) == 1.0
    # "in paris" vs "Paris": p 1/2, r 1 -> 2/3; vs "paris, france": p 1/2, r 1/2 -> 1/2; best 2/3
    assert best_token_f1("in paris", ["Paris", "paris, france"]) == pytest.approx(2 / 3)
    # "The" normalises to nothing and is not a gold a reply of "a" can match
    assert best_exact_match("a", ["The", "Denver Broncos"]) == 0.0


# --- normalize_answer, fast, returns exactly the official script's strings -------------------------
# normalize_answer strips punctuation with one compiled character class and drops articles as whole
# tokens when every token is one run of word characters, else with the official regex; both paths
# are checked against _official_normalize_answer (above, verbatim from evaluate-v2.0.py).

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

# Characters where the two rules could part: ASCII punctuation (removed), Unicode punctuation and
# symbols (kept, and not word characters, so "\b" falls inside a token), the underscore (a word
# character, but punctuation), letters whose lower case grows a combining mark ("İ"), digits and
# numerals of other scripts, and whitespace of every kind.
_TRICKY_CHARS = _string.punctuation + (
    "\u2014\u2013\u2026\u2019\u201c\u201d\u00ab\u00bb\u00bf\u00a1\u00b0\u00a7\u00b7\u2022\u20ac\u00a3"
    "\u00e9\u00df\u0130\u03a3\u0436\u4e2d\u00b2\u2460\u0663\u0301\u200b"
    " \t\n\r\x0b\x0c\u00a0\u2009\u3000\u2028\u0085"
)
_WORDS = [
    "a",
    "an",
    "the",
    "A",
    "An",
    "THE",
    "The",
    "theatre",
    "anna",
    "ant",
    "at",
    "x",
    "Paris",
    "Café",
    "1,000",
    "U.S.",
    "the\u2014end",
    "a\u2019s",
    "(the)",
    "the_end",
    "an-a",
    "\u0130stanbul",
    "th\u00e9",
]

_texts = st.one_of(
    st.text(alphabet=st.sampled_from(list(_TRICKY_CHARS + "aenthTHEAN xyz")), max_size=40),
    st.lists(st.sampled_from(_WORDS), max_size=12).map(" ".join),
    st.lists(st.one_of(st.sampled_from(_WORDS), st.sampled_from(list(_TRICKY_CHARS))), max_size=16).map("".join),
    st.text(max_size=30),  # any Unicode at all
)

FIXED_TEXTS = [
    "",
    " ",
    "the",
    "The Denver Broncos.",
    "a an the",
    "a_b",
    "the_",
    "_the_",
    "the\u2014",
    "\u2014the\u2014a",
    "\u0130 the",
    "the\u00a0end",
    "the\u200bend",
    "A-the",
    "an\u2019",
    "1,000 the 2",
    "the\u0301",
    "\u0663 an \u00b2",
    "theatre the anthem",
    "\u201cThe\u201d end",
    "THE\tAN\nA",
    "\u00bfthe?",
    "the\u3000a\u2028an",
]


@pytest.mark.parametrize("text", FIXED_TEXTS)
def test_normalize_answer_equals_the_official_script_on_edge_cases(text):
    assert normalize_answer(text) == _official_normalize_answer(text)


@settings(max_examples=600, deadline=None)
@given(_texts)
def test_normalize_answer_equals_the_official_script(text):
    assert normalize_answer(text) == _official_normalize_answer(text)
