from __future__ import annotations

import json
from pathlib import Path

import pytest

from brewslm.errors import SourceError
from brewslm.sources import open_source
from brewslm.sources.base import ParseFailure
from brewslm.sources.join import JoinedSource, join_key


def jsonl(path: Path, records: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in records))
    return path


@pytest.fixture
def questions(tmp_path: Path) -> Path:
    return jsonl(
        tmp_path / "train.jsonl",
        [
            {"id": "simple_1", "question": "area?", "note": "main"},
            {"id": "irrelevance_2", "question": "weather?"},
            "{broken",
            {"question": "no id"},
            {"id": 3, "question": "numeric id"},
        ],
    )


def test_left_join_keeps_unmatched_rows_and_sentinels(tmp_path: Path, questions: Path):
    jsonl(
        tmp_path / "train_possible_answer.jsonl",
        [
            {"id": "simple_1", "ground_truth": [{"area": {"r": [10]}}], "note": "answer"},
            {"id": "3", "ground_truth": []},
        ],
    )
    source = open_source(f"jsonl:{questions}?join=train_possible_answer.jsonl&on=id")
    assert isinstance(source, JoinedSource)
    got = list(source.rows())
    assert got[0] == {
        "id": "simple_1",
        "question": "area?",
        "note": "main",
        "ground_truth": [{"area": {"r": [10]}}],
        "note_joined": "answer",
    }
    assert got[1] == {"id": "irrelevance_2", "question": "weather?"}
    assert isinstance(got[2], ParseFailure) and got[2].position == 3
    assert got[3] == {"question": "no id"}
    assert got[4] == {"id": 3, "question": "numeric id", "ground_truth": []}  # 3 and "3" match
    assert source.name == open_source(f"jsonl:{questions}").name
    assert "+join(id):" in source.fingerprint()


def test_join_with_any_file_format_and_absolute_or_locator_targets(tmp_path: Path, questions: Path):
    labels = tmp_path / "extra" / "labels.csv"
    labels.parent.mkdir()
    labels.write_text("id,label\nsimple_1,geometry\n")
    got = list(open_source(f"jsonl:{questions}?join={labels}&on=id").rows())
    assert got[0]["label"] == "geometry"
    got = list(open_source(f"jsonl:{questions}?join=csv:{labels}&on=id").rows())
    assert got[0]["label"] == "geometry"
    csv_main = tmp_path / "main.csv"
    csv_main.write_text("id,text\nsimple_1,hello\n")
    assert list(open_source(f"file:{csv_main}?join=extra/labels.csv&on=id").rows()) == [
        {"id": "simple_1", "text": "hello", "label": "geometry"}
    ]


def test_join_errors_are_one_line(tmp_path: Path, questions: Path):
    with pytest.raises(SourceError, match=r"^file not found: .*answers\.jsonl"):
        open_source(f"jsonl:{questions}?join=answers.jsonl&on=id")
    with pytest.raises(SourceError, match="no on=<key field>"):
        open_source(f"jsonl:{questions}?join=x.jsonl")
    with pytest.raises(SourceError, match="no join=<file>"):
        open_source(f"jsonl:{questions}?on=id")
    jsonl(tmp_path / "dup.jsonl", [{"id": "a"}, {"id": "a"}])
    with pytest.raises(SourceError, match="key id=a appears twice"):
        list(open_source(f"jsonl:{questions}?join=dup.jsonl&on=id").rows())
    jsonl(tmp_path / "keyless.jsonl", [{"id": "a"}, {"other": 1}])
    with pytest.raises(SourceError, match="row 2: no 'id' field to join on"):
        list(open_source(f"jsonl:{questions}?join=keyless.jsonl&on=id").rows())
    jsonl(tmp_path / "bad.jsonl", [{"id": "a"}, "{nope"])
    with pytest.raises(SourceError, match="record 2: invalid JSON"):
        list(open_source(f"jsonl:{questions}?join=bad.jsonl&on=id").rows())


def test_join_key_normalises_across_formats():
    assert join_key(7) == join_key(7.0) == join_key("7") == "7"
    assert join_key(True) == "true" and join_key(None) is None
    assert join_key({"b": 1, "a": 2}) == join_key({"a": 2, "b": 1})
