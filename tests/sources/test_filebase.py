from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import tracemalloc
from pathlib import Path

import pytest

from brewslm.errors import SourceError
from brewslm.sources import open_source
from brewslm.sources.base import Locator
from brewslm.sources.filebase import (
    bool_option,
    check_options,
    dataset_name_for,
    format_suffix,
    int_option,
    jsonable,
    looks_binary,
    open_binary,
    read_lines_capped,
    resolve_file,
)


def lines_of(data: bytes, cap: int) -> list[tuple[int, bytes, int | None]]:
    return list(read_lines_capped(io.BufferedReader(io.BytesIO(data)), cap))


def test_lines_strip_line_ends_and_count_from_one():
    assert lines_of(b"a\r\nb\n\nc", 100) == [(1, b"a", None), (2, b"b", None), (3, b"", None), (4, b"c", None)]


def test_line_exactly_at_the_cap_is_whole():
    assert lines_of(b"x" * 10 + b"\nok\n", 10) == [(1, b"x" * 10, None), (2, b"ok", None)]


def test_overlong_line_is_cut_and_skipped_to_its_newline():
    got = lines_of(b"short\n" + b"y" * 1000 + b"\nafter\n" + b"z" * 50, 20)
    assert got[0] == (1, b"short", None)
    assert got[1] == (2, b"y" * 20, 1000)
    assert got[2] == (3, b"after", None)
    assert got[3] == (4, b"z" * 20, 50)


def test_overlong_line_memory_is_bounded_by_the_cap(tmp_path: Path):
    path = tmp_path / "big.jsonl"
    with open(path, "wb") as f:
        f.write(b'{"a": 1}\n"')
        for _ in range(16):
            f.write(b"q" * (1024 * 1024))  # a 16 MiB line
        f.write(b'"\n{"b": 2}\n')
    cap = 64 * 1024
    tracemalloc.start()
    try:
        with open_binary(path) as stream:
            got = [(n, len(line), over) for n, line, over in read_lines_capped(stream, cap)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got == [(1, 8, None), (2, cap, 16 * 1024 * 1024 + 2), (3, 8, None)]
    assert peak < 1024 * 1024, f"peak {peak} bytes while reading a 16 MiB line with a 64 KiB cap"


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress, lzma.compress])
def test_open_binary_decompresses_by_magic_bytes(tmp_path: Path, compress):
    path = tmp_path / "data.bin"  # no telling suffix: the magic bytes decide
    path.write_bytes(compress(b"hello\nworld\n"))
    with open_binary(path) as stream:
        assert stream.read() == b"hello\nworld\n"


def test_looks_binary():
    assert looks_binary(os.urandom(4096) + b"\x00" * 10)
    assert looks_binary("text".encode("utf-16-le") * 100)
    assert not looks_binary(b'{"a": 1}\n' * 100)
    assert not looks_binary(b'{"a": 1}\n' * 100 + b"\x00" + b'{"b": 2}\n' * 100)  # one stray NUL is still text


def test_missing_path_directory_and_empty_target(tmp_path: Path):
    with pytest.raises(SourceError, match=r"file not found: .*nope\.jsonl \(locator 'jsonl:.*nope\.jsonl'\)"):
        resolve_file(Locator.parse(f"jsonl:{tmp_path}/nope.jsonl"))
    with pytest.raises(SourceError, match="is a directory, not a file"):
        resolve_file(Locator.parse(f"csv:{tmp_path}"))
    with pytest.raises(SourceError, match="has no '<scheme>:' prefix|names no file"):
        resolve_file(Locator(scheme="csv", target="  ", raw="csv:  "))


def test_a_named_pipe_is_refused_not_read_as_empty(tmp_path: Path):
    pipe = tmp_path / "stream.jsonl"
    os.mkfifo(pipe)  # nobody writes to it: reading it would block, and an import reads its source twice
    with pytest.raises(
        SourceError, match=r"stream\.jsonl is not a regular file \(a pipe or device\); write the stream"
    ):
        open_source(f"jsonl:{pipe}")


@pytest.mark.skipif(os.geteuid() == 0, reason="root can read any file")
def test_unreadable_file(tmp_path: Path):
    path = tmp_path / "secret.csv"
    path.write_text("a\n1\n")
    path.chmod(0)
    with pytest.raises(SourceError, match="permission denied"):
        resolve_file(Locator.parse(f"csv:{path}"))


def test_options_are_checked_and_parsed():
    loc = Locator.parse("jsonl:/x?max_record_bytes=12&header=no&bogus=1")
    with pytest.raises(SourceError, match="unknown option 'bogus'.*accept: header, max_record_bytes"):
        check_options(loc, {"max_record_bytes": "", "header": ""})
    assert int_option(loc, "max_record_bytes", 5) == 12
    assert int_option(loc, "absent", 5) == 5
    assert bool_option(loc, "header", None) is False
    with pytest.raises(SourceError, match="not a whole number"):
        int_option(Locator.parse("jsonl:/x?n=abc"), "n", 1)
    with pytest.raises(SourceError, match="must be at least 1"):
        int_option(Locator.parse("jsonl:/x?n=0"), "n", 1)
    with pytest.raises(SourceError, match="true, false or auto"):
        bool_option(Locator.parse("csv:/x?header=maybe"), "header", None)


def test_dataset_names_and_suffixes():
    assert dataset_name_for(Path("/d/intent_banking77/train.csv")) == "intent_banking77_train"
    assert dataset_name_for(Path("/d/qa_squad2/dev-v2.0.json")) == "qa_squad2_dev-v2.0"
    assert dataset_name_for(Path("/d/x/reviews.jsonl.gz")) == "reviews"
    assert dataset_name_for(Path("/d/x/my file (1).csv")) == "my_file_1"
    assert format_suffix(Path("a.JSONL.gz")) == ".jsonl"
    assert format_suffix(Path("a.csv")) == ".csv"


def test_file_sources_have_a_fingerprint_that_changes_with_the_file(tmp_path: Path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"a": 1}\n')
    before = open_source(f"jsonl:{path}").fingerprint()
    assert before and before.startswith("sha256:")  # the bytes, not size + mtime
    path.write_text('{"a": 1}\n{"a": 2}\n')
    assert open_source(f"jsonl:{path}").fingerprint() != before
    path.write_text('{"a": 1}\n')  # the same bytes again: the same source
    assert open_source(f"jsonl:{path}").fingerprint() == before


def test_jsonable_converts_arrow_values():
    import datetime as dt
    import decimal

    import numpy as np

    value = {
        "when": dt.datetime(2024, 1, 2, 3, 4, 5),
        "day": dt.date(2024, 1, 2),
        "price": decimal.Decimal("2.50"),
        "count": decimal.Decimal("3"),
        "pair": (1, 2),
        "text": b"caf\xc3\xa9",
        "blob": b"\xff\x00",
        "np": np.int64(7),
        "arr": np.array([1.5, 2.5]),
        "took": dt.timedelta(seconds=90),
    }
    assert jsonable(value) == {
        "when": "2024-01-02T03:04:05",
        "day": "2024-01-02",
        "price": 2.5,
        "count": 3,
        "pair": [1, 2],
        "text": "café",
        "blob": b"\xff\x00",
        "np": 7,
        "arr": [1.5, 2.5],
        "took": 90.0,
    }


# --- text encodings (issue 15) --------------------------------------------------------------------

from brewslm.sources.filebase import EncodingChoice, Utf8Transcoder, detect_encoding  # noqa: E402

FRENCH = "Le café était déjà servi à la crème, très apprécié. Où est la fenêtre? Noël approche, sa sœur arrive.\n" * 20


@pytest.mark.parametrize(
    ("data", "codec", "bom"),
    [
        ("\ufeff" + FRENCH, "utf-8", 3),
        (FRENCH, "utf-16", 2),
        (FRENCH, "utf-16-be", 0),
        (FRENCH, "utf-16-le", 0),
        (FRENCH, "utf-32", 4),
        (FRENCH, "utf-8", 0),
        (FRENCH, "cp1252", 0),
    ],
)
def test_detect_encoding(data: str, codec: str, bom: int):
    raw = data.encode("utf-8" if data.startswith("\ufeff") else codec)
    choice = detect_encoding(raw, complete=True)
    expected = {"utf-16": "utf-16-le", "utf-32": "utf-32-le"}.get(codec, codec)
    assert (choice.codec, choice.bom) == (expected, bom) and choice.why
    assert raw[choice.bom :].decode(choice.codec) == data.lstrip("\ufeff")


def test_detect_encoding_other_scripts_and_ascii():
    assert detect_encoding(b"plain ascii\n" * 10).codec == "utf-8"
    russian = ("Привет, как дела? Это длинный текст на русском языке о погоде и о книгах. " * 10).encode("cp1251")
    assert detect_encoding(russian, complete=True).codec == "cp1251"
    # a UTF-8 file with one bad byte stays UTF-8 (that row is rejected), it is not re-read as cp1252
    mostly = ("déjà vu, café crème\n" * 50).encode() + b"caf\xe9\n"
    assert detect_encoding(mostly, complete=True).codec == "utf-8"
    # a multi-byte character cut at the end of a probe is not an error
    assert detect_encoding("é".encode() * 10 + "é".encode()[:1], complete=False).codec == "utf-8"


def test_transcoder_streams_utf8_and_marks_undecodable_bytes_invalid():
    data = ("ligne très longue " * 5000 + "\n").encode("utf-16-le") * 3
    stream = io.BufferedReader(Utf8Transcoder(io.BytesIO(data), "utf-16-le"))  # type: ignore[arg-type]
    assert stream.read() == data.decode("utf-16-le").encode("utf-8")
    bad = io.BufferedReader(Utf8Transcoder(io.BytesIO(b"ok \x81 ok\n"), "cp1252"))  # 0x81: undefined in cp1252
    out = bad.read()
    with pytest.raises(UnicodeDecodeError):
        out.decode("utf-8")
    assert out.startswith(b"ok ") and out.endswith(b" ok\n")


def test_encoding_option_and_note(tmp_path: Path):
    path = tmp_path / "a.jsonl"
    path.write_bytes('{"t": "Müller"}\n'.encode("latin-1"))
    source = open_source(f"jsonl:{path}?encoding=latin-1")
    assert source.encoding == EncodingChoice("iso8859-1", 0, "given with ?encoding=")
    assert list(source.rows()) == [{"t": "Müller"}] and source.notes == ["encoding: iso8859-1 (given with ?encoding=)"]
    with pytest.raises(SourceError, match="unknown encoding 'martian'"):
        open_source(f"jsonl:{path}?encoding=martian")
    with pytest.raises(SourceError, match="unknown option 'encoding'"):
        open_source(f"parquet:{path}?encoding=utf-8")  # a binary format has no text encoding


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_bom_and_few_ascii_characters_is_found_by_its_line_breaks(codec: str):
    text = "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。\n" * 20
    assert detect_encoding(text.encode(codec), complete=True).codec == codec
