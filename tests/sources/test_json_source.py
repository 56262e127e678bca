from __future__ import annotations

import gzip
import json
import os
from pathlib import Path

import pytest

from brewslm.errors import SourceError
from brewslm.sources import open_source
from brewslm.sources.base import ParseFailure
from brewslm.sources.json_source import parse_path

SQUAD_LIKE = {
    "version": "v2.0",
    "data": [
        {
            "title": "Alpha",
            "paragraphs": [
                {
                    "qas": [
                        {
                            "question": "Q1?",
                            "id": "q1",
                            "answers": [{"text": "a", "answer_start": 0}],
                            "is_impossible": False,
                        },
                        {
                            "question": "Q2?",
                            "id": "q2",
                            "answers": [],
                            "is_impossible": True,
                            "plausible_answers": [{"text": "b", "answer_start": 2}],
                        },
                    ],
                    "context": "a b c",
                },
                {"qas": [], "context": "no questions here"},
            ],
        },
        {
            "title": "Beta",
            "paragraphs": [
                {"context": "x y", "qas": [{"question": "Q3?", "id": "q3", "answers": [], "is_impossible": True}]}
            ],
        },
    ],
}


def write(tmp_path: Path, value, name: str = "doc.json") -> Path:
    path = tmp_path / name
    data = value if isinstance(value, bytes) else json.dumps(value).encode()
    path.write_bytes(data)
    return path


def rows(path: Path, options: str = "") -> list:
    return list(open_source(f"json:{path}{options}").rows())


def test_top_level_array_of_records(tmp_path: Path):
    path = write(tmp_path, [{"text": "a", "score": 0.5}, {"text": "b", "score": 2}])
    got = rows(path)
    assert got == [{"text": "a", "score": 0.5}, {"text": "b", "score": 2}]
    assert isinstance(got[0]["score"], float)  # not Decimal


def test_object_of_named_arrays_gets_a_split_field(tmp_path: Path):
    path = write(tmp_path, {"version": 2, "train": [["hi there", "greet"], ["bye", "leave"]], "val": [["yo", "greet"]]})
    assert rows(path) == [
        {"col_1": "hi there", "col_2": "greet", "split": "train"},
        {"col_1": "bye", "col_2": "leave", "split": "train"},
        {"col_1": "yo", "col_2": "greet", "split": "val"},
    ]
    path = write(tmp_path, {"train": [{"text": "a", "split": "mine"}], "val": [{"text": "yo"}]}, "own.json")
    assert rows(path) == [{"text": "a", "split": "mine", "source_split": "train"}, {"text": "yo", "split": "val"}]


def test_named_arrays_of_another_shape_are_not_mixed_in(tmp_path: Path):
    """Only the arrays alike the largest are read together; the others are named in a note."""
    doc = {
        "labels": ["greet", "leave"],
        "train": [{"text": f"hello number {i}", "label": "greet"} for i in range(5)],
        "test": [{"text": "bye now", "label": "leave"}],
        "authors": [["Ann", "Bo"]],
    }
    source = open_source(f"json:{write(tmp_path, doc)}")
    got = list(source.rows())
    assert [r["split"] for r in got] == ["train"] * 5 + ["test"]
    assert got[0] == {"text": "hello number 0", "label": "greet", "split": "train"}
    assert any("train (5 records), test (1 record)" in n for n in source.notes)
    assert any(
        n.startswith("other collections") and "labels (2 items)" in n and "authors (1 item)" in n for n in source.notes
    )


def test_array_of_scalars_becomes_col_1(tmp_path: Path):
    assert rows(write(tmp_path, ["a", "b"])) == [{"col_1": "a"}, {"col_1": "b"}]


def test_path_selects_an_array_by_pointer_or_dots(tmp_path: Path):
    doc = {"meta": {"n": 2}, "results": {"items": [{"a": 1}, {"a": 2}], "a/b": [{"z": 0}]}}
    path = write(tmp_path, doc)
    assert rows(path, "?path=results.items") == [{"a": 1}, {"a": 2}]
    assert rows(path, "?path=/results/items") == [{"a": 1}, {"a": 2}]
    assert rows(path, "?path=/results/a~1b") == [{"z": 0}]
    assert parse_path("/x~0y/z", None) == ["x~y", "z"]  # type: ignore[arg-type]
    with pytest.raises(SourceError, match="has no value at path 'results.nope'; keys there: items, a/b"):
        open_source(f"json:{path}?path=results.nope")
    with pytest.raises(SourceError, match="holds a number at path 'meta.n'"):
        open_source(f"json:{path}?path=meta.n")


def test_explode_squad_shape_from_the_top(tmp_path: Path):
    path = write(tmp_path, SQUAD_LIKE)
    got = rows(path, "?explode=data.paragraphs.qas")
    assert [r["id"] for r in got] == ["q1", "q2", "q3"]
    assert got[0] == {
        "title": "Alpha",
        "context": "a b c",  # comes after qas in the file, still carried
        "question": "Q1?",
        "id": "q1",
        "answers": [{"text": "a", "answer_start": 0}],
        "is_impossible": False,
    }
    assert got[1]["plausible_answers"] == [{"text": "b", "answer_start": 2}]
    assert got[2]["title"] == "Beta" and got[2]["context"] == "x y"
    assert "version" not in got[0]  # the document wrapper is not a record


def test_explode_from_a_selected_array(tmp_path: Path):
    path = write(tmp_path, SQUAD_LIKE)
    got = rows(path, "?path=data&explode=paragraphs.qas")
    assert [r["id"] for r in got] == ["q1", "q2", "q3"]


def test_explode_inner_field_wins_and_problems_are_sentinels(tmp_path: Path):
    doc = [
        {"id": "doc1", "kind": "x", "items": [{"id": "i1"}, "plain"]},
        {"id": "doc2", "items": {"not": "a list"}},
        {"id": "doc3"},
        7,
    ]
    got = rows(write(tmp_path, doc), "?explode=items")
    assert got[0] == {"id": "i1", "kind": "x"}
    assert got[1] == {"id": "doc1", "kind": "x", "col_1": "plain"}
    assert all(isinstance(f, ParseFailure) for f in got[2:])
    assert [(f.position, f.error) for f in got[2:]] == [
        (2, "field 'items' is a object, not a list to explode"),
        (3, "record has no field 'items' to explode"),
        (4, "record is a number, cannot explode 'items'"),
    ]


def test_explode_errors_on_the_top_level(tmp_path: Path):
    path = write(tmp_path, {"data": {"a": 1}, "other": []})
    with pytest.raises(SourceError, match="cannot explode 'data' at the top level: it is a object, not a list"):
        open_source(f"json:{path}?explode=data.x")
    with pytest.raises(SourceError, match="cannot explode 'nope' at the top level: it is missing.*keys: data, other"):
        open_source(f"json:{path}?explode=nope")
    with pytest.raises(SourceError, match="explode' in locator .* is empty"):
        open_source(f"json:{path}?explode=")


def test_top_level_scalar_and_object_without_arrays(tmp_path: Path):
    with pytest.raises(SourceError, match="holds a string at the top level, not an array of records"):
        open_source(f"json:{write(tmp_path, 'hello')}")
    path = write(tmp_path, {"text": "a single record"}, "single.json")
    with pytest.raises(
        SourceError, match="holds an object without any array of records at the top level; its keys: text"
    ):
        rows(path)


def test_malformed_and_truncated_json(tmp_path: Path):
    with pytest.raises(SourceError, match=r"is not valid JSON \(lexical error"):
        open_source(f"json:{write(tmp_path, b'{nope', 'bad.json')}")
    records = [{"n": i, "text": "x" * 50} for i in range(200)]
    data = json.dumps(records).encode()
    path = write(tmp_path, data[: len(data) // 2], "cut.json")
    source = open_source(f"json:{path}")
    with pytest.raises(SourceError, match=r"is not valid JSON after record \d+ \(parse error: premature EOF\)"):
        list(source.rows())


def test_binary_garbage_is_a_clear_error(tmp_path: Path):
    with pytest.raises(SourceError, match="is not valid JSON"):
        open_source(f"json:{write(tmp_path, os.urandom(2000), 'garbage.json')}")


def test_bom_gzip_and_empty(tmp_path: Path):
    assert rows(write(tmp_path, b'\xef\xbb\xbf[{"a": 1}]', "bom.json")) == [{"a": 1}]
    assert rows(write(tmp_path, gzip.compress(b'[{"a": 1}]'), "z.json.gz")) == [{"a": 1}]
    assert rows(write(tmp_path, b"", "empty.json")) == []
    assert rows(write(tmp_path, b"  \n", "blank.json")) == []


def test_missing_path(tmp_path: Path):
    with pytest.raises(SourceError, match=r"^file not found: .*x\.json \(locator 'json:"):
        open_source(f"json:{tmp_path}/x.json")


def test_large_array_streams(tmp_path: Path):
    path = tmp_path / "big.json"
    with open(path, "w") as f:
        f.write("[")
        f.write(",".join(json.dumps({"i": i}) for i in range(50_000)))
        f.write("]")
    source = open_source(f"json:{path}")
    first = next(iter(source.rows()))
    assert first == {"i": 0}
    assert sum(1 for _ in source.rows()) == 50_000
