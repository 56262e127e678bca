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
