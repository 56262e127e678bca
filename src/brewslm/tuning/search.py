"""A bounded hyper-parameter search: successive halving over learning rates, with epochs as the
resource, ranked by the task metric on the validation split.

    outcome = search(load_config(dataset="reviews", overrides=["search.enabled=true"]))
    outcome.best.learning_rate, outcome.best.best_epochs, outcome.result.run_dir   # the model to keep

With ``n`` candidate learning rates and halving rate ``eta`` there are ``R + 1`` rungs, ``R`` the
smallest power with ``eta**R >= n``; rung ``k`` trains each surviving candidate from scratch for
``max_epochs / eta**(R - k)`` epochs and keeps the best ``1/eta`` of them (at least one) for the
next. Every trial evaluates at each epoch end, keeps its best weights by the metric (early stopping
on a task metric, ``brewslm.training.loop``), and is scored by that best value, so the epoch count
that wins is read off the winning trial's best step (``best_epochs``): the search covers learning
rate x epochs without a trial per epoch count. Ties go to the earlier candidate in the list, so a
fixed seed gives the same trials, scores and winner.

Budget: no trial starts when the time the trials so far took per epoch says it would end past
``budget_s`` (the first trial always runs: a search returns a model). A rung cut short ranks the
trials it finished.

The final model is the winning trial's own run, not a retrain: training is deterministic for a
seed, so retraining the winner's settings would spend a last-rung trial to reproduce the same
weights, and the winner's run already restored its best-by-metric weights. ``search.json`` (every
trial's rate, epochs, metric, seconds and run folder) and ``search.png`` (metric per trial per
rung) are written to the search folder (``output_dir`` or ``<BREWSLM_HOME>/runs/<run name>``);
the trials' run folders are under its ``trials/``.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from brewslm.errors import ConfigError
from brewslm.training.config import TrainConfig, build_config
from brewslm.training.loop import TrainResult, train
from brewslm.training.report import Progress, agg_figure
from brewslm.training.run import now, open_training_dataset, resolve_run_dir
from brewslm.tuning.validation import ValidationEvaluator, validation_evaluator, with_task_metric

SEARCH_FILE = "search.json"
SEARCH_PLOT = "search.png"
TRIALS_DIR = "trials"
DEFAULT_LEARNING_RATES = {
    "lora": [1e-4, 2e-4, 5e-4],  # adapters (also dpo / orpo, which train LoRA adapters)
    "full": [1e-5, 2e-5, 5e-5],  # every weight moves: an order of magnitude lower
}


@dataclass
class Trial:
    """One candidate trained in one rung. ``metric`` is its best validation value (None: never
    evaluated to a finite number); ``best_epochs`` where in its training that best came."""

    rung: int
    candidate: int  # index in the learning-rate list
    learning_rate: float
    epochs: float
    metric: float | None
    best_epochs: float | None
    best_step: int | None
    seconds: float
    run_dir: str


@dataclass
class SearchResult:
    """The search's outcome: the winning trial, its settings as a config, its run (the model to keep)."""

    search_dir: Path
    metric: str
    mode: str
    trials: list[Trial]
    best: Trial
    best_config: TrainConfig
    result: TrainResult
    rung_epochs: list[float]
    stopped_by_budget: bool
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        """What ``search.json`` holds (JSON-able)."""
        return {
            "metric": self.metric,
            "mode": self.mode,
            "rung_epochs": self.rung_epochs,
            "trials": [asdict(t) for t in self.trials],
            "best": asdict(self.best),
            "best_settings": {
                "learning_rate": self.best.learning_rate,
                "epochs": self.best.epochs,
                "best_epochs": self.best.best_epochs,
            },
            "stopped_by_budget": self.stopped_by_budget,
            "seconds": round(self.seconds, 3),
            "model_run_dir": str(self.result.run_dir),
            "search_dir": str(self.search_dir),
            **self.extra,
        }


def rung_epochs(max_epochs: float, candidates: int, eta: int) -> list[float]:
    """Epochs per rung, shortest first: ``max_epochs / eta**(R - k)`` for ``k = 0..R``."""
    rungs = 0
    while eta**rungs < candidates:
        rungs += 1
    return [round(max_epochs / eta ** (rungs - k), 4) for k in range(rungs + 1)]


def rank(trials: Sequence[Trial], mode: str) -> list[Trial]:
    """Best first; a trial without a finite metric last; ties keep candidate order."""

    def key(trial: Trial) -> tuple[int, float, int]:
        value = trial.metric
        if value is None or math.isnan(value):
            return (1, 0.0, trial.candidate)
        return (0, value if mode == "min" else -value, trial.candidate)

    return sorted(trials, key=key)


def default_learning_rates(config: TrainConfig) -> list[float]:
    return list(DEFAULT_LEARNING_RATES["lora" if config.uses_lora else "full"])


def search(
    config: TrainConfig,
    space: Mapping[str, Any] | None = None,
    budget_s: float | None = None,
    *,
    progress: Progress | None = None,
    evaluator: ValidationEvaluator | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> SearchResult:
    """Successive halving over ``space`` (``{"learning_rates": [...], "max_epochs": x}``; unset keys
    come from ``config.search``, then the method's defaults) within ``budget_s`` seconds (unset:
    ``search.budget_minutes``). Bad settings are a one-line ``ConfigError`` before any training."""
    settings = config.search
    space = dict(space or {})
    unknown = sorted(set(space) - {"learning_rates", "max_epochs"})
    if unknown:
        raise ConfigError(
            f"search space key {unknown[0]!r} is not searched; the space has learning_rates and max_epochs"
        )
    rates = [
        float(r) for r in (space.get("learning_rates") or settings.learning_rates or default_learning_rates(config))
    ]
    max_epochs = float(space.get("max_epochs") or settings.max_epochs)
    budget = float(budget_s if budget_s is not None else settings.budget_minutes * 60)
    if config.max_steps is not None:
        raise ConfigError(
            "the search sets epochs per rung, and max_steps would override them; unset max_steps "
            "(search.max_epochs bounds the longest trial)"
        )
    if config.resume:
        raise ConfigError("a search starts its trials from scratch; unset resume")
    emit = progress or (lambda event: None)

    evaluator = evaluator or validation_evaluator(
        config, max_rows=settings.max_validation_rows, purpose="the hyper-parameter search"
    )
    stopping = config.early_stopping
    metric = settings.metric or (stopping.metric if stopping.watches_task_metric else evaluator.headline)
    evaluator.check_metric(metric, "search.metric")
    mode = evaluator.mode(metric)
    search_dir = resolve_run_dir(config, open_training_dataset(config))
    if (search_dir / SEARCH_FILE).exists():
        raise ConfigError(f"{search_dir} already holds a search; pick another output_dir/run_name")

    epochs_per_rung = rung_epochs(max_epochs, len(rates), settings.eta)
    started = clock()
    trials: list[Trial] = []
    results: dict[int, TrainResult] = {}  # by index in trials
    survivors = list(range(len(rates)))
    seconds_per_epoch: list[float] = []
    stopped_by_budget = False
    emit(
        {
            "event": "info",
            "message": f"search: {len(rates)} learning rates {', '.join(f'{r:g}' for r in rates)}; "
            f"rungs of {', '.join(f'{e:g}' for e in epochs_per_rung)} epochs; ranked by validation {metric} ({mode}); "
            f"budget {budget:.0f} s -> {search_dir}",
        }
    )
    for rung, epochs in enumerate(epochs_per_rung):
        rung_trials: list[Trial] = []
        for position, candidate in enumerate(survivors):
            elapsed = clock() - started
            if seconds_per_epoch:
                estimate = epochs * sum(seconds_per_epoch) / len(seconds_per_epoch)
                if elapsed + estimate > budget:
                    stopped_by_budget = True
                    emit(
                        {
                            "event": "info",
                            "message": f"search: stopping, the next trial (~{estimate:.0f} s) would "
                            f"pass the budget ({elapsed:.0f} of {budget:.0f} s used)",
                        }
                    )
                    break
            rate = rates[candidate]
            trial_config = _trial_config(config, search_dir, rung, candidate, rate, epochs, metric, mode)
            trial_started = clock()
            result = train(trial_config, progress=_trial_events(emit), validation_metrics=evaluator)
            seconds = clock() - trial_started
            seconds_per_epoch.append(seconds / epochs)
            trial = _trial(rung, candidate, rate, epochs, result, seconds)
            results[len(trials)] = result
            trials.append(trial)
            rung_trials.append(trial)
            shown = "-" if trial.metric is None else f"{trial.metric:.4f}"
            emit(
                {
                    "event": "info",
                    "message": f"search: rung {rung + 1}/{len(epochs_per_rung)}, trial "
                    f"{position + 1}/{len(survivors)}: lr {rate:g} x {epochs:g} epochs -> {metric} {shown} "
                    f"(best at {trial.best_epochs} epochs, {seconds:.0f} s)",
                }
            )
        if not rung_trials:
            break
        ranked = rank(rung_trials, mode)
        leader = ranked[0]
        if stopped_by_budget or rung == len(epochs_per_rung) - 1:
            break
        keep = max(1, len(survivors) // settings.eta)
        survivors = sorted(t.candidate for t in ranked[:keep])  # list order, so each rung trains in a fixed order

    best = leader
    winner = results[trials.index(best)]
    best_config = _settings(config, best)
    outcome = SearchResult(
        search_dir,
        metric,
        mode,
        trials,
        best,
        best_config,
        winner,
        epochs_per_rung,
        stopped_by_budget,
        clock() - started,
        {
            "learning_rates": rates,
            "max_epochs": max_epochs,
            "eta": settings.eta,
            "budget_s": budget,
            "validation_rows": len(evaluator.rows.records),
            "finished_at": now(),
        },
    )
    _write(outcome)
    emit(
        {
            "event": "info",
            "message": f"search: best lr {best.learning_rate:g}, {best.epochs:g} epochs (best at "
            f"{best.best_epochs} epochs): {metric} {best.metric} -> model {winner.run_dir}",
        }
    )
    return outcome


def _trial_config(
    config: TrainConfig, search_dir: Path, rung: int, candidate: int, rate: float, epochs: float, metric: str, mode: str
) -> TrainConfig:
    data = config.to_dict()
    data.update(
        learning_rate=rate,
        epochs=epochs,
        max_steps=None,
        run_name=None,
        output_dir=str(search_dir / TRIALS_DIR / f"rung{rung}-{candidate:02d}-lr{rate:g}"),
    )
    data["early_stopping"] = {**data["early_stopping"], "metric": metric, "mode": mode}
    data["search"] = {**data["search"], "enabled": False}
    return build_config(data)


def _settings(config: TrainConfig, best: Trial) -> TrainConfig:
    """``config`` with the winner's settings (what to train with next time, without a search)."""
    data = config.to_dict()
    data.update(learning_rate=best.learning_rate, epochs=best.epochs)
    data["search"] = {**data["search"], "enabled": False}
    return build_config(data)


def _trial(rung: int, candidate: int, rate: float, epochs: float, result: TrainResult, seconds: float) -> Trial:
    best = result.best or {}
    value = best.get("value")
    step = best.get("step")
    best_epochs = round(step / result.steps * result.epochs, 4) if step and result.steps else None
    return Trial(
        rung,
        candidate,
        rate,
        epochs,
        None if value is None or math.isnan(value) else float(value),
        best_epochs,
        step,
        round(seconds, 3),
        str(result.run_dir),
    )


def _trial_events(emit: Progress) -> Progress:
    """A trial's events without the per-step lines (a search runs many trials)."""

    def forward(event: dict[str, Any]) -> None:
        if event.get("event") != "step":
            emit(event)

    return forward


def _write(outcome: SearchResult) -> None:
    outcome.search_dir.mkdir(parents=True, exist_ok=True)
    (outcome.search_dir / SEARCH_FILE).write_text(json.dumps(outcome.summary(), indent=2) + "\n", encoding="utf-8")
    plot_search(outcome.trials, outcome.metric, outcome.search_dir / SEARCH_PLOT)


def plot_search(trials: Sequence[Trial], metric: str, path: Path) -> Path | None:
    """The validation metric of each learning rate at each rung (a line per rate), as a PNG."""
    if not trials:
        return None
    figure = agg_figure(6, 3.5)
    axes = figure.add_subplot(1, 1, 1)
    for rate in sorted({t.learning_rate for t in trials}):
        points = [(t.epochs, t.metric) for t in trials if t.learning_rate == rate and t.metric is not None]
        if points:
            xs, ys = zip(*points)
            axes.plot(xs, ys, "o-", linewidth=1.5, markersize=5, label=f"lr {rate:g}")
    axes.set_xscale("log")
    axes.set_xlabel("epochs trained (rung)")
    axes.set_ylabel(f"validation {metric}")
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(str(path))
    return Path(path)


def train_as_configured(
    config: TrainConfig, progress: Progress | None = None
) -> tuple[TrainResult, dict[str, Any] | None]:
    """What ``brewslm train`` and a recipe's train stage run: the search when ``search.enabled``
    (the winner's run and the search summary), else one run, with its task evaluator when early
    stopping watches a task metric."""
    if config.search.enabled:
        outcome = search(config, progress=progress)
        return outcome.result, outcome.summary()
    config, evaluator = with_task_metric(config)
    return train(config, progress, validation_metrics=evaluator), None


__all__ = [
    "DEFAULT_LEARNING_RATES",
    "SEARCH_FILE",
    "SEARCH_PLOT",
    "SearchResult",
    "Trial",
    "default_learning_rates",
    "plot_search",
    "rank",
    "rung_epochs",
    "search",
    "train_as_configured",
]
