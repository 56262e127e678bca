"""The task metric on the validation split, as a callable the training loop can call at every
evaluation (``train(config, validation_metrics=...)``; training cannot build it: the evaluation
layer sits above it).

    evaluator = validation_evaluator(config, max_rows=200)
    evaluator.check_metric("macro_f1")            # a one-line ConfigError for a metric the task lacks
    train(config, validation_metrics=evaluator)   # macro_f1, accuracy... logged with each eval entry

It is the evaluation service's own path, on fewer rows: the rows rendered exactly as training
renders them (``runner.load_rows``, a seeded sample of at most ``max_rows``), the task handler's
default strategy (label scoring for classification, generation otherwise; ``predicting.predict``),
then ``runner.score_all`` and ``runner.statistics`` (without bootstrap intervals).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from brewslm.errors import ConfigError
from brewslm.evaluation.config import EvalConfig
from brewslm.evaluation.handlers import EvalHandler, get_eval_handler
from brewslm.evaluation.model_refs import LoadedModel, ModelRef
from brewslm.evaluation.predicting import predict
from brewslm.evaluation.rows import EvalRows, load_rows, scoring_mode_of
from brewslm.evaluation.scoring import score_all, statistics
from brewslm.tasks import get_task_profile
from brewslm.tasks.rendering import RenderContext
from brewslm.training.config import TrainConfig, metric_mode
from brewslm.training.run import open_training_dataset

VALIDATION_SPLIT = "validation"
EVAL_LOSS = "eval_loss"  # the loop's own validation metric (no evaluator needed)
_CANDIDATE = ModelRef(spec="(training)", kind="model", source=None, name="candidate")


@dataclass
class ValidationEvaluator:
    """``(model, tokenizer) -> {metric: value}`` on fixed validation rows, with the handler that
    knows the metric names, the headline and which metrics fall as they improve."""

    handler: EvalHandler
    strategy: str
    rows: EvalRows
    eval_config: EvalConfig

    def __call__(self, model: Any, tokenizer: Any) -> dict[str, float]:
        loaded = LoadedModel(_CANDIDATE, model, tokenizer)
        predicted = predict(self.handler, self.strategy, loaded, self.rows, self.eval_config, label="candidate")
        scored = score_all(self.handler, self.rows.records, [p.prediction for p in predicted])
        summary = statistics(
            self.handler, scored, self.rows.subtasks, samples=0, confidence=0.95, seed=self.eval_config.seed
        )
        return _numbers(summary["metrics"])

    @property
    def headline(self) -> str:
        return self.handler.headline

    def metric_names(self) -> list[str]:
        """The metrics this task reports (read off a gold prediction of one row: no model needed)."""
        record = self.rows.records[0]
        scored = score_all(self.handler, [record], [self.handler.gold(record)])
        return sorted(
            _numbers(
                statistics(self.handler, scored, [None], samples=0, confidence=0.95, seed=0)["metrics"],
                keep_undefined=True,
            )
        )

    def check_metric(self, name: str, option: str) -> None:
        if name == EVAL_LOSS:
            return
        names = self.metric_names()
        if name not in names:
            raise ConfigError(
                f"option '{option}' is {name!r}, which {self.handler.task} validation does not report; "
                f"use eval_loss or one of: {', '.join(names)}"
            )

    def mode(self, name: str) -> str:
        """min or max for ``name``: the handler's own list of lower-is-better metrics, else the name's hint."""
        return "min" if name in self.handler.lower_is_better else metric_mode(name)


def _numbers(metrics: Mapping[str, Any], *, keep_undefined: bool = False) -> dict[str, float]:
    """The scalar metrics (sections such as per-class tables are left out); None (undefined) is NaN."""
    out: dict[str, float] = {}
    for name, value in metrics.items():
        if value is None:
            if keep_undefined:
                out[name] = math.nan
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[name] = float(value)
    return out


def validation_evaluator(
    config: TrainConfig, *, max_rows: int | None = None, purpose: str = "a task metric"
) -> ValidationEvaluator:
    """The evaluator of ``config``'s dataset on its validation split, on a seeded sample of at most
    ``max_rows`` rows; an empty split is a ``ConfigError`` saying ``purpose`` needs it."""
    dataset = open_training_dataset(config)
    if next(iter(dataset.iter_records(VALIDATION_SPLIT)), None) is None:
        raise ConfigError(
            f"{purpose} needs validation data, and dataset '{dataset.name}' v{dataset.version} has an "
            "empty validation split; import validation rows or re-split the dataset"
        )
    profile = get_task_profile(dataset.task_profile)
    context = RenderContext.from_manifest(dataset.manifest)  # what training renders with (loop.preflight)
    handler = get_eval_handler(
        profile.id, scoring_mode_of(dataset.manifest, context), context=context, manifest=dataset.manifest
    )
    rows = load_rows(dataset, VALIDATION_SPLIT, profile, context, max_examples=max_rows, seed=config.seed)
    eval_config = EvalConfig(
        model=_CANDIDATE.spec,
        dataset=config.dataset,
        split=VALIDATION_SPLIT,
        batch_size=config.eval_batch_size or config.batch_size,
        max_seq_len=config.max_seq_len,
        seed=config.seed,
        bootstrap_samples=0,
        device=config.device,
    )
    return ValidationEvaluator(handler, handler.strategy, rows, eval_config)


def with_task_metric(
    config: TrainConfig, *, max_rows: int | None = None
) -> tuple[TrainConfig, ValidationEvaluator | None]:
    """``config`` ready for ``train``: when early stopping watches a task metric, its evaluator (the
    metric checked, ``early_stopping.mode`` set from the handler when unset); else no evaluator."""
    stopping = config.early_stopping
    if not stopping.watches_task_metric:
        return config, None
    evaluator = validation_evaluator(
        config, max_rows=max_rows or config.max_eval_examples, purpose=f"early stopping on {stopping.metric}"
    )
    evaluator.check_metric(stopping.metric, "early_stopping.metric")
    if stopping.mode is None:
        config = config.model_copy(
            update={"early_stopping": stopping.model_copy(update={"mode": evaluator.mode(stopping.metric)})}
        )
    return config, evaluator


__all__ = ["EVAL_LOSS", "VALIDATION_SPLIT", "ValidationEvaluator", "validation_evaluator", "with_task_metric"]
