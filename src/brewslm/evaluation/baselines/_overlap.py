"""The best-overlap answer picker that the qa and rag_qa baselines share.

The classic extractive baseline of the SQuAD and MCTest papers: the sentence of the context (for
rag_qa, of the retrieved passages) that shares the most content words with the question holds the
answer. Words are the SQuAD-normalised words without function words (``faithfulness.content_words``:
one definition of "content word" for grounding and for this baseline); a sentence's score is the
share of the question's content words it contains, ties go to the earlier sentence.

What the baseline answers is chosen on the *train* records, by the handler's own headline score:

- ``sentence``: the best sentence as it stands;
- ``window``: the ``window_tokens`` words of the best sentence that hold the most words the
  question does not (an answer is rarely the question's own words), ties to the window nearest a
  question word (the "sliding window + distance" idea), then to the earlier one; ``window_tokens``
  is the median (low: a real answer's) word count of the train answers.

Where the handler scores refusals (rag_qa), the baseline refuses (the handler's trained refusal
sentence) when the best sentence's score is at or below a cut tuned on the train records, if some
cut beats never refusing there.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from brewslm.evaluation.baselines.base import Baseline, BaselineUnavailable
from brewslm.evaluation.handlers.base import EvalHandler
from brewslm.tasks.rag_qa import content_words, split_sentences
from brewslm.tasks.replies import normalize_answer

SENTENCE, WINDOW = "sentence", "window"
_TOKEN = re.compile(r"\S+")
_CLAUSE_END = ".,;:!?"  # a window cut from a sentence does not keep its closing punctuation


@dataclass(frozen=True)
class OverlapPick:
    """The best sentence of a record's passages for its question: its ``score`` (share of the
    question's content words it holds), the sentence and its best ``window``."""

    score: float
    sentence: str
    window: str

    def answer(self, mode: str) -> str:
        return self.sentence if mode == SENTENCE else self.window


def best_window(sentence: str, question_words: set[str], size: int) -> str:
    """The ``size``-word stretch of ``sentence`` with the most words the question lacks, nearest a
    question word, earliest (see the module docstring)."""
    tokens = [(m.start(), m.end(), content_words(m.group())) for m in _TOKEN.finditer(sentence)]
    if len(tokens) <= size:
        return sentence
    novel = [bool(words - question_words) for _, _, words in tokens]
    anchors = [i for i, (_, _, words) in enumerate(tokens) if words & question_words]

    def rank(start: int) -> tuple[int, int, int]:
        end = start + size - 1
        distance = min((max(a - end, start - a, 0) for a in anchors), default=0)
        return -sum(novel[start : end + 1]), distance, start

    start = min(range(len(tokens) - size + 1), key=rank)
    return sentence[tokens[start][0] : tokens[start + size - 1][1]].rstrip(_CLAUSE_END)


def best_overlap(question: str, passages: Sequence[str], window_tokens: int) -> OverlapPick | None:
    """The best sentence of ``passages`` for ``question`` (None when the passages have no sentence)."""
    question_words = content_words(question)
    best_sentence: str | None = None
    best_shared = -1
    for passage in passages:
        for sentence in split_sentences(passage):
            shared = len(content_words(sentence) & question_words)
            if shared > best_shared:  # strictly better: ties stay with the earlier sentence
                best_sentence, best_shared = sentence, shared
    if best_sentence is None:
        return None
    score = best_shared / len(question_words) if question_words else 0.0
    return OverlapPick(score, best_sentence, best_window(best_sentence, question_words, window_tokens))


class BestOverlapBaseline(Baseline):
    """The shared fit / predict of qa's and rag_qa's best-overlap baselines; a task module names
    the task, where a record's passages are (``passages``) and whether refusing is scored
    (``refusal``: the handler's refusal reply, or None)."""

    name = "best_overlap"
    title = "best question-overlap sentence or window of the context"
    refusal: str | None = None

    def passages(self, record: Mapping[str, Any]) -> list[str]:
        raise NotImplementedError

    def answerable(self, record: Mapping[str, Any]) -> bool:
        """Whether a train record has an answer to learn the window length from."""
        return True

    def fit(self, records: Sequence[Mapping[str, Any]], handler: EvalHandler) -> "BestOverlapBaseline":
        usable = [record for record in records if self.passages(record)]
        answers = [record["answer"] for record in usable if self.answerable(record)]
        if not answers:
            raise BaselineUnavailable(
                f"no {self.task} train record has a context and an answer to pick answer sentences from"
            )
        self.window_tokens = max(1, statistics.median_low(len(a.split()) for a in answers))
        headline = handler.headline

        def scored(record: Mapping[str, Any], prediction: str) -> float:
            return handler.score_example(record, prediction).stats[headline]

        picks = [best_overlap(r["question"], self.passages(r), self.window_tokens) for r in usable]
        rows = [(r, p) for r, p in zip(usable, picks) if p is not None]
        train_scores = {mode: [scored(r, p.answer(mode)) for r, p in rows] for mode in (SENTENCE, WINDOW)}
        means = {mode: sum(values) / len(values) for mode, values in train_scores.items()}
        self.mode = SENTENCE if means[SENTENCE] >= means[WINDOW] else WINDOW
        self.refuse_at_or_below: float | None = None
        train_score = means[self.mode]
        if self.refusal is not None:
            refused = [scored(r, self.refusal) for r, _ in rows]
            self.refuse_at_or_below, total = _refusal_cut([p.score for _, p in rows], train_scores[self.mode], refused)
            train_score = total / len(rows)
        self.fitted = {
            "train_records": len(rows),
            "answer_from": self.mode,
            "window_tokens": self.window_tokens,
            "window_tokens_rule": "median (low) word count of the train answers",
            f"train_{headline}": {SENTENCE: round(means[SENTENCE], 4), WINDOW: round(means[WINDOW], 4)},
        }
        if self.refusal is not None:
            self.fitted["refuse_at_or_below_overlap"] = self.refuse_at_or_below
            self.fitted[f"train_{headline}_with_refusals"] = round(train_score, 4)
        return self

    def predict(self, records: Sequence[Mapping[str, Any]]) -> list[Any]:
        predictions: list[Any] = []
        for record in records:
            pick = best_overlap(record["question"], self.passages(record), self.window_tokens)
            if pick is None:
                predictions.append(None)  # no context to answer from
            elif self.refuse_at_or_below is not None and pick.score <= self.refuse_at_or_below:
                predictions.append(self.refusal)
            else:
                predictions.append(pick.answer(self.mode))
        return predictions


def _refusal_cut(
    overlaps: Sequence[float], answered: Sequence[float], refused: Sequence[float]
) -> tuple[float | None, float]:
    """The overlap cut (refuse at or below it; None: never refuse) with the best train total, and
    that total; ties go to refusing less."""
    best_cut, best_total = None, sum(answered)
    for cut in sorted(set(overlaps)):
        total = sum(r if o <= cut else a for o, a, r in zip(overlaps, answered, refused))
        if total > best_total:
            best_cut, best_total = cut, total
    return best_cut, best_total


class MostFrequentAnswerBaseline(Baseline):
    """The train split's most frequent answer for every question (by SQuAD-normalised text): the
    closed-book baseline (yes/no and other short-answer sets), where there is no context to quote."""

    name = "most_frequent_answer"
    title = "most frequent train answer"

    def fit(self, records: Sequence[Mapping[str, Any]], handler: EvalHandler) -> "MostFrequentAnswerBaseline":
        answers = [record["answer"] for record in records if normalize_answer(record.get("answer") or "")]
        if not answers:
            raise BaselineUnavailable(f"no {self.task} train record has an answer")
        counts = Counter(normalize_answer(answer) for answer in answers)
        top, count = min(counts.items(), key=lambda item: (-item[1], item[0]))
        self.answer = next(answer for answer in answers if normalize_answer(answer) == top)
        self.fitted = {"answer": self.answer, "train_share": round(count / len(answers), 4)}
        return self

    def predict(self, records: Sequence[Mapping[str, Any]]) -> list[Any]:
        return [self.answer for _ in records]


__all__ = [
    "SENTENCE",
    "WINDOW",
    "BestOverlapBaseline",
    "MostFrequentAnswerBaseline",
    "OverlapPick",
    "best_overlap",
    "best_window",
]
