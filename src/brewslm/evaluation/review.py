"""Reviewing a finished report: which examples did a model get wrong?

    review = review_predictions(Path("runs/reviews-lora/eval/reviews-test-20260101"), model="tuned")
    review.errors, [row for row, verdict in zip(review.rows, review.verdicts) if verdict == "error"]

A prediction is an error when its example falls short of the task's headline metric (a wrong label,
a missed span, a wrong field...): the example is scored alone by the eval handler that scored the
report (its task, scoring mode, handler options and the dataset's manifest), with ``score_all`` +
``metrics`` as the report scored it. Perplexity-style tasks (lower is better) have no per-example
right or wrong: their verdicts are None. ``brewslm eval errors`` and the web UI's predictions
table both read a report through here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from brewslm.errors import BrewError, ConfigError
from brewslm.evaluation.handlers.base import EvalHandler
from brewslm.output import read_json_object
from brewslm.tasks import get_task_profile
from brewslm.tasks.rendering import RenderContext

REPORT_FILE = "report.json"
MODELS = ("tuned", "base", "baseline")  # "baseline": the strongest cheap baseline


def read_report(folder: Path) -> dict[str, Any]:
    """The ``report.json`` of a report folder; an unreadable one is a one-line ``ConfigError``."""
    return read_json_object(folder / REPORT_FILE, "evaluate again to rewrite it")


def report_handler(report: Mapping[str, Any], records: Sequence[Mapping[str, Any]]) -> Any:
    """The eval handler that scored the report: its task and scoring mode, handler options and the
    dataset's manifest (the records' own summary when the dataset folder is gone)."""
    from brewslm.evaluation.handlers import get_eval_handler
    from brewslm.evaluation.rescore import manifest_from_records
    from brewslm.training.run import open_dataset_ref

    profile = get_task_profile(str(report.get("task")))
    path = (report.get("dataset") or {}).get("path")
    try:
        manifest = dict(open_dataset_ref(path).manifest) if path else manifest_from_records(profile, records)
    except BrewError:
        manifest = manifest_from_records(profile, records)
    options = (report.get("config") or {}).get("handler_options") or {}
    return get_eval_handler(
        profile.id,
        report.get("scoring_mode"),
        options=options,
        context=RenderContext.from_manifest(manifest),
        manifest=manifest,
    )


def example_verdicts(handler: EvalHandler, rows: Sequence[Mapping[str, Any]], path: Path) -> list[str] | None:
    """Per row "correct" or "error" by the headline metric of the example scored alone; None for
    a task whose headline is lower-is-better (perplexity: no right or wrong per example)."""
    from brewslm.evaluation.rescore import saved_support
    from brewslm.evaluation.scoring import score_all

    if handler.headline in handler.lower_is_better:
        return None
    records = [row.get("record") or {} for row in rows]
    predictions = [row.get("prediction") for row in rows]
    support = (
        [
            saved_support(handler, record, number, row, path)
            for number, (record, row) in enumerate(zip(records, rows), start=1)
        ]
        if handler.judged
        else None
    )
    verdicts = []
    for row, scored in zip(rows, score_all(handler, records, predictions, support)):
        if row.get("prediction") is not None and row.get("prediction") == row.get("gold"):
            verdicts.append("correct")  # exact, even where a lone example's metric is undefined (no spans at all)
            continue
        value = handler.metrics(scored.stats).get(handler.headline)
        right = isinstance(value, (int, float)) and math.isfinite(value) and value >= 1.0 - 1e-9
        verdicts.append("correct" if right and row.get("prediction") is not None else "error")
    return verdicts


@dataclass(frozen=True)
class Review:
    """A report's predictions of one model with their verdicts."""

    model: str
    models: list[str]  # the models whose predictions the report saved
    path: Path | None  # the predictions file (None: the report saved none)
    rows: list[dict[str, Any]]
    verdicts: list[str] | None  # per row "correct" | "error"; None: the task has none (or scoring failed)
    headline: str
    note: str | None = None  # why there are no verdicts

    @property
    def errors(self) -> int | None:
        return None if self.verdicts is None else sum(v == "error" for v in self.verdicts)


def predictions_file(folder: Path, report: Mapping[str, Any], model: str) -> tuple[str, list[str], Path | None]:
    """(the model shown, the models with a saved predictions file, its path): ``model`` when the
    report saved its predictions, else the first model that has some; always a file of the report's
    own folder, never a path the report names elsewhere."""
    files = report.get("predictions") or {}
    models = [m for m in MODELS if files.get(m) and (folder / Path(str(files[m])).name).is_file()]
    if not models:
        return model, [], None
    model = model if model in models else models[0]
    return model, models, folder / Path(str(files[model])).name


def score_predictions_file(
    path: Path, report: Mapping[str, Any]
) -> tuple[list[dict[str, Any]], list[str] | None, str | None]:
    """A predictions file's rows, their verdicts, and why there are none when scoring them failed
    (an edited file, an unknown handler: the rows are still returned, unjudged)."""
    from brewslm.evaluation.rescore import read_jsonl_rows

    rows = [row for _, row in read_jsonl_rows(str(path), "predictions")]
    try:
        return rows, example_verdicts(report_handler(report, [r.get("record") or {} for r in rows]), rows, path), None
    except BrewError as exc:
        return rows, None, f"no per-example verdicts: {exc}"


def review_predictions(folder: str | Path, model: str = "tuned") -> Review:
    """The report in ``folder`` (or the folder of a ``report.json`` path): ``model``'s predictions
    and verdicts."""
    folder = Path(folder).expanduser()
    if folder.name == REPORT_FILE:
        folder = folder.parent
    if not (folder / REPORT_FILE).is_file():
        raise ConfigError(
            f"{folder} has no {REPORT_FILE}; give an evaluation's output folder "
            "(the 'report' line 'brewslm eval' prints)"
        )
    report = read_report(folder)
    if model not in MODELS:
        raise ConfigError(f"unknown model '{model}'; choose one of {', '.join(MODELS)}")
    shown, models, path = predictions_file(folder, report, model)
    headline = str(report.get("headline") or "")
    if path is None:
        return Review(model, [], None, [], None, headline, note="this report saved no predictions file")
    if shown != model:
        raise ConfigError(f"report {folder} saved no predictions of the {model} model; it has: {', '.join(models)}")
    rows, verdicts, note = score_predictions_file(path, report)
    return Review(model, models, path, rows, verdicts, headline, note)


def prompt_of(prompt: Any) -> Any:
    """What a row was asked: the last user message of a chat prompt, or the prompt itself."""
    if isinstance(prompt, list):
        users = [m.get("content") for m in prompt if isinstance(m, dict) and m.get("role") == "user"]
        return users[-1] if users else prompt
    return prompt if prompt is not None else ""


__all__ = [
    "MODELS",
    "REPORT_FILE",
    "Review",
    "example_verdicts",
    "predictions_file",
    "prompt_of",
    "read_report",
    "report_handler",
    "review_predictions",
    "score_predictions_file",
]
