from __future__ import annotations

import gzip
import json
import os
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brewslm.errors import SourceError
from brewslm.sources import open_source
from brewslm.sources.base import ParseFailure
from brewslm.sources.jsonl import parse_json_line

HYPOTHESIS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def write(tmp_path: Path, data: bytes, name: str = "data.jsonl") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def rows(path: Path, options: str = "") -> list:
    return list(open_source(f"jsonl:{path}{options}").rows())


def test_objects_stream_in_order_and_blank_lines_are_skipped(tmp_path: Path):
    path = write(tmp_path, b'{"text": "a\\nb", "label": 1}\n\n   \n{"text": "c", "nested": {"x": [1, 2]}}\r\n')
    assert rows(path) == [{"text": "a\nb", "label": 1}, {"text": "c", "nested": {"x": [1, 2]}}]


def test_bad_lines_become_sentinels_with_line_numbers(tmp_path: Path):
    path = write(
        tmp_path,
        b'{"ok": 1}\n{"broken": \n[1, 2]\n"just a string"\n{"bad": "\xff\xfe"}\n' + b"[" * 100_000 + b'\n{"ok": 2}\n',
    )
    got = rows(path, "?encoding=utf-8")  # detection would read this ASCII file with 2 odd bytes as cp1252
    assert got[0] == {"ok": 1} and got[-1] == {"ok": 2}
    failures = got[1:-1]
    assert all(isinstance(f, ParseFailure) for f in failures)
    assert [f.position for f in failures] == [2, 3, 4, 5, 6]
    assert failures[0].error.startswith("invalid JSON: Expecting value")
    assert failures[0].raw == '{"broken": '
    assert failures[1].error == "expected a JSON object, got a list"
    assert failures[2].error == "expected a JSON object, got a string"
    assert failures[3].error.startswith("invalid UTF-8 (byte 0xff")
    assert failures[4].reason == "too_deep" and "levels deep" in failures[4].error
    assert len(failures[4].raw) <= 2001
    for failure in failures:
        assert "\n" not in failure.error


def test_truncated_file_gives_a_sentinel_for_the_cut_line(tmp_path: Path):
    full = b'{"a": 1}\n{"a": 2, "text": "some long text"}\n'
    path = write(tmp_path, full[:-12])
    got = rows(path)
    assert got[0] == {"a": 1}
    assert isinstance(got[1], ParseFailure) and got[1].position == 2


def test_bom_is_ignored(tmp_path: Path):
    path = write(tmp_path, b'\xef\xbb\xbf{"a": 1}\n{"a": 2}\n')
    assert rows(path) == [{"a": 1}, {"a": 2}]


def test_gzip_is_read_transparently(tmp_path: Path):
    path = write(tmp_path, gzip.compress(b'{"a": 1}\n{"a": 2}\n'), "reviews.jsonl.gz")
    source = open_source(f"jsonl:{path}")
    assert list(source.rows()) == [{"a": 1}, {"a": 2}]
    assert source.name == "reviews"


def test_truncated_gzip_is_one_clear_error(tmp_path: Path):
    small = gzip.compress(b"".join(b'{"n": %d}\n' % i for i in range(2000)))
    path = write(tmp_path, small[: len(small) // 2], "small.jsonl.gz")
    with pytest.raises(SourceError, match=r"compressed data ends early \(truncated file\?\)"):
        rows(path)  # noticed while probing the head, when the source is opened
    big = gzip.compress(
        b"".join(b'{"n": %d, "pad": "%s"}\n' % (i, os.urandom(8).hex().encode()) for i in range(40_000))
    )
    path = write(tmp_path, big[: len(big) // 2], "big.jsonl.gz")
    source = open_source(f"jsonl:{path}")
    with pytest.raises(SourceError, match=r"compressed data ends early \(truncated file\?\) after line \d+"):
        list(source.rows())


def test_empty_file_yields_zero_rows(tmp_path: Path):
    assert rows(write(tmp_path, b"")) == []
    assert rows(write(tmp_path, b"\n\n  \n", "blank.jsonl")) == []


def test_missing_path_is_one_line_error(tmp_path: Path):
    with pytest.raises(SourceError) as info:
        open_source(f"jsonl:{tmp_path}/missing.jsonl")
    assert str(info.value) == f"file not found: {tmp_path}/missing.jsonl (locator 'jsonl:{tmp_path}/missing.jsonl')"


def test_binary_garbage_is_refused(tmp_path: Path):
    path = write(tmp_path, os.urandom(20_000) + b"\x00" * 100, "garbage.jsonl")
    with pytest.raises(SourceError, match="holds binary data, not JSON lines"):
        open_source(f"jsonl:{path}")


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-8-sig", "cp1252"])
def test_other_encodings_are_detected(tmp_path: Path, codec: str):
    prose = [
        "Le café était déjà servi à la crème, très apprécié.",
        "Où est la fenêtre? Elle s'ouvre sur le jardin.",
        "Noël approche: les enfants préparent des gâteaux.",
        "Il a reçu une lettre de sa sœur hier soir.",
    ]
    records = [{"a": i, "text": prose[i % 4]} for i in range(30)]
    path = write(tmp_path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records).encode(codec))
    source = open_source(f"jsonl:{path}")
    assert list(source.rows()) == records
    assert source.notes and source.notes[0].startswith("encoding: ")


def test_long_line_becomes_a_sentinel_and_reading_goes_on(tmp_path: Path):
    path = tmp_path / "long.jsonl"
    with open(path, "wb") as f:
        f.write(b'{"i": 1}\n{"text": "')
        for _ in range(8):
            f.write(b"x" * (1024 * 1024))
        f.write(b'"}\n{"i": 3}\n')
    tracemalloc.start()
    try:
        got = rows(path, "?max_record_bytes=100000")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got[0] == {"i": 1} and got[2] == {"i": 3}
    assert isinstance(got[1], ParseFailure) and got[1].position == 2
    assert got[1].error.startswith("line is longer than 100000 bytes (8388620 bytes)")
    assert peak < 2 * 1024 * 1024
    # the same line within a larger cap is a normal row
    assert len(rows(path, "?max_record_bytes=9000000")[1]["text"]) == 8 * 1024 * 1024


def test_a_pretty_printed_json_document_points_to_json(tmp_path: Path):
    path = write(tmp_path, json.dumps([{"a": 1}, {"a": 2}], indent=2).encode(), "doc.jsonl")
    with pytest.raises(SourceError, match=r"one JSON document spread over many lines.*read it with json:"):
        open_source(f"jsonl:{path}")


def test_ndjson_scheme_and_unknown_option(tmp_path: Path):
    path = write(tmp_path, b'{"a": 1}\n', "x.ndjson")
    assert list(open_source(f"ndjson:{path}").rows()) == [{"a": 1}]
    with pytest.raises(SourceError, match="unknown option 'foo'"):
        open_source(f"jsonl:{path}?foo=1")


def test_sample_reads_a_prefix(tmp_path: Path):
    path = write(tmp_path, b"".join(b'{"n": %d}\n' % i for i in range(500)))
    sample = open_source(f"jsonl:{path}").sample(100)
    assert len(sample) == 100 and sample[0] == {"n": 0}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@HYPOTHESIS
@given(records=st.lists(st.dictionaries(st.text(max_size=10), json_values, max_size=5), max_size=20))
def test_property_objects_round_trip(tmp_path: Path, records: list[dict]):
    path = tmp_path / "rt.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    assert rows(path) == records


@HYPOTHESIS
@given(lines=st.lists(st.binary(max_size=60).filter(lambda b: b"\n" not in b and b"\r" not in b), max_size=25))
def test_property_garbage_lines_never_raise_and_are_accounted_for(tmp_path: Path, lines: list[bytes]):
    path = tmp_path / "garbage.jsonl"
    path.write_bytes(b"\n".join(lines))
    try:
        got = rows(path, "?encoding=utf-8")  # (undecodable UTF-8 is what is tested, not detection)
    except SourceError:  # a file that is binary as a whole is refused with one clear error
        return
    numbered = [(i, line) for i, line in enumerate(lines, start=1) if line.strip()]
    if numbered and numbered[0][0] == 1 and numbered[0][1].startswith(b"\xef\xbb\xbf"):
        numbered[0] = (1, numbered[0][1][3:])
        numbered = [(i, line) for i, line in numbered if line.strip()]
    assert len(got) == len(numbered)
    for (lineno, line), row in zip(numbered, got):
        if isinstance(row, ParseFailure):
            assert row.position == lineno and "\n" not in row.error
        else:
            assert isinstance(row, dict) and row == json.loads(line.decode("utf-8"))


@given(line=st.text(max_size=80))
@settings(max_examples=200, deadline=None)
def test_property_parse_json_line_never_raises(line: str):
    result = parse_json_line(line.encode("utf-8", "surrogatepass"), 7)
    assert isinstance(result, (dict, ParseFailure))
