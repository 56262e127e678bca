"""The official SQuAD v2.0 evaluation script's scoring (evaluate-v2.0.py: ``normalize_answer``,
``get_tokens``, ``compute_exact``, ``compute_f1``, and the max over the golds of
``get_raw_scores`` with its filter of golds that normalise to nothing), transcribed directly, for
tests to compare BrewSLM's faster answer normalisation and scores with."""

from __future__ import annotations

import collections
import re
import string


def official_normalize_answer(s):
    def remove_articles(text):
        regex = re.compile(r"\b(a|an|the)\b", re.UNICODE)
        return re.sub(regex, " ", text)

    def white_space_fix(text):
        return " ".join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return "".join(ch for ch in text if ch not in exclude)

    def lower(text):
        return text.lower()

    return white_space_fix(remove_articles(remove_punc(lower(s))))


def official_get_tokens(s):
    if not s:
        return []
    return official_normalize_answer(s).split()


def official_compute_exact(a_gold, a_pred):
    return int(official_normalize_answer(a_gold) == official_normalize_answer(a_pred))


def official_compute_f1(a_gold, a_pred):
    gold_toks = official_get_tokens(a_gold)
    pred_toks = official_get_tokens(a_pred)
    common = collections.Counter(gold_toks) & collections.Counter(pred_toks)
    num_same = sum(common.values())
    if len(gold_toks) == 0 or len(pred_toks) == 0:
        return int(gold_toks == pred_toks)
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(pred_toks)
    recall = 1.0 * num_same / len(gold_toks)
    return (2 * precision * recall) / (precision + recall)


def official_scores(golds, a_pred):
    gold_answers = [a for a in golds if official_normalize_answer(a)]
    if not gold_answers:
        gold_answers = [""]
    return (
        max(official_compute_exact(a, a_pred) for a in gold_answers),
        max(official_compute_f1(a, a_pred) for a in gold_answers),
    )
