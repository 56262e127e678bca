"""One model's predictions on the evaluation rows, by the task handler's strategy (label scoring,
generation then ``parse``, preference log-probs or perplexity; the strategies themselves are
``brewslm.inference``), with progress events.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from brewslm import inference as api
from brewslm.errors import ConfigError
from brewslm.evaluation.config import EvalConfig
from brewslm.evaluation.handlers import EvalHandler
from brewslm.evaluation.handlers.base import GENERATION, LABEL_SCORING, PERPLEXITY, PREFERENCE
from brewslm.evaluation.model_refs import LoadedModel
from brewslm.evaluation.progress import EvalProgress
from brewslm.evaluation.rows import EvalRows
from brewslm.inference import JsonConstraint


@dataclass(frozen=True)
class Predicted:
    """One example's target-shaped prediction, the generated text it came from and model scores."""

    prediction: Any
    raw: str | None = None
    scores: dict[str, Any] | None = None
    source: Any = None  # the prediction API's result it came from (a PreferenceScore keeps the pair for ref_*)
    judge_support: dict[str, Any] | None = None  # judged handlers: {"judge_model", "claims": [{"sentence", "support"}]}

    @property
    def support(self) -> list[float] | None:
        """The judge's probabilities, in ``judge_claims`` order (None: not judged)."""
        return None if self.judge_support is None else [c["support"] for c in self.judge_support["claims"]]


def progress_ticker(progress: EvalProgress | None, model: str, phase: str) -> Callable[[int, int], None] | None:
    """The prediction API's ``(done, total)`` callback -> ``predict`` events with rate and ETA."""
    if progress is None:
        return None
    start = time.perf_counter()

    def tick(done: int, total: int) -> None:
        elapsed = max(time.perf_counter() - start, 1e-9)
        rate = done / elapsed
        eta = (total - done) / rate if rate > 0 else None
        progress(
            {
                "event": "predict",
                "model": model,
                "phase": phase,
                "done": done,
                "total": total,
                "examples_per_s": rate,
                "eta_s": eta,
            }
        )

    return tick


def check_strategy(config: EvalConfig, handler: EvalHandler) -> str:
    strategy = config.strategy or handler.strategy
    if strategy not in handler.strategies:
        raise ConfigError(
            f"option 'strategy': {handler.task} is scored by {' or '.join(handler.strategies)}, not {strategy}"
        )
    if config.constrained:
        if strategy != GENERATION:
            raise ConfigError(f"option 'constrained' applies to generation; strategy is {strategy}")
        if not handler.constrainable:
            raise ConfigError(
                f"option 'constrained': {handler.task} replies have no JSON schema to be constrained "
                "to; it serves structured extraction and tool calls"
            )
    if config.judge and handler.strategy != PERPLEXITY:
        raise ConfigError(
            f"option 'judge' compares free replies (chat_sft, language_modeling); {handler.task} "
            "has task metrics of its own"
        )
    return strategy


def _constraints(config: EvalConfig, handler: EvalHandler, records: Sequence[Mapping[str, Any]]) -> list[Any] | None:
    if not config.constrained:
        return None

    # a handler whose replies may also be plain text (a tool-call reply that answers directly) says
    # so; free text then stays allowed until the reply opens a JSON document
    allow_text = bool(getattr(handler, "constraint_allows_text", False))
    constraints = []
    for record in records:
        schema = handler.json_schema(record)
        constraints.append(JsonConstraint(schema, allow_text=allow_text) if schema else None)
    return constraints


def predict(
    handler: EvalHandler,
    strategy: str,
    loaded: LoadedModel,
    rows: EvalRows,
    config: EvalConfig,
    progress: EvalProgress | None = None,
    label: str = "tuned",
) -> list[Predicted]:
    """Target-shaped predictions of one model for every row, by ``strategy``."""

    model, tokenizer = loaded.model, loaded.tokenizer
    common = {
        "batch_size": config.batch_size,
        "max_seq_len": config.max_seq_len,
        "progress": progress_ticker(progress, label, strategy),
    }
    with loaded.active():
        if strategy == LABEL_SCORING:
            labels = list(handler.candidate_labels())
            if not labels:
                raise ConfigError(
                    "label scoring needs the candidate labels, and neither the run nor the dataset "
                    "manifest lists any; use strategy=generation"
                )
            scored = api.score_labels(
                model, tokenizer, rows.rendered, labels, replies=handler.label_replies(), **common
            )
            return [
                Predicted(
                    handler.label_prediction(s),
                    None,
                    {"probabilities": dict(s.probabilities), "logprobs": dict(s.logprobs), "confidence": s.confidence},
                )
                for s in scored
            ]
        if strategy == GENERATION:
            generations = api.generate(
                model,
                tokenizer,
                rows.rendered,
                max_new_tokens=max_new_tokens_for(config, handler),
                temperature=config.temperature,
                seed=config.seed,
                constraints=_constraints(config, handler, rows.records),
                **common,
            )
            return [
                Predicted(handler.parse(g.text, record), g.text, {"tokens": g.tokens, "finished": g.finished})
                for g, record in zip(generations, rows.records)
            ]
        if strategy == PREFERENCE:
            pairs = api.preference_scores(model, tokenizer, rows.rendered, **common)
            return [Predicted(pair.to_prediction(), source=pair) for pair in pairs]
        if strategy == PERPLEXITY:
            return [
                Predicted(s.to_prediction(), source=s)
                for s in api.sequence_scores(model, tokenizer, rows.rendered, **common)
            ]
    raise ConfigError(f"unknown strategy '{strategy}'")


def max_new_tokens_for(config: EvalConfig, handler: EvalHandler) -> int:
    return config.max_new_tokens or handler.max_new_tokens


def with_reference(tuned: list[Predicted], base: list[Predicted]) -> list[Predicted]:
    """Preference predictions of the fine-tune with the base's log-probs as the DPO reference."""
    return [
        Predicted(t.source.to_prediction(reference=b.source), t.raw, t.scores, t.source) for t, b in zip(tuned, base)
    ]


__all__ = [
    "Predicted",
    "check_strategy",
    "max_new_tokens_for",
    "predict",
    "progress_ticker",
    "with_reference",
]
