"""The evaluation service: a model (and its base) on one split of a dataset -> metrics, lift, gates, reports.

    result = evaluate(load_eval_config(model="reviews-lora-20250101-120000", dataset="reviews",
                                       gates=["macro_f1 >= 0.85", "lift.macro_f1 > 0"]))
    result.passed, result.report["lift"]["macro_f1"], result.paths["html"]

``evaluate`` reads the split's gold rows, renders every row exactly as training did (the run's
render context, so prompts match what the model learnt), asks the model for target-shaped
predictions with the task handler's strategy (label scoring, generation then ``parse``, preference
log-probs or perplexity; see ``brewslm.inference``), scores them with the handler,
then does the same with the baseline on the same rows. A LoRA run's baseline is its own base: the
adapter is switched off (``disable_adapter``) instead of loading a second model. Then every cheap
baseline of the task (``brewslm.evaluation.baselines``: TF-IDF + logistic regression, a CRF...) is
fitted on the dataset version's train split, predicts the same rows and is scored by the same
handler; the strongest by the headline metric is the report's ``baseline``, and
``lift_vs_baseline`` is tuned - baseline with the same paired bootstrap. The report
(``report.json`` - its keys are documented in ``brewslm.evaluation.report`` - plus Markdown and
HTML) and one ``predictions_<model>.jsonl`` per model (``baseline`` included) are written to ``out_dir``; the predictions
re-score without a model through ``rescore.score_files`` (``brewslm eval score``).

Statistics are the handler's additive per-example stats: ``summarize`` gives the metrics of the
whole set and of each ``subtask``, ``bootstrap_intervals`` their percentile intervals and
``paired_lift`` the tuned - base difference with a paired bootstrap interval (both models on the
same resampled rows). Gates (``macro_f1 >= 0.85``, ``lift.macro_f1 > 0``) are parsed before any
model loads, so a typo fails in a second, and checked against the finished report.

Errors users can cause (an empty split, an unknown strategy, a bad gate, a malformed predictions
file) are one-line ``ConfigError``s naming the split, option, file or line.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Mapping

from brewslm import workspace
from brewslm.errors import ConfigError
from brewslm.evaluation.baselines.fitting import BASELINE, BaselineRun, fit_baselines, score_baselines
from brewslm.evaluation.config import EvalConfig
from brewslm.evaluation.handlers import EvalHandler, get_eval_handler
from brewslm.evaluation.handlers.base import PREFERENCE
from brewslm.evaluation.judging import judge_predictions, judge_replies, load_judge
from brewslm.evaluation.model_refs import LoadedModel, ModelRef, load_model, resolve_baseline, resolve_model
from brewslm.evaluation.predicting import Predicted, check_strategy, predict, with_reference
from brewslm.evaluation.progress import EvalProgress
from brewslm.evaluation.rows import EvalRows, load_rows, scoring_mode_of
from brewslm.evaluation.scoring import PREDICTIONS_FILE, ModelEval, prediction_rows, score_all, statistics, write_jsonl
from brewslm.storage.datasets import DatasetVersion
from brewslm.tasks import get_task_profile
from brewslm.tasks.rendering import RenderContext
from brewslm.training.run import now, open_dataset_ref, render_context_of
from brewslm.training.tracking import check_trackers_available, numbers_of, open_trackers


def default_out_dir(config: EvalConfig, tuned: ModelRef, dataset: DatasetVersion) -> Path:
    if config.out_dir:
        return Path(config.out_dir).expanduser()
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{dataset.name}-{config.split}").strip("-") or "eval"
    parent = tuned.run_dir / "eval" if tuned.run_dir is not None else workspace.home_dir() / "evals"
    candidate, n = parent / f"{slug}-{stamp}", 1
    while candidate.exists():
        n += 1
        candidate = parent / f"{slug}-{stamp}-{n}"
    return candidate


@dataclass
class EvalResult:
    """The report document and where its files went."""

    report: dict[str, Any]
    out_dir: Path
    paths: dict[str, Path]

    @property
    def passed(self) -> bool:
        return bool(self.report.get("passed"))

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "files": {k: str(v) for k, v in self.paths.items()},
            "passed": self.passed,
            "report": self.report,
        }


@dataclass
class EvalPlan:
    """Everything ``evaluate`` settles before a model loads: a bad option, gate, dataset or split
    fails here, in a second, not after minutes of predictions."""

    dataset: DatasetVersion
    handler: EvalHandler
    strategy: str
    rows: EvalRows
    tuned: ModelRef
    base: ModelRef | None
    gates: list[Any]


def plan_evaluation(config: EvalConfig) -> EvalPlan:
    from brewslm.evaluation.gates import parse_gate

    gates = [parse_gate(text) for text in config.gates]
    check_trackers_available(config.trackers)
    dataset = open_dataset_ref(config.dataset, config.dataset_version)
    profile = get_task_profile(dataset.task_profile)
    tuned = resolve_model(config.model)
    trained_on = (tuned.record.get("dataset") or {}).get("task_profile") if tuned.kind == "run" else None
    if trained_on and trained_on != profile.id:
        raise ConfigError(
            f"run '{tuned.name}' was trained on a {trained_on} dataset but dataset "
            f"'{dataset.name}' is {profile.id}; evaluate it on a {trained_on} dataset"
        )
    context = _context_of(tuned, dataset)
    handler = get_eval_handler(
        profile.id,
        scoring_mode_of(dataset.manifest, context),
        options=config.handler_options,
        context=context,
        manifest=dataset.manifest,
    )
    strategy = check_strategy(config, handler)
    base = resolve_baseline(config, tuned)
    if handler.judged and base is None and not config.judge_model:
        raise ConfigError(
            f"handler option faithfulness=llm_judge needs a judge model, by default the baseline, and "
            f"'{tuned.name}' has none; pass judge_model=MODEL or --baseline MODEL"
        )
    if config.judge and base is None:
        raise ConfigError(
            f"option 'judge' compares the model's replies with the baseline's, and '{tuned.name}' "
            "is not a run with a known base; pass --baseline MODEL"
        )
    rows = load_rows(dataset, config.split, profile, context, max_examples=config.max_examples, seed=config.seed)
    if config.judge and not all(r.is_chat for r in rows.rendered):
        raise ConfigError(
            f"option 'judge' needs chat prompts to answer; {profile.id} rows are raw text, "
            "so perplexity is their metric"
        )
    return EvalPlan(dataset, handler, strategy, rows, tuned, base, gates)


def run_models(
    plan: EvalPlan, config: EvalConfig, emit: EvalProgress, baselines: BaselineRun | None = None
) -> tuple[dict[str, ModelEval], dict[str, Any] | None]:
    """Both models' predictions and scores (``{"tuned", "base"?}``), and the judge's section. A
    judged handler's judge also rates the fitted ``baselines``' predictions (so they score alike)."""
    tuned = LoadedModel(plan.tuned, *load_model(plan.tuned, config.device, config.chat_template))
    base: LoadedModel | None = None
    if plan.base is not None:  # a LoRA run's own base is the same weights with the adapter off
        base = (
            LoadedModel(plan.base, tuned.model, tuned.tokenizer)
            if plan.base.adapter_of is not None
            else LoadedModel(plan.base, *load_model(plan.base, config.device, config.chat_template))
        )
    predicted: dict[str, list[Predicted]] = {}
    seconds: dict[str, float] = {}
    for label, loaded in (("tuned", tuned), ("base", base)):
        if loaded is not None:
            start = time.perf_counter()
            predicted[label] = predict(plan.handler, plan.strategy, loaded, plan.rows, config, emit, label)
            seconds[label] = time.perf_counter() - start
    if plan.strategy == PREFERENCE and "base" in predicted:
        predicted["tuned"] = with_reference(predicted["tuned"], predicted["base"])

    judge = None
    if config.judge and base is not None:  # (a judge without a baseline was refused by the plan)
        judge, tuned_replies, base_replies, wins = judge_replies(config, plan.handler, plan.rows, tuned, base, emit)
        predicted["tuned"] = [
            Predicted(p.prediction, reply, {**(p.scores or {}), "judge_win_probability": w}, p.source)
            for p, reply, w in zip(predicted["tuned"], tuned_replies, wins)
        ]
        predicted["base"] = [
            Predicted(p.prediction, reply, p.scores, p.source) for p, reply in zip(predicted["base"], base_replies)
        ]

    if plan.handler.judged:
        judge_model = load_judge(config, base)
        emit({"event": "info", "message": f"faithfulness judged by {judge_model.ref.name}"})
        predicted = judge_predictions(config, plan.handler, plan.rows, predicted, judge_model, emit)
        fitted = [f for f in (baselines.fitted if baselines else []) if f.predicted is not None]
        judged = judge_predictions(
            config, plan.handler, plan.rows, {f.name: f.predicted for f in fitted}, judge_model, emit
        )
        for f in fitted:
            f.predicted = judged[f.name]

    refs = {"tuned": plan.tuned, "base": plan.base}
    results = {}
    for label, values in predicted.items():
        scored = score_all(plan.handler, plan.rows.records, [p.prediction for p in values], [p.support for p in values])
        results[label] = ModelEval(refs[label], values, scored, seconds[label])
    return results, judge


def build_report(
    plan: EvalPlan,
    config: EvalConfig,
    results: Mapping[str, ModelEval],
    judge: dict[str, Any] | None,
    baselines: BaselineRun | None = None,
) -> dict[str, Any]:
    """The report document (keys in ``brewslm.evaluation.report``), gates checked; ``baselines``:
    the cheap baselines (``run_baselines``), the strongest of which is the report's ``baseline``."""
    from brewslm.evaluation.aggregate import paired_lift
    from brewslm.evaluation.gates import check_gates
    from brewslm.evaluation.report import SCHEMA_VERSION

    handler, rows = plan.handler, plan.rows
    baselines = baselines or BaselineRun(skipped="cheap baselines were not run")
    bootstrap = {"samples": config.bootstrap_samples, "confidence": config.confidence, "seed": config.seed}
    stats = {label: statistics(handler, r.scored, rows.subtasks, **bootstrap) for label, r in results.items()}
    chosen = baselines.strongest(handler)
    results = dict(results)
    if chosen is not None:
        results[BASELINE], stats[BASELINE] = chosen.result, chosen.stats
    lift = (
        paired_lift(handler, results["tuned"].scored, results["base"].scored, **bootstrap)
        if "base" in results
        else None
    )
    lift_vs_baseline = (
        paired_lift(handler, results["tuned"].scored, results[BASELINE].scored, **bootstrap)
        if BASELINE in results
        else None
    )

    def per_model(value: Callable[[str], Any]) -> dict[str, Any]:
        return {label: value(label) if label in results else None for label in ("tuned", "base", BASELINE)}

    report: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "created_at": now(),
        "task": handler.task,
        "scoring_mode": handler.scoring_mode,
        "strategy": plan.strategy,
        "headline": handler.headline,
        "lower_is_better": sorted(handler.lower_is_better),
        "dataset": {
            "name": plan.dataset.name,
            "version": plan.dataset.version,
            "split": config.split,
            "examples": len(rows.records),
            "path": str(plan.dataset.path),
            "rows_in_split": rows.sampled_from,
            "skipped": dict(rows.skipped),
        },
        "models": {
            "tuned": plan.tuned.describe(),
            "base": plan.base.describe() if plan.base else None,
            BASELINE: baselines.describe(handler),
        },
        "metrics": per_model(lambda m: stats[m]["metrics"]),
        "intervals": per_model(lambda m: stats[m]["intervals"]),
        "lift": lift,
        "lift_vs_baseline": lift_vs_baseline,
        "baselines": {f.name: f.entry(handler) for f in baselines.fitted},
        "baselines_skipped": baselines.skipped,
        "by_subtask": per_model(lambda m: stats[m]["by_subtask"]),
        "breakdown": per_model(lambda m: handler.breakdown(rows.records, results[m].predictions, results[m].scored)),
        "judge": judge,
        "gates": [],
        "passed": True,
        "bootstrap": bootstrap,
        "predictions": per_model(lambda m: PREDICTIONS_FILE.format(model=m)),
        "timing": per_model(lambda m: results[m].timing()),
        "config": config.to_dict(),
    }
    report["gates"] = check_gates(plan.gates, report)
    report["passed"] = all(g["passed"] for g in report["gates"])
    return report


def evaluate(config: EvalConfig, progress: EvalProgress | None = None) -> EvalResult:
    """Evaluate ``config.model`` (and its baseline) on ``config.split`` of ``config.dataset``; write
    the report and the predictions; return them. Gates are in ``result.report["gates"]``."""
    from brewslm.evaluation.report import write_reports

    emit = progress or (lambda event: None)
    plan = plan_evaluation(config)
    if plan.rows.skipped:
        emit(
            {
                "event": "info",
                "message": f"skipped {sum(plan.rows.skipped.values())} rows that have no prompt to ask: "
                + "; ".join(f"{n} x {why}" for why, n in plan.rows.skipped.items()),
            }
        )
    emit(
        {
            "event": "info",
            "message": f"evaluating {plan.tuned.name} on {len(plan.rows.records)} {config.split} rows "
            f"of {plan.dataset.name} v{plan.dataset.version} ({plan.handler.task}, "
            f"{plan.strategy})" + (f" against {plan.base.name}" if plan.base else ""),
        }
    )
    baselines = fit_baselines(plan, config, emit)  # seconds, before minutes of model predictions
    results, judge = run_models(plan, config, emit, baselines)
    score_baselines(baselines, plan, config)
    report = build_report(plan, config, results, judge, baselines)
    chosen = baselines.strongest(plan.handler)
    if chosen is not None:  # its predictions file re-scores like the models' ('brewslm eval score')
        results = {**results, BASELINE: chosen.result}

    out_dir = default_out_dir(config, plan.tuned, plan.dataset)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {
        f"predictions_{label}": write_jsonl(
            out_dir / PREDICTIONS_FILE.format(model=label),
            prediction_rows(plan.handler, plan.rows.records, plan.rows.rendered, r),
        )
        for label, r in results.items()
    }
    paths.update(write_reports(report, out_dir))  # "json", "markdown", "html" and the pictures
    if config.trackers:
        _log_to_trackers(config, report, paths, out_dir, plan.tuned, plan.dataset)
    return EvalResult(report, out_dir, paths)


def _context_of(ref: ModelRef, dataset: DatasetVersion) -> RenderContext:
    """The render context the model was trained with (a run's, or an export's), else the dataset's."""
    if ref.run_dir is not None:
        return render_context_of(ref.run_dir)
    if ref.record.get("render_context"):
        return RenderContext.from_dict(ref.record["render_context"])
    return RenderContext.from_manifest(dataset.manifest)


def _log_to_trackers(
    config: EvalConfig,
    report: Mapping[str, Any],
    paths: Mapping[str, Path],
    out_dir: Path,
    tuned: ModelRef,
    dataset: DatasetVersion,
) -> None:
    """One tracker run per evaluation: each model's metrics with their 95% intervals (``tuned.f1``,
    ``tuned.f1.ci_low``...), the lifts over the base and the baseline with theirs, the gate verdict,
    and the report files and pictures as artifacts."""
    name = f"eval-{tuned.name}-{dataset.name}-{config.split}"
    trackers = open_trackers(config, name, config.to_dict(), out_dir)
    status = "failed"
    try:
        trackers.log(tracked_metrics(report), step=0)
        trackers.log_artifacts(paths.values())
        status = "finished"
    finally:
        trackers.finish(status)


def tracked_metrics(report: Mapping[str, Any]) -> dict[str, float]:
    """The report's numbers as flat tracker metrics: ``<model>.<metric>`` with ``.ci_low`` / ``.ci_high``,
    ``lift.<metric>`` and ``lift_vs_baseline.<metric>`` with theirs, and ``gates_passed``."""
    out: dict[str, Any] = {}
    intervals = report.get("intervals") or {}
    for label, values in (report.get("metrics") or {}).items():
        for key, value in (values or {}).items():
            out[f"{label}.{key}"] = value
            low_high = (intervals.get(label) or {}).get(key)
            if low_high and len(low_high) == 2:
                out[f"{label}.{key}.ci_low"], out[f"{label}.{key}.ci_high"] = low_high
    for section in ("lift", "lift_vs_baseline"):
        for key, lift in (report.get(section) or {}).items():
            for part, suffix in (("lift", ""), ("ci_low", ".ci_low"), ("ci_high", ".ci_high")):
                out[f"{section}.{key}{suffix}"] = lift.get(part)
    out["gates_passed"] = float(bool(report.get("passed")))
    return numbers_of(out)


__all__ = [
    "EvalPlan",
    "EvalResult",
    "build_report",
    "default_out_dir",
    "evaluate",
    "plan_evaluation",
    "run_models",
    "tracked_metrics",
]
