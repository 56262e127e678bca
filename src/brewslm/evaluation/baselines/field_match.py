"""structured_extraction · field_match baseline: each field's value is read after a cue learnt on train.

``CueRule`` learns, per target field, from the train records:

1. the cue: wherever a record's gold value (a text, or a number in any written form) occurs in its
   document, the last 1-3 words before it on its line ("Total :", "Invoice no ."), and the last
   1-3 words of the line above (a label over its value); words are runs of letters and digits or
   of punctuation, and a cue has a letter in it (a label, not a line number). The cue is the one
   seen before the most train values (compared case-insensitively, reported in its most
   frequent spelling); ties go to the longer (more specific) cue, then the alphabetically first;
2. the value's shape: after the cue, the rest of the line, its first word, its first or last
   number or its first date (``READERS``).

Of the ``CUES_TRIED`` most frequent cues and every reader, the pair that recovers the most train
values is the field's rule (ties: the more frequent cue, then the reader first in that list). A
field whose train values are all numbers is predicted as a number.

Prediction: for each field, the first occurrence of its cue (case-insensitive, whole words) after
which its reader finds a value; a field whose cue never occurs, or that no train value was
recovered for, is left out of the predicted object (the handler compares a missing field as null).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Mapping, Sequence

from brewslm.evaluation.baselines.base import Baseline, BaselineUnavailable
from brewslm.evaluation.handlers.base import EvalHandler
from brewslm.evaluation.metrics.json_fields import FieldNormalization, canonical_value, values_equal
from brewslm.tasks.structured_extraction import FIELD_MATCH

MAX_CUE_WORDS = 3
CUES_TRIED = 20  # the most frequent cues of a field, each tried with every reader on train
NUMBERS = FieldNormalization(normalize_numbers=True)
_CUE_WORD = re.compile(r"\w+|[^\w\s]+")  # "Total:" is two cue words, "Total" and ":", glued or not
_NUMBER_TEXT = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?")  # "1,234.50" is one, "11,29" two
_DATE_TEXT = re.compile(
    r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.-](?:\d{1,2}|[A-Za-z]{3,9})[/.-]\d{2,4}"
    r"|\d{1,2}\s+[A-Za-z]{3,9}\.?,?\s+\d{2,4}|[A-Za-z]{3,9}\.?\s+\d{1,2},?\s+\d{4}"
)
READERS = {
    "rest_of_line": lambda line: line.strip(),
    "first_word": lambda line: (line.split() or [""])[0],
    "first_number": lambda line: _first(_NUMBER_TEXT, line),
    "last_number": lambda line: (_NUMBER_TEXT.findall(line) or [""])[-1],
    "first_date": lambda line: _first(_DATE_TEXT, line),
}
"""How a value is read from the text after its cue (up to the end of that line), in tie order."""


def _first(pattern: re.Pattern[str], line: str) -> str:
    match = pattern.search(line)
    return match.group() if match else ""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def value_starts(text: str, value: Any) -> list[int]:
    """Where a gold value occurs in the document: a text case-insensitively, a number in any
    written form ("1,234.50" for 1234.5); empty when it does not occur."""
    if _is_number(value):
        return [m.start() for m in _NUMBER_TEXT.finditer(text) if values_equal(value, m.group(), NUMBERS)]
    if not (isinstance(value, str) and value.strip()):
        return []
    lowered, needle = text.lower(), value.lower()
    if len(lowered) != len(text):  # lower() moved the offsets (a dotted I...): the slow search
        return [m.start() for m in re.finditer(re.escape(value), text, re.IGNORECASE)]
    starts, at = [], lowered.find(needle)
    while at >= 0:
        starts.append(at)
        at = lowered.find(needle, at + 1)
    return starts


def _cues(words: Sequence[str], above: bool) -> list[tuple[tuple[str, ...], bool]]:
    """The last 1-3 words as cues, those with a letter in them only: a cue is a label ("Total",
    "Date :", "No ."), never a run of digits and punctuation (a line number, OCR coordinates)."""
    cues = [(tuple(words[-n:]), above) for n in range(1, min(MAX_CUE_WORDS, len(words)) + 1)]
    return [(cue, above) for cue, above in cues if any(ch.isalpha() for word in cue for ch in word)]


def cue_candidates(text: str, start: int) -> list[tuple[tuple[str, ...], bool]]:
    """The cues of a value starting at ``start``: the last 1-3 words before it on its line, and
    (``True``: on the line above) the last 1-3 words of the previous non-blank line."""
    line_start = text.rfind("\n", 0, start) + 1
    lines_above = [line for line in text[:line_start].splitlines() if line.strip()]
    return _cues(_CUE_WORD.findall(text[line_start:start]), False) + _cues(
        _CUE_WORD.findall(lines_above[-1]) if lines_above else [], True
    )


def lines_after_cue(text: str, cue: Sequence[str], above: bool) -> list[str]:
    """After each occurrence of the cue (as whole words, case-insensitively), the rest of its line
    (or, for a cue on the line above, the next non-blank line), in order."""
    lowered = text.lower()
    if any(word.lower() not in lowered for word in cue):  # the quick common answer: no occurrence
        return []
    # a case-sensitive search of the lower-cased text is ~100x faster than re.IGNORECASE; it needs
    # the same offsets as the text (lower() keeps them but for a few letters, e.g. a dotted I)
    haystack, flags = (lowered, 0) if len(lowered) == len(text) else (text, re.IGNORECASE)
    gap = r"[ \t]*\r?\n\s*" if above else r"[ \t]*"
    pattern = r"\s*".join(re.escape(word.lower()) for word in cue) + gap + r"([^\n]*)"
    whole_word = re.match(r"\w", cue[0]) is not None
    return [
        text[match.start(1) : match.end(1)]
        for match in re.finditer(pattern, haystack, flags)
        if not (whole_word and re.match(r"\w", text[match.start() - 1 : match.start()]))
    ]


class CueRule(Baseline):
    name = "cue_rule"
    title = "value after the field's cue (the label words before it), learnt on train"
    task = "structured_extraction"
    scoring_mode = FIELD_MATCH

    def fit(self, records: Sequence[Mapping[str, Any]], handler: EvalHandler) -> "CueRule":
        normalization = handler.normalization
        fields: dict[str, None] = {}
        for record in records:
            fields.update(dict.fromkeys(record.get("target") or {}))
        self.rules: dict[str, dict[str, Any]] = {}
        self.fitted = {"train_records": len(records), "fields": {}}
        for field in fields:
            with_field = [r for r in records if (r.get("target") or {}).get(field) is not None]
            rule = self._fit_field(field, with_field, normalization)
            rule["predicted"] = rule["recovered_on_train"] > 0  # a rule that recovers nothing is not used
            self.fitted["fields"][field] = rule
            if rule["predicted"]:
                self.rules[field] = rule
        if not self.rules:
            raise BaselineUnavailable(
                "no target value of the train records can be read after a cue in its text "
                "(the values do not appear in the documents)"
            )
        return self

    @staticmethod
    def _fit_field(
        field: str, records: Sequence[Mapping[str, Any]], normalization: FieldNormalization
    ) -> dict[str, Any]:
        cue_counts: Counter[tuple[tuple[str, ...], bool]] = Counter()  # cues compared case-insensitively,
        spellings: dict[tuple[tuple[str, ...], bool], Counter[tuple[str, ...]]] = {}  # as they are matched
        for record in records:
            text = record["text"]
            cues = {cue for start in value_starts(text, record["target"][field]) for cue in cue_candidates(text, start)}
            for words, above in cues:  # each record counts a cue once, whichever occurrence it preceded
                key = (tuple(word.casefold() for word in words), above)
                cue_counts[key] += 1
                spellings.setdefault(key, Counter())[words] += 1
        rule: dict[str, Any] = {
            "cue": None,
            "cue_on_line_above": False,
            "reader": None,
            "as_number": False,
            "train_values": len(records),
            "cue_before_value_on_train": 0,
            "recovered_on_train": 0,
        }
        if not cue_counts:
            return rule
        as_number = all(_is_number(r["target"][field]) for r in records)
        golds = [canonical_value(r["target"][field], normalization) for r in records]  # never null here
        best: tuple[Any, ...] | None = None
        ranked = sorted(cue_counts.items(), key=lambda item: (-item[1], -len(item[0][0]), item[0][1], item[0][0]))
        for key, count in ranked[:CUES_TRIED]:
            cue, above = min(spellings[key].items(), key=lambda item: (-item[1], item[0]))[0], key[1]
            found = [lines_after_cue(r["text"], cue, above) for r in records]
            for reader, read in READERS.items():
                values = (_read(lines, read, as_number) for lines in found)
                recovered = sum(
                    value is not None and canonical_value(value, normalization) == gold
                    for gold, value in zip(golds, values)
                )
                if best is None or recovered > best[0]:  # ties keep the more frequent cue, the earlier reader
                    best = (recovered, cue, above, reader, count)
        recovered, cue, above, reader, count = best
        rule.update(
            {
                "cue": " ".join(cue),
                "cue_words": list(cue),
                "cue_on_line_above": above,
                "reader": reader,
                "as_number": as_number,
                "cue_before_value_on_train": count,
                "recovered_on_train": recovered,
            }
        )
        return rule

    def predict(self, records: Sequence[Mapping[str, Any]]) -> list[Any]:
        predictions = []
        for record in records:
            predicted = {}
            for field, rule in self.rules.items():
                lines = lines_after_cue(record["text"], rule["cue_words"], rule["cue_on_line_above"])
                value = _read(lines, READERS[rule["reader"]], rule["as_number"])
                if value is not None:
                    predicted[field] = value
            predictions.append(predicted)
        return predictions


def _read(lines: Sequence[str], read: Any, as_number: bool) -> Any:
    """The first value the reader finds after an occurrence of the cue (a number for numeric
    fields, when it reads as one); None when none does."""
    for line in lines:
        value = read(line)
        if value:
            return _as_number(value) if as_number else value
    return None


def _as_number(text: str) -> Any:
    form, value = canonical_value(text, NUMBERS)
    if form != "number":
        return text
    return int(value) if value.is_integer() else value


BASELINES = [CueRule]
