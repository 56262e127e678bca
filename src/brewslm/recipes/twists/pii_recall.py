"""pii_recall twist (pii_spans): recall is the defended metric, and the model sees text with no PII.

A PII tagger that misses a name leaks it; one that flags a harmless word costs a review. So the
recipe gates on span recall (``min_recall``: gate ``recall >= min_recall``; ``lift.recall > 0``
is always checked) and makes sure training holds enough records without any span - otherwise a
model learns that every text has PII and invents some.

Hard negatives (``hard_negatives: sentences``): when fewer than ``min_negative_share`` of the
training records have no span, sentences of span-bearing training texts that contain no span
(and overlap none) become extra ``{text, spans: []}`` records, enough to reach the share (seeded
sample; sentences shorter than ``min_words`` words are not used). They are imported into the
training split through ``span_passthrough``; their count is reported. ``hard_negatives: none``
turns it off.
"""

from __future__ import annotations

import math
import random
from typing import Any, Iterable, Literal, Mapping

from pydantic import Field

from brewslm.evaluation.runner import EvalResult
from brewslm.recipes.twists import PreparedData, RecipeContext, Twist, TwistOptions, rate_text
from brewslm.recipes.twists._derived import append_records
from brewslm.tasks.rag_qa import split_sentences


def sentence_ranges(text: str) -> list[tuple[int, int]]:
    """``(start, end)`` character offsets of ``text``'s sentences (``split_sentences``), in order."""
    ranges, cursor = [], 0
    for sentence in split_sentences(text):
        start = text.find(sentence, cursor)
        if start < 0:  # split_sentences normalised it; skip rather than guess offsets
            continue
        ranges.append((start, start + len(sentence)))
        cursor = start + len(sentence)
    return ranges


def span_free_sentences(record: Mapping[str, Any], min_words: int = 4) -> list[str]:
    """The sentences of a span_set record's text that overlap none of its spans."""
    text, spans = record["text"], record.get("spans") or []
    out = []
    for start, end in sentence_ranges(text):
        if any(span["start"] < end and start < span["end"] for span in spans):
            continue
        sentence = text[start:end]
        if len(sentence.split()) >= min_words:
            out.append(sentence)
    return out


def needed_negatives(records: int, negatives: int, share: float) -> int:
    """How many negatives to add so that ``(negatives + k) / (records + k) >= share``."""
    if share <= 0 or records and negatives / records >= share:
        return 0
    if share >= 1:
        raise ValueError("a negative share must be below 1")
    return max(0, math.ceil((share * records - negatives) / (1 - share) - 1e-9))


def hard_negatives(
    records: Iterable[Mapping[str, Any]], min_share: float, *, seed: int = 0, min_words: int = 4
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    """Extra no-span records (``{"text", "spans": []}``) that bring the share of records without
    spans up to ``min_share``, and counts ``{"records", "negatives", "needed", "candidates", "added"}``.
    Candidates are the span-free sentences of span-bearing texts, deduplicated, never a text the
    data already has."""
    rows = list(records)
    negatives = sum(1 for r in rows if not r.get("spans"))
    needed = needed_negatives(len(rows), negatives, min_share)
    known = {r["text"] for r in rows}
    candidates: list[str] = []
    for row in rows:
        if row.get("spans"):
            for sentence in span_free_sentences(row, min_words):
                if sentence not in known:
                    known.add(sentence)
                    candidates.append(sentence)
    chosen = random.Random(seed).sample(candidates, min(needed, len(candidates)))
    counts = {
        "records": len(rows),
        "negatives": negatives,
        "needed": needed,
        "candidates": len(candidates),
        "added": len(chosen),
    }
    return [{"text": text, "spans": []} for text in chosen], counts


class PiiRecallOptions(TwistOptions):
    hard_negatives: Literal["sentences", "none"] = Field(
        "sentences", description="Derive no-PII records from span-free sentences of training texts (or none)."
    )
    min_negative_share: float = Field(
        0.2, ge=0.0, lt=1.0, description="Share of training records without spans to reach with hard negatives."
    )
    min_words: int = Field(4, ge=1, description="Shortest sentence (in words) used as a hard negative.")
    seed: int = Field(0, description="Seed of the hard-negative sample.")
    min_recall: float | None = Field(
        None, ge=0.0, le=1.0, description="Gate: the fine-tune's span recall must reach this (none: no absolute gate)."
    )


class PiiRecallTwist(Twist):
    kind = "pii_recall"
    summary = "gate on span recall; add span-free sentences as hard negatives when the data has too few"
    Options = PiiRecallOptions
    options: PiiRecallOptions

    def prepare_data(self, ctx: RecipeContext) -> PreparedData | None:
        if self.options.hard_negatives == "none":
            return None
        rows, counts = hard_negatives(
            ctx.open_dataset().iter_records("train"),
            self.options.min_negative_share,
            seed=self.options.seed,
            min_words=self.options.min_words,
        )
        if counts["needed"] and counts["added"] < counts["needed"]:
            ctx.log(
                f"pii_recall: only {counts['added']} of the {counts['needed']} hard negatives wanted could be "
                "derived (too few span-free sentences)"
            )
        if not rows:
            return None
        return append_records(ctx, rows, mapper="span_passthrough", label="hard_negatives", summary=counts)

    def adjust_eval(self, ctx: RecipeContext, config: Any) -> Any:
        from brewslm.evaluation.config import update_eval_config

        gates = list(config.gates)
        wanted = ["lift.recall > 0"] + (
            [f"recall >= {self.options.min_recall}"] if self.options.min_recall is not None else []
        )
        return update_eval_config(config, gates=gates + [g for g in wanted if g not in gates])

    def after_eval(self, ctx: RecipeContext, result: EvalResult) -> dict[str, Any]:
        report = result.report
        metrics = report["metrics"]
        section: dict[str, Any] = {
            "recall": {"tuned": metrics["tuned"].get("recall"), "base": (metrics.get("base") or {}).get("recall")},
            "recall_interval": (report.get("intervals") or {}).get("tuned", {}).get("recall"),
            "recall_gates": [g for g in report.get("gates", []) if g.get("metric") == "recall"],
        }
        return section

    def describe(self, section: Mapping[str, Any]) -> list[str]:
        recall = section.get("recall") or {}
        lines = [f"span recall: base {rate_text(recall.get('base'))} -> tuned {rate_text(recall.get('tuned'))}"]
        for gate in section.get("recall_gates") or []:
            lines.append(f"gate {gate.get('gate')}: {'passed' if gate.get('passed') else 'FAILED'}")
        return lines


TWIST = PiiRecallTwist

__all__ = [
    "PiiRecallOptions",
    "PiiRecallTwist",
    "hard_negatives",
    "needed_negatives",
    "sentence_ranges",
    "span_free_sentences",
]
