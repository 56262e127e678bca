from __future__ import annotations

import csv
import gzip
import io
import os
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brewslm.errors import SourceError
from brewslm.sources import open_source
from brewslm.sources.base import ParseFailure
from brewslm.sources.csv_source import clean_header, guess_has_header, header_decision, sniff_delimiter

HYPOTHESIS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def write(tmp_path: Path, text: str | bytes, name: str = "data.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8") if isinstance(text, str) else text)
    return path


def rows(path: Path, options: str = "") -> list:
    return list(open_source(f"csv:{path}{options}").rows())


def test_header_and_string_cells(tmp_path: Path):
    path = write(tmp_path, "text,label,score\r\nhello world,pos,1\r\n  spaced  ,neg,0.5\r\n")
    assert rows(path) == [
        {"text": "hello world", "label": "pos", "score": "1"},
        {"text": "  spaced  ", "label": "neg", "score": "0.5"},
    ]


def test_quoted_newlines_quotes_and_delimiters(tmp_path: Path):
    path = write(tmp_path, 'text,label\n"line one\nline two, with comma","a ""quoted"" label"\nplain,x\n')
    assert rows(path) == [
        {"text": "line one\nline two, with comma", "label": 'a "quoted" label'},
        {"text": "plain", "label": "x"},
    ]


@pytest.mark.parametrize("delimiter", [";", "\t", "|", ","])
def test_dialect_is_sniffed(tmp_path: Path, delimiter: str):
    body = io.StringIO()
    writer = csv.writer(body, delimiter=delimiter)
    writer.writerow(["sentence", "label"])
    writer.writerow(["one, two; three | four\tfive", "a"])
    for i in range(20):
        writer.writerow([f"row {i}, with commas", "b"])
    path = write(tmp_path, body.getvalue(), "data.txt")
    source = open_source(f"csv:{path}")
    assert source.delimiter == delimiter
    got = list(source.rows())
    assert got[0] == {"sentence": "one, two; three | four\tfive", "label": "a"} and len(got) == 21


def test_tsv_defaults_to_tab_and_delimiter_option_overrides(tmp_path: Path):
    path = write(tmp_path, "a\tb\n1,2\t3\n", "x.tsv")
    assert rows(path) == [{"a": "1,2", "b": "3"}]
    assert list(open_source(f"file:{path}").rows()) == [{"a": "1,2", "b": "3"}]
    other = write(tmp_path, "a;b\n1;2\n", "semi.csv")
    assert rows(other, "?delimiter=semicolon") == [{"a": "1", "b": "2"}]
    with pytest.raises(SourceError, match="must be one character"):
        open_source(f"csv:{other}?delimiter=ab")


def test_bom_is_stripped_from_the_first_header(tmp_path: Path):
    path = write(tmp_path, b"\xef\xbb\xbftext,label\nhi,1\n")
    assert rows(path) == [{"text": "hi", "label": "1"}]


def test_utf16_with_bom_is_read(tmp_path: Path):
    path = write(tmp_path, "text\tlabel\ncafé\t1\n".encode("utf-16"), "excel.txt")
    assert rows(path) == [{"text": "café", "label": "1"}]


def test_ragged_rows_become_sentinels(tmp_path: Path):
    path = write(tmp_path, "a,b\n1,2\n1,2,3\nonly\n\n4,5\n")
    got = rows(path)
    assert got[0] == {"a": "1", "b": "2"} and got[-1] == {"a": "4", "b": "5"}
    assert [(f.position, f.raw, f.error) for f in got[1:3]] == [
        (3, "1,2,3", "row has 3 fields, the header has 2"),
        (4, "only", "row has 1 fields, the header has 2"),
    ]


def test_sentinel_position_is_the_line_where_the_record_starts(tmp_path: Path):
    path = write(tmp_path, 'a,b\n"multi\nline",1\n"x",1,extra\n')
    got = rows(path)
    assert got[0] == {"a": "multi\nline", "b": "1"}
    assert isinstance(got[1], ParseFailure) and got[1].position == 4


def test_truncated_file_inside_a_quote_is_a_sentinel(tmp_path: Path):
    path = write(tmp_path, 'a,b\n1,2\n3,"cut off in the mid')
    got = rows(path)
    assert got[0] == {"a": "1", "b": "2"}
    assert isinstance(got[1], ParseFailure) and got[1].position == 3
    assert "unexpected end of data" in got[1].error


def test_bad_quoting_is_a_sentinel_and_reading_goes_on(tmp_path: Path):
    path = write(tmp_path, 'a,b\n"x"y,1\nok,2\n')
    got = rows(path)
    assert isinstance(got[0], ParseFailure) and got[0].position == 2 and got[0].raw == '"x"y,1\n'
    assert got[1] == {"a": "ok", "b": "2"}


def test_duplicate_and_empty_header_names_are_renamed(tmp_path: Path):
    assert clean_header(["text", "", " label ", "text", "text_4"]) == ["text", "col_2", "label", "text_4", "text_4_5"]
    path = write(tmp_path, "id,text,,text\n1,a,b,c\n")
    assert rows(path) == [{"id": "1", "text": "a", "col_3": "b", "text_4": "c"}]


def test_long_cells_are_read(tmp_path: Path):
    cell = "word " * 100_000  # 500 kB, beyond csv's default field limit
    path = write(tmp_path, f'text,label\n"{cell}",1\n')
    assert rows(path) == [{"text": cell, "label": "1"}]


def test_record_cap_bounds_memory_for_a_long_line_and_an_unbalanced_quote(tmp_path: Path):
    path = tmp_path / "long.csv"
    with open(path, "w", encoding="utf-8") as f:
        f.write("text,label\nshort,1\n")
        f.write("y" * (4 * 1024 * 1024) + ",2\n")
        f.write("after,3\n")
        f.write('"never closed,4\n' + "more,5\n" * 5_000)
    tracemalloc.start()
    try:
        got = rows(path, "?max_record_bytes=20000")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert got[0] == {"text": "short", "label": "1"}
    assert isinstance(got[1], ParseFailure) and got[1].position == 3
    assert got[1].error.startswith("record is longer than 20000 characters")
    assert got[2] == {"text": "after", "label": "3"}
    assert isinstance(got[3], ParseFailure) and got[3].position == 5
    assert all(row == {"text": "more", "label": "5"} for row in got[4:]) and len(got) > 1000
    assert peak < 2 * 1024 * 1024


def test_latin1_file_is_detected_and_the_encoding_option_overrides(tmp_path: Path):
    path = write(tmp_path, "text,label\ncaf\xe9 cr\xe8me,1\n".encode("latin-1"))
    source = open_source(f"csv:{path}")
    assert list(source.rows()) == [{"text": "café crème", "label": "1"}]
    assert source.encoding.codec in ("cp1252", "iso8859-1") and any("encoding: " in n for n in source.notes)
    assert rows(path, "?encoding=latin-1") == [{"text": "café crème", "label": "1"}]
    assert rows(path, "?encoding=koi8-r") == [
        {"text": "caf" + b"\xe9".decode("koi8-r") + " cr" + b"\xe8".decode("koi8-r") + "me", "label": "1"}
    ]
    with pytest.raises(SourceError, match="unknown encoding 'klingon'"):
        open_source(f"csv:{path}?encoding=klingon")


def test_a_bad_byte_far_down_only_spoils_its_row(tmp_path: Path):
    # > 64 KiB of good UTF-8 text (with accents: a file of UTF-8 with one bad byte, not a legacy encoding)
    head = "text,label\n" + "".join(f"row {i} café,a\n" for i in range(10_000))
    path = write(tmp_path, head.encode() + b"bad \xff byte,b\nlast,c\n")
    got = rows(path)
    assert len(got) == 10_002
    assert isinstance(got[-2], ParseFailure) and got[-2].position == 10_002
    assert "?encoding=latin-1" in got[-2].error and "\ufffd" in got[-2].raw
    assert got[-1] == {"text": "last", "label": "c"}


def test_binary_garbage_is_refused(tmp_path: Path):
    path = write(tmp_path, os.urandom(10_000) + b"\x00" * 50)
    with pytest.raises(SourceError, match="holds binary data, not CSV text"):
        open_source(f"csv:{path}")


def test_empty_and_header_only_files_yield_no_rows(tmp_path: Path):
    assert rows(write(tmp_path, "", "empty.csv")) == []
    assert rows(write(tmp_path, "a,b\n", "header.csv")) == []


def test_no_header_detected_when_the_first_row_is_data(tmp_path: Path):
    numeric = write(tmp_path, "1,2,3\n4,5,6\n", "numbers.csv")
    assert rows(numeric) == [{"col_1": "1", "col_2": "2", "col_3": "3"}, {"col_1": "4", "col_2": "5", "col_3": "6"}]
    labelled = write(
        tmp_path,
        "why was my transfer declined?,declined_transfer\nmy card has not arrived,card_arrival\n"
        "the transfer failed again,declined_transfer\n",
        "headerless.csv",
    )
    got = rows(labelled)
    assert len(got) == 3 and got[0] == {"col_1": "why was my transfer declined?", "col_2": "declined_transfer"}
    binary_labels = write(tmp_path, "great movie,1\nawful,0\nfine,1\n", "sst.csv")
    assert rows(binary_labels)[0] == {"col_1": "great movie", "col_2": "1"}


def test_header_option(tmp_path: Path):
    path = write(tmp_path, "text,label\nhi,1\n")
    assert rows(path, "?header=false") == [{"col_1": "text", "col_2": "label"}, {"col_1": "hi", "col_2": "1"}]
    numbers = write(tmp_path, "1,2\n3,4\n", "n.csv")
    assert rows(numbers, "?header=true") == [{"1": "3", "2": "4"}]


def test_header_guess_keeps_real_headers():
    assert guess_has_header([["sentence", "label"], ["good", "1"], ["bad", "0"]])
    assert guess_has_header([["text", "category"], ["a", "x"], ["b", "x"]])
    assert guess_has_header([["Timestamp", "What is your name?"], ["2024-01-01", "Ann"]])  # survey exports
    assert guess_has_header([["only"]])
    assert not guess_has_header([["0.5", "-3"], ["1", "2"]])


def test_sniff_prefers_consistent_columns():
    assert sniff_delimiter("a;b\n1,5;2\n3,1;4\n") == ";"
    assert sniff_delimiter('text,label\n"x; y",1\n') == ","
    assert sniff_delimiter("single column\nvalue\n") == ","


def test_gzip_csv_and_file_dispatch(tmp_path: Path):
    path = write(tmp_path, gzip.compress(b"a,b\n1,2\n"), "x.csv.gz")
    assert list(open_source(f"file:{path}").rows()) == [{"a": "1", "b": "2"}]


def test_missing_path(tmp_path: Path):
    with pytest.raises(SourceError, match=r"^file not found: .*nope\.csv \(locator 'csv:"):
        open_source(f"csv:{tmp_path}/nope.csv")


cells = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30)


@HYPOTHESIS
@given(
    delimiter=st.sampled_from([",", ";", "\t", "|"]),
    body=st.lists(st.tuples(cells, cells, cells), min_size=1, max_size=15),
)
def test_property_csv_writer_rows_round_trip(tmp_path: Path, delimiter: str, body: list[tuple[str, str, str]]):
    header = ["text", "label", "note"]
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(body)
    path = tmp_path / "rt.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    got = list(open_source(f"csv:{path}?header=true&delimiter={'tab' if delimiter == chr(9) else delimiter}").rows())
    expected = [dict(zip(header, row)) for row in body]
    assert got == expected


# Under header=auto a first row whose cells reappear as values in the same column reads as data
# (documented in csv_source); such bodies need ?header=true, which the test above covers.
not_a_header_name = cells.filter(lambda c: c.strip() not in ("text", "label"))


@HYPOTHESIS
@given(body=st.lists(st.tuples(not_a_header_name, not_a_header_name), min_size=3, max_size=15))
def test_property_sniffed_round_trip_with_a_real_header(tmp_path: Path, body: list[tuple[str, str]]):
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(["text", "label"])
    writer.writerows(body)
    path = tmp_path / "sniffed.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8", newline="")
    got = list(open_source(f"csv:{path}").rows())
    assert got == [{"text": a, "label": b} for a, b in body]


# --- header detection and quoting (issue 15) ------------------------------------------------------

TITLES = ["Abbott Ltd", "Schwan-Stabilo", "Q-workshop", "Marvell Software", "Dynamic Air", "Audi of America"]
BODIES = [
    " Abbott of Farnham E D Abbott Limited was a British coachbuilding business based in Farnham Surrey.",
    " Schwan-STABILO is a German maker of pens for writing colouring and cosmetics as well as markers.",
    " Q-workshop is a Polish company located in Poznań that specializes in designing and production of dice.",
    " Marvell Software Solutions Israel known as RADLAN Computer Communications Limited before 2007.",
    " Dynamic Air Engineering is a manufacturer of industrial fans and cooling systems in California.",
    " Audi of America is the American subsidiary of the German automobile manufacturer Audi AG based in Virginia.",
]


def test_headerless_text_columns_are_named_col_n(tmp_path: Path):
    body = "".join(f"{t},{b}\r\n" for t, b in zip(TITLES, BODIES))
    source = open_source(f"csv:{write(tmp_path, body)}")
    assert not source.has_header and source.notes[-1].startswith("no header: row 1 is data")
    assert list(source.rows())[0] == {"col_1": TITLES[0], "col_2": BODIES[0]}
    with_header = write(tmp_path, "title,content\r\n" + body, "named.csv")
    source = open_source(f"csv:{with_header}")
    assert source.has_header and "much shorter" in source.notes[-1]
    assert list(source.rows())[0] == {"title": TITLES[0], "content": BODIES[0]}


def test_header_votes_from_labels_and_numbers():
    rows_ = [["sentence", "label"]] + [[b, ["pos", "neg"][i % 2]] for i, b in enumerate(BODIES * 2)]
    assert guess_has_header(rows_)
    assert not guess_has_header([[b, ["pos", "neg"][i % 2]] for i, b in enumerate(BODIES * 2)])
    assert not guess_has_header(
        [["1", "a title here", BODIES[0]]] + [[str(i), t, b] for i, (t, b) in enumerate(zip(TITLES, BODIES))]
    )


@pytest.mark.parametrize("value", ["yes", "no"])
def test_header_option_yes_no_overrides(tmp_path: Path, value: str):
    path = write(tmp_path, "a,b\n1,2\n")
    got = rows(path, f"?header={value}")
    assert got == (
        [{"a": "1", "b": "2"}] if value == "yes" else [{"col_1": "a", "col_2": "b"}, {"col_1": "1", "col_2": "2"}]
    )


def test_tab_separated_text_with_stray_quotes_reads_one_record_per_line(tmp_path: Path):
    lines = [
        "A very, very slow-moving, aimless movie.  \t0",
        'The so-called "masterpiece" of the year.  \t1',
        'This is one of those faux "masterpieces.  \t0',
        '" The structure of this film is easily the most tightly constructed.  \t1',
        'Loved it "a lot" and "so much".  \t1',
    ] * 4
    path = write(tmp_path, "\n".join(lines) + "\n", "imdb.txt")
    source = open_source(f"tsv:{path}")
    got = list(source.rows())
    assert [r["col_1"] + "\t" + r["col_2"] for r in got] == lines
    assert any(n.startswith("quoting: none") for n in source.notes)
    glued = list(open_source(f"tsv:{path}?quoting=csv").rows())
    assert len(glued) < len(lines)  # the quote rules glue lines together: why auto says none


def test_properly_quoted_tsv_keeps_the_quote_rules(tmp_path: Path):
    body = io.StringIO()
    writer = csv.writer(body, delimiter="\t")
    writer.writerow(["text", "label"])
    for i in range(10):
        writer.writerow([f'He said "hi {i}"\tthen left\nand came back', "a"])
    source = open_source(f"csv:{write(tmp_path, body.getvalue(), 'q.tsv')}")
    assert source.quoting == csv.QUOTE_MINIMAL
    assert list(source.rows())[3] == {"text": 'He said "hi 3"\tthen left\nand came back', "label": "a"}


def test_a_short_first_text_does_not_outvote_a_repeated_label():
    body = [[b, ["pos", "neg"][i % 2]] for i, b in enumerate(BODIES * 2)]
    decided, why = header_decision([["Good!", "pos"]] + body)
    assert decided is False and "repeats in column 2" in why
