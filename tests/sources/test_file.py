from __future__ import annotations

import gzip
import io
import json
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
    got = {
        name: list(open_source(f"file:{tmp_path / name}").rows())
        for name in ["a.jsonl", "a.ndjson", "a.csv", "a.json", "a.conll", "a.jsonl.gz", "a.parquet"]
    }
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


# --- content, not extension (issue 15) ------------------------------------------------------------

from brewslm.sources.conll import ConllSource  # noqa: E402
from brewslm.sources.text import TextSource  # noqa: E402

RECORDS = [{"id": i, "title": f"Headline number {i}", "category": ["POLITICS", "SPORTS"][i % 2]} for i in range(12)]
JSONL = "".join(json.dumps(r) + "\n" for r in RECORDS)
CONLL = "".join(f"# sent {i}\nBudi\tB-PER\npergi\tO\nke\tO\nJakarta\tB-LOC\n.\tO\n\n" for i in range(6))
PROSE = "Ein Satz, mit Kommas, und noch mehr.\nNoch ein Satz.\nUnd, schließlich, der dritte, lange Satz hier.\n" * 3


@pytest.mark.parametrize(
    ("name", "data", "kind"),
    [
        ("news.json", JSONL.replace("\n", "\r\n"), JsonlSource),  # JSON lines in a .json (CRLF)
        ("valid-v1.3.json", JSONL, JsonlSource),
        ("records.txt", JSONL, JsonlSource),
        ("train_preprocess.txt", CONLL, ConllSource),  # CoNLL in a .txt
        ("ner_dev.tsv", CONLL, ConllSource),  # CoNLL in a .tsv
        (
            "table.txt",
            "sentence\tlabel\n" + "".join(f"review number {i} here\t{i % 2}\n" for i in range(10)),
            CsvSource,
        ),
        ("tatoeba.deu", PROSE, TextSource),  # prose with commas is not a CSV
        ("doc.jsonl", json.dumps(RECORDS, indent=2), JsonSource),  # pretty-printed document
        ("single.csv", "text\nhello\nworld\n", CsvSource),  # one column: the content says text, the extension csv
    ],
)
def test_content_decides_the_connector(tmp_path: Path, name: str, data: str, kind: type):
    path = tmp_path / name
    path.write_bytes(data.encode())
    source = open_source(f"file:{path}")
    assert isinstance(source, kind)
    assert source.notes[0].startswith("format: ")
    assert list(source.rows())


def test_jsonl_in_json_reads_every_record_exactly(tmp_path: Path):
    path = tmp_path / "data.json"
    path.write_bytes(JSONL.encode("utf-16"))  # and in UTF-16 with a BOM
    source = open_source(f"file:{path}")
    assert list(source.rows()) == RECORDS
    assert "extension .json says json" in source.notes[0] and any("utf-16" in n for n in source.notes)


def test_compressed_parquet_is_named(tmp_path: Path):
    path = tmp_path / "a.parquet.gz"
    buffer = io.BytesIO()
    pq.write_table(pa.table({"x": [1]}), buffer)
    path.write_bytes(gzip.compress(buffer.getvalue()))
    with pytest.raises(SourceError, match="compressed Parquet file"):
        open_source(f"file:{path}")


def test_sniffing_edge_cases(tmp_path: Path):
    lyrics = tmp_path / "song.txt"
    lyrics.write_text("[Verse 1]\nI walked along the river\n[Chorus]\nOh oh oh\n", encoding="utf-8")
    assert isinstance(open_source(f"file:{lyrics}"), TextSource)  # '[' that does not start JSON
    broken = tmp_path / "rows.json"
    broken.write_text(JSONL + '{"id": 99, "title": "cut sho\n' + JSONL, encoding="utf-8")
    source = open_source(f"file:{broken}")
    assert isinstance(source, JsonlSource)  # one broken line is a bad row of JSON lines
    assert sum(1 for r in source.rows() if not isinstance(r, dict)) == 1
    titles = tmp_path / "abstracts.txt"  # headerless title + body, commas inside neither quoted nor short
    titles.write_text(
        "".join(f'Company {i},"An abstract, with commas, number {i}."\n' for i in range(8)), encoding="utf-8"
    )
    assert isinstance(open_source(f"file:{titles}"), CsvSource)


@pytest.mark.parametrize(
    "name, head, kind",
    [
        ("scan.pdf", b"%PDF-1.4 binary", "a PDF document"),
        ("rows.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "a PDF document"),  # the extension does not rescue it
        ("sheet.xlsx", b"PK\x03\x04\x14\x00\x06\x00", "a ZIP container"),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1\x00\x00", "an old Microsoft Office file"),
        ("data.db", b"SQLite format 3\x00\x10\x00", "an SQLite database"),
        ("receipt.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF", "a JPEG image"),
    ],
)
def test_a_document_format_no_connector_reads_is_named_in_one_line(tmp_path: Path, name: str, head: bytes, kind: str):
    path = tmp_path / name
    path.write_bytes(head + b"x" * 100)
    with pytest.raises(SourceError) as error:
        open_source(f"file:{path}")
    message = str(error.value)
    assert kind in message and "export its rows to CSV, JSON Lines or Parquet" in message and "\n" not in message
