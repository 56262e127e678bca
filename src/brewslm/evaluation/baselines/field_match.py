"""structured_extraction · field_match baseline: each field's value is read after its most frequent cue.

``CueRule`` learns, per target field, from the train records:

1. the cue: where a record's gold value (a text, or a number in any written form) occurs in its
   document, the last 1-3 words before it on its line ("Total:", "Invoice no."), or, when the value
   opens its line, the last 1-3 words of the line above (a label over its value). The cue is the
   one seen before the most train values (compared case-insensitively, reported in its most
   frequent spelling); ties go to the longer (more specific) cue, then the alphabetically first;
2. the value's shape: after the cue, the rest of the line, its first word, its first number or its
   first date - the reader that recovers the most train values (ties in that order). A field whose
   train values are all numbers is predicted as a number.

Prediction: for each field, the first occurrence of its cue (case-insensitive, whole words) after
which its reader finds a value; a field whose cue never occurs, or that no train value was
recovered for, is left out of the predicted object (the handler compares a missing field as null).
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any, Mapping, Sequence

from brewslm.evaluation.baselines.base import Baseline, BaselineUnavailable
from brewslm.evaluation.metrics.json_fields import FieldNormalization, canonical_value, values_equal
from brewslm.tasks.structured_extraction import FIELD_MATCH

MAX_CUE_WORDS = 3
NUMBERS = FieldNormalization(normalize_numbers=True)
_NUMBER_TEXT = re.compile(r"[-+]?\d[\d,]*(?:\.\d+)?")
_DATE_TEXT = re.compile(
    r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}"
    r"|\d{1,2}\s+[A-Za-z]{3,9}\.?,?\s+\d{2,4}|[A-Za-z]{3,9}\.?\s+\d{1,2},?\s+\d{4}"
)
READERS = {
    "rest_of_line": lambda line: line.strip(),
    "first_word": lambda line: (line.split() or [""])[0],
    "first_number": lambda line: _first(_NUMBER_TEXT, line),
    "first_date": lambda line: _first(_DATE_TEXT, line),
}
"""How a value is read from the text after its cue (up to the end of that line), in tie order."""


def _first(pattern: re.Pattern[str], line: str) -> str:
    match = pattern.search(line)
    return match.group() if match else ""


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def locate_value(text: str, value: Any) -> int | None:
    """Where a gold value first occurs in the document: a text verbatim (else case-insensitively),
    a number in any written form ("1,234.50" for 1234.5); None when it does not occur."""
    if _is_number(value):
        for match in _NUMBER_TEXT.finditer(text):
            if values_equal(value, match.group(), NUMBERS):
                return match.start()
        return None
    if isinstance(value, str) and value.strip():
        found = text.find(value)
        if found < 0:
            match = re.search(re.escape(value), text, re.IGNORECASE)
            found = match.start() if match else -1
        return found if found >= 0 else None
    return None


def cue_candidates(text: str, start: int) -> list[tuple[tuple[str, ...], bool]]:
    """The cues before a value starting at ``start``: the last 1-3 words before it on its line, or
    (``True``: on the line above) of the previous non-blank line when it opens its line."""
    line_start = text.rfind("\n", 0, start) + 1
    words = text[line_start:start].split()
    above = not words
    if above:
        lines = [line for line in text[:line_start].splitlines() if line.strip()]
        words = lines[-1].split() if lines else []
    return [(tuple(words[-n:]), above) for n in range(1, min(MAX_CUE_WORDS, len(words)) + 1)]


def lines_after_cue(text: str, cue: Sequence[str], above: bool) -> list[str]:
    """The text after each occurrence of the cue up to the end of the value's line, in order."""
    gap = r"[ \t]*\r?\n\s*" if above else r"[ \t]*"
    pattern = r"(?<!\S)" + r"\s+".join(re.escape(word) for word in cue) + gap + r"([^\n]*)"
    return [match.group(1) for match in re.finditer(pattern, text, re.IGNORECASE)]


class CueRule(Baseline):
    name = "cue_rule"
    title = "value after the field's most frequent cue (words before it in the document)"
    task = "structured_extraction"
    scoring_mode = FIELD_MATCH

    def fit(self, records: Sequence[Mapping[str, Any]], handler: Any) -> "CueRule":
        normalization = handler.normalization
        fields: dict[str, None] = {}
        for record in records:
            fields.update(dict.fromkeys(record.get("target") or {}))
        self.rules: dict[str, dict[str, Any]] = {}
        self.fitted = {"train_records": len(records), "fields": {}}
        for field in fields:
            with_field = [r for r in records if (r.get("target") or {}).get(field) is not None]
            rule = self._fit_field(field, with_field, normalization)
            self.fitted["fields"][field] = rule
            if rule["cue"] is not None and rule["recovered_on_train"] > 0:
                self.rules[field] = rule
        if not self.rules:
            raise BaselineUnavailable("no target value of the train records can be read after a cue in its text "
                                      "(the values do not appear in the documents)")
        return self

    @staticmethod
    def _fit_field(field: str, records: Sequence[Mapping[str, Any]],
                   normalization: FieldNormalization) -> dict[str, Any]:
        cue_counts: Counter[tuple[tuple[str, ...], bool]] = Counter()  # cues compared case-insensitively,
        spellings: dict[tuple[tuple[str, ...], bool], Counter[tuple[str, ...]]] = {}  # as they are matched
        for record in records:
            start = locate_value(record["text"], record["target"][field])
            if start is None:
                continue
            for words, above in set(cue_candidates(record["text"], start)):
                key = (tuple(word.casefold() for word in words), above)
                cue_counts[key] += 1
                spellings.setdefault(key, Counter())[words] += 1
        rule: dict[str, Any] = {"cue": None, "cue_on_line_above": False, "reader": None, "as_number": False,
                                "train_values": len(records), "cue_before_value_on_train": 0,
                                "recovered_on_train": 0}
        if not cue_counts:
            return rule
        key, count = min(cue_counts.items(), key=lambda item: (-item[1], -len(item[0][0]), item[0][1], item[0][0]))
        cue, above = min(spellings[key].items(), key=lambda item: (-item[1], item[0]))[0], key[1]
        as_number = all(_is_number(r["target"][field]) for r in records)
        found = [lines_after_cue(r["text"], cue, above) for r in records]
        golds = [r["target"][field] for r in records]
        recovered = {name: sum(values_equal(gold, _read(lines, read, as_number), normalization)
                               for gold, lines in zip(golds, found))
                     for name, read in READERS.items()}  # (a gold is never null here: None matches no gold)
        reader = max(READERS, key=lambda name: recovered[name])  # max keeps the first of equals
        rule.update({"cue": " ".join(cue), "cue_words": list(cue), "cue_on_line_above": above, "reader": reader,
                     "as_number": as_number, "cue_before_value_on_train": count,
                     "recovered_on_train": recovered[reader]})
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
