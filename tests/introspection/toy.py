"""Test-registered task profile, mappers and source, so the gate and ranking are tested on their
own, independent of which built-in mappers exist: ``isolated_registry`` swaps the registries for
ones holding only these."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator, Mapping

import pytest

import brewslm.mappers as mappers_pkg
import brewslm.sources as sources_pkg
import brewslm.tasks as tasks_pkg
from brewslm.mappers.base import FieldSpec, Mapper, Proposal, Rejection, read_label, read_text
from brewslm.sources.base import ParseFailure, Source
from brewslm.tasks.base import CanonicalRecord, TaskProfile


class ToyLabelRecord(CanonicalRecord):
    text: str
    label: str


class ToyLabelProfile(TaskProfile):
    id = "toy_labels"
    description = "text with one label"
    record_model = ToyLabelRecord


class ToyTextRecord(CanonicalRecord):
    text: str


class ToyTextProfile(TaskProfile):
    id = "toy_text"
    description = "plain text"
    record_model = ToyTextRecord


class ToyLabelMapper(Mapper):
    id = "toy_label"
    task_profile = "toy_labels"
    description = "A text field and a label field become a labelled example."
    fields = (
        FieldSpec("text", candidates=("text", "sentence", "review")),
        FieldSpec("label", candidates=("label", "category", "stars")),
    )
    options_doc = {"lowercase": "lowercase the label"}

    def map_row(self, row: dict[str, Any], fields: Mapping[str, str], options: Mapping[str, Any]):
        text = read_text(row, fields.get("text"), "missing_text")
        if isinstance(text, Rejection):
            return text
        label = read_label(row, fields.get("label"))
        if isinstance(label, Rejection):
            return label
        return [{"text": text, "label": label.lower() if options.get("lowercase") else label}]

    def sniff(self, profile) -> Proposal | None:
        field_map = self.default_field_map(profile.top_level())
        if set(field_map.values()) != {"text", "label"}:
            return None
        label_src = next(src for src, dst in field_map.items() if dst == "label")
        fp = profile.field(label_src)
        return Proposal(self.id, field_map, 0.9, [f"field '{label_src}' has {fp.distinct} distinct values"])


class ToyTextMapper(Mapper):
    """Generic: any string field is text, so it must rank below the specific mapper."""

    id = "toy_plain"
    task_profile = "toy_text"
    description = "Any text field becomes a plain-text example."
    fields = (FieldSpec("text", candidates=("text", "sentence", "review", "body")),)

    def map_row(self, row, fields, options):
        text = read_text(row, fields.get("text"), "missing_text")
        return text if isinstance(text, Rejection) else [{"text": text}]

    def sniff(self, profile) -> Proposal | None:
        path = profile.best(lambda fp: fp.main_type == "string", key=lambda fp: fp.mean_chars, top_level_only=True)
        return Proposal(self.id, {path: "text"}, 0.55, [f"field '{path}' holds text"]) if path else None


class BrokenSniffMapper(ToyTextMapper):
    id = "toy_broken_sniff"

    def sniff(self, profile):
        raise RuntimeError("sniffer bug")


class CrashingMapper(ToyLabelMapper):
    """Raises on rows whose text mentions 'boom' (a plugin bug the gate must survive)."""

    id = "toy_crashing"

    def map_row(self, row, fields, options):
        if "boom" in str(row.get("text", "")):
            raise ValueError("boom")
        return super().map_row(row, fields, options)

    def sniff(self, profile):
        return None


class BrokenRecordMapper(ToyLabelMapper):
    """Produces records its own task profile rejects (label is not a string)."""

    id = "toy_bad_records"

    def map_row(self, row, fields, options):
        return [{"text": "x", "label": 3}]

    def sniff(self, profile):
        return None


TOY_MAPPERS = (ToyLabelMapper(), ToyTextMapper(), BrokenSniffMapper(), CrashingMapper(), BrokenRecordMapper())


class ToyJsonlSource(Source):
    """``toy:/path`` -- one JSON object per line; a bad line becomes a ParseFailure."""

    def rows(self) -> Iterator[Any]:
        with self.locator.path().open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                try:
                    value = json.loads(line)
                except ValueError as exc:
                    yield ParseFailure(number, line, str(exc))
                    continue
                yield value if isinstance(value, dict) else ParseFailure(number, line, "not an object")


@pytest.fixture
def isolated_registry() -> Iterator[None]:
    """Registries holding only the toy profile, mappers and source for the test's duration."""
    with (
        tasks_pkg.REGISTRY.replaced({"toy_labels": ToyLabelProfile(), "toy_text": ToyTextProfile()}),
        mappers_pkg.REGISTRY.replaced({m.id: m for m in TOY_MAPPERS}),
        sources_pkg.REGISTRY.replaced({"toy": ToyJsonlSource}),
    ):
        yield


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    lines = [row if isinstance(row, str) else json.dumps(row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def review_rows(n: int = 40) -> list[dict[str, Any]]:
    moods = ["good", "bad", "meh"]
    return [
        {"review": f"Review {i}: the kettle was {moods[i % 3]}.\nWould buy again? {i % 2 == 0}", "stars": 1 + i % 5}
        for i in range(n)
    ]
