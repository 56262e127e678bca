"""Re-scoring saved predictions without a model (``brewslm eval score``): a gold file and a
predictions file, read line by line with one-line errors naming the file and line.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

from brewslm.errors import ConfigError
from brewslm.evaluation.handlers import EvalHandler, get_eval_handler
from brewslm.evaluation.scoring import score_all, statistics
from brewslm.tasks import get_task_profile
from brewslm.tasks.base import TaskProfile
from brewslm.tasks.rendering import RenderContext
from brewslm.training.run import open_dataset_ref


def read_jsonl_rows(path: str | Path, what: str) -> list[tuple[int, dict[str, Any]]]:
    """``(line number, object)`` for every non-blank line; a bad line is a one-line error naming it."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise ConfigError(f"{what} file {file} does not exist")
    rows = []
    with open(file, encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ConfigError(
                    f"{file} line {number}: not valid JSON ({exc.msg}); each line must be one JSON object"
                ) from None
            if not isinstance(value, dict):
                raise ConfigError(f"{file} line {number}: a JSON {type(value).__name__}, expected an object")
            rows.append((number, value))
    return rows


def manifest_from_records(profile: TaskProfile, records: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """What an import's manifest would say about these records (labels, span types, inferred JSON
    schema, scoring mode), from the profile's own streaming summary."""
    summary = profile.new_summary()
    for record in records:
        summary.add(dict(record))
    result = summary.result()
    return {
        "task_profile": profile.id,
        "output_schema": result.get("output_schema") or {},
        "summary": result.get("stats") or {},
    }


def score_files(
    task: str,
    gold_path: str | Path | None,
    pred_path: str | Path,
    scoring_mode: str | None = None,
    options: Mapping[str, Any] | None = None,
    *,
    dataset: str | None = None,
    dataset_version: int | None = None,
    bootstrap_samples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, Any]:
    """Score saved predictions without a model (``brewslm eval score``).

    ``pred_path`` holds one ``{"prediction": ...}`` per line (a ``predictions_*.jsonl`` file
    qualifies); ``gold_path`` the canonical records, line-aligned with it. Without ``gold_path``
    each prediction row's ``"record"`` is its gold. Dataset-level facts (the label set, the
    majority label, the JSON schema, the scoring mode) come from ``dataset``'s manifest when it is
    named - as in ``evaluate``, so a predictions file re-scores to its report's numbers - else
    from the gold records themselves. Returns the report's model-independent part: ``{"task",
    "scoring_mode", "headline", "lower_is_better", "examples", "metrics", "intervals",
    "by_subtask", "breakdown", "bootstrap", "files"}``.
    """
    profile = get_task_profile(task)
    predictions = read_jsonl_rows(pred_path, "predictions")
    if gold_path is not None:
        gold = read_jsonl_rows(gold_path, "gold")
        if len(gold) != len(predictions):
            raise ConfigError(
                f"{gold_path} has {len(gold)} records but {pred_path} has {len(predictions)} predictions; "
                "they must be line-aligned, one prediction per gold record"
            )
        gold_file = Path(gold_path)
    else:
        gold, gold_file = [], Path(pred_path)
        for number, row in predictions:
            if not isinstance(row.get("record"), dict):
                raise ConfigError(
                    f'{pred_path} line {number}: no "record" to score against; pass --gold FILE '
                    "with the canonical records"
                )
            gold.append((number, row["record"]))
    for number, row in predictions:
        if "prediction" not in row:
            raise ConfigError(
                f'{pred_path} line {number}: no "prediction" key; each line must be '
                '{"prediction": ...} shaped like the record\'s target'
            )
    for number, record in gold:
        rejection = profile.validate(record)
        if rejection is not None:
            raise ConfigError(f"{gold_file} line {number}: {rejection.detail}")
    records = [record for _, record in gold]
    if dataset is not None:
        source = open_dataset_ref(dataset, dataset_version)
        if source.task_profile != profile.id:
            raise ConfigError(
                f"dataset '{source.name}' is {source.task_profile}, not {profile.id}; "
                f"pass --task {source.task_profile} or another dataset"
            )
        manifest = dict(source.manifest)
    else:
        manifest = manifest_from_records(profile, records)
    context = RenderContext.from_manifest(manifest)
    mode = scoring_mode or (manifest.get("output_schema") or {}).get("scoring_mode")
    handler = get_eval_handler(profile.id, mode, options=options, context=context, manifest=manifest)
    values = [row["prediction"] for _, row in predictions]
    support = (
        [saved_support(handler, record, number, row, pred_path) for record, (number, row) in zip(records, predictions)]
        if handler.judged
        else None
    )
    scored = score_all(handler, records, values, support)
    stats = statistics(
        handler,
        scored,
        [r.get("subtask") for r in records],
        samples=bootstrap_samples,
        confidence=confidence,
        seed=seed,
    )
    return {
        "task": handler.task,
        "scoring_mode": handler.scoring_mode,
        "headline": handler.headline,
        "lower_is_better": sorted(handler.lower_is_better),
        "examples": len(records),
        "metrics": stats["metrics"],
        "intervals": stats["intervals"],
        "by_subtask": stats["by_subtask"],
        "breakdown": handler.breakdown(records, values, scored),
        "bootstrap": {"samples": bootstrap_samples, "confidence": confidence, "seed": seed},
        "files": {"gold": str(gold_file), "predictions": str(pred_path)},
    }


def saved_support(
    handler: EvalHandler, record: Mapping[str, Any], number: int, row: Mapping[str, Any], pred_path: str | Path
) -> list[float]:
    """A judged predictions row's saved verdicts, checked against what the handler would ask the
    judge now (an edited answer no longer matches its verdicts: a one-line error naming the line)."""
    claims = [claim.sentence for claim in handler.judge_claims(record, row["prediction"])]
    saved = row.get("judge_support")
    entries = saved.get("claims") if isinstance(saved, dict) else None
    if not isinstance(entries, list) or not all(
        isinstance(e, dict) and isinstance(e.get("support"), (int, float)) and not isinstance(e.get("support"), bool)
        for e in entries
    ):
        if not claims:
            return []
        raise ConfigError(
            f'{pred_path} line {number}: no judge verdicts ("judge_support") for this answer; '
            "re-score a predictions file written by 'brewslm eval' with the same handler options"
        )
    if [e.get("sentence") for e in entries] != claims:
        raise ConfigError(
            f"{pred_path} line {number}: the saved judge verdicts are for other sentences than the "
            "answer's; the prediction was edited after judging - evaluate again to judge it"
        )
    return [float(e["support"]) for e in entries]


__all__ = [
    "manifest_from_records",
    "read_jsonl_rows",
    "saved_support",
    "score_files",
]
