"""Cheap baselines, one module per task profile (or scoring mode), found like the eval handlers.

    for baseline in baselines_for(handler):          # fresh, unfitted instances
        baseline.fit(train_records, handler).predict(test_records)

A module defines ``BASELINES``: a list of ``Baseline`` classes for its task profile, strongest
first. The evaluation fits every one of them, scores each on the evaluated rows and compares the
fine-tune with the strongest (see ``brewslm.evaluation.runner``).
"""

from __future__ import annotations

from brewslm.evaluation.baselines.base import Baseline, BaselineUnavailable
from brewslm.evaluation.handlers.base import EvalHandler
from brewslm.registry import Registry

REGISTRY: Registry[type[Baseline]] = Registry(
    "baseline",
    __name__,
    "BASELINES",
    key=lambda baseline: (baseline.task, baseline.scoring_mode),
    entry_points="brewslm.baselines",
    multi=True,
    accept=lambda baseline: isinstance(baseline, type) and issubclass(baseline, Baseline),
)


def register_baseline(baseline: type[Baseline]) -> None:
    """Add a baseline class (a plugin's task profile can bring its own)."""
    REGISTRY.register(baseline)


def baseline_classes(task: str, scoring_mode: str | None = None) -> list[type[Baseline]]:
    """The baseline classes of a task profile (and scoring mode); empty when it has none."""
    return list(REGISTRY.find((task, scoring_mode)) or REGISTRY.find((task, None)) or [])


def baselines_for(handler: EvalHandler, seed: int = 0) -> list[Baseline]:
    """Fresh instances of the baselines that score with ``handler``'s task (and scoring mode)."""
    return [cls(seed=seed) for cls in baseline_classes(handler.task, handler.scoring_mode)]


__all__ = ["REGISTRY", "Baseline", "BaselineUnavailable", "baseline_classes", "baselines_for", "register_baseline"]
