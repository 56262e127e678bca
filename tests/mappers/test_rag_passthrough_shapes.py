"""Issue 15, classes 9 and 10: reading comprehension in other shapes is proposed from its values.

Fixtures written here (not the corpus): contexts as a list of passage objects beside negatives,
a long-form answer, yes/no/maybe decisions beside a long explanation and model predictions,
question/context/answer under other names, unanswerable rows, and questions nested inside
passages - and which of qa_pair_passthrough / rag_passthrough each one is.
"""

from __future__ import annotations

import json
from pathlib import Path

from brewslm.introspection import introspect, introspect_profile, profile_rows
from helpers.mapping import run_mapper, sniff

RAG, QA = "rag_passthrough", "qa_pair_passthrough"


def passage(i: int, topic: str) -> dict:
    return {
        "title": f"{topic} {i}",
        "text": f"{topic} {i} is a long passage about the history of the place, "
        f"its founders and its buildings, written for retrieval.",
        "score": 12.5,
        "passage_id": str(1000 + i),
    }


def test_passage_lists_beside_negatives_choose_the_one_that_quotes_the_answers():
    rows = []
    for i in range(12):
        gold = passage(i, "Town")
        gold["text"] += f" It was founded by Founder {i}."
        rows.append(
            {
                "dataset": "sample",
                "question": f"who founded town {i}",
                "answers": [f"Founder {i}", f"founder {i}"],
                "negative_ctxs": [passage(i, "River")],
                "positive_ctxs": [gold, gold],
                "hard_negative_ctxs": [passage(i, "Mountain"), passage(i + 1, "Lake")],
            }
        )
    proposal = sniff(RAG, rows)
    assert proposal.confidence >= 0.85, proposal.evidence
    assert proposal.field_map == {"question": "question", "positive_ctxs": "context", "answers": "answer"}
    assert sniff(QA, rows).confidence <= 0.55
    out = run_mapper(RAG, rows, proposal.field_map)
    first = out.records[0]
    assert first["passages"] == [rows[0]["positive_ctxs"][0]["text"]] * 2  # the repeated gold passage is kept
    assert first["answer"] == "Founder 0" and first["alternatives"] == ["founder 0"] and first["is_refusal"] is False


def test_long_form_answer_with_documents():
    rows = [
        {
            "question": f"Why is place {i} rainy?",
            "answer": f"Place {i} is rainy because of monsoon winds [1] and the hills around it [2]; it reports "
            f"{1000 + i} mm a year.",
            "docs": [
                {"title": "Monsoon", "text": f"Monsoon winds bring rain to place {i} every summer."},
                {"title": "Hills", "text": f"The hills around place {i} force the air up, so it rains."},
            ],
        }
        for i in range(6)
    ]
    proposal = sniff(RAG, rows)
    assert proposal.confidence >= 0.8
    out = run_mapper(RAG, rows, proposal.field_map)
    assert out.records[0]["answer"] == rows[0]["answer"]
    assert out.records[0]["passages"] == [d["text"] for d in rows[0]["docs"]]


def test_decision_answers_beside_a_long_explanation_and_predictions():
    decisions = ["yes", "no", "maybe"]
    rows = [
        {
            "QUESTION": f"Does treatment {i} reduce the symptoms?",
            "CONTEXTS": [
                f"Background: treatment {i} was tested on patients.",
                f"Results: symptoms changed in {i}0% of them.",
            ],
            "LABELS": ["BACKGROUND", "RESULTS"],
            "reasoning_free_pred": decisions[(i + 1) % 3],
            "final_decision": decisions[i % 3],
            "LONG_ANSWER": f"Treatment {i} reduced the symptoms in a share of the patients, but the study was small "
            f"and the effect needs to be confirmed.",
        }
        for i in range(30)
    ]
    proposal = sniff(RAG, rows)
    assert proposal.confidence >= 0.8, proposal.evidence
    assert proposal.field_map == {"QUESTION": "question", "CONTEXTS": "context", "final_decision": "answer"}
    assert any("LONG_ANSWER" in e for e in proposal.evidence)  # the long-form answer is named, not silently dropped
    out = run_mapper(RAG, rows, proposal.field_map)
    assert [r["answer"] for r in out.records[:3]] == ["yes", "no", "maybe"]  # "maybe" is an answer, not a refusal
    assert not any(r["is_refusal"] for r in out.records)


def test_other_names_and_unanswerable_rows_are_refusals():
    rows = [
        {
            "q_text": f"Which river flows through city {i}?",
            "retrieved_snippets": [f"City {i} lies on the River R{i}.", f"City {i} has a museum."],
            "gold_answers": [] if i % 4 == 0 else [f"River R{i}", f"R{i}"],
        }
        for i in range(24)
    ]
    proposal = sniff(RAG, rows)
    assert proposal.confidence >= 0.85, proposal.evidence
    assert proposal.field_map == {"q_text": "question", "retrieved_snippets": "context", "gold_answers": "answer"}
    out = run_mapper(RAG, rows, proposal.field_map)
    assert [r["is_refusal"] for r in out.records[:4]] == [True, False, False, False]
    assert out.records[1]["alternatives"] == ["R1"]
    assert sniff(QA, rows).confidence <= 0.45


def test_plausible_answers_and_predictions_are_not_golds():
    rows = [
        {
            "question": f"Who built bridge {i}?",
            "context": f"Bridge {i} was built by Builder {i} in 1900.",
            "plausible_answers": [f"Builder {i}"],
            "predicted_answer": f"Builder {i}",
        }
        for i in range(10)
    ]
    assert sniff(RAG, rows) is None
    assert sniff(QA, rows) is None


def test_one_context_every_question_answered_is_qa_and_with_refusals_is_rag():
    rows = [
        {
            "question": f"Who built bridge {i}?",
            "context": f"Bridge {i} was built by Builder {i} in 1900.",
            "answers": {"text": [f"Builder {i}"], "answer_start": [22]},
        }
        for i in range(20)
    ]
    assert sniff(QA, rows).confidence >= 0.8
    assert sniff(RAG, rows).confidence <= 0.7
    refusing = [dict(r, answers={"text": [], "answer_start": []}) if i % 3 == 0 else r for i, r in enumerate(rows)]
    assert sniff(RAG, refusing).confidence >= 0.9
    assert sniff(QA, refusing).confidence <= 0.45


def test_questions_nested_inside_passages_import_as_qa(tmp_path: Path):
    doc = [
        {
            "passage_id": f"P{i}",
            "passage_text": f"Lake {i} lies north of the old town; Fisher {i} named it long ago "
            f"after the birds that nest on its shore.",
            "qas": [
                {
                    "query_id": f"P{i}-{j}",
                    "query_text": f"Who named lake {i} (question {j})?",
                    "answers": [f"Fisher {i}"],
                }
                for j in range(3)
            ],
        }
        for i in range(10)
    ]
    path = tmp_path / "nested.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    result = introspect(f"json:{path}")
    assert result.accepted is not None and result.accepted.mapper_id == QA, result.to_dict()["proposals"][:2]
    assert result.locator.endswith("explode=qas")
    assert result.accepted.field_map == {"query_text": "question", "answers": "answer", "passage_text": "context"}


def test_a_recurring_no_answer_gold_is_proposed_as_refusal_answers():
    rows = [
        {
            "query": f"what is the boiling point of liquid {i}",
            "passages": {
                "is_selected": [0, 1],
                "passage_text": [f"Liquid {i} boils at {100 + i} degrees.", "Other text."],
            },
            "answers": ["No Answer Present."] if i % 5 == 0 else [f"{100 + i} degrees"],
        }
        for i in range(40)
    ]
    proposal = sniff(RAG, rows)
    assert proposal.options == {"refusal_answers": ["No Answer Present."]}
    assert proposal.confidence >= 0.9
    out = run_mapper(RAG, rows, proposal.field_map, proposal.options)
    assert [r["is_refusal"] for r in out.records[:2]] == [True, False]
    assert sniff(QA, rows).confidence <= 0.45


def test_answer_objects_with_aliases_and_a_gold_beside_a_generated_answer():
    rows = [
        {
            "question": f"Which band sang song {i}?",
            "answer": {
                "value": f"Band {i}",
                "aliases": [f"Band {i}", f"The Band {i}"],
                "normalized_aliases": [f"band {i}"],
            },
        }
        for i in range(10)
    ]
    out = run_mapper(QA, rows, sniff(QA, rows).field_map)
    assert out.records[0]["answer"] == "Band 0" and out.records[0]["alternatives"] == ["The Band 0"]
    ragas = [
        {
            "question": f"Who wrote book {i}?",
            "contexts": [f"Book {i} was written by Author {i}.", "Other."],
            "answer": f"I think it was Author {i + 1}.",
            "ground_truth": f"Author {i}",
        }
        for i in range(10)
    ]
    proposal = sniff(RAG, ragas)
    assert proposal.field_map["ground_truth"] == "answer" and "answer" not in proposal.field_map


def test_flat_reading_comprehension_table_is_qa_not_extraction():
    # the questions' words recur in the context: still questions, with answers quoted from it
    rows = [
        {
            "Question": f"What colour is item {i}?",
            "Answer": f"Colour {i}",
            "Context": f"Item {i} is painted in Colour {i}.",
        }
        for i in range(30)
    ]
    result = introspect_profile(profile_rows(rows))
    assert result.accepted.mapper_id == QA and result.accepted.confidence >= 0.9
    assert result.accepted.field_map == {"Question": "question", "Answer": "answer", "Context": "context"}


def test_passages_in_an_object_of_lists_under_other_keys_and_a_reference_beside_a_response():
    rows = [
        {
            "question": f"Which band sang song {i}?",
            "answer": {"value": f"Band {i}", "aliases": [f"Band {i}", f"The Band {i}"]},
            "search_results": {
                "title": ["x"],
                "search_context": [f"Song {i} is a song by Band {i}, released in 1990."],
            },
        }
        for i in range(20)
    ]
    proposal = sniff(RAG, rows)
    assert proposal.confidence >= 0.85 and proposal.field_map["search_results"] == "context"
    record = run_mapper(RAG, rows, proposal.field_map).records[0]
    assert record["passages"] == ["Song 0 is a song by Band 0, released in 1990."]
    assert record["answer"] == "Band 0" and record["alternatives"] == ["The Band 0"]
    ragas = [
        {
            "user_input": f"Who wrote book {i}?",
            "retrieved_contexts": [f"Book {i} was written by Author {i}."],
            "response": f"Author {i + 1} wrote it.",
            "reference": f"Author {i}",
        }
        for i in range(20)
    ]
    proposal = sniff(RAG, ragas)
    assert proposal.field_map == {"user_input": "question", "retrieved_contexts": "context", "reference": "answer"}
    assert proposal.confidence >= 0.8


def test_hotpot_layouts_and_a_context_in_a_shape_no_reader_takes():
    hf = [
        {
            "id": str(i),
            "question": f"Which team did player {i} join?",
            "answer": f"Team {i}",
            "context": {
                "title": [f"Player {i}", "Other"],
                "sentences": [[f"Player {i} is an athlete.", f" He joined Team {i}."], ["Unrelated."]],
            },
        }
        for i in range(20)
    ]
    proposal = sniff(RAG, hf)
    assert proposal.confidence >= 0.85
    assert run_mapper(RAG, hf, proposal.field_map).records[0]["passages"] == [
        "Player 0 is an athlete. He joined Team 0.",
        "Unrelated.",
    ]
    # a context named as such that no reader takes: closed-book QA would silently drop it
    odd = [
        {"question": f"Which team did player {i} join?", "answer": f"Team {i}", "context": {"graph": [[i, i + 1]]}}
        for i in range(20)
    ]
    proposal = sniff(QA, odd)
    assert proposal.confidence < 0.8 and any("named like a context" in e for e in proposal.evidence)
