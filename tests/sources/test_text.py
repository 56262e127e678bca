"""text: plain text, one record per line or per (hard-wrapped) paragraph (issue 15)."""

from __future__ import annotations

import gzip
import textwrap
from pathlib import Path

import pytest

from brewslm.errors import SourceError
from brewslm.sources import open_source
from brewslm.sources.base import ParseFailure
from brewslm.sources.text import paragraph_evidence

PROSE = [
    "Il était une fois, dans un pays lointain, un jeune homme qui rêvait de voir la mer depuis "
    "sa plus tendre enfance et qui partit un matin sans rien dire à personne.",
    "   Un poème indenté, gardé tel quel.",
    "La route fut longue: des forêts, des rivières, des villages dont il ne retint jamais le nom, "
    "et des auberges où l'on parlait une langue qu'il ne comprenait qu'à moitié.",
    "CHAPITRE II.",
    "Quand enfin il arriva sur la côte, le vent soufflait si fort qu'il dut s'accrocher aux "
    "rochers pour ne pas tomber; il resta là jusqu'au soir, à regarder les vagues.",
]


def wrapped(paragraphs: list[str], width: int = 60) -> list[str]:
    """Each paragraph hard-wrapped at ``width`` (indentation of a short one kept as it is)."""
    return [p if len(p) <= width else "\n".join(textwrap.wrap(p, width)) for p in paragraphs]


def write(tmp_path: Path, data: bytes, name: str = "book.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def rows(path: Path, options: str = "") -> list:
    return list(open_source(f"text:{path}{options}").rows())


def test_hard_wrapped_prose_is_read_per_paragraph_with_its_lines_joined_by_newline(tmp_path: Path):
    paragraphs = wrapped(PROSE)
    path = write(tmp_path, ("\n\n".join(paragraphs) + "\n").encode())
    source = open_source(f"text:{path}")
    assert source.unit == "paragraph" and any("one per paragraph" in n for n in source.notes)
    assert list(source.rows()) == [{"text": p} for p in paragraphs]


def test_one_sentence_per_line_is_read_per_line(tmp_path: Path):
    lines = ["Maria sagte, sie wisse nicht, wo Tom sei.", "Ich habe Hunger.", '"Ja", sagte er.', "  eingerückt  "]
    path = write(tmp_path, ("\n".join(lines) + "\n\n\n").encode())
    source = open_source(f"text:{path}")
    assert source.unit == "line"
    assert list(source.rows()) == [{"text": line} for line in lines]  # exactly, spaces kept


def test_unit_option_overrides_and_crlf_lines(tmp_path: Path):
    paragraphs = wrapped(PROSE)
    path = write(tmp_path, "\r\n\r\n".join(paragraphs).replace("\n", "\r\n").replace("\r\r", "\r").encode())
    assert rows(path, "?unit=paragraph") == [{"text": p} for p in paragraphs]  # joined with "\n"
    by_line = rows(path, "?unit=line")
    assert by_line == [{"text": line} for p in paragraphs for line in p.split("\n")]
    with pytest.raises(SourceError, match="must be line, paragraph or auto"):
        open_source(f"text:{path}?unit=word")


def test_blank_line_separated_short_lines_stay_lines(tmp_path: Path):
    # song lyrics / lists: blocks, but the lines are not wrapped at a common width
    text = "Oh\nla la\nun deux trois quatre cinq six sept\n\nno\nyes maybe so\nfin\n"
    assert paragraph_evidence(text.split("\n"))[0] is False
    assert [r["text"] for r in rows(write(tmp_path, text.encode()))] == [line for line in text.split("\n") if line]


@pytest.mark.parametrize("codec", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "cp1252"])
def test_encodings_are_detected_and_named(tmp_path: Path, codec: str):
    paragraphs = wrapped(PROSE)
    path = write(tmp_path, ("\n\n".join(paragraphs) + "\n").encode(codec))
    source = open_source(f"text:{path}")
    assert list(source.rows()) == [{"text": p} for p in paragraphs]
    expected = {"utf-8-sig": "utf-8", "utf-16": "utf-16-le", "utf-32": "utf-32-le"}.get(codec, codec)
    assert source.notes[0].startswith(f"encoding: {expected} (")


def test_bad_bytes_reject_only_their_record_and_gzip_is_read(tmp_path: Path):
    good = "première ligne\ndeuxième ligne\n".encode() * 20
    path = write(tmp_path, good + b"caf\xff\n" + "dernière\n".encode())
    got = rows(path, "?unit=line")
    assert isinstance(got[-2], ParseFailure) and got[-2].position == 41 and "UTF-8" in got[-2].error
    assert got[-1] == {"text": "dernière"} and len(got) == 42
    packed = write(tmp_path, gzip.compress("a line\nanother one\n".encode()), "lines.txt.gz")
    assert rows(packed) == [{"text": "a line"}, {"text": "another one"}]


def test_overlong_paragraph_and_binary_and_empty(tmp_path: Path):
    long_block = "\n".join(["x" * 50] * 30)
    path = write(tmp_path, f"short one\nand two\n\n{long_block}\n\nlast\nblock\n".encode())
    got = rows(path, "?unit=paragraph&max_record_bytes=500")
    assert got[0] == {"text": "short one\nand two"}
    assert isinstance(got[1], ParseFailure) and got[1].position == 4 and "longer than 500" in got[1].error
    assert got[2] == {"text": "last\nblock"}
    assert rows(write(tmp_path, b"", "empty.txt")) == []
    with pytest.raises(SourceError, match="binary data"):
        open_source(f"text:{write(tmp_path, bytes(range(256)) * 40, 'bin.txt')}")
