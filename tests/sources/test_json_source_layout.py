"""Where the records of a JSON document are (issue 15, classes 3, 4 and 6): arrays of records
under any key, objects keyed by id, named arrays by split, parallel lists, JSON Lines in a
``.json`` file. Fixtures are written here; none comes from the corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brewslm.errors import SourceError
from brewslm.sources import json_source, open_source
from brewslm.sources.base import ParseFailure


def write(tmp_path: Path, value, name: str = "doc.json") -> Path:
    path = tmp_path / name
    path.write_bytes(value if isinstance(value, bytes) else json.dumps(value, indent=2).encode())
    return path


def read(locator: str) -> tuple[list, list[str]]:
    source = open_source(locator)
    return list(source.rows()), source.notes


def examples(n: int) -> list[dict]:
    return [
        {"text": f"The kettle number {i} boils water in {i % 7 + 2} minutes.", "label": ["fast", "slow"][i % 2]}
        for i in range(n)
    ]


# --- class 3: records under a nested key -------------------------------------------------------


def test_records_under_a_nested_key_are_found_and_named(tmp_path: Path):
    doc = {
        "meta": {"authors": [{"name": "Ann"}, {"name": "Bo"}], "version": 3, "note": "x" * 50},
        "data": {"examples": examples(312)},
    }
    path = write(tmp_path, doc)
    rows, notes = read(f"json:{path}")
    assert rows == examples(312)  # the records, nothing added
    assert "records at data.examples (312 records)" in notes
    assert any(n.startswith("other collections") and "meta.authors (2 items)" in n for n in notes)
    assert any("?path=data.examples" in n for n in notes)
    # ?path= still decides
    assert read(f"json:{path}?path=meta.authors")[0] == [{"name": "Ann"}, {"name": "Bo"}]
    assert read(f"json:{path}?path=data.examples")[0] == examples(312)


def test_the_largest_collection_wins_over_a_longer_list_of_words(tmp_path: Path):
    doc = {"vocabulary": [f"w{i}" for i in range(400)], "corpus": {"train": examples(60)}}
    rows, notes = read(f"json:{write(tmp_path, doc)}")
    assert rows == examples(60) and "records at corpus.train (60 records)" in notes


def test_settings_beside_a_records_key_keep_the_split_field(tmp_path: Path):
    """One array at the top level: read as before (its name in 'split'), settings ignored."""
    doc = {"instruction": "Answer the question.", "sep": "\n\n", "demos": examples(4)}
    rows, notes = read(f"json:{write(tmp_path, doc)}")
    assert rows == [{**r, "split": "demos"} for r in examples(4)]
    assert notes[-1].startswith("records at demos (4 records)")


def test_no_collection_at_all_is_one_line(tmp_path: Path):
    path = write(tmp_path, {"meta": {"a": 1}, "b": {"c": "d"}})
    with pytest.raises(
        SourceError, match="holds an object without any array of records at the top level; its keys: meta, b"
    ):
        open_source(f"json:{path}")


def test_a_long_document_scan_stops_early_and_reads_everything(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(json_source, "SCAN_EVENTS", 500)
    doc = {"meta": {"n": 1}, "payload": {"records": examples(400)}, "tail": [{"x": 1}]}
    rows, notes = read(f"json:{write(tmp_path, doc)}")
    assert rows == examples(400)
    assert any(n.startswith("records at payload.records (at least ") for n in notes)


# --- class 4: objects keyed by id --------------------------------------------------------------


def keyed(n: int, with_id: bool = False) -> dict:
    return {
        str(16418930 + i): {
            **({"id": f"own{i}"} if with_id else {}),
            "QUESTION": f"Does drug {i} help?",
            "CONTEXTS": [f"Study {i} found an effect.", "Another passage."],
            "decision": "yes",
        }
        for i in range(n)
    }


def test_an_object_keyed_by_id_is_read_with_the_key_as_id(tmp_path: Path):
    rows, notes = read(f"json:{write(tmp_path, keyed(30))}")
    assert len(rows) == 30
    assert rows[0] == {
        "id": "16418930",
        "QUESTION": "Does drug 0 help?",
        "CONTEXTS": ["Study 0 found an effect.", "Another passage."],
        "decision": "yes",
    }
    assert any(n.startswith("records keyed by id at the top level (30 entries") and "'id'" in n for n in notes)


def test_records_with_their_own_id_get_the_key_in_a_free_field(tmp_path: Path):
    rows, notes = read(f"json:{write(tmp_path, keyed(5, with_id=True))}")
    assert rows[0]["key"] == "16418930" and rows[0]["id"] == "own0"
    assert any("in 'key'" in n and "their own 'id'" in n for n in notes)


def test_a_keyed_object_under_a_key_and_the_explicit_option(tmp_path: Path):
    doc = {"version": "1.0", "results": keyed(8)}
    path = write(tmp_path, doc)
    rows, notes = read(f"json:{path}")
    assert [r["id"] for r in rows] == [str(16418930 + i) for i in range(8)]
    assert any("?path=results&keyed=id" in n for n in notes)
    rows, _ = read(f"json:{path}?path=results&keyed=pmid")
    assert rows[0]["pmid"] == "16418930" and "id" not in rows[0]
    with pytest.raises(SourceError, match="holds an array at path 'x', not an object keyed by id"):
        open_source(f"json:{write(tmp_path, {'x': [1]}, 'arr.json')}?path=x&keyed=id")


def test_keyed_entries_that_are_not_records_are_rejected_rows(tmp_path: Path):
    doc = {**keyed(12), "extra": "not a record", "16418999": {"id": 5, "QUESTION": "q"}}
    rows = list(open_source(f"json:{write(tmp_path, doc)}?keyed=id").rows())
    failures = [r for r in rows if isinstance(r, ParseFailure)]
    assert len(rows) == 14 and [f.error for f in failures] == [
        "entry 'extra' is a string, not a record (an object)",
        "entry '16418999' already has a field 'id' for its key; name another with ?keyed=<field>",
    ]


def test_a_few_named_sub_objects_are_one_record_not_a_keyed_object(tmp_path: Path):
    path = write(tmp_path, {"question": {"text": "a", "lang": "en"}, "answer": {"text": "b", "lang": "en"}})
    with pytest.raises(SourceError, match="without any array of records"):
        open_source(f"json:{path}")


def test_objects_keyed_by_id_under_split_names(tmp_path: Path):
    doc = {
        "train": {"a1": {"text": "one"}, "a2": {"text": "two"}},
        "test": {"b1": {"text": "three"}, "b2": {"text": "four"}},
    }
    rows, notes = read(f"json:{write(tmp_path, doc)}")
    assert rows == [
        {"id": "a1", "text": "one", "split": "train"},
        {"id": "a2", "text": "two", "split": "train"},
        {"id": "b1", "text": "three", "split": "test"},
        {"id": "b2", "text": "four", "split": "test"},
    ]
    assert any("2 named objects keyed by id" in n for n in notes)


def test_keyed_numbers_stay_exact(tmp_path: Path):
    big = 2**70 + 1
    path = write(tmp_path, b'{"1": {"n": %d, "f": 0.1}, "2": {"n": 2, "f": 1e300}}' % big)
    rows, _ = read(f"json:{path}")
    assert rows == [{"id": "1", "n": big, "f": 0.1}, {"id": "2", "n": 2, "f": 1e300}]


# --- named arrays by split, sequences ------------------------------------------------------------


def test_dialogues_as_lists_of_different_lengths_stay_whole(tmp_path: Path):
    doc = {"valid": [["hi", "hello", "how are you"], ["yo", "hey"]], "train": [["a", "b", "c", "d"]]}
    rows, notes = read(f"json:{write(tmp_path, doc)}")
    assert rows == [
        {"col_1": ["hi", "hello", "how are you"], "split": "valid"},
        {"col_1": ["yo", "hey"], "split": "valid"},
        {"col_1": ["a", "b", "c", "d"], "split": "train"},
    ]
    assert any("lists of 2 to 4 values" in n for n in notes)
    top = read(f"json:{write(tmp_path, doc['valid'], 'top.json')}")[0]
    assert top == [{"col_1": ["hi", "hello", "how are you"]}, {"col_1": ["yo", "hey"]}]
    pairs = read(f"json:{write(tmp_path, [['a', 'x'], ['b', 'y']], 'pairs.json')}")[0]
    assert pairs == [{"col_1": "a", "col_2": "x"}, {"col_1": "b", "col_2": "y"}]  # fixed length: columns


# --- parallel lists ------------------------------------------------------------------------------


def test_zip_reads_one_row_per_position(tmp_path: Path):
    doc = [
        {"api": "holidays", "tools": {"a": 1}, "asks": ["q1", "q2"], "answers": [[{"call": "a"}], []]},
        {"api": "jokes", "asks": ["q3"], "answers": [[{"call": "b"}], [{"call": "c"}]]},
        {"api": "none", "asks": "q4", "answers": []},
    ]
    rows = list(open_source(f"json:{write(tmp_path, doc)}?zip=asks,answers").rows())
    assert rows[:2] == [
        {"api": "holidays", "tools": {"a": 1}, "asks": "q1", "answers": [{"call": "a"}]},
        {"api": "holidays", "tools": {"a": 1}, "asks": "q2", "answers": []},
    ]
    assert [r.error for r in rows[2:]] == [
        "the lists to zip have different lengths: 'asks' (1), 'answers' (2)",
        "field 'asks' is a string, not a list to zip",
    ]
    with pytest.raises(SourceError, match="option 'zip' .* is empty"):
        open_source(f"json:{tmp_path / 'doc.json'}?zip=")


# --- class 6: JSON Lines in a .json file ---------------------------------------------------------


def test_json_lines_in_a_json_file_are_read_as_lines(tmp_path: Path):
    lines = [{"headline": f"News {i}", "category": "CRIME"} for i in range(5)]
    path = write(tmp_path, "\r\n".join(json.dumps(r) for r in lines).encode() + b"\r\n", "news.json")
    rows, notes = read(f"json:{path}")
    assert rows == lines and any("holds JSON Lines" in n for n in notes)
    assert read(f"file:{path}")[0] == lines
    with pytest.raises(SourceError, match="holds JSON Lines .* drop them"):
        open_source(f"json:{path}?path=data")


def test_json_lines_with_a_first_line_longer_than_the_probe(tmp_path: Path):
    lines = [{"text": "x" * 70_000, "n": 1}, {"text": "y", "n": 2}]
    path = write(tmp_path, "\n".join(json.dumps(r) for r in lines).encode(), "long.json")
    assert read(f"json:{path}")[0] == lines


def test_trailing_garbage_that_is_not_json_lines_is_one_line(tmp_path: Path):
    path = write(tmp_path, b'[\n  {"a": 1}\n]\nnot json', "tail.json")
    with pytest.raises(SourceError, match=r"is not valid JSON \(parse error: trailing garbage.*read with jsonl:"):
        list(open_source(f"json:{path}").rows())


# --- parallel arrays at the document level (columns) ----------------------------------------------


def test_parallel_arrays_of_one_length_are_columns(tmp_path: Path):
    doc = {
        "version": 1,
        "question": ["Where is the depot?", "When did it open?", "Who runs it?"],
        "answer": ["Oslo", "1990", "Ann"],
        "score": [1, 2, 3],
    }
    rows, notes = read(f"json:{write(tmp_path, doc)}")
    assert rows == [
        {"question": "Where is the depot?", "answer": "Oslo", "score": 1},
        {"question": "When did it open?", "answer": "1990", "score": 2},
        {"question": "Who runs it?", "answer": "Ann", "score": 3},
    ]
    assert any(
        "parallel arrays of 3 values at the top level (question, answer, score): read as columns" in n for n in notes
    )
    big = write(tmp_path, b'{"a": [%d, 2], "t": ["some long text here", "more long text here"]}' % 2**80, "big.json")
    assert read(f"json:{big}")[0] == [{"a": 2**80, "t": "some long text here"}, {"a": 2, "t": "more long text here"}]


def test_alike_arrays_of_one_length_or_split_names_stay_named_arrays(tmp_path: Path):
    splits = {"train": ["a text here", "b text here"], "test": ["c", "d"]}  # split names: never columns
    assert [r["split"] for r in read(f"json:{write(tmp_path, splits)}")[0]] == ["train", "train", "test", "test"]
    intents = {"GetWeather": [{"text": "rain?"}, {"text": "sun?"}], "PlayMusic": [{"text": "jazz"}, {"text": "pop"}]}
    rows = read(f"json:{write(tmp_path, intents, 'intents.json')}")[0]
    assert rows[0] == {"text": "rain?", "split": "GetWeather"} and len(rows) == 4
    topics = {"sports": ["a match report", "a race report"], "politics": ["a vote report", "a bill report"]}
    assert [r["split"] for r in read(f"json:{write(tmp_path, topics, 'topics.json')}")[0]] == ["sports"] * 2 + [
        "politics"
    ] * 2


def test_columns_keyed_by_row_id_as_pandas_writes_them(tmp_path: Path):
    doc = {"text": {str(i): f"review number {i}" for i in range(12)}, "label": {str(i): i % 2 for i in range(12)}}
    rows, notes = read(f"json:{write(tmp_path, doc)}")
    assert rows[:2] == [
        {"id": "0", "text": "review number 0", "label": 0},
        {"id": "1", "text": "review number 1", "label": 1},
    ]
    assert len(rows) == 12 and any(
        "columns keyed by row id at the top level (text, label: 12 rows each" in n for n in notes
    )
    # the same ids in another order in one column: rejected rows, never a row glued from two records
    shuffled = {"text": doc["text"], "label": dict(reversed(list(doc["label"].items())))}
    rows, _ = read(f"json:{write(tmp_path, shuffled, 'shuffled.json')}")
    assert all(isinstance(r, ParseFailure) for r in rows[:6])
    # records keyed by id (the other orientation) are not columns
    index = {str(i): {"text": f"review number {i}", "label": i % 2} for i in range(12)}
    assert read(f"json:{write(tmp_path, index, 'index.json')}")[0][0] == {
        "id": "0",
        "text": "review number 0",
        "label": 0,
    }
