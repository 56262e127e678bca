"""Cheap baselines, one module per task profile (or scoring mode), found like the eval handlers.

    for baseline in baselines_for(handler):          # fresh, unfitted instances
        baseline.fit(train_records, handler).predict(test_records)

A module defines ``BASELINES``: a list of ``Baseline`` classes for its task profile, strongest
first. The evaluation fits every one of them, scores each on the evaluated rows and compares the
fine-tune with the strongest (see ``brewslm.evaluation.runner``).
"""

from __future__ import annotations

from typing import Any

from brewslm.evaluation.baselines.base import Baseline, BaselineUnavailable
from brewslm.registry import package_members

_BASELINES: dict[tuple[str, str | None], list[type[Baseline]]] = {}
_loaded = False


def register_baseline(baseline: type[Baseline]) -> None:
    """Add a baseline class (a plugin's task profile can bring its own)."""
    classes = _BASELINES.setdefault((baseline.task, baseline.scoring_mode), [])
    if baseline not in classes:
        classes.append(baseline)


def _ensure_loaded() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for classes in package_members(__name__, __path__, "BASELINES"):
        for baseline in classes:
            register_baseline(baseline)


def baseline_classes(task: str, scoring_mode: str | None = None) -> list[type[Baseline]]:
    """The baseline classes of a task profile (and scoring mode); empty when it has none."""
    _ensure_loaded()
    return list(_BASELINES.get((task, scoring_mode)) or _BASELINES.get((task, None)) or [])


def baselines_for(handler: Any, seed: int = 0) -> list[Baseline]:
    """Fresh instances of the baselines that score with ``handler``'s task (and scoring mode)."""
    return [cls(seed=seed) for cls in baseline_classes(handler.task, handler.scoring_mode)]


__all__ = ["Baseline", "BaselineUnavailable", "baseline_classes", "baselines_for", "register_baseline"]
