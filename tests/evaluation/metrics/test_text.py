"""metrics.text: exact match, token F1, best over alternatives (hand-computed, and against the official
SQuAD v2.0 script); the normalisation itself is tested with ``tasks.replies``."""

from __future__ import annotations

import pytest

from brewslm.evaluation.metrics.text import best_exact_match, best_token_f1, exact_match, token_f1
from helpers.squad import official_scores


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


# --- issue 15, class 9: the best alias, as the official SQuAD v2.0 script scores it ----------------
# The official script's scores (``helpers.squad``) on hand examples.


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
    official_em, official_f1 = official_scores(golds, prediction)
    assert best_exact_match(prediction, golds) == official_em
    assert best_token_f1(prediction, golds) == pytest.approx(official_f1)


def test_best_alias_hand_computed():
    # one alias matches exactly though the first does not
    assert best_exact_match("paris, france", ["Paris", "paris, france"]) == 1.0
    # "in paris" vs "Paris": p 1/2, r 1 -> 2/3; vs "paris, france": p 1/2, r 1/2 -> 1/2; best 2/3
    assert best_token_f1("in paris", ["Paris", "paris, france"]) == pytest.approx(2 / 3)
    # "The" normalises to nothing and is not a gold a reply of "a" can match
    assert best_exact_match("a", ["The", "Denver Broncos"]) == 0.0
