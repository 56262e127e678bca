"""Nested JSON documents: rows that wrap lists of records are refined to an exploding locator,
re-sampled and sniffed again; the result carries the refined locator."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from brewslm.introspection import ACCEPT_THRESHOLD, introspect
from brewslm.introspection.nested import explode_locator, find_record_lists, record_list_field
from brewslm.mappers.base import Proposal
from brewslm.sources import open_source

SHARED = Path(
    os.environ.get("BREWSLM_SHARED_DATASETS", Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets")
)
CITIES = ["Lisbon", "Nairobi", "Osaka", "Quito", "Tallinn", "Perth"]


def squad_like_articles(n_articles: int = 6) -> list[dict]:
    articles = []
    for a in range(n_articles):
        paragraphs = []
        for p in range(3):
            city = CITIES[(a + p) % len(CITIES)]
            context = f"The depot in {city} opened in {1960 + a * 3 + p} and ships kettles every {2 + p} days."
            qas = []
            for q in range(4):
                impossible = q == 3
                answers = [] if impossible else [{"text": city, "answer_start": context.index(city)}]
                qas.append(
                    {
                        "id": f"a{a}p{p}q{q}",
                        "question": f"Where is depot number {q} of article {a}?",
                        "answers": answers,
                        "is_impossible": impossible,
                    }
                )
            paragraphs.append({"context": context, "qas": qas})
        articles.append({"title": f"Depots {a}", "paragraphs": paragraphs})
    return articles


def review_groups() -> list[dict]:
    groups = []
    for g in range(10):
        items = [
            {
                "text": f"The kettle from batch {g}-{i} {'works well' if i % 2 else 'broke quickly'}.",
                "label": "positive" if i % 2 else "negative",
            }
            for i in range(8)
        ]
        groups.append({"batch": f"b{g}", "reviews": items})
    return groups


def write_json(path: Path, doc) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_squad_like_document_is_refined_to_its_questions(tmp_path: Path) -> None:
    path = write_json(tmp_path / "squad.json", {"version": "v2.0", "data": squad_like_articles()})
    result = introspect(f"json:{path}")
    assert result.accepted is not None and result.accepted.mapper_id == "rag_passthrough"
    assert result.accepted.confidence >= ACCEPT_THRESHOLD
    assert result.locator == f"json:{path}?explode=data.paragraphs.qas"
    assert result.refined_from == f"json:{path}"
    assert result.accepted.field_map["question"] == "question" and result.accepted.field_map["context"] == "context"
    assert any("explode=data.paragraphs.qas" in line for line in result.accepted.evidence)
    doc = result.to_dict()
    assert doc["locator"] == result.locator and doc["refined_from"] == f"json:{path}"
    assert doc["sample_rows"] == 6 * 3 * 4
    # the refined locator is a plain locator: introspecting it directly gives the same answer
    again = introspect(result.locator)
    assert again.refined_from is None and again.accepted.mapper_id == "rag_passthrough"
    assert again.accepted.field_map == result.accepted.field_map


def test_top_level_array_and_path_selected_array(tmp_path: Path) -> None:
    path = write_json(tmp_path / "groups.json", review_groups())
    result = introspect(f"json:{path}")
    assert result.locator == f"json:{path}?explode=reviews"
    assert result.accepted.mapper_id == "label_to_classification"
    assert result.accepted.field_map["text"] == "text" and result.accepted.field_map["label"] == "label"

    nested = write_json(tmp_path / "export.json", {"meta": {"n": 10}, "results": {"groups": review_groups()}})
    result = introspect(f"json:{nested}?path=results.groups")
    assert result.locator == f"json:{nested}?path=results.groups&explode=reviews"
    assert result.accepted.mapper_id == "label_to_classification"


def test_an_explicit_explode_is_extended(tmp_path: Path) -> None:
    path = write_json(tmp_path / "squad.json", {"version": "v2.0", "data": squad_like_articles()})
    result = introspect(f"file:{path}?explode=data")
    assert result.locator == f"file:{path}?explode=data.paragraphs.qas"
    assert result.accepted.mapper_id == "rag_passthrough"


def test_several_named_arrays_read_one_and_say_so(tmp_path: Path) -> None:
    path = write_json(tmp_path / "splits.json", {"train": squad_like_articles(5), "dev": squad_like_articles(2)})
    result = introspect(f"json:{path}")
    assert result.locator == f"json:{path}?explode=train.paragraphs.qas"
    assert result.accepted.mapper_id == "rag_passthrough"
    assert any("several arrays" in w and "dev" in w for w in result.warnings)


def test_lists_a_mapper_reads_are_not_exploded(tmp_path: Path) -> None:
    """Spans are content: a table whose spans are often wrong is not turned into span rows."""
    rows = []
    for i in range(40):
        text = f"Call Maria Lopez about order {i}."
        start = text.index("Maria") + (0 if i % 2 else 100)  # every other span lies outside the text
        rows.append({"text": text, "entities": [{"start": start, "end": start + 11, "label": "PERSON"}]})
    path = write_json(tmp_path / "spans.json", rows)
    result = introspect(f"json:{path}")
    assert result.accepted is None and any(p.mapper_id == "span_passthrough" for p in result.proposals)
    assert result.refined_from is None and result.locator == f"json:{path}"
    assert not any("explode" in w for w in result.warnings)


def test_accepted_rows_are_not_refined(tmp_path: Path) -> None:
    rows = [
        {"messages": [{"role": "user", "content": f"Hi {i}"}, {"role": "assistant", "content": "Hello!"}]}
        for i in range(30)
    ]
    path = write_json(tmp_path / "chats.json", rows)
    result = introspect(f"json:{path}")
    assert result.refined_from is None and result.accepted.mapper_id == "chat_messages_passthrough"


def test_jsonl_sources_are_never_refined(tmp_path: Path) -> None:
    path = tmp_path / "groups.jsonl"
    path.write_text("".join(json.dumps(g) + "\n" for g in review_groups()), encoding="utf-8")
    result = introspect(f"jsonl:{path}")
    assert result.refined_from is None and result.locator == f"jsonl:{path}" and result.accepted is None


def test_nothing_fits_below_either(tmp_path: Path) -> None:
    rows = [{"name": f"g{g}", "points": [{"x": g, "y": i} for i in range(5)]} for g in range(20)]
    path = write_json(tmp_path / "points.json", rows)
    result = introspect(f"json:{path}")
    assert result.accepted is None and result.refined_from is None
    assert any("explode=points" in w for w in result.warnings)


def test_record_list_chain_helpers(tmp_path: Path) -> None:
    articles = squad_like_articles(2)
    assert record_list_field(articles) == "paragraphs"
    assert find_record_lists(articles) == ["paragraphs", "qas", "answers"]
    assert record_list_field([{"a": [{"x": 1}], "b": [{"y": 2}]}] * 3) is None  # two lists: ambiguous
    assert record_list_field([{"a": []}] * 3) is None  # never filled
    assert record_list_field([{"a": [1, 2]}] * 3) is None  # not objects

    path = write_json(tmp_path / "doc.json", {"data": articles})
    source = open_source(f"json:{path}")
    rows = source.sample(10)
    refinement = explode_locator(f"json:{path}", source, rows, ["paragraphs", "qas"])
    assert refinement.locator == f"json:{path}?explode=data.paragraphs.qas" and refinement.note == ""
    jsonl = tmp_path / "rows.jsonl"
    jsonl.write_text(json.dumps(articles[0]) + "\n", encoding="utf-8")
    assert explode_locator(f"jsonl:{jsonl}", open_source(f"jsonl:{jsonl}"), [], ["paragraphs"]) is None


def test_read_as_content_needs_some_confidence() -> None:
    from brewslm.introspection.nested import read_as_content

    low = Proposal("x", {"passages": "context"}, 0.2)
    high = Proposal("y", {"passages.text": "context"}, 0.7)
    assert read_as_content("passages", [low]) is None
    assert read_as_content("passages", [low, high]) is high


@pytest.mark.shared_data
@pytest.mark.skipif(not (SHARED / "qa_squad2").is_dir(), reason=f"shared datasets not found at {SHARED}")
@pytest.mark.parametrize("name", ["train-v2.0.json", "dev-v2.0.json"])
def test_shared_squad_document_without_explode(name: str) -> None:
    locator = f"json:{SHARED / 'qa_squad2' / name}"
    result = introspect(locator)
    assert result.locator == f"{locator}?explode=data.paragraphs.qas" and result.refined_from == locator
    assert result.accepted is not None and result.accepted.mapper_id == "rag_passthrough"
    assert result.accepted.confidence >= ACCEPT_THRESHOLD
    assert {"question": "question", "context": "context"}.items() <= result.accepted.field_map.items()


def anthology() -> dict:
    """One object; poems two levels down, grouped by form under keys of one name; each poem's
    text is a list of lines beside its title and poet (issue 15)."""
    lines = [
        ["The river bends below the quiet town,", "and lanterns drift where fishing boats lie down."],
        ["A crow sits on the frozen garden wall,", "it does not sing, it does not call at all."],
    ]
    groups = []
    for g, form in enumerate(["quatrain", "couplet", "sonnet"]):
        poems = [
            {
                "chapter": f"Evening song {g}-{i}",
                "author": ["Ana Lima", "Bo Chen", "Carl Ode"][i % 3],
                "paragraphs": [*lines[i % 2], f"the {i}th evening of the {form}s."],
            }
            for i in range(8)
        ]
        groups.append({"type": form, "content": poems})
    return {"title": "An anthology", "content": groups}


def test_records_two_levels_down_with_text_as_lines_are_found(tmp_path: Path) -> None:
    path = write_json(tmp_path / "anthology.json", anthology())
    result = introspect(f"json:{path}")
    assert result.accepted is not None and result.accepted.mapper_id == "text_only", result.proposals
    assert result.accepted.confidence >= ACCEPT_THRESHOLD
    assert result.locator.endswith("explode=content.content") and result.refined_from == f"json:{path}"
    assert result.accepted.field_map == {"paragraphs": "text"} and result.accepted.options == {"line_joiner": "\n"}
    rows = open_source(result.locator).sample(100)
    assert len(rows) == 24
    # the group level is not read as a conversation by its authors
    from brewslm.mappers import get_mapper
    from brewslm.mappers.profile import profile_rows

    groups = open_source(f"json:{path}").sample(100)
    assert len(groups) == 3 and get_mapper("chat_messages_passthrough").sniff(profile_rows(groups)) is None
