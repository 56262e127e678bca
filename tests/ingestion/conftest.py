"""Fixtures for import tests: a private workspace, small mappers and an in-memory test source.

The mappers and the ``ingest-test:`` source are registered for one test and removed after it, so
they never leak into other packages' tests (e.g. introspection rankings over all mappers).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import pytest

import brewslm.mappers as mappers_registry
import brewslm.sources as sources_registry
import brewslm.tasks as tasks_registry
from brewslm.mappers.base import FieldSpec, Mapper, Rejection, read_label, read_text
from brewslm.sources.base import Source
from brewslm.storage.db import reset_engines
from brewslm.tasks.base import CanonicalRecord, TaskProfile
from helpers.database import fresh_database

TEST_SCHEME = "ingest-test"


# --- task profiles: the built-ins when present, minimal stand-ins otherwise ---------------------


class _TextLabelRecord(CanonicalRecord):
    text: str
    label: str


class _TextRecord(CanonicalRecord):
    text: str


class StandInClassification(TaskProfile):
    id = "classification"
    record_model = _TextLabelRecord


class StandInLanguageModeling(TaskProfile):
    id = "language_modeling"
    record_model = _TextRecord


# --- mappers ----------------------------------------------------------------------------------


class TextLabelMapper(Mapper):
    """text + label -> classification; keeps a source ``id`` when the row has one."""

    id = "ingest_test_cls"
    task_profile = "classification"
    fields = (
        FieldSpec("text", candidates=("text", "sentence")),
        FieldSpec("label", candidates=("label", "category")),
    )
    options_doc = {"lowercase_label": "lower-case the label"}

    def map_row(self, row: dict, fields: Mapping[str, str], options: Mapping[str, Any]):
        text = read_text(row, fields.get("text"), "missing_text")
        if isinstance(text, Rejection):
            return text
        label = read_label(row, fields.get("label"))
        if isinstance(label, Rejection):
            return label
        if options.get("lowercase_label"):
            label = label.lower()
        record: dict[str, Any] = {"text": text, "label": label}
        if "id" in row:
            record["id"] = row["id"]
        return [record]


class TextOnlyMapper(Mapper):
    id = "ingest_test_lm"
    task_profile = "language_modeling"
    fields = (FieldSpec("text", candidates=("text",)),)

    def map_row(self, row: dict, fields: Mapping[str, str], options: Mapping[str, Any]):
        text = read_text(row, fields.get("text"), "missing_text")
        return text if isinstance(text, Rejection) else [{"text": text}]


class PassthroughMapper(Mapper):
    """Emits ``row['records']`` as is: lets a test hand the pipeline any record it likes."""

    id = "ingest_test_passthrough"
    task_profile = "classification"
    fields = (FieldSpec("records", candidates=("records",)),)

    def map_row(self, row: dict, fields: Mapping[str, str], options: Mapping[str, Any]):
        return list(row["records"])


class CrashyMapper(TextLabelMapper):
    """A buggy plugin: raises on rows whose text contains 'boom'."""

    id = "ingest_test_crashy"

    def map_row(self, row: dict, fields: Mapping[str, str], options: Mapping[str, Any]):
        if "boom" in str(row.get("text")):
            raise ZeroDivisionError("division by zero in plugin")
        return super().map_row(row, fields, options)


TEST_MAPPERS = (TextLabelMapper(), TextOnlyMapper(), PassthroughMapper(), CrashyMapper())


# --- an in-memory source whose rows a test provides (and can make fail) ------------------------

ROW_FACTORIES: dict[str, Callable[[], Iterator[Any]]] = {}


class FactorySource(Source):
    def rows(self) -> Iterator[Any]:
        return ROW_FACTORIES[self.locator.target]()

    @property
    def name(self) -> str:
        return self.locator.target


@pytest.fixture
def row_source() -> Callable[[str, Callable[[], Iterator[Any]]], str]:
    """``row_source(name, factory)`` -> a locator streaming ``factory()``'s rows."""

    def make(name: str, factory: Callable[[], Iterator[Any]]) -> str:
        ROW_FACTORIES[name] = factory
        return f"{TEST_SCHEME}:{name}"

    yield make
    ROW_FACTORIES.clear()


@pytest.fixture(autouse=True)
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = tmp_path / "home"
    monkeypatch.setenv("BREWSLM_HOME", str(home))
    monkeypatch.setenv("BREWSLM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("DATASET_IMPORT_LLM_ASSIST_ENABLED", raising=False)
    reset_engines()
    with fresh_database(monkeypatch):
        yield home
    reset_engines()


@pytest.fixture(autouse=True)
def test_plugins() -> Iterator[None]:
    added_profiles = []
    for stand_in in (StandInClassification(), StandInLanguageModeling()):
        try:
            tasks_registry.get_task_profile(stand_in.id)
        except Exception:
            tasks_registry.register_task_profile(stand_in)
            added_profiles.append(stand_in.id)
    for mapper in TEST_MAPPERS:
        mappers_registry.register_mapper(mapper, replace=True)
    sources_registry.register_source(TEST_SCHEME, FactorySource, replace=True)
    yield
    for mapper in TEST_MAPPERS:
        mappers_registry.REGISTRY.unregister(mapper.id)
    sources_registry.REGISTRY.unregister(TEST_SCHEME)
    for profile_id in added_profiles:
        tasks_registry.REGISTRY.unregister(profile_id)


# --- data files -------------------------------------------------------------------------------

LABELS = ("billing", "shipping", "account")


def review_rows(n: int, start: int = 0) -> list[dict[str, Any]]:
    """``n`` distinct rows with ids, multi-line text and three labels."""
    return [
        {"id": f"r{i}", "text": f"Message {i}:\n  the  {LABELS[i % 3]} issue, case {i * 7}.", "label": LABELS[i % 3]}
        for i in range(start, start + n)
    ]


def write_jsonl(path: Path, rows: list[Any], extra_lines: tuple[str, ...] = ()) -> Path:
    lines = [json.dumps(row) if not isinstance(row, str) else row for row in rows]
    path.write_text("\n".join([*lines, *extra_lines]) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def jsonl_file(tmp_path: Path) -> Callable[..., str]:
    """``jsonl_file(rows, name=..., extra_lines=...)`` -> a ``jsonl:`` locator."""

    def make(rows: list[Any], name: str = "data.jsonl", extra_lines: tuple[str, ...] = ()) -> str:
        return f"jsonl:{write_jsonl(tmp_path / name, rows, extra_lines)}"

    return make
