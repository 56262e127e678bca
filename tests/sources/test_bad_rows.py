"""Issue 14: one bad row is one rejected row in every connector, never an aborted read or a
traceback; and errors about a path or locator say what is actually wrong."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from brewslm.errors import SourceError
from brewslm.sources import open_source
from brewslm.sources.base import MAX_DEPTH, TOO_DEEP, Locator, ParseFailure, Source, check_depth, too_deep

HUGE = "9" * 5000


def deep_value(levels: int) -> str:
    return '{"a":' * levels + "1" + "}" * levels


def records(locator: str) -> list:
    return list(open_source(locator).records())


def reasons(rows: list) -> list:
    return [row.reason if isinstance(row, ParseFailure) else "ok" for row in rows]


# --- integers past Python's digit limit ----------------------------------------------------------


def test_a_jsonl_integer_past_the_digit_limit_is_one_parse_error(tmp_path: Path):
    path = tmp_path / "big.jsonl"
    path.write_text(f'{{"text": "a"}}\n{{"text": "b", "n": {HUGE}}}\n{{"text": "c"}}\n')
    rows = records(f"jsonl:{path}")
    assert reasons(rows) == ["ok", "parse_error", "ok"]
    assert rows[1].position == 2 and "more than 4300 digits" in rows[1].error


def test_json_reads_integers_past_64_bits_exactly(tmp_path: Path):
    big = 10**30 + 7
    path = tmp_path / "big.json"
    path.write_text(f'[{{"text": "a", "f": 1.5}}, {{"text": "b", "n": {big}, "f": 0.25}}, {{"text": "c"}}]')
    assert records(f"json:{path}") == [{"text": "a", "f": 1.5}, {"text": "b", "n": big, "f": 0.25}, {"text": "c"}]
    named = tmp_path / "named.json"
    named.write_text(f'{{"train": [{{"n": 1}}, {{"n": {big}, "f": 2.5}}]}}')
    assert records(f"json:{named}") == [{"n": 1, "split": "train"}, {"n": big, "f": 2.5, "split": "train"}]


def test_json_refuses_an_integer_no_reader_can_hold_in_one_line(tmp_path: Path):
    path = tmp_path / "huge.json"
    path.write_text(f'[{{"text": "a"}}, {{"text": "b", "n": {HUGE}}}]')
    with pytest.raises(SourceError) as info:
        records(f"json:{path}")
    message = str(info.value)
    assert "huge.json" in message and "more than 4300 digits" in message and "jsonl:" in message
    assert "\n" not in message


# --- nesting ---------------------------------------------------------------------------------------


def test_too_deep_is_measured_without_recursion():
    value = json.loads(deep_value(900))  # parsed shallow in the stack; measuring must not recurse
    nested: dict = {}
    node = nested
    for _ in range(50_000):
        node["a"] = {}
        node = node["a"]
    assert too_deep(value) and too_deep(nested)
    assert not too_deep(json.loads(deep_value(MAX_DEPTH - 1)))
    assert check_depth({"a": 1}, 1) == {"a": 1}
    failure = check_depth(nested, 4)
    assert isinstance(failure, ParseFailure) and failure.reason == TOO_DEEP and failure.position == 4
    assert failure.raw.startswith('{"a": {"a":') and len(failure.raw) < 200


def test_a_deep_json_record_is_one_too_deep_row(tmp_path: Path):
    path = tmp_path / "deep.json"
    path.write_text('[{"text": "a"}, {"text": "b", "meta": ' + deep_value(10_000) + '}, {"text": "c"}]')
    rows = records(f"json:{path}")
    assert reasons(rows) == ["ok", TOO_DEEP, "ok"]
    assert "more than 200 levels" in rows[1].error
    # the sample the introspector profiles counts it as unparseable too
    assert reasons(open_source(f"json:{path}").sample(10)) == ["ok", TOO_DEEP, "ok"]


def test_a_deep_jsonl_line_is_too_deep_whether_or_not_the_parser_managed(tmp_path: Path):
    path = tmp_path / "deep.jsonl"
    path.write_text('{"a": 1}\n' + deep_value(500) + "\n" + deep_value(10_000) + '\n{"b": 2}\n')
    assert reasons(records(f"jsonl:{path}")) == ["ok", TOO_DEEP, TOO_DEEP, "ok"]


def test_a_parquet_schema_too_deep_for_arrow_is_one_line(tmp_path: Path):
    # Arrow cannot read back a schema this deep, so no Parquet row ever reaches MAX_DEPTH
    value: object = 1
    for _ in range(MAX_DEPTH + 5):
        value = [value]
    pq.write_table(pa.table({"text": ["a", "b"], "tree": [None, value]}), tmp_path / "deep.parquet")
    with pytest.raises(SourceError, match=r"deep\.parquet: is not a readable Parquet file") as info:
        records(f"parquet:{tmp_path / 'deep.parquet'}")
    assert "\n" not in str(info.value)


def test_explode_failure_on_a_deep_record_does_not_recurse(tmp_path: Path):
    path = tmp_path / "deep.json"
    path.write_text('[{"text": "a", "m": ' + deep_value(10_000) + "}]")
    (row,) = records(f"json:{path}?explode=missing")
    assert isinstance(row, ParseFailure) and "no field 'missing'" in row.error


def test_plugin_sources_are_checked_too():
    class Deep(Source):
        def rows(self):
            node: dict = {}
            root = node
            for _ in range(5000):
                node["x"] = {}
                node = node["x"]
            yield {"ok": 1}
            yield root

    assert reasons(list(Deep(Locator("deep", "x")).records())) == ["ok", TOO_DEEP]


# --- what is actually wrong ----------------------------------------------------------------------


def test_a_symlink_loop_is_not_file_not_found(tmp_path: Path):
    os.symlink(tmp_path / "b.jsonl", tmp_path / "a.jsonl")
    os.symlink(tmp_path / "a.jsonl", tmp_path / "b.jsonl")
    for scheme in ("jsonl", "csv", "file"):
        with pytest.raises(SourceError, match=r"a\.jsonl is a symbolic link loop") as info:
            open_source(f"{scheme}:{tmp_path / 'a.jsonl'}")
        assert "not found" not in str(info.value)


def test_a_dangling_symlink_names_its_target(tmp_path: Path):
    os.symlink(tmp_path / "gone.jsonl", tmp_path / "link.jsonl")
    with pytest.raises(SourceError, match=r"link\.jsonl is a symbolic link to .*gone\.jsonl, which does not exist"):
        open_source(f"jsonl:{tmp_path / 'link.jsonl'}")


def test_a_file_used_as_a_folder(tmp_path: Path):
    (tmp_path / "data.jsonl").write_text('{"a": 1}\n')
    with pytest.raises(SourceError, match="goes through a file as if it were a folder"):
        open_source(f"jsonl:{tmp_path / 'data.jsonl' / 'x.jsonl'}")


@pytest.mark.parametrize("text", ["jsonl:", "jsonl:  ", "csv:?delimiter=;", "hf:"])
def test_an_empty_locator_says_nothing_follows_the_scheme(text: str):
    scheme = text.split(":")[0]
    with pytest.raises(SourceError, match=f"names nothing after '{scheme}:'") as info:
        open_source(text)
    assert "prefix" not in str(info.value)


def test_a_too_deep_jsonl_row_names_its_line(tmp_path: Path):
    path = tmp_path / "deep.jsonl"
    path.write_text('{"a": 1}\n\n\n' + deep_value(300) + "\n")
    rows = records(f"jsonl:{path}")
    assert reasons(rows) == ["ok", TOO_DEEP] and rows[1].position == 4
