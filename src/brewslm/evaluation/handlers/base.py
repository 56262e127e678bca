"""The evaluation-handler contract: how one task profile's predictions are scored.

A handler turns (canonical record, prediction) pairs into metrics in two pure steps:

1. ``score_example(record, prediction)`` -> ``Scored``: *additive* sufficient statistics for that
   example (counts and sums: ``{"correct": 1.0, "tp:positive": 1.0, ...}``) plus a JSON-able
   ``detail`` for the predictions file (matched / missed spans, why a parse failed...).
2. ``metrics(totals)`` -> ``{metric: value}``: the metric values computed from the statistics
   summed over any set of examples.

Because every metric is a function of summed statistics, one code path gives the metrics of the
whole set, of each ``subtask`` group, and of every bootstrap resample (a resample's totals are
``counts @ stats_matrix``), so confidence intervals cost microseconds per resample and can never
disagree with the reported point value.

Predictions are *target-shaped* (what ``brewslm eval score --pred`` files hold): a label string
(classification; label scoring adds its probability: ``{"label", "confidence"}``), a list of ``{"start", "end", "label"}`` spans (span_set), a JSON object
(field_match), an answer string (qa, rag_qa), a ``{"tool", "arguments"}`` object, a list of them
(parallel calls) or a plain string (a direct answer without a call) for tool_call, and a dict of
model scores for the log-probability strategies (dpo: ``{"chosen_logprob", "rejected_logprob",
...}``; perplexity: ``{"nll", "tokens"}``). ``None`` means no usable prediction (generated text
that does not parse): it is scored, and counted as unparseable, never skipped.

``parse(text, record)`` turns a generated completion into that shape; it is strict (classification
accepts the exact label after normalisation, never "the first label mentioned"). Reading a reply is
the task's, not evaluation's: a handler's ``reader`` is its task profile's ``ReplyReader``
(``tasks.replies``) for its scoring mode, and ``parse``, ``json_schema``, the candidate labels, the
reply budget and whether generation can be constrained are the reader's - the server reads
replies with the same readers. Handlers add the scoring.

Judged scoring (a handler whose option set asks for a local judge model, ``judged`` true - rag_qa's
``faithfulness: llm_judge``): handlers load no model, so the service asks the handler what needs
judging (``judge_claims(record, prediction)``), has the judge rate each claim (a probability), saves
the verdicts with the prediction and scores with ``score_judged(record, prediction, support)``.
Re-scoring a predictions file passes the saved verdicts back the same way.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, ClassVar, Mapping, Sequence

from brewslm.tasks import REGISTRY as TASK_PROFILES
from brewslm.tasks.rendering import RenderContext
from brewslm.tasks.replies import DEFAULT_MAX_NEW_TOKENS, ReplyReader

# How a handler's predictions are obtained from a model (see brewslm.inference):
LABEL_SCORING = "label_scoring"  # log-likelihood of every candidate label given the prompt
GENERATION = "generation"  # greedy / low-temperature decoding of the completion, then parse()
PREFERENCE = "preference"  # summed log-probs of the chosen and the rejected reply
PERPLEXITY = "perplexity"  # summed NLL and token count of the trained tokens
STRATEGIES = (LABEL_SCORING, GENERATION, PREFERENCE, PERPLEXITY)


@dataclass(frozen=True)
class Scored:
    """One example's additive statistics and its per-example detail (JSON-able)."""

    stats: dict[str, float]
    detail: dict[str, Any] = field(default_factory=dict)


class EvalHandler(ABC):
    """Scores one task profile (and, for structured_extraction, one scoring mode).

    Subclasses set the class attributes and implement ``gold``, ``score_example`` and ``metrics``;
    generation-based handlers read replies with their task's ``reader`` (a handler of a task
    without one implements ``parse`` itself). ``options`` are the handler's own knobs (e.g.
    field_match normalisation) from the eval config; ``context`` is the render context the model
    was trained with (labels, span labels, fields); ``manifest`` the dataset manifest (output
    schema, label counts).
    """

    task: ClassVar[str]  # task profile id
    scoring_mode: ClassVar[str | None] = None  # structured_extraction only: "span_set" | "field_match"
    strategies: ClassVar[tuple[str, ...]] = (GENERATION,)  # supported; the first is the default
    headline: ClassVar[str]  # the metric a report and the lift lead with
    lower_is_better: ClassVar[frozenset[str]] = frozenset()  # metrics where smaller wins (perplexity)
    judged: bool = False  # scoring needs a local judge's verdicts (judge_claims / score_judged); set by options

    def __init__(
        self,
        options: Mapping[str, Any] | None = None,
        context: RenderContext | None = None,
        manifest: Mapping[str, Any] | None = None,
    ):
        self.options = dict(options or {})
        self.context = context or RenderContext()
        self.manifest = dict(manifest or {})

    @property
    def strategy(self) -> str:
        return self.strategies[0]

    @cached_property
    def reader(self) -> ReplyReader | None:
        """How this task's replies are read: its task profile's reader for the scoring mode, built
        with this handler's context and manifest (and field_match's ``json_schema`` option); None
        when the task's replies are not read (or the task has no registered profile)."""
        profile = TASK_PROFILES.find(self.task)
        if profile is None:
            return None
        return profile.reply_reader(
            self.scoring_mode, context=self.context, manifest=self.manifest, json_schema=self.options.get("json_schema")
        )

    @property
    def max_new_tokens(self) -> int:
        """Generation budget for one completion (the reader's)."""
        return self.reader.max_new_tokens if self.reader is not None else DEFAULT_MAX_NEW_TOKENS

    @property
    def constrainable(self) -> bool:
        """Generation can be constrained to a JSON schema (``json_schema``)."""
        return self.reader is not None and self.reader.constrainable

    @property
    def constraint_allows_text(self) -> bool:
        """Under constraint a plain-text reply stays allowed (tool calls)."""
        return self.reader is not None and self.reader.constraint_allows_text

    @abstractmethod
    def gold(self, record: Mapping[str, Any]) -> Any:
        """The record's target in prediction shape (what a perfect prediction equals)."""

    def parse(self, text: str, record: Mapping[str, Any]) -> Any:
        """A generated completion -> a target-shaped prediction, or None when it does not parse."""
        if self.reader is None:
            raise NotImplementedError(f"{type(self).__name__} does not score generated text")
        return self.reader.parse(text, record)

    @abstractmethod
    def score_example(self, record: Mapping[str, Any], prediction: Any) -> Scored:
        """Additive statistics of one example (a None prediction is unparseable: scored as wrong)."""

    @abstractmethod
    def metrics(self, totals: Mapping[str, float]) -> dict[str, float | None]:
        """Metric values from statistics summed over a set of examples (pure; None = undefined,
        e.g. precision with nothing predicted is reported as 0 only where the reference library
        does so)."""

    def breakdown(
        self, records: Sequence[Mapping[str, Any]], predictions: Sequence[Any], scored: Sequence[Scored]
    ) -> dict[str, Any]:
        """Report sections that are not single numbers (confusion matrix, per-class / per-type
        tables, per-field accuracy...), JSON-able. Default: none."""
        return {}

    def candidate_labels(self) -> list[str]:
        """LABEL_SCORING only: the labels scored for every example."""
        raise NotImplementedError(f"{type(self).__name__} does not use label scoring")

    def label_replies(self) -> list[str]:
        """LABEL_SCORING only: the reply text scored for each of ``candidate_labels()``, in order
        (the labels themselves unless the render context spells them out)."""
        return [self.context.reply_text(label) for label in self.candidate_labels()]

    def label_prediction(self, scores: Any) -> Any:
        """LABEL_SCORING only: the prediction made from one example's ``LabelScores`` - the most
        likely label (classification keeps its confidence with it, and routes low-confidence
        examples when scoring: its ``confidence_threshold``)."""
        return scores.best

    def judge_claims(self, record: Mapping[str, Any], prediction: Any) -> list[Any]:
        """Judged handlers only: what the judge must rate for this prediction, in order (the
        prediction API's judge input, e.g. ``faithfulness.SupportClaim``); empty: nothing to judge."""
        return []

    def score_judged(self, record: Mapping[str, Any], prediction: Any, support: Sequence[float]) -> Scored:
        """Judged handlers only: ``score_example`` with the judge's probability for each of
        ``judge_claims(record, prediction)``, in the same order."""
        raise NotImplementedError(f"{type(self).__name__} is not scored with a judge")

    def json_schema(self, record: Mapping[str, Any]) -> dict[str, Any] | None:
        """Constrained decoding only: the JSON schema a completion for ``record`` must satisfy."""
        return self.reader.json_schema(record) if self.reader is not None else None

    def describe(self) -> dict[str, Any]:
        return {
            "task": self.task,
            "scoring_mode": self.scoring_mode,
            "strategies": list(self.strategies),
            "headline": self.headline,
            "lower_is_better": sorted(self.lower_is_better),
        }


__all__ = ["GENERATION", "LABEL_SCORING", "PERPLEXITY", "PREFERENCE", "STRATEGIES", "EvalHandler", "Scored"]
