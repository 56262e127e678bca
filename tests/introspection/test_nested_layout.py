"""Introspecting JSON documents whose records are not where a plain reader looks (issue 15,
classes 3 and 4, and parallel lists): the records are found, read and named in the evidence; a
refined locator pins the part of the document it reads. Fixtures are written here."""

from __future__ import annotations

import json
from pathlib import Path

from brewslm.introspection import ACCEPT_THRESHOLD, introspect
from brewslm.introspection.nested import parallel_list_fields
from brewslm.sources import open_source
from introspection.test_nested import squad_like_articles

TOPICS = ["kettles", "lamps", "bikes", "tents", "boots", "clocks"]


def reviews(n: int) -> list[dict]:
    return [
        {
            "text": f"The {TOPICS[i % 6]} from batch {i} {'works really well' if i % 2 else 'broke after a week'}.",
            "label": "positive" if i % 2 else "negative",
        }
        for i in range(n)
    ]


def write_json(path: Path, doc) -> Path:
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return path


def evidence_and_warnings(result) -> list[str]:
    return list(result.accepted.evidence if result.accepted else []) + list(result.warnings)


def test_records_under_a_nested_key_are_proposed_with_their_path(tmp_path: Path) -> None:
    doc = {
        "meta": {"source": "survey", "authors": [{"name": "Ann"}, {"name": "Bo"}]},
        "data": {"examples": reviews(60)},
    }
    locator = f"json:{write_json(tmp_path / 'export.json', doc)}"
    result = introspect(locator)
    assert result.accepted is not None and result.accepted.mapper_id == "label_to_classification"
    assert result.accepted.confidence >= ACCEPT_THRESHOLD and result.locator == locator
    lines = evidence_and_warnings(result)
    assert any("records at data.examples (60 records)" in line for line in lines)
    assert any("meta.authors (2 items)" in line for line in lines)


def test_an_object_keyed_by_id_is_proposed(tmp_path: Path) -> None:
    doc = {str(16418930 + i): review for i, review in enumerate(reviews(40))}
    result = introspect(f"json:{write_json(tmp_path / 'keyed.json', doc)}")
    assert result.accepted is not None and result.accepted.mapper_id == "label_to_classification"
    assert result.accepted.confidence >= ACCEPT_THRESHOLD
    assert result.accepted.field_map.get("text") == "text" and result.accepted.field_map.get("label") == "label"
    assert any("records keyed by id at the top level (40 entries" in line for line in evidence_and_warnings(result))


def test_keyed_articles_are_exploded_below_their_records(tmp_path: Path) -> None:
    doc = {f"art{i}": article for i, article in enumerate(squad_like_articles(6))}
    path = write_json(tmp_path / "keyed_articles.json", doc)
    result = introspect(f"json:{path}")
    assert result.locator == f"json:{path}?keyed=id&explode=paragraphs.qas"
    assert result.accepted is not None and result.accepted.mapper_id == "rag_passthrough"
    rows = list(open_source(result.locator).rows())
    assert len(rows) == 6 * 3 * 4 and rows[0]["id"] == "a0p0q0"  # the question's own id wins
    assert {r["title"] for r in rows} == {f"Depots {a}" for a in range(6)}


def test_a_deep_array_of_articles_is_pinned_then_exploded(tmp_path: Path) -> None:
    doc = {"meta": {"version": "2"}, "payload": {"articles": squad_like_articles(5)}}
    path = write_json(tmp_path / "deep.json", doc)
    result = introspect(f"json:{path}")
    assert result.locator == f"json:{path}?path=payload.articles&explode=paragraphs.qas"
    assert result.accepted is not None and result.accepted.mapper_id == "rag_passthrough"


def test_parallel_lists_are_zipped_when_nothing_fits_the_wrappers(tmp_path: Path) -> None:
    doc = []
    for b in range(10):
        batch = reviews(40)[b * 4 : b * 4 + 3 + b % 2]
        doc.append(
            {
                "batch": f"b{b}",
                "shop": f"shop number {b}",
                "text": [r["text"] for r in batch],
                "label": [r["label"] for r in batch],
            }
        )
    path = write_json(tmp_path / "parallel.json", doc)
    assert parallel_list_fields(doc) == ["text", "label"]
    result = introspect(f"json:{path}")
    assert result.locator == f"json:{path}?zip=text,label" and result.refined_from == f"json:{path}"
    assert result.accepted is not None and result.accepted.mapper_id == "label_to_classification"
    assert result.accepted.field_map.get("text") == "text" and result.accepted.field_map.get("label") == "label"
    assert any("parallel lists (text, label)" in line for line in result.accepted.evidence)
    rows = list(open_source(result.locator).rows())
    assert len(rows) == sum(len(d["text"]) for d in doc) and rows[0]["shop"] == "shop number 0"


def test_token_and_tag_lists_are_not_parallel_records() -> None:
    rows = [
        {
            "tokens": ["Ann", "met", "Bo", "in", "Oslo"][: 3 + i % 3],
            "tags": ["B-PER", "O", "B-PER", "O", "B-LOC"][: 3 + i % 3],
        }
        for i in range(20)
    ]
    assert parallel_list_fields(rows) == []
    pairs = [
        {
            "responses": [f"answer {i} is long enough to be a sentence", f"another answer {i} of some length"],
            "scores": [1, 2],
        }
        for i in range(20)
    ]
    assert parallel_list_fields(pairs) == []  # always two: a pair, not a list of records
