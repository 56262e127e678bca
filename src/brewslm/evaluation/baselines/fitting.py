"""Running the cheap baselines of an evaluation: fit each on the train split, predict the evaluated
rows, score them with the same handler; the strongest by the headline metric is the report's
``baseline``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from brewslm.errors import BrewError
from brewslm.evaluation.config import EvalConfig
from brewslm.evaluation.handlers import EvalHandler
from brewslm.evaluation.model_refs import ModelRef
from brewslm.evaluation.predicting import Predicted
from brewslm.evaluation.progress import EvalProgress
from brewslm.evaluation.scoring import ModelEval, score_all, statistics

BASELINE = "baseline"  # the report's label of the strongest cheap baseline (beside "tuned" and "base")

if TYPE_CHECKING:  # the plan's type only: runner.py imports this module
    from brewslm.evaluation.runner import EvalPlan


@dataclass
class FittedBaseline:
    """One cheap baseline after fitting on the train split: its scores on the evaluated rows, or
    why it could not be fitted (``unavailable``)."""

    baseline: Any  # a brewslm.evaluation.baselines.Baseline
    seconds: float  # fit + predict
    predicted: list[Predicted] | None = None  # one per evaluated row (a judged handler's verdicts ride on them)
    result: ModelEval | None = None  # once scored
    stats: dict[str, Any] | None = None  # ``statistics`` of its scored rows
    unavailable: str | None = None

    @property
    def name(self) -> str:
        return self.baseline.name

    def headline(self, handler: EvalHandler) -> float | None:
        value = (self.stats or {}).get("metrics", {}).get(handler.headline)
        return (
            float(value)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
            else None
        )

    def entry(self, handler: EvalHandler, extra_metrics: int = 4) -> dict[str, Any]:
        """The report's ``baselines.<name>``: title, seconds, then the headline and a few metrics
        with the headline's interval, or the reason it is unavailable."""
        out: dict[str, Any] = {"title": self.baseline.title, "seconds": self.seconds}
        if self.unavailable is not None or self.stats is None:
            out["unavailable"] = self.unavailable
            return out
        metrics = self.stats["metrics"]
        others = [m for m, v in metrics.items() if m != handler.headline and isinstance(v, (int, float))]
        out["metrics"] = {m: metrics.get(m) for m in [handler.headline] + others[:extra_metrics]}
        out["interval"] = self.stats["intervals"].get(handler.headline)
        out["fitted"] = dict(self.baseline.fitted)
        return out


@dataclass
class BaselineRun:
    """Every cheap baseline of the task, fitted on the train split and scored on the evaluated rows
    (``skipped``: why none was fitted at all)."""

    fitted: list[FittedBaseline] = field(default_factory=list)
    skipped: str | None = None
    train_examples: int = 0

    def strongest(self, handler: EvalHandler) -> FittedBaseline | None:
        """The best scored baseline by the headline metric (``lower_is_better`` respected; the
        registry's order breaks ties); None when none could be fitted."""
        scored = [f for f in self.fitted if f.result is not None]
        defined = [f for f in scored if f.headline(handler) is not None]
        if not defined:
            return scored[0] if scored else None
        sign = 1.0 if handler.headline in handler.lower_is_better else -1.0
        return min(defined, key=lambda f: sign * f.headline(handler))

    def describe(self, handler: EvalHandler) -> dict[str, Any] | None:
        """``models.baseline``: the strongest baseline's name, title, what it learnt, its train rows."""
        chosen = self.strongest(handler)
        if chosen is None:
            return None
        return {
            **chosen.baseline.describe(),
            "kind": BASELINE,
            "fitted_on": {"split": "train", "examples": self.train_examples},
        }


def run_baselines(plan: "EvalPlan", config: EvalConfig, emit: EvalProgress | None = None) -> BaselineRun:
    """``fit_baselines`` then ``score_baselines`` (a judged handler's baselines are judged in
    ``run_models``, between the two)."""
    return score_baselines(fit_baselines(plan, config, emit), plan, config)


def fit_baselines(plan: "EvalPlan", config: EvalConfig, emit: EvalProgress | None = None) -> BaselineRun:
    """Fit every cheap baseline of the handler's task on the dataset version's train records and
    predict the evaluated rows (seconds: fit + predict). A baseline that cannot fit is recorded
    with its reason; the evaluation goes on."""
    from brewslm.evaluation.baselines import baselines_for

    emit = emit or (lambda event: None)
    handler, rows, dataset = plan.handler, plan.rows, plan.dataset
    if not config.cheap_baselines:
        return BaselineRun(skipped="cheap baselines are switched off (cheap_baselines=false)")
    if config.split == "train":
        return BaselineRun(
            skipped="the evaluated split is train, the rows a baseline is fitted on; evaluate on "
            "validation or test to compare with the cheap baselines"
        )
    baselines = baselines_for(handler, seed=config.seed)
    if not baselines:
        mode = f" ({handler.scoring_mode})" if handler.scoring_mode else ""
        return BaselineRun(skipped=f"no cheap baseline is registered for {handler.task}{mode}")
    train = list(dataset.iter_records("train"))
    if not train:
        return BaselineRun(
            skipped=f"dataset '{dataset.name}' v{dataset.version} has no train rows to fit a cheap baseline on"
        )
    run = BaselineRun(train_examples=len(train))
    for baseline in baselines:
        start = time.perf_counter()
        try:
            predictions = list(baseline.fit(train, handler).predict(rows.records))
        except BrewError as exc:  # BaselineUnavailable, or the handler refusing what fitting asked of it
            run.fitted.append(FittedBaseline(baseline, time.perf_counter() - start, unavailable=str(exc)))
            emit({"event": "info", "message": f"cheap baseline {baseline.name} unavailable: {exc}"})
            continue
        seconds = time.perf_counter() - start
        if len(predictions) != len(rows.records):  # a broken baseline, not a user error
            raise ValueError(
                f"baseline {baseline.name} predicted {len(predictions)} rows for "
                f"{len(rows.records)} records; predict() returns one prediction per record"
            )
        run.fitted.append(FittedBaseline(baseline, seconds, [Predicted(p) for p in predictions]))
        emit(
            {
                "event": "info",
                "message": f"cheap baseline {baseline.name} fitted on {len(train)} train rows in {seconds:.1f} s",
            }
        )
    return run


def score_baselines(run: BaselineRun, plan: "EvalPlan", config: EvalConfig) -> BaselineRun:
    """Score every fitted baseline's predictions with the handler, and bootstrap them like the models."""
    handler, rows = plan.handler, plan.rows
    bootstrap = {"samples": config.bootstrap_samples, "confidence": config.confidence, "seed": config.seed}
    for fitted in run.fitted:
        if fitted.predicted is None:
            continue
        scored = score_all(
            handler, rows.records, [p.prediction for p in fitted.predicted], [p.support for p in fitted.predicted]
        )
        ref = ModelRef(fitted.name, BASELINE, None, fitted.name)
        fitted.result = ModelEval(ref, fitted.predicted, scored, fitted.seconds)
        fitted.stats = statistics(handler, scored, rows.subtasks, **bootstrap)
    return run


__all__ = [
    "BASELINE",
    "BaselineRun",
    "FittedBaseline",
    "fit_baselines",
    "run_baselines",
    "score_baselines",
]
