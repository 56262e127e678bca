"""Fidelity of the file sources (issue 15): random unicode cells, lines and tokens written in
random encodings (and CSV dialects) read back exactly equal.

Encodings with a byte-order mark (utf-8-sig, utf-16, utf-32) and plain UTF-8 are detected; cp1252
is given with ``?encoding=`` (a short random text in a legacy encoding is ambiguous by nature:
which code page it is cannot be told from a few random characters, only from real prose)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brewslm.sources import open_source

FIDELITY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
ENCODINGS = ["utf-8", "utf-8-sig", "utf-16", "utf-32", "cp1252"]

# any character but controls, surrogates and U+FEFF (a byte-order mark at the start of a file is
# taken as one, by design); plus the characters that matter to the formats
CHARS = st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\ufeff")
SPECIAL = st.sampled_from(list("\"',;|[]{}: \t\n#") + ["[Verse 1]", '{"a": 1}', "0", "1.5", "null", "  "])
CELL = st.lists(st.one_of(CHARS, SPECIAL), max_size=12).map("".join)


def representable(text: str, codec: str) -> bool:
    try:
        text.encode(codec)
    except UnicodeEncodeError:
        return False
    return True


def encode(text: str, codec: str) -> tuple[bytes, str]:
    """The bytes and the locator option for ``codec`` (given only where detection cannot know)."""
    return text.encode(codec), ("encoding=cp1252" if codec == "cp1252" else "")


def locator(scheme: str, path: Path, *options: str) -> str:
    opts = "&".join(o for o in options if o)
    return f"{scheme}:{path}" + (f"?{opts}" if opts else "")


@FIDELITY
@given(
    rows=st.lists(st.tuples(CELL, CELL), min_size=1, max_size=15),
    delimiter=st.sampled_from([",", ";", "|", "\t"]),
    quoting=st.sampled_from([csv.QUOTE_MINIMAL, csv.QUOTE_ALL]),
    codec=st.sampled_from(ENCODINGS),
    crlf=st.booleans(),
    quote_rules=st.sampled_from(["quoting=csv", ""]),  # "": auto must see that the writer's quotes wrap fields
)
def test_csv_cells_read_back_exactly(tmp_path: Path, rows, delimiter, quoting, codec, crlf, quote_rules):
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, quoting=quoting, lineterminator="\r\n" if crlf else "\n")
    writer.writerow(["text", "label"])
    writer.writerows(rows)
    text = out.getvalue()
    if not representable(text, codec):
        codec = "utf-8"
    data, option = encode(text, codec)
    path = tmp_path / "data.csv"
    path.write_bytes(data)
    name = {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe"}[delimiter]
    got = list(open_source(locator("csv", path, option, f"delimiter={name}", "header=yes", quote_rules)).rows())
    assert got == [{"text": a, "label": b} for a, b in rows]


@FIDELITY
@given(
    records=st.lists(
        st.fixed_dictionaries({"text": CELL, "n": st.integers(), "tags": st.lists(CELL, max_size=3)}),
        min_size=1,
        max_size=15,
    ),
    codec=st.sampled_from(ENCODINGS),
    ascii_only=st.booleans(),
)
def test_jsonl_records_read_back_exactly(tmp_path: Path, records, codec, ascii_only):
    text = "".join(json.dumps(r, ensure_ascii=ascii_only) + "\n" for r in records)
    if not representable(text, codec):
        codec = "utf-8"
    data, option = encode(text, codec)
    path = tmp_path / "data.jsonl"
    path.write_bytes(data)
    assert list(open_source(locator("jsonl", path, option)).rows()) == records


LINE = CELL.map(lambda s: s.replace("\n", " ").replace("\r", " ")).filter(lambda s: s.strip() != "")


@FIDELITY
@given(lines=st.lists(LINE, min_size=1, max_size=20), codec=st.sampled_from(ENCODINGS))
def test_text_lines_read_back_exactly(tmp_path: Path, lines, codec):
    text = "\n".join(lines) + "\n"
    if not representable(text, codec):
        codec = "utf-8"
    data, option = encode(text, codec)
    path = tmp_path / "lines.txt"
    path.write_bytes(data)
    assert list(open_source(locator("text", path, option, "unit=line")).rows()) == [{"text": x} for x in lines]


@FIDELITY
@given(
    blocks=st.lists(st.lists(LINE, min_size=1, max_size=4), min_size=1, max_size=8), codec=st.sampled_from(ENCODINGS)
)
def test_text_paragraphs_read_back_as_their_lines_joined_with_newline(tmp_path: Path, blocks, codec):
    paragraphs = ["\n".join(block) for block in blocks]
    text = "\n\n".join(paragraphs) + "\n"
    if not representable(text, codec):
        codec = "utf-8"
    data, option = encode(text, codec)
    path = tmp_path / "book.txt"
    path.write_bytes(data)
    got = list(open_source(locator("text", path, option, "unit=paragraph")).rows())
    assert got == [{"text": p} for p in paragraphs]


TOKEN = st.text(CHARS, min_size=1, max_size=8).filter(lambda s: s.split() == [s] and s != "-DOCSTART-")
TAG = st.sampled_from(["O", "B-PER", "I-PER", "B-LOC", "I-LOC", "B-ORG"])


@FIDELITY
@given(
    sentences=st.lists(st.lists(st.tuples(TOKEN, TAG), min_size=1, max_size=8), min_size=1, max_size=8),
    codec=st.sampled_from(ENCODINGS),
)
def test_conll_tokens_read_back_exactly(tmp_path: Path, sentences, codec):
    text = "".join("".join(f"{tok}\t{tag}\n" for tok, tag in s) + "\n" for s in sentences)
    if not representable(text, codec):
        codec = "utf-8"
    data, option = encode(text, codec)
    path = tmp_path / "data.conll"
    path.write_bytes(data)
    got = list(open_source(locator("conll", path, option)).rows())
    assert [(r["tokens"], r["tags"]) for r in got] == [([t for t, _ in s], [g for _, g in s]) for s in sentences]


@FIDELITY
@given(
    records=st.lists(st.fixed_dictionaries({"text": CELL, "label": CELL}), min_size=1, max_size=10),
    codec=st.sampled_from(ENCODINGS),
    indent=st.sampled_from([None, 2]),
)
def test_json_documents_in_any_encoding_read_back_exactly(tmp_path: Path, records, codec, indent):
    # json: reads the UTF-8 stream filebase gives every text connector (issue 15: json: had no encoding)
    text = json.dumps(records, ensure_ascii=False, indent=indent)
    if not representable(text, codec):
        codec = "utf-8"
    data, option = encode(text, codec)
    path = tmp_path / "data.json"
    path.write_bytes(data)
    assert list(open_source(locator("json", path, option)).rows()) == records
