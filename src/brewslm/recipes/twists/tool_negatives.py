"""tool_negatives twist (tool_call): the model must learn when *not* to call a tool.

A tool-call dataset of calls only teaches "always call something"; evaluation's ``no_tool_accuracy``
then has nothing to measure. When the training split has no no-call record, this twist adds some
(``negative_share`` of the resulting split, default 0.2): a user request from a record that ends
with the user's turn, offered only tools from *other* records whose names differ from every tool
the request was offered (so none fits), with gold "no call" and the reply ``negative_answer``.
The same is done for the evaluation split (``test`` by default) so ``no_tool_accuracy`` is
measured, with the same rule and a different seed. Rows go through ``tool_call_passthrough`` (an
OpenAI-style conversation whose last assistant turn is the direct answer), like any import.
"""

from __future__ import annotations

import math
import random
from typing import Any, Iterable, Mapping, Sequence

from pydantic import Field

from brewslm.evaluation.runner import EvalResult
from brewslm.recipes.twists import PreparedData, RecipeContext, Twist, TwistOptions, rate_text
from brewslm.recipes.twists._derived import append_records

NEGATIVE_ANSWER = "None of the available tools can do that."


def has_no_call_records(records: Iterable[Mapping[str, Any]]) -> bool:
    return any(not record.get("calls") for record in records)


def negative_count(records: int, share: float) -> int:
    """Negatives to add to ``records`` positives so that they are ``share`` of the result."""
    if share <= 0 or records == 0:
        return 0
    return math.ceil(share * records / (1 - share) - 1e-9)


def tool_negatives(
    records: Sequence[Mapping[str, Any]],
    share: float,
    *,
    answer: str = NEGATIVE_ANSWER,
    seed: int = 0,
    max_tools: int = 3,
) -> list[dict[str, Any]]:
    """Canonical no-call tool_call records (``{"messages", "tools", "calls": [], "answer"}``): each
    pairs a request (a record whose history ends with a user turn) with up to ``max_tools`` tools of
    other records whose names are not among the request's own tools. Empty when the data already
    has no-call records or no request can be paired with a non-fitting tool."""
    if has_no_call_records(records):
        return []
    requests = [r for r in records if r.get("messages") and r["messages"][-1].get("role") == "user"]
    pool: dict[str, Mapping[str, Any]] = {}
    for record in records:
        for tool in record.get("tools") or []:
            pool.setdefault(tool["name"], tool)
    rng = random.Random(seed)
    order = list(range(len(requests)))
    rng.shuffle(order)
    out: list[dict[str, Any]] = []
    wanted = negative_count(len(records), share)
    for index in order:
        if len(out) >= wanted:
            break
        request = requests[index]
        own = {tool["name"] for tool in request.get("tools") or []}
        foreign = sorted(name for name in pool if name not in own)
        if not foreign:
            continue
        names = rng.sample(foreign, min(max_tools, len(foreign)))
        out.append(
            {
                "messages": [dict(m) for m in request["messages"]],
                "tools": [dict(pool[n]) for n in names],
                "calls": [],
                "answer": answer,
            }
        )
    return out


def as_openai_row(record: Mapping[str, Any]) -> dict[str, Any]:
    """A canonical no-call record as the OpenAI conversation ``tool_call_passthrough`` reads back to it."""
    return {
        "messages": [*record["messages"], {"role": "assistant", "content": record["answer"]}],
        "tools": [{"type": "function", "function": tool} for tool in record["tools"]],
    }


class ToolNegativesOptions(TwistOptions):
    negative_share: float = Field(
        0.2, ge=0.0, lt=1.0, description="Share of no-call records to reach when the data has none."
    )
    negative_answer: str = Field(
        NEGATIVE_ANSWER, min_length=1, description="The direct reply of an added no-call record."
    )
    eval_split: str | None = Field(
        "test", description="Also add negatives to this split so no_tool_accuracy is measured (none: training only)."
    )
    max_tools: int = Field(3, ge=1, description="Tools offered in an added no-call record.")
    seed: int = Field(0, description="Seed of the pairing.")


class ToolNegativesTwist(Twist):
    kind = "tool_negatives"
    summary = "add no-call examples (requests offered tools that do not fit) when the data has none"
    Options = ToolNegativesOptions
    options: ToolNegativesOptions

    def prepare_data(self, ctx: RecipeContext) -> PreparedData | None:
        o = self.options
        prepared: PreparedData | None = None
        splits = ["train"] + ([o.eval_split] if o.eval_split and o.eval_split != "train" else [])
        for offset, split in enumerate(splits):
            records = list(ctx.open_dataset().iter_records(split))
            rows = tool_negatives(
                records, o.negative_share, answer=o.negative_answer, seed=o.seed + offset, max_tools=o.max_tools
            )
            if has_no_call_records(records):
                ctx.log(f"tool_negatives: the {split} split already has no-call records; none added")
            if not rows:
                continue
            summary = {**(prepared.summary if prepared else {}), f"{split}_negatives": len(rows)}
            prepared = append_records(
                ctx,
                [as_openai_row(r) for r in rows],
                mapper="tool_call_passthrough",
                label=f"{split}_negatives",
                split=split,
                summary=summary,
            )
            ctx.dataset, ctx.dataset_version = prepared.dataset, prepared.version
        return prepared

    def after_eval(self, ctx: RecipeContext, result: EvalResult) -> dict[str, Any]:
        metrics = result.report["metrics"]
        return {
            "no_tool_accuracy": {
                "tuned": metrics["tuned"].get("no_tool_accuracy"),
                "base": (metrics.get("base") or {}).get("no_tool_accuracy"),
            }
        }

    def describe(self, section: Mapping[str, Any]) -> list[str]:
        values = section.get("no_tool_accuracy") or {}
        return [f"no-tool accuracy: base {rate_text(values.get('base'))} -> tuned {rate_text(values.get('tuned'))}"]


TWIST = ToolNegativesTwist

__all__ = [
    "NEGATIVE_ANSWER",
    "ToolNegativesOptions",
    "ToolNegativesTwist",
    "as_openai_row",
    "has_no_call_records",
    "negative_count",
    "tool_negatives",
]
