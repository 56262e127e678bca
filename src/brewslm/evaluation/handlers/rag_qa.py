"""rag_qa handler: answers from passages - correctness, grounding, refusals and reply format.

Predictions are answer strings (the generated reply, stripped). The gold reply is the record's
answer, or ``REFUSAL`` for a refusal record (``is_refusal``). A prediction is a refusal when
``tasks.rag_qa.is_refusal`` says so (the trained sentence, or a common refusal opening).

Metrics:
- ``overall_f1`` (headline) / ``overall_exact_match``: SQuAD 2.0's official scores over every row -
  an answerable row scores its answer (below), a refusal row 1 when the model refused and 0 when it
  answered. Answering well and refusing when the passages do not hold the answer both count, so a
  model that never refuses cannot win by ignoring half of the task.
- ``exact_match`` / ``f1``: SQuAD answer scores on the *answerable* rows only (SQuAD 2.0's
  "HasAns"), the best over the answer and its ``alternatives``; refusing an answerable question
  scores 0.
- ``faithfulness``: on the rows the model answered (did not refuse), the mean share of answer
  sentences supported by the passages. A refusal gold with a non-refusal answer is such a row.
  Two scorers (option ``faithfulness``):
  ``"lexical"`` (default, no model): ``tasks.rag_qa.lexical_faithfulness``, a sentence is supported
  when enough of its content words are in one passage (option ``support_threshold``, default 0.5);
  ``"llm_judge"``: a local judge model (the eval config's ``judge_model``, default the baseline)
  rates every checkable answer sentence (``judge_claims``: the sentences the lexical scorer checks,
  each sent with the question, the passages and the whole answer; prompt in
  ``inference.grounding``), and an answer's faithfulness is the mean of its sentences' support
  probabilities (``faithfulness.judged_faithfulness``). Refusals are never judged. The service
  runs the judge after generation and saves the verdicts in the predictions file
  (``judge_support``), so a re-score without a model gives the same numbers.
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

Options: ``faithfulness`` - the scorer, ``"lexical"`` (default) or ``"llm_judge"``;
``support_threshold`` (lexical only), ``max_answer_chars``.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Sequence

from brewslm.errors import ConfigError
from brewslm.evaluation.handlers._options import check_options
from brewslm.evaluation.handlers.base import GENERATION, Scored
from brewslm.evaluation.handlers.qa import QaHandler, answer_scores, check_answer_prediction
from brewslm.evaluation.metrics.common import example_stats, ratio, shared_metrics
from brewslm.evaluation.metrics.faithfulness import judged_faithfulness, support_claims
from brewslm.inference.grounding import SupportClaim
from brewslm.tasks.rag_qa import DEFAULT_SUPPORT_THRESHOLD, Faithfulness, is_refusal, lexical_faithfulness
from brewslm.tasks.rendering import REFUSAL, RenderContext

LEXICAL, LLM_JUDGE = "lexical", "llm_judge"
FAITHFULNESS_SCORERS = (LEXICAL, LLM_JUDGE)
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
    headline = "overall_f1"

    def __init__(
        self,
        options: Mapping[str, Any] | None = None,
        context: RenderContext | None = None,
        manifest: Mapping[str, Any] | None = None,
    ):
        super().__init__(options, context, manifest)
        check_options(self.options, ("faithfulness", "support_threshold", "max_answer_chars"), self.task)
        scorer = self.options.get("faithfulness", LEXICAL)
        if scorer not in FAITHFULNESS_SCORERS:
            raise ConfigError(
                f"handler option faithfulness={scorer!r} is not available for rag_qa; "
                f"scorers: {', '.join(FAITHFULNESS_SCORERS)}"
            )
        self.judged = scorer == LLM_JUDGE
        self.support_threshold = self.options.get("support_threshold", DEFAULT_SUPPORT_THRESHOLD)
        if (
            isinstance(self.support_threshold, bool)
            or not isinstance(self.support_threshold, (int, float))
            or not 0.0 <= self.support_threshold <= 1.0
        ):
            raise ConfigError(
                f"handler option support_threshold must be a number from 0 to 1, not {self.support_threshold!r}"
            )
        self.max_answer_chars = self.options.get("max_answer_chars", DEFAULT_MAX_ANSWER_CHARS)
        if (
            isinstance(self.max_answer_chars, bool)
            or not isinstance(self.max_answer_chars, int)
            or self.max_answer_chars < 1
        ):
            raise ConfigError(
                f"handler option max_answer_chars must be a whole number of at least 1, not {self.max_answer_chars!r}"
            )

    def gold(self, record: Mapping[str, Any]) -> str:
        return REFUSAL if record["is_refusal"] else record["answer"]

    def judge_claims(self, record: Mapping[str, Any], prediction: Any) -> list[SupportClaim]:
        """faithfulness=llm_judge: the answer's checkable sentences for the judge (none for a
        refusal, an empty or unparseable reply, or with the lexical scorer)."""
        if not self.judged or not self._answered(prediction):
            return []
        return support_claims(record["question"], record["passages"], prediction)

    def score_example(self, record: Mapping[str, Any], prediction: Any) -> Scored:
        if self.judged and self.judge_claims(record, prediction):
            raise ConfigError(
                "handler option faithfulness=llm_judge scores answers with a judge's verdicts, and "
                "this answer has none; re-score a predictions file written by 'brewslm eval' with "
                "that option (its rows carry judge_support), or use faithfulness=lexical"
            )
        return self.score_judged(record, prediction, ())

    def score_judged(self, record: Mapping[str, Any], prediction: Any, support: Sequence[float]) -> Scored:
        answered = self._answered(prediction)  # (checks the prediction's shape first)
        gold_refusal = bool(record["is_refusal"])
        refused = prediction is not None and is_refusal(prediction)
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
            stats.update({"exact_match": em, "f1": f1, "overall_exact_match": em, "overall_f1": f1})
            detail.update({"exact_match": em, "f1": f1})
        else:
            stats.update({"overall_exact_match": float(refused), "overall_f1": float(refused)})
        if answered:
            grounding = self._grounding(record, prediction, support)
            stats.update({"answered": 1.0, "faithfulness": grounding.score})
            detail.update({"faithfulness": grounding.score, "unsupported_sentences": grounding.unsupported})
        problems = format_problems(prediction, self.max_answer_chars) if prediction is not None else ["unparseable"]
        stats["format_ok"] = float(not problems)
        if problems:
            detail["format_problems"] = problems
        return Scored(stats, detail)

    def _answered(self, prediction: Any) -> bool:
        """The model gave an answer (not a refusal, not empty, not unparseable): faithfulness applies."""
        check_answer_prediction(prediction, self.task)
        return prediction is not None and bool(prediction.strip()) and not is_refusal(prediction)

    def _grounding(self, record: Mapping[str, Any], prediction: str, support: Sequence[float]) -> Faithfulness:
        if self.judged:
            return judged_faithfulness(prediction, support)
        return lexical_faithfulness(prediction, record["passages"], self.support_threshold)

    def metrics(self, totals: Mapping[str, float]) -> dict[str, float | None]:
        examples, answerable = totals.get("examples", 0.0), totals.get("answerable", 0.0)
        refused_right = totals.get("refused_gold_refusals", 0.0)
        return {
            "overall_f1": ratio(totals.get("overall_f1", 0.0), examples),
            "overall_exact_match": ratio(totals.get("overall_exact_match", 0.0), examples),
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
