from __future__ import annotations

import io
import json
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from brewslm.output import cell, counts, key_values, table, to_jsonable, when, write_json


@dataclass
class Thing:
    path: Path
    when: datetime


def test_to_jsonable_handles_api_types():
    when = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
    value = {"t": Thing(Path("/a/b"), when), "n": math.nan, "s": {1}, "ok": [1, "x", None, True]}
    assert to_jsonable(value) == {
        "t": {"path": "/a/b", "when": "2024-05-01T12:00:00+00:00"},
        "n": None,
        "s": [1],
        "ok": [1, "x", None, True],
    }


def test_write_json_is_one_document():
    stream = io.StringIO()
    write_json({"a": [1, 2], "ü": "ß"}, stream)
    assert json.loads(stream.getvalue()) == {"a": [1, 2], "ü": "ß"}
    assert "ß" in stream.getvalue()


def test_table_aligns_and_cuts_long_cells():
    text = table(["name", "n"], [("alpha", 1), ("b", None), ("x" * 100, 2.5)], width=10)
    lines = text.splitlines()
    assert lines[0].startswith("name") and set(lines[1].replace(" ", "")) == {"-"}
    assert lines[3].split() == ["b", "-"]
    assert lines[4].split()[0] == "x" * 9 + "…" and lines[4].endswith("2.50")


def test_cells_keep_one_line():
    assert cell("two\nlines") == "two\\nlines"
    assert cell({"a": 1}) == '{"a": 1}'


def test_counts_and_key_values():
    assert counts({"b": 1, "a": 2, "c": 1}) == "a 2, b 1, c 1"
    assert counts({}) == "none"
    assert (
        counts({"test": 4, "train": 30, "validation": 5}, ("train", "validation", "test"))
        == "train 30, validation 5, test 4"
    )
    assert key_values([("a", 1), ("long key", "v")]).splitlines() == ["a         1", "long key  v"]


def test_when_shortens_iso_times():
    assert when("2024-05-01T12:00:00.123456+00:00") == "2024-05-01 12:00:00"
    assert when(None) is None
