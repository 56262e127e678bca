"""Answer-text metrics: SQuAD-style exact match and token F1.

Both compare *normalised* answers, with the normalisation of the official SQuAD v1.1/v2.0
evaluation script: lower-case, drop ASCII punctuation, drop the articles ``a``/``an``/``the``,
collapse whitespace (``tasks.replies.normalize_answer``: refusal detection reads answers the same
way). So "The Denver Broncos." and "denver broncos" are an exact match.

- ``exact_match(prediction, gold)`` -> 1.0 or 0.0.
- ``token_f1(prediction, gold)`` -> the harmonic mean of token precision and recall over the
  normalised tokens (a multiset overlap). When either side has no tokens left after normalisation
  (an empty answer, or one made only of articles/punctuation) the F1 is 1.0 when both are empty
  and 0.0 otherwise, as in the official script.
- ``best_exact_match`` / ``best_token_f1``: the maximum over several accepted gold answers
  (SQuAD's alternative crowd answers, an alias list: a record's ``answer`` and ``alternatives``),
  as the official SQuAD v2.0 script scores them (``scoring_golds``): golds that normalise to
  nothing are left out unless every gold does, in which case the gold is the empty answer.

All functions are pure and return floats, so handlers can sum them as additive statistics.
"""

from __future__ import annotations

from collections import Counter
from typing import Iterable

from brewslm.tasks.replies import answer_tokens, normalize_answer


def exact_match(prediction: str, gold: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(gold))


def token_f1(prediction: str, gold: str) -> float:
    predicted, reference = answer_tokens(prediction), answer_tokens(gold)
    if not predicted or not reference:
        return float(predicted == reference)
    common = sum((Counter(predicted) & Counter(reference)).values())
    if common == 0:
        return 0.0
    precision = common / len(predicted)
    recall = common / len(reference)
    return 2 * precision * recall / (precision + recall)


def scoring_golds(golds: Iterable[str]) -> list[str]:
    """The golds a prediction is scored against, by the official SQuAD v2.0 rule: those that keep
    some text after normalisation, or ``[""]`` when none does (an empty list stays empty)."""
    golds = list(golds)
    if not golds:
        return []
    return [gold for gold in golds if normalize_answer(gold)] or [""]


def best_exact_match(prediction: str, golds: Iterable[str]) -> float:
    """The best exact match against any accepted answer (0.0 when there is none)."""
    return max((exact_match(prediction, gold) for gold in scoring_golds(golds)), default=0.0)


def best_token_f1(prediction: str, golds: Iterable[str]) -> float:
    """The best token F1 against any accepted answer (0.0 when there is none)."""
    return max((token_f1(prediction, gold) for gold in scoring_golds(golds)), default=0.0)


__all__ = [
    "best_exact_match",
    "best_token_f1",
    "exact_match",
    "scoring_golds",
    "token_f1",
]
