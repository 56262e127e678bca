"""rag_qa handler: answers from passages - correctness, grounding, refusals and reply format.

Predictions are answer strings (the generated reply, stripped). The gold reply is the record's
answer, or ``REFUSAL`` for a refusal record (``is_refusal``). A prediction is a refusal when
``faithfulness.is_refusal`` says so (the trained sentence, or a common refusal opening).

Metrics:
- ``exact_match`` / ``f1`` (headline): SQuAD answer scores on the *answerable* rows only, the best
  over the answer and its ``alternatives``; refusing an answerable question scores 0.
- ``faithfulness``: on the rows the model answered (did not refuse), the mean share of answer
  sentences supported by the passages (``faithfulness.lexical_faithfulness``, option
  ``support_threshold``, default 0.5). A refusal gold with a non-refusal answer is such a row.
- ``refusal_accuracy``: the model refuses exactly when the gold is a refusal (all rows);
  ``refusal_precision`` (of its refusals, the share where the gold is a refusal; None when it
  never refuses), ``refusal_recall`` (of the gold refusals, the share it refused; None when there
  are none) and ``refusal_rate``.
- ``format_compliance``: the share of replies that are non-empty, carry no chat-template debris
  (``<|im_end|>``, ``[INST]``, a leading "assistant:"...), say ``REFUSAL`` word for word when they
  refuse, and stay within ``max_answer_chars`` (option, default 500). The detail names the failed
  checks.
- ``length_ratio`` (against the gold reply, ``REFUSAL`` included) and ``unparseable_rate`` (null
  predictions in a predictions file).

Options: ``faithfulness`` - the scorer: ``"lexical"`` (default, the only one so far; an NLI or
LLM-judge scorer is the planned alternative), ``support_threshold``, ``max_answer_chars``.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from brewslm.errors import ConfigError
from brewslm.evaluation.handlers._options import check_options
from brewslm.evaluation.handlers.base import GENERATION, Scored
from brewslm.evaluation.handlers.qa import QaHandler, answer_scores, check_answer_prediction
from brewslm.evaluation.metrics.common import example_stats, ratio, shared_metrics
from brewslm.evaluation.metrics.faithfulness import DEFAULT_SUPPORT_THRESHOLD, is_refusal, lexical_faithfulness
from brewslm.tasks.rendering import REFUSAL, RenderContext

FAITHFULNESS_SCORERS = ("lexical",)
DEFAULT_MAX_ANSWER_CHARS = 500

TEMPLATE_DEBRIS = re.compile(
    r"<\|(?:im_start|im_end|endoftext|eot_id|start_header_id|end_header_id|begin_of_text|assistant|user|system)\|>"
    r"|\[/?INST\]|<s>|</s>|<(?:start|end)_of_turn>|\A(?:assistant|user|system)\s*(?::|\n)",
    re.IGNORECASE,
)
"""Chat-template tokens and role headers that leak into a reply when generation overruns its turn."""


def format_problems(reply: str, max_chars: int) -> list[str]:
    """What is wrong with a reply's form (empty list: compliant)."""
    problems = []
    text = reply.strip()
    if not text:
        problems.append("empty reply")
    if TEMPLATE_DEBRIS.search(reply):
        problems.append("chat-template debris")
    if text and is_refusal(text) and text != REFUSAL:
        problems.append("refusal not worded exactly as trained")
    if len(text) > max_chars:
        problems.append(f"longer than {max_chars} characters")
    return problems


class RagQaHandler(QaHandler):
    """qa's answer scoring (``parse``, ``answer_scores``) plus grounding, refusals and format."""

    task = "rag_qa"
    strategies = (GENERATION,)
    headline = "f1"
    max_new_tokens = 160  # a grounded answer of a few sentences, or the refusal sentence

    def __init__(self, options: Mapping[str, Any] | None = None, context: RenderContext | None = None,
                 manifest: Mapping[str, Any] | None = None):
        super().__init__(options, context, manifest)
        check_options(self.options, ("faithfulness", "support_threshold", "max_answer_chars"), self.task)
        scorer = self.options.get("faithfulness", "lexical")
        if scorer not in FAITHFULNESS_SCORERS:
            raise ConfigError(f"handler option faithfulness={scorer!r} is not available for rag_qa; "
                              f"scorers: {', '.join(FAITHFULNESS_SCORERS)}")
        self.support_threshold = self.options.get("support_threshold", DEFAULT_SUPPORT_THRESHOLD)
        if isinstance(self.support_threshold, bool) or not isinstance(self.support_threshold, (int, float)) \
                or not 0.0 <= self.support_threshold <= 1.0:
            raise ConfigError(f"handler option support_threshold must be a number from 0 to 1, "
                              f"not {self.support_threshold!r}")
        self.max_answer_chars = self.options.get("max_answer_chars", DEFAULT_MAX_ANSWER_CHARS)
        if isinstance(self.max_answer_chars, bool) or not isinstance(self.max_answer_chars, int) \
                or self.max_answer_chars < 1:
            raise ConfigError(f"handler option max_answer_chars must be a whole number of at least 1, "
                              f"not {self.max_answer_chars!r}")

    def gold(self, record: Mapping[str, Any]) -> str:
        return REFUSAL if record["is_refusal"] else record["answer"]

    def score_example(self, record: Mapping[str, Any], prediction: Any) -> Scored:
        check_answer_prediction(prediction, self.task)
        gold_refusal = bool(record["is_refusal"])
        refused = prediction is not None and is_refusal(prediction)
        answered = prediction is not None and not refused and bool(prediction.strip())
        stats = {
            **example_stats(self.gold(record), prediction),
            "answerable": float(not gold_refusal),
            "gold_refusals": float(gold_refusal),
            "predicted_refusals": float(refused),
            "refused_gold_refusals": float(refused and gold_refusal),
            "refusal_correct": float(prediction is not None and refused == gold_refusal),
        }
        detail: dict[str, Any] = {"refused": refused, "gold_refusal": gold_refusal}
        if not gold_refusal:
            em, f1 = answer_scores(prediction if answered else None, record)
            stats.update({"exact_match": em, "f1": f1})
            detail.update({"exact_match": em, "f1": f1})
        if answered:
            grounding = lexical_faithfulness(prediction, record["passages"], self.support_threshold)
            stats.update({"answered": 1.0, "faithfulness": grounding.score})
            detail.update({"faithfulness": grounding.score, "unsupported_sentences": grounding.unsupported})
        problems = format_problems(prediction, self.max_answer_chars) if prediction is not None else ["unparseable"]
        stats["format_ok"] = float(not problems)
        if problems:
            detail["format_problems"] = problems
        return Scored(stats, detail)

    def metrics(self, totals: Mapping[str, float]) -> dict[str, float | None]:
        examples, answerable = totals.get("examples", 0.0), totals.get("answerable", 0.0)
        refused_right = totals.get("refused_gold_refusals", 0.0)
        return {
            "exact_match": ratio(totals.get("exact_match", 0.0), answerable),
            "f1": ratio(totals.get("f1", 0.0), answerable),
            "faithfulness": ratio(totals.get("faithfulness", 0.0), totals.get("answered", 0.0)),
            "refusal_accuracy": ratio(totals.get("refusal_correct", 0.0), examples),
            "refusal_precision": ratio(refused_right, totals.get("predicted_refusals", 0.0)),
            "refusal_recall": ratio(refused_right, totals.get("gold_refusals", 0.0)),
            "refusal_rate": ratio(totals.get("predicted_refusals", 0.0), examples),
            "format_compliance": ratio(totals.get("format_ok", 0.0), examples),
            **shared_metrics(totals),
        }


HANDLER = RagQaHandler
