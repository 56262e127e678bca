"""faq_rag twist (faq_rag): retrieval supplies the facts, the fine-tune supplies tone, format and refusals.

``prepare_data`` rewrites every imported rag_qa record so its prompt carries what a deployed
system would retrieve, not the gold passage the data came with:

1. Documents: the ``documents`` file (a locator; ``document_text_field`` / ``document_id_field``
   name its columns), else the distinct passages of the records. They are chunked
   (``chunk_chars``, ``chunk_overlap``) and indexed (``retrieval``: bm25, embedding - the bundled
   all-MiniLM-L6-v2 - or hybrid, their reciprocal-rank fusion).
2. Gold: a record's gold documents are those its passages name - a passage equal to a document
   id (an FAQ question mapped with its ``article`` id as context), or a document whose text equals
   or contains the passage. Its gold chunks are the indexed chunks of those documents that contain
   the answer (SQuAD-normalised; any chunk of them when the answer is not quoted); with no gold
   document, any chunk that contains the answer.
3. ``holdout_share`` of the documents (seeded) stay out of the index: their questions are not
   covered and become refusal examples, for data that has no unanswerable questions of its own.
4. Every question's passages become its top-``top_k`` retrieved chunks. The reply stays the
   answer when a gold chunk was retrieved; it becomes ``REFUSAL`` when none was (the passages do
   not hold the answer, so answering would be unfaithful), when the document is held out, or when
   the record was a refusal already. In the training split, ``inject_gold_in_train`` instead puts
   the best gold chunk in place of the last retrieved one (at a seeded position, so the answer is
   not always last) - the model learns to answer from passages, and the refusals it learns are
   the real ones.

The rewritten records replace the dataset's splits in a new version (imported through
``rag_passthrough``, so they are validated and counted like any import). Retrieval recall@1 and
recall@k per split, the reply outcomes and the index size are saved to ``retrieval.json`` in the
twist folder and reported beside the eval's refusal accuracy, faithfulness and format compliance;
the indexed chunks are saved to ``chunks.jsonl`` there, what a served model retrieves from
(``serving_settings``).
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Literal, Mapping, Sequence

from pydantic import Field

from brewslm.errors import ConfigError
from brewslm.evaluation.runner import EvalResult
from brewslm.recipes.twists import PreparedData, RecipeContext, Twist, TwistOptions, rate_text
from brewslm.recipes.twists._derived import append_records
from brewslm.retrieval import (
    CHUNKS_FILE,
    Chunk,
    Document,
    Hit,
    Retriever,
    bundled_model_path,
    chunk_documents,
    recall_at_k,
    write_chunks,
)
from brewslm.sources import ParseFailure, open_source
from brewslm.tasks.replies import normalize_answer

SPLITS = ("train", "validation", "test")
REPORT_FILE = "retrieval.json"
RAG_FIELD_MAP = {"question": "question", "passages": "context", "answer": "answer"}
"""How the rewritten rows read through ``rag_passthrough`` (an empty answer is a refusal; ``id``
is mapped too when the records carry ids)."""
EVAL_METRICS = ("refusal_accuracy", "faithfulness", "format_compliance", "overall_f1", "f1")

Outcome = Literal["answered", "injected", "missed", "not_covered", "refusal"]


class FaqRagOptions(TwistOptions):
    documents: str | None = Field(
        None,
        description="Locator of the documents to retrieve from (jsonl:/csv:/example:/shared:...); none: the records' passages.",
    )
    document_text_field: str = Field("text", description="The documents file's text column.")
    document_id_field: str | None = Field(
        "id", description="The documents file's id column (what the questions' context names); none: the row number."
    )
    chunk_chars: int = Field(600, ge=50, description="Longest chunk in characters.")
    chunk_overlap: int = Field(100, ge=0, description="Characters a chunk repeats from the end of the previous one.")
    retrieval: Literal["bm25", "embedding", "hybrid"] = Field(
        "hybrid", description="bm25, embedding (bundled all-MiniLM-L6-v2) or hybrid (their reciprocal-rank fusion)."
    )
    top_k: int = Field(3, ge=1, le=20, description="Retrieved passages in every prompt.")
    candidates: int = Field(50, ge=1, description="Hybrid: how deep each retriever's ranking goes into the fusion.")
    holdout_share: float = Field(
        0.0, ge=0.0, lt=1.0, description="Share of documents kept out of the index; their questions become refusals."
    )
    inject_gold_in_train: bool = Field(
        True, description="Training split: a missed gold chunk replaces the last retrieved one (else: refusal)."
    )
    seed: int = Field(0, description="Seed of the held-out documents and of the injected passage's position.")


# --- documents and gold ----------------------------------------------------------------------------


def load_documents(locator: str, text_field: str, id_field: str | None) -> list[Document]:
    """The documents file's rows as ``Document``s (blank texts skipped); a bad row is a one-line error."""
    from brewslm.recipes.config import resolve_locator

    documents: list[Document] = []
    for number, row in enumerate(open_source(resolve_locator(locator)).rows(), 1):
        if isinstance(row, ParseFailure):
            raise ConfigError(
                f"twist.documents {locator}: row {row.position} is unreadable ({row.error}); fix or remove it"
            )
        text = row.get(text_field)
        if not isinstance(text, str):
            raise ConfigError(
                f"twist.documents {locator}: row {number} has no text field '{text_field}'; "
                f"set twist.document_text_field (fields: {', '.join(map(str, row)) or 'none'})"
            )
        doc_id = str(row.get(id_field, "")) if id_field else ""
        if id_field and not doc_id:
            raise ConfigError(
                f"twist.documents {locator}: row {number} has no id field '{id_field}'; "
                "set twist.document_id_field (or null to number the rows)"
            )
        if text.strip():
            title = row.get("title")
            documents.append(Document(doc_id or str(number), text, title if isinstance(title, str) else None))
    if not documents:
        raise ConfigError(f"twist.documents {locator}: no document with text in field '{text_field}'")
    return documents


def documents_from_records(records: Iterable[Mapping[str, Any]]) -> list[Document]:
    """The distinct passages of the records, in order of first appearance (ids ``passage-<n>``)."""
    seen: dict[str, None] = {}
    for record in records:
        for passage in record["passages"]:
            seen.setdefault(passage, None)
    return [Document(f"passage-{n}", text) for n, text in enumerate(seen, 1)]


class GoldLinker:
    """Finds a record's gold documents and the indexed chunks that hold its answer."""

    def __init__(self, documents: Sequence[Document], chunks: Sequence[Chunk]):
        self.documents = list(documents)
        self.ids = {document.id for document in documents}
        self.by_text: dict[str, list[str]] = {}
        for document in documents:
            self.by_text.setdefault(_squash(document.text), []).append(document.id)
        self.chunks_of: dict[str, list[int]] = {}
        for index, chunk in enumerate(chunks):
            self.chunks_of.setdefault(chunk.doc_id, []).append(index)
        self.chunks = list(chunks)
        self._normalized = [f" {normalize_answer(chunk.text)} " for chunk in chunks]

    def gold_documents(self, passages: Sequence[str]) -> set[str]:
        gold: set[str] = set()
        for passage in passages:
            if passage in self.ids:
                gold.add(passage)
                continue
            key = _squash(passage)
            if key in self.by_text:
                gold.update(self.by_text[key])
            else:  # a passage quoted from a longer document
                gold.update(d.id for d in self.documents if key and key in _squash(d.text))
        return gold

    def gold_chunks(self, answers: Sequence[str], gold_documents: set[str]) -> set[int]:
        """Indexed chunks holding an answer: within the gold documents when there are any (all of
        their chunks if none quotes it), else anywhere."""
        needles = [f" {normalize_answer(a)} " for a in answers if normalize_answer(a)]
        if gold_documents:
            pool = [i for doc in sorted(gold_documents) for i in self.chunks_of.get(doc, [])]
            quoting = {i for i in pool if any(n in self._normalized[i] for n in needles)}
            return quoting or set(pool)
        return {i for i, text in enumerate(self._normalized) if any(n in text for n in needles)}


def held_out_documents(documents: Sequence[Document], share: float, seed: int) -> set[str]:
    count = round(share * len(documents))
    if share > 0 and count == 0:
        count = 1
    if count >= len(documents) and documents:
        raise ConfigError(f"twist.holdout_share {share} would hold out all {len(documents)} documents; lower it")
    return set(random.Random(seed).sample(sorted(d.id for d in documents), count))


# --- the rewrite -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RagRewrite:
    row: dict[str, Any]  # a rag_passthrough source row
    outcome: Outcome
    gold_chunks: frozenset[int]


def rewrite_record(
    record: Mapping[str, Any],
    hits: Sequence[Hit],
    chunks: Sequence[Chunk],
    gold: set[int],
    *,
    inject: bool,
    rng: random.Random,
) -> RagRewrite:
    """One record with its retrieved passages and the reply those passages justify (see module
    doc); ``gold``: the indexed chunks holding its answer (empty: not covered, or a refusal)."""
    passages = [chunks[hit.index].text for hit in hits]
    outcome: Outcome
    if record["is_refusal"]:
        outcome = "refusal"
    elif not gold:
        outcome = "not_covered"
    elif any(hit.index in gold for hit in hits):
        outcome = "answered"
    elif inject:
        best = min(gold)  # the gold document's first quoting chunk
        passages = passages[:-1] if passages else []
        passages.insert(rng.randrange(len(passages) + 1), chunks[best].text)
        outcome = "injected"
    else:
        outcome = "missed"
    answers = [record["answer"], *(record.get("alternatives") or [])] if outcome in ("answered", "injected") else ""
    row: dict[str, Any] = {"question": record["question"], "passages": passages, "answer": answers}
    if record.get("id") is not None:
        row["id"] = record["id"]
    return RagRewrite(row, outcome, frozenset(() if record["is_refusal"] else gold))


def rewrite_split(
    records: Sequence[Mapping[str, Any]],
    retriever: Retriever,
    linker: GoldLinker,
    held_out: set[str],
    *,
    top_k: int,
    inject: bool,
    seed: int,
) -> tuple[list[RagRewrite], list[list[Hit]]]:
    """Every record of one split rewritten, and the hits retrieved for each (questions searched in one batch)."""
    hits = retriever.search_many([record["question"] for record in records], top_k)
    out = []
    for record, record_hits in zip(records, hits):
        documents = linker.gold_documents(record["passages"])
        answers = [record["answer"], *(record.get("alternatives") or [])]
        if record["is_refusal"] or (documents and documents <= held_out):
            gold: set[int] = set()  # nothing to find: a refusal, or every gold document is held out
        else:
            gold = linker.gold_chunks(answers, documents - held_out)
        rng = random.Random(f"{seed}:{record['question']}")
        out.append(rewrite_record(record, record_hits, retriever.chunks, gold, inject=inject, rng=rng))
    return out, hits


def split_report(rewrites: Sequence[RagRewrite], hits: Sequence[Sequence[Hit]], top_k: int) -> dict[str, Any]:
    """recall@1 / recall@k over the covered answerable questions, and how many replies of each kind."""
    relevant = [set(r.gold_chunks) for r in rewrites]
    return {
        "questions": len(rewrites),
        "recall_at_1": recall_at_k(hits, relevant, 1),
        "recall_at_k": recall_at_k(hits, relevant, top_k),
        "outcomes": dict(Counter(r.outcome for r in rewrites)),
    }


# --- the twist -----------------------------------------------------------------------------------------


class FaqRagTwist(Twist):
    kind = "faq_rag"
    summary = "chunk + index the documents (bm25/embedding/hybrid), prompts carry the top-k passages, refusals where not covered"
    Options = FaqRagOptions
    options: FaqRagOptions

    def input_locators(self) -> list[str]:
        return [self.options.documents] if self.options.documents else []

    def check(self, ctx: RecipeContext) -> None:
        opts = self.options
        if ctx.recipe.task != "rag_qa":
            raise ConfigError(f"twist faq_rag needs task: rag_qa (mapper rag_passthrough), not '{ctx.recipe.task}'")
        if opts.chunk_overlap >= opts.chunk_chars:
            raise ConfigError(
                f"twist.chunk_overlap ({opts.chunk_overlap}) must be smaller than twist.chunk_chars "
                f"({opts.chunk_chars})"
            )
        if opts.retrieval != "bm25":
            bundled_model_path()  # the embedding package is installed (else a one-line error naming it)
        if opts.documents:
            from brewslm.recipes.config import resolve_locator

            first = next(iter(open_source(resolve_locator(opts.documents)).rows()), None)
            if not isinstance(first, dict) or opts.document_text_field not in first:
                raise ConfigError(
                    f"twist.documents {opts.documents}: the first row has no text field "
                    f"'{opts.document_text_field}'; set twist.document_text_field"
                )

    def prepare_data(self, ctx: RecipeContext) -> PreparedData | None:
        opts = self.options
        dataset = ctx.open_dataset()
        records = {split: list(dataset.iter_records(split)) for split in SPLITS}
        documents = (
            load_documents(opts.documents, opts.document_text_field, opts.document_id_field)
            if opts.documents
            else documents_from_records(r for split in SPLITS for r in records[split])
        )
        held_out = held_out_documents(documents, opts.holdout_share, opts.seed)
        all_chunks = chunk_documents(documents, opts.chunk_chars, opts.chunk_overlap)
        indexed = [chunk for chunk in all_chunks if chunk.doc_id not in held_out]
        started = time.perf_counter()
        ctx.log(
            f"faq_rag: indexing {len(indexed)} chunks of {len(documents) - len(held_out)} documents ({opts.retrieval})"
        )
        retriever = Retriever(indexed, mode=opts.retrieval, candidates=opts.candidates)
        linker = GoldLinker(documents, indexed)
        report: dict[str, Any] = {
            "retrieval": opts.retrieval,
            "top_k": opts.top_k,
            "documents": len(documents),
            "held_out_documents": len(held_out),
            "chunks": len(indexed),
            "splits": {},
        }
        prepared: PreparedData | None = None
        summary: dict[str, Any] = {}
        for split in SPLITS:
            if not records[split]:
                continue
            rewrites, hits = rewrite_split(
                records[split],
                retriever,
                linker,
                held_out,
                top_k=opts.top_k,
                inject=opts.inject_gold_in_train and split == "train",
                seed=opts.seed,
            )
            report["splits"][split] = split_report(rewrites, hits, opts.top_k)
            rows = [r.row for r in rewrites]
            field_map = {**RAG_FIELD_MAP, "id": "id"} if any("id" in row for row in rows) else RAG_FIELD_MAP
            prepared = append_records(
                ctx,
                rows,
                mapper="rag_passthrough",
                label=f"rag_{split}",
                split=split,
                field_map=field_map,
                mode="replace" if prepared is None else "append",
            )
            summary.update(prepared.summary)
        report["seconds"] = round(time.perf_counter() - started, 1)
        (ctx.twist_dir / REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
        write_chunks(ctx.twist_dir / CHUNKS_FILE, indexed)  # what a served model retrieves from
        if prepared is None:
            return None
        summary.update(
            {k: v for k, v in report.items() if k != "splits"},
            recall_at_k={s: r["recall_at_k"] for s, r in report["splits"].items()},
        )
        return PreparedData(prepared.dataset, prepared.version, summary)

    def after_eval(self, ctx: RecipeContext, result: EvalResult) -> dict[str, Any]:
        path = ctx.twist_dir / REPORT_FILE
        retrieval = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None
        metrics = result.report["metrics"]
        return {
            "retrieval": retrieval,
            "metrics": {
                name: {"base": (metrics.get("base") or {}).get(name), "tuned": metrics["tuned"].get(name)}
                for name in EVAL_METRICS
            },
        }

    def describe(self, section: Mapping[str, Any]) -> list[str]:
        lines = []
        retrieval = section.get("retrieval")
        if retrieval:
            split = retrieval["splits"].get("test") or next(iter(retrieval["splits"].values()), {})
            lines.append(
                f"retrieval ({retrieval['retrieval']}, {retrieval['chunks']} chunks): recall@1 "
                f"{rate_text(split.get('recall_at_1'))}, "
                f"recall@{retrieval['top_k']} {rate_text(split.get('recall_at_k'))}"
                f" (test); replies: {_outcomes(split.get('outcomes') or {})}"
            )
        for name, pair in (section.get("metrics") or {}).items():
            lines.append(f"{name}: base {rate_text(pair.get('base'))} -> tuned {rate_text(pair.get('tuned'))}")
        return lines

    def serving_settings(self, section: Mapping[str, Any], twist_dir: Path) -> dict[str, Any]:
        """Retrieval over the chunks the prompts were built from, as the recipe configured it
        (/v1/rag/answer retrieves, then prompts with the rag_qa profile)."""
        chunks = twist_dir / CHUNKS_FILE
        if not chunks.is_file():  # a pipeline from before the chunks were saved: re-run its data stage
            return {}
        opts = self.options
        return {
            "retrieval": {
                "chunks_file": str(chunks),
                "mode": opts.retrieval,
                "top_k": opts.top_k,
                "candidates": opts.candidates,
            }
        }


def _squash(text: str) -> str:
    return " ".join(text.split()).casefold()


def _outcomes(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{count} {name}" for name, count in sorted(counts.items())) or "none"


TWIST = FaqRagTwist

__all__ = [
    "FaqRagOptions",
    "FaqRagTwist",
    "GoldLinker",
    "RagRewrite",
    "documents_from_records",
    "held_out_documents",
    "load_documents",
    "rewrite_record",
    "rewrite_split",
    "split_report",
]
