from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from brewslm.errors import SourceError
from brewslm.sources import open_source
from brewslm.sources.csv_source import CsvSource
from brewslm.sources.file import format_for
from brewslm.sources.json_source import JsonSource
from brewslm.sources.jsonl import JsonlSource


def test_dispatch_by_extension(tmp_path: Path):
    (tmp_path / "a.jsonl").write_text('{"x": 1}\n')
    (tmp_path / "a.ndjson").write_text('{"x": 2}\n')
    (tmp_path / "a.csv").write_text("x\n3\n")
    (tmp_path / "a.json").write_text('[{"x": 4}]')
    (tmp_path / "a.conll").write_text("w\tO\n")
    (tmp_path / "a.jsonl.gz").write_bytes(gzip.compress(b'{"x": 5}\n'))
    pq.write_table(pa.table({"x": [6]}), tmp_path / "a.parquet")
    got = {name: list(open_source(f"file:{tmp_path / name}").rows()) for name in
           ["a.jsonl", "a.ndjson", "a.csv", "a.json", "a.conll", "a.jsonl.gz", "a.parquet"]}
    assert got == {
        "a.jsonl": [{"x": 1}],
        "a.ndjson": [{"x": 2}],
        "a.csv": [{"x": "3"}],
        "a.json": [{"x": 4}],
        "a.conll": [{"id": "a.conll:1", "tokens": ["w"], "tags": ["O"]}],
        "a.jsonl.gz": [{"x": 5}],
        "a.parquet": [{"x": 6}],
    }
    assert isinstance(open_source(f"file:{tmp_path / 'a.jsonl'}"), JsonlSource)
    assert isinstance(open_source(f"file:{tmp_path / 'a.csv'}"), CsvSource)
    assert isinstance(open_source(f"file:{tmp_path / 'a.json'}"), JsonSource)


def test_options_pass_through_and_errors_name_the_file_locator(tmp_path: Path):
    path = tmp_path / "semi.csv"
    path.write_text("a;b\n1;2\n")
    assert list(open_source(f"file:{path}?delimiter=;").rows()) == [{"a": "1", "b": "2"}]
    with pytest.raises(SourceError, match=r"unknown option 'nope' in locator 'file:.*semi\.csv\?nope=1'"):
        open_source(f"file:{path}?nope=1")


def test_unknown_binary_content_lists_the_supported_ones(tmp_path: Path):
    path = tmp_path / "notes.docx"
    path.write_bytes(bytes(range(256)) * 16)
    with pytest.raises(SourceError) as info:
        open_source(f"file:{path}")
    message = str(info.value)
    assert "cannot tell the format" in message and ".jsonl" in message and ".parquet" in message and "jsonl:" in message
    assert format_for(Path("x.parquet.gz")) is None and format_for(Path("x.TSV")) == "csv"


def test_missing_file_and_directory(tmp_path: Path):
    with pytest.raises(SourceError, match=r"^file not found: .*gone\.docx \(locator 'file:"):
        open_source(f"file:{tmp_path}/gone.docx")
    with pytest.raises(SourceError, match="is a directory"):
        open_source(f"file:{tmp_path}")
