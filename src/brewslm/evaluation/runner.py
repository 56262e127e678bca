"""The evaluation service: a model (and its base) on one split of a dataset -> metrics, lift, gates, reports.

    result = evaluate(load_eval_config(model="reviews-lora-20250101-120000", dataset="reviews",
                                       gates=["macro_f1 >= 0.85", "lift.macro_f1 > 0"]))
    result.passed, result.report["lift"]["macro_f1"], result.paths["html"]

``evaluate`` reads the split's gold rows, renders every row exactly as training did (the run's
render context, so prompts match what the model learnt), asks the model for target-shaped
predictions with the task handler's strategy (label scoring, generation then ``parse``, preference
log-probs or perplexity; see ``brewslm.evaluation.prediction``), scores them with the handler,
then does the same with the baseline on the same rows. A LoRA run's baseline is its own base: the
adapter is switched off (``disable_adapter``) instead of loading a second model. Then every cheap
baseline of the task (``brewslm.evaluation.baselines``: TF-IDF + logistic regression, a CRF...) is
fitted on the dataset version's train split, predicts the same rows and is scored by the same
handler; the strongest by the headline metric is the report's ``baseline``, and
``lift_vs_baseline`` is tuned - baseline with the same paired bootstrap. The report
(``report.json`` - its keys are documented in ``brewslm.evaluation.report`` - plus Markdown and
HTML) and one ``predictions_<model>.jsonl`` per model (``baseline`` included) are written to ``out_dir``; the predictions
re-score without a model through ``score_files`` (``brewslm eval score``).

Statistics are the handler's additive per-example stats: ``summarize`` gives the metrics of the
whole set and of each ``subtask``, ``bootstrap_intervals`` their percentile intervals and
``paired_lift`` the tuned - base difference with a paired bootstrap interval (both models on the
same resampled rows). Gates (``macro_f1 >= 0.85``, ``lift.macro_f1 > 0``) are parsed before any
model loads, so a typo fails in a second, and checked against the finished report.

Errors users can cause (an empty split, an unknown strategy, a bad gate, a malformed predictions
file) are one-line ``ConfigError``s naming the split, option, file or line.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import random
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence, TextIO

from brewslm import workspace
from brewslm.errors import BrewError, ConfigError
from brewslm.evaluation.config import EvalConfig
from brewslm.evaluation.handlers import EvalHandler, Scored, get_eval_handler
from brewslm.evaluation.handlers.base import GENERATION, LABEL_SCORING, PERPLEXITY, PREFERENCE
from brewslm.base_models import quiet_loading
from brewslm.storage.datasets import SPLITS, DatasetVersion
from brewslm.tasks import get_task_profile
from brewslm.tasks.base import TaskProfile
from brewslm.tasks.rendering import NotRenderable, RenderContext, Rendered
from brewslm.training.report import format_duration
from brewslm.training.run import find_run, finished_model_dir, now, open_dataset_ref, read_run, render_context_of
from brewslm.training.tracking import check_trackers_available, numbers_of, open_trackers

PREDICTIONS_FILE = "predictions_{model}.jsonl"

EvalProgress = Callable[[dict[str, Any]], None]
"""Receives plain dict events: ``{"event": "info", "message"}`` and
``{"event": "predict", "model", "phase", "done", "total", "examples_per_s", "eta_s"}``."""


# --- models ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ModelRef:
    """What ``--model`` / ``--baseline`` named, resolved: a training run or a loadable model."""

    spec: str  # as the user gave it
    kind: str  # "run" | "model"
    source: str | None  # run folder, model folder / .gguf / hub id; None = the default base model
    name: str
    record: Mapping[str, Any] = field(default_factory=dict)  # run.json, or an export's brewslm_export.json
    adapter_of: "ModelRef | None" = None  # set when this is a LoRA run's base: that run with its adapter off

    @property
    def run_dir(self) -> Path | None:
        return Path(self.source) if self.kind == "run" and self.source else None

    @property
    def is_lora_run(self) -> bool:
        return self.kind == "run" and self.record.get("model_kind") != "full"

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "source": self.source, "kind": self.kind}
        if self.adapter_of is not None:
            out["adapter_disabled_from"] = self.adapter_of.source
        return out


def resolve_model(spec: str) -> ModelRef:
    """``spec`` -> a run (its record read) or a model source; loading happens later."""
    from brewslm.training.merge import EXPORT_RECORD

    run_dir = find_run(spec)
    if run_dir is not None:
        record = read_run(run_dir)
        finished_model_dir(run_dir, record)
        return ModelRef(spec, "run", str(run_dir), str(record.get("name") or run_dir.name), record)
    path = Path(spec).expanduser()
    exported = path / EXPORT_RECORD
    record = json.loads(exported.read_text(encoding="utf-8")) if exported.is_file() else {}
    return ModelRef(spec, "model", spec, path.name if path.exists() else spec, record)


def _base_source_name(source: str | None) -> tuple[str, str]:
    from brewslm.base_models import default_base_model

    if source is None:  # the default base, re-resolved here as training would
        source = default_base_model()
    return source, Path(source).name or source


def resolve_baseline(config: EvalConfig, tuned: ModelRef) -> ModelRef | None:
    """The model the lift is measured against (see ``EvalConfig.baseline``); None = no baseline."""
    if config.skips_baseline:
        return None
    if config.baseline is None:
        if tuned.is_lora_run:
            return _adapter_off(tuned)
        if tuned.kind == "run":  # full fine-tune: its base is a separate model
            from brewslm.training.merge import base_model_source

            source, name = _base_source_name(base_model_source(dict(tuned.record)))
            return ModelRef(source, "model", source, name)
        if tuned.record:  # an exported run knows its base
            source, name = _base_source_name(tuned.record.get("base_model"))
            return ModelRef(source, "model", source, name)
        return None
    if tuned.is_lora_run and _same_path(config.baseline, tuned.record.get("base_model_path")):
        return _adapter_off(tuned)
    return resolve_model(config.baseline)


def _adapter_off(run: ModelRef) -> ModelRef:
    source = run.record.get("base_model_path") or run.record.get("base_model")
    source, name = _base_source_name(source)
    return ModelRef(source, "model", source, name, adapter_of=run)


def _same_path(a: str | None, b: str | None) -> bool:
    if not a or not b:
        return False
    try:
        return Path(a).expanduser().resolve() == Path(b).expanduser().resolve()
    except OSError:
        return False


def load_model(ref: ModelRef, device: str | None, chat_template: str = "model") -> tuple[Any, Any]:
    """``(model, tokenizer)`` in eval mode. A run renders with the template it trained with (checked
    on load); a plain model with ``chat_template`` (``model``: its own, else the ChatML training
    would give it, so the baseline sees the same prompt text as the fine-tune)."""
    from brewslm.base_models import load_causal_lm
    from brewslm.training.chat_templates import set_chat_template
    from brewslm.training.merge import load_trained

    with quiet_loading():
        if ref.kind == "run":
            return load_trained(ref.source, device=device)
        model, tokenizer = load_causal_lm(ref.source, device=device)
    set_chat_template(tokenizer, chat_template)
    return model, tokenizer


@contextlib.contextmanager
def adapter_disabled(model: Any) -> Iterator[None]:
    """The LoRA model as its base: the adapter is bypassed inside the block (peft's ``disable_adapter``)."""
    with model.disable_adapter():
        yield


@dataclass
class _Loaded:
    ref: ModelRef
    model: Any
    tokenizer: Any

    def active(self) -> contextlib.AbstractContextManager:
        return adapter_disabled(self.model) if self.ref.adapter_of is not None else contextlib.nullcontext()


# --- rows --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class EvalRows:
    """The gold rows evaluated, each rendered as the model sees it; rows that cannot be rendered
    (e.g. a no-call tool record with no known answer) are counted in ``skipped``, never dropped silently."""

    records: list[dict[str, Any]]
    rendered: list[Rendered]
    skipped: dict[str, int]
    sampled_from: int

    @property
    def subtasks(self) -> list[str | None]:
        return [r.get("subtask") for r in self.records]


def load_rows(dataset: DatasetVersion, split: str, profile: TaskProfile, context: RenderContext, *,
              max_examples: int | None = None, seed: int = 0) -> EvalRows:
    records = list(dataset.iter_records(split))
    if not records:
        splits = (dataset.counts or {}).get("splits") or {}
        with_rows = [s for s in SPLITS if splits.get(s)]
        hint = (f"splits with rows: {', '.join(f'{s} ({splits[s]})' for s in with_rows)}; pass --split"
                if with_rows else "the dataset has no records; import data with 'brewslm data import'")
        raise ConfigError(f"dataset '{dataset.name}' v{dataset.version} has no '{split}' rows; {hint}")
    total = len(records)
    if max_examples is not None and max_examples < total:
        keep = sorted(random.Random(seed).sample(range(total), max_examples))
        records = [records[i] for i in keep]
    kept, rendered, skipped = [], [], {}
    for record in records:
        try:
            rendered.append(profile.render_prompt(record, context))
        except NotRenderable as exc:
            skipped[str(exc)] = skipped.get(str(exc), 0) + 1
            continue
        kept.append(record)
    if not kept:
        raise ConfigError(f"none of the {len(records)} '{split}' rows of dataset '{dataset.name}' can be rendered "
                          f"as a prompt ({'; '.join(skipped)})")
    return EvalRows(kept, rendered, skipped, total)


def _scoring_mode(manifest: Mapping[str, Any], context: RenderContext) -> str | None:
    return (manifest.get("output_schema") or {}).get("scoring_mode") or context.scoring_mode


# --- predictions -----------------------------------------------------------------------------------

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


def _ticker(progress: EvalProgress | None, model: str, phase: str) -> Callable[[int, int], None] | None:
    """The prediction API's ``(done, total)`` callback -> ``predict`` events with rate and ETA."""
    if progress is None:
        return None
    start = time.perf_counter()

    def tick(done: int, total: int) -> None:
        elapsed = max(time.perf_counter() - start, 1e-9)
        rate = done / elapsed
        eta = (total - done) / rate if rate > 0 else None
        progress({"event": "predict", "model": model, "phase": phase, "done": done, "total": total,
                  "examples_per_s": rate, "eta_s": eta})

    return tick


def _check_strategy(config: EvalConfig, handler: EvalHandler) -> str:
    strategy = config.strategy or handler.strategy
    if strategy not in handler.strategies:
        raise ConfigError(f"option 'strategy': {handler.task} is scored by {' or '.join(handler.strategies)}, "
                          f"not {strategy}")
    if config.constrained:
        if strategy != GENERATION:
            raise ConfigError(f"option 'constrained' applies to generation; strategy is {strategy}")
        if not handler.constrainable:
            raise ConfigError(f"option 'constrained': {handler.task} replies have no JSON schema to be constrained "
                              "to; it serves structured extraction and tool calls")
    if config.judge and handler.strategy != PERPLEXITY:
        raise ConfigError(f"option 'judge' compares free replies (chat_sft, language_modeling); {handler.task} "
                          "has task metrics of its own")
    return strategy


def _constraints(config: EvalConfig, handler: EvalHandler, records: Sequence[Mapping[str, Any]]) -> list[Any] | None:
    if not config.constrained:
        return None
    from brewslm.evaluation.prediction import JsonConstraint

    # a handler whose replies may also be plain text (a tool-call reply that answers directly) says
    # so; free text then stays allowed until the reply opens a JSON document
    allow_text = bool(getattr(handler, "constraint_allows_text", False))
    constraints = []
    for record in records:
        schema = handler.json_schema(record)
        constraints.append(JsonConstraint(schema, allow_text=allow_text) if schema else None)
    return constraints


def predict(handler: EvalHandler, strategy: str, loaded: _Loaded, rows: EvalRows, config: EvalConfig,
            progress: EvalProgress | None = None, label: str = "tuned") -> list[Predicted]:
    """Target-shaped predictions of one model for every row, by ``strategy``."""
    from brewslm.evaluation import prediction as api

    model, tokenizer = loaded.model, loaded.tokenizer
    common = {"batch_size": config.batch_size, "max_seq_len": config.max_seq_len,
              "progress": _ticker(progress, label, strategy)}
    with loaded.active():
        if strategy == LABEL_SCORING:
            labels = list(handler.candidate_labels())
            if not labels:
                raise ConfigError("label scoring needs the candidate labels, and neither the run nor the dataset "
                                  "manifest lists any; use strategy=generation")
            scored = api.score_labels(model, tokenizer, rows.rendered, labels, replies=handler.label_replies(), **common)
            return [Predicted(handler.label_prediction(s), None, {"probabilities": dict(s.probabilities), "logprobs": dict(s.logprobs),
                                             "confidence": s.confidence}) for s in scored]
        if strategy == GENERATION:
            generations = api.generate(model, tokenizer, rows.rendered, max_new_tokens=_max_new_tokens(config, handler),
                                       temperature=config.temperature, seed=config.seed,
                                       constraints=_constraints(config, handler, rows.records), **common)
            return [Predicted(handler.parse(g.text, record), g.text, {"tokens": g.tokens, "finished": g.finished})
                    for g, record in zip(generations, rows.records)]
        if strategy == PREFERENCE:
            pairs = api.preference_scores(model, tokenizer, rows.rendered, **common)
            return [Predicted(pair.to_prediction(), source=pair) for pair in pairs]
        if strategy == PERPLEXITY:
            return [Predicted(s.to_prediction(), source=s)
                    for s in api.sequence_scores(model, tokenizer, rows.rendered, **common)]
    raise ConfigError(f"unknown strategy '{strategy}'")


def _max_new_tokens(config: EvalConfig, handler: EvalHandler) -> int:
    return config.max_new_tokens or handler.max_new_tokens


def with_reference(tuned: list[Predicted], base: list[Predicted]) -> list[Predicted]:
    """Preference predictions of the fine-tune with the base's log-probs as the DPO reference."""
    return [Predicted(t.source.to_prediction(reference=b.source), t.raw, t.scores, t.source) for t, b in zip(tuned, base)]


# --- judge -------------------------------------------------------------------------------------------

def judge_replies(config: EvalConfig, handler: EvalHandler, rows: EvalRows, tuned: _Loaded, base: _Loaded,
                  progress: EvalProgress | None) -> tuple[dict[str, Any], list[str], list[str], list[float]]:
    """Both models answer every prompt; a local judge says which reply is better, in both orders."""
    from brewslm.evaluation import prediction as api

    prompts = [r.prompt for r in rows.rendered]
    replies = {}
    for loaded, label in ((tuned, "tuned"), (base, "base")):
        with loaded.active():
            replies[label] = [g.text for g in api.generate(
                loaded.model, loaded.tokenizer, rows.rendered, max_new_tokens=_max_new_tokens(config, handler),
                temperature=config.temperature, seed=config.seed, batch_size=config.batch_size,
                max_seq_len=config.max_seq_len, progress=_ticker(progress, label, "replies for the judge"))]
    judge = load_judge(config, base)
    with judge.active():
        wins = api.judge_pairwise(judge.model, judge.tokenizer, prompts, replies["tuned"], replies["base"],
                                  batch_size=config.batch_size, max_seq_len=config.max_seq_len,
                                  progress=_ticker(progress, "judge", "pairwise"))
    section = {**api.win_rates(wins), "judge_model": judge.ref.name}
    return section, replies["tuned"], replies["base"], list(wins)


def load_judge(config: EvalConfig, base: _Loaded | None) -> _Loaded:
    """The local judge: ``config.judge_model``, else the baseline as already loaded (a LoRA run's
    base is the run with its adapter off). ``plan_evaluation`` refused a judge with neither."""
    if config.judge_model:
        judge_ref = resolve_model(config.judge_model)
        return _Loaded(judge_ref, *load_model(judge_ref, config.device))
    assert base is not None, "plan_evaluation refuses a judged evaluation without a judge or a baseline"
    return base


def judge_predictions(config: EvalConfig, handler: EvalHandler, rows: EvalRows, predicted: Mapping[str, list[Predicted]],
                      judge: _Loaded, progress: EvalProgress | None) -> dict[str, list[Predicted]]:
    """Judged handlers (rag_qa's ``faithfulness: llm_judge``): the judge rates what the handler
    asks about each prediction (``judge_claims``); the verdicts ride on the predictions, and so into
    the predictions files, where a re-score finds them."""
    from brewslm.evaluation import prediction as api

    judged = {}
    for label, values in predicted.items():
        claims = [handler.judge_claims(record, p.prediction) for record, p in zip(rows.records, values)]
        with judge.active():
            support = iter(api.judge_support(judge.model, judge.tokenizer, [c for row in claims for c in row],
                                             batch_size=config.batch_size, max_seq_len=config.max_seq_len,
                                             progress=_ticker(progress, "judge", f"faithfulness of {label}")))
        judged[label] = [dataclasses.replace(p, judge_support={
            "judge_model": judge.ref.name,
            "claims": [{"sentence": claim.sentence, "support": next(support)} for claim in row]})
            for p, row in zip(values, claims)]
    return judged


# --- scoring and the report --------------------------------------------------------------------------

@dataclass
class ModelEval:
    """One model's predictions, scores and timing on the evaluated rows."""

    ref: ModelRef
    predicted: list[Predicted]
    scored: list[Scored]
    seconds: float

    @property
    def predictions(self) -> list[Any]:
        return [p.prediction for p in self.predicted]

    def timing(self) -> dict[str, Any]:
        n = len(self.predicted)
        return {"seconds": self.seconds, "examples_per_second": n / self.seconds if self.seconds > 0 else None}


def score_all(handler: EvalHandler, records: Sequence[Mapping[str, Any]], predictions: Sequence[Any],
              support: Sequence[Sequence[float] | None] | None = None) -> list[Scored]:
    """Every row's ``Scored``; ``support`` (judged handlers): the judge's verdicts per row."""
    if not handler.judged:
        return [handler.score_example(record, prediction) for record, prediction in zip(records, predictions)]
    support = support if support is not None else [None] * len(records)
    return [handler.score_example(record, prediction) if verdicts is None
            else handler.score_judged(record, prediction, verdicts)
            for record, prediction, verdicts in zip(records, predictions, support)]


def statistics(handler: EvalHandler, scored: Sequence[Scored], subtasks: Sequence[str | None], *,
               samples: int, confidence: float, seed: int) -> dict[str, Any]:
    """``{"metrics", "by_subtask", "intervals"}`` of one model's scored rows."""
    from brewslm.evaluation.aggregate import bootstrap_intervals, summarize

    summary = summarize(handler, scored, subtasks)
    intervals = bootstrap_intervals(handler, scored, samples=samples, seed=seed, confidence=confidence)
    return {"metrics": summary["metrics"], "by_subtask": summary["by_subtask"], "intervals": intervals}


def prediction_rows(handler: EvalHandler, rows: Sequence[Mapping[str, Any]], rendered: Sequence[Rendered],
                    result: ModelEval) -> Iterator[dict[str, Any]]:
    """The ``predictions_<model>.jsonl`` rows (see the module docstring of ``brewslm.evaluation``)."""
    for index, (record, render, predicted, scored) in enumerate(zip(rows, rendered, result.predicted, result.scored)):
        row = {
            "index": index,
            "id": record.get("id"),
            "subtask": record.get("subtask"),
            "record": record,
            "input": render.prompt if render.is_chat else render.text,
            "gold": handler.gold(record),
            "prediction": predicted.prediction,
            "raw": predicted.raw,
            "scores": predicted.scores,
            "detail": scored.detail,
        }
        if predicted.judge_support is not None:
            row["judge_support"] = predicted.judge_support
        yield row


def write_jsonl(path: Path, rows: Iterator[Mapping[str, Any]]) -> Path:
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False, default=str) + "\n")
    return path


# --- cheap baselines -----------------------------------------------------------------------------------

BASELINE = "baseline"  # the report's label of the strongest cheap baseline (beside "tuned" and "base")


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
        return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
            and math.isfinite(value) else None

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
        return {**chosen.baseline.describe(), "kind": BASELINE, "fitted_on": {"split": "train",
                                                                              "examples": self.train_examples}}


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
        return BaselineRun(skipped="the evaluated split is train, the rows a baseline is fitted on; evaluate on "
                                   "validation or test to compare with the cheap baselines")
    baselines = baselines_for(handler, seed=config.seed)
    if not baselines:
        mode = f" ({handler.scoring_mode})" if handler.scoring_mode else ""
        return BaselineRun(skipped=f"no cheap baseline is registered for {handler.task}{mode}")
    train = list(dataset.iter_records("train"))
    if not train:
        return BaselineRun(skipped=f"dataset '{dataset.name}' v{dataset.version} has no train rows to fit a "
                                   "cheap baseline on")
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
            raise ValueError(f"baseline {baseline.name} predicted {len(predictions)} rows for "
                             f"{len(rows.records)} records; predict() returns one prediction per record")
        run.fitted.append(FittedBaseline(baseline, seconds, [Predicted(p) for p in predictions]))
        emit({"event": "info", "message": f"cheap baseline {baseline.name} fitted on {len(train)} train rows "
                                          f"in {seconds:.1f} s"})
    return run


def score_baselines(run: BaselineRun, plan: "EvalPlan", config: EvalConfig) -> BaselineRun:
    """Score every fitted baseline's predictions with the handler, and bootstrap them like the models."""
    handler, rows = plan.handler, plan.rows
    bootstrap = {"samples": config.bootstrap_samples, "confidence": config.confidence, "seed": config.seed}
    for fitted in run.fitted:
        if fitted.predicted is None:
            continue
        scored = score_all(handler, rows.records, [p.prediction for p in fitted.predicted],
                           [p.support for p in fitted.predicted])
        ref = ModelRef(fitted.name, BASELINE, None, fitted.name)
        fitted.result = ModelEval(ref, fitted.predicted, scored, fitted.seconds)
        fitted.stats = statistics(handler, scored, rows.subtasks, **bootstrap)
    return run


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
        return {"out_dir": str(self.out_dir), "files": {k: str(v) for k, v in self.paths.items()},
                "passed": self.passed, "report": self.report}


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
        raise ConfigError(f"run '{tuned.name}' was trained on a {trained_on} dataset but dataset "
                          f"'{dataset.name}' is {profile.id}; evaluate it on a {trained_on} dataset")
    context = _context_of(tuned, dataset)
    handler = get_eval_handler(profile.id, _scoring_mode(dataset.manifest, context), options=config.handler_options,
                               context=context, manifest=dataset.manifest)
    strategy = _check_strategy(config, handler)
    base = resolve_baseline(config, tuned)
    if handler.judged and base is None and not config.judge_model:
        raise ConfigError(f"handler option faithfulness=llm_judge needs a judge model, by default the baseline, and "
                          f"'{tuned.name}' has none; pass judge_model=MODEL or --baseline MODEL")
    if config.judge and base is None:
        raise ConfigError(f"option 'judge' compares the model's replies with the baseline's, and '{tuned.name}' "
                          "is not a run with a known base; pass --baseline MODEL")
    rows = load_rows(dataset, config.split, profile, context, max_examples=config.max_examples, seed=config.seed)
    if config.judge and not all(r.is_chat for r in rows.rendered):
        raise ConfigError(f"option 'judge' needs chat prompts to answer; {profile.id} rows are raw text, "
                          "so perplexity is their metric")
    return EvalPlan(dataset, handler, strategy, rows, tuned, base, gates)


def run_models(plan: EvalPlan, config: EvalConfig, emit: EvalProgress,
               baselines: BaselineRun | None = None) -> tuple[dict[str, ModelEval], dict[str, Any] | None]:
    """Both models' predictions and scores (``{"tuned", "base"?}``), and the judge's section. A
    judged handler's judge also rates the fitted ``baselines``' predictions (so they score alike)."""
    tuned = _Loaded(plan.tuned, *load_model(plan.tuned, config.device, config.chat_template))
    base: _Loaded | None = None
    if plan.base is not None:  # a LoRA run's own base is the same weights with the adapter off
        base = (_Loaded(plan.base, tuned.model, tuned.tokenizer) if plan.base.adapter_of is not None
                else _Loaded(plan.base, *load_model(plan.base, config.device, config.chat_template)))
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
        predicted["tuned"] = [Predicted(p.prediction, reply, {**(p.scores or {}), "judge_win_probability": w}, p.source)
                              for p, reply, w in zip(predicted["tuned"], tuned_replies, wins)]
        predicted["base"] = [Predicted(p.prediction, reply, p.scores, p.source)
                             for p, reply in zip(predicted["base"], base_replies)]

    if plan.handler.judged:
        judge_model = load_judge(config, base)
        emit({"event": "info", "message": f"faithfulness judged by {judge_model.ref.name}"})
        predicted = judge_predictions(config, plan.handler, plan.rows, predicted, judge_model, emit)
        fitted = [f for f in (baselines.fitted if baselines else []) if f.predicted is not None]
        judged = judge_predictions(config, plan.handler, plan.rows, {f.name: f.predicted for f in fitted},
                                   judge_model, emit)
        for f in fitted:
            f.predicted = judged[f.name]

    refs = {"tuned": plan.tuned, "base": plan.base}
    results = {}
    for label, values in predicted.items():
        scored = score_all(plan.handler, plan.rows.records, [p.prediction for p in values], [p.support for p in values])
        results[label] = ModelEval(refs[label], values, scored, seconds[label])
    return results, judge


def build_report(plan: EvalPlan, config: EvalConfig, results: Mapping[str, ModelEval],
                 judge: dict[str, Any] | None, baselines: BaselineRun | None = None) -> dict[str, Any]:
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
    lift = (paired_lift(handler, results["tuned"].scored, results["base"].scored, **bootstrap)
            if "base" in results else None)
    lift_vs_baseline = (paired_lift(handler, results["tuned"].scored, results[BASELINE].scored, **bootstrap)
                        if BASELINE in results else None)

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
        "dataset": {"name": plan.dataset.name, "version": plan.dataset.version, "split": config.split,
                    "examples": len(rows.records), "path": str(plan.dataset.path), "rows_in_split": rows.sampled_from,
                    "skipped": dict(rows.skipped)},
        "models": {"tuned": plan.tuned.describe(), "base": plan.base.describe() if plan.base else None,
                   BASELINE: baselines.describe(handler)},
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
        emit({"event": "info", "message": f"skipped {sum(plan.rows.skipped.values())} rows that have no prompt to ask: "
                                          + "; ".join(f"{n} x {why}" for why, n in plan.rows.skipped.items())})
    emit({"event": "info", "message": f"evaluating {plan.tuned.name} on {len(plan.rows.records)} {config.split} rows "
                                      f"of {plan.dataset.name} v{plan.dataset.version} ({plan.handler.task}, "
                                      f"{plan.strategy})" + (f" against {plan.base.name}" if plan.base else "")})
    baselines = fit_baselines(plan, config, emit)  # seconds, before minutes of model predictions
    results, judge = run_models(plan, config, emit, baselines)
    score_baselines(baselines, plan, config)
    report = build_report(plan, config, results, judge, baselines)
    chosen = baselines.strongest(plan.handler)
    if chosen is not None:  # its predictions file re-scores like the models' ('brewslm eval score')
        results = {**results, BASELINE: chosen.result}

    out_dir = default_out_dir(config, plan.tuned, plan.dataset)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {f"predictions_{label}": write_jsonl(out_dir / PREDICTIONS_FILE.format(model=label),
                                                 prediction_rows(plan.handler, plan.rows.records, plan.rows.rendered, r))
             for label, r in results.items()}
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


def _log_to_trackers(config: EvalConfig, report: Mapping[str, Any], paths: Mapping[str, Path], out_dir: Path,
                     tuned: ModelRef, dataset: DatasetVersion) -> None:
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


# --- re-scoring saved predictions ----------------------------------------------------------------------

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
                raise ConfigError(f"{file} line {number}: not valid JSON ({exc.msg}); each line must be one JSON object") from None
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
    return {"task_profile": profile.id, "output_schema": result.get("output_schema") or {},
            "summary": result.get("stats") or {}}


def score_files(task: str, gold_path: str | Path | None, pred_path: str | Path, scoring_mode: str | None = None,
                options: Mapping[str, Any] | None = None, *, dataset: str | None = None,
                dataset_version: int | None = None, bootstrap_samples: int = 1000, confidence: float = 0.95,
                seed: int = 0) -> dict[str, Any]:
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
            raise ConfigError(f"{gold_path} has {len(gold)} records but {pred_path} has {len(predictions)} predictions; "
                              "they must be line-aligned, one prediction per gold record")
        gold_file = Path(gold_path)
    else:
        gold, gold_file = [], Path(pred_path)
        for number, row in predictions:
            if not isinstance(row.get("record"), dict):
                raise ConfigError(f"{pred_path} line {number}: no \"record\" to score against; pass --gold FILE "
                                  "with the canonical records")
            gold.append((number, row["record"]))
    for number, row in predictions:
        if "prediction" not in row:
            raise ConfigError(f"{pred_path} line {number}: no \"prediction\" key; each line must be "
                              "{\"prediction\": ...} shaped like the record's target")
    for number, record in gold:
        rejection = profile.validate(record)
        if rejection is not None:
            raise ConfigError(f"{gold_file} line {number}: {rejection.detail}")
    records = [record for _, record in gold]
    if dataset is not None:
        source = open_dataset_ref(dataset, dataset_version)
        if source.task_profile != profile.id:
            raise ConfigError(f"dataset '{source.name}' is {source.task_profile}, not {profile.id}; "
                              f"pass --task {source.task_profile} or another dataset")
        manifest = dict(source.manifest)
    else:
        manifest = manifest_from_records(profile, records)
    context = RenderContext.from_manifest(manifest)
    mode = scoring_mode or (manifest.get("output_schema") or {}).get("scoring_mode")
    handler = get_eval_handler(profile.id, mode, options=options, context=context, manifest=manifest)
    values = [row["prediction"] for _, row in predictions]
    support = ([saved_support(handler, record, number, row, pred_path) for record, (number, row) in zip(records, predictions)]
               if handler.judged else None)
    scored = score_all(handler, records, values, support)
    stats = statistics(handler, scored, [r.get("subtask") for r in records], samples=bootstrap_samples,
                       confidence=confidence, seed=seed)
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


def saved_support(handler: EvalHandler, record: Mapping[str, Any], number: int, row: Mapping[str, Any],
                  pred_path: str | Path) -> list[float]:
    """A judged predictions row's saved verdicts, checked against what the handler would ask the
    judge now (an edited answer no longer matches its verdicts: a one-line error naming the line)."""
    claims = [claim.sentence for claim in handler.judge_claims(record, row["prediction"])]
    saved = row.get("judge_support")
    entries = saved.get("claims") if isinstance(saved, dict) else None
    if not isinstance(entries, list) or not all(isinstance(e, dict) and isinstance(e.get("support"), (int, float))
                                                and not isinstance(e.get("support"), bool) for e in entries):
        if not claims:
            return []
        raise ConfigError(f"{pred_path} line {number}: no judge verdicts (\"judge_support\") for this answer; "
                          "re-score a predictions file written by 'brewslm eval' with the same handler options")
    if [e.get("sentence") for e in entries] != claims:
        raise ConfigError(f"{pred_path} line {number}: the saved judge verdicts are for other sentences than the "
                          "answer's; the prediction was edited after judging - evaluate again to judge it")
    return [float(e["support"]) for e in entries]


# --- progress on stderr ----------------------------------------------------------------------------

class StderrEvalProgress:
    """Evaluation events as lines on stderr: info lines, and prediction progress (examples/s, ETA)
    at most every ``interval`` seconds per phase, plus each phase's last line."""

    def __init__(self, stream: TextIO | None = None, interval: float = 5.0):
        self.stream = stream or sys.stderr
        self.interval = interval
        self._last: dict[tuple[str, str], float] = {}

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "info":
            line = str(event.get("message", ""))
        elif kind == "predict":
            key, done, total = (event["model"], event["phase"]), event["done"], event["total"]
            clock = time.monotonic()
            if done < total and clock - self._last.get(key, float("-inf")) < self.interval:
                return
            self._last[key] = clock
            eta = "" if done >= total else f" | ETA {format_duration(event.get('eta_s'))}"
            line = (f"{event['model']} {event['phase']}: {done}/{total} examples | "
                    f"{event['examples_per_s']:.1f} examples/s{eta}")
        else:
            return
        print(line, file=self.stream, flush=True)


__all__ = [
    "BASELINE",
    "BaselineRun",
    "EvalPlan",
    "EvalProgress",
    "EvalResult",
    "ModelRef",
    "Predicted",
    "StderrEvalProgress",
    "build_report",
    "evaluate",
    "fit_baselines",
    "judge_predictions",
    "load_judge",
    "load_model",
    "manifest_from_records",
    "plan_evaluation",
    "predict",
    "read_jsonl_rows",
    "resolve_baseline",
    "resolve_model",
    "run_baselines",
    "run_models",
    "saved_support",
    "score_baselines",
    "score_files",
]
