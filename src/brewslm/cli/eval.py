"""``brewslm eval ...``: score a fine-tune against its base on held-out gold rows, with gates.

    brewslm eval --model reviews-lora-20250101-120000 --dataset reviews --gate "macro_f1 >= 0.85"
    brewslm eval --model ./merged --dataset reviews --baseline none --config eval.yaml max_examples=200
    brewslm eval score --task classification --gold test.jsonl --pred predictions_tuned.jsonl --json
    brewslm eval harness --model reviews-lora-20250101-120000 --tasks arc_easy --limit 50
    brewslm eval errors runs/reviews-lora-20250101-120000/eval/reviews-test-20250101-130000 --limit 10

``brewslm eval`` is ``brewslm eval run`` (the group's default command). It prints the report summary
and exits 0 when every gate passes, 1 when one fails (so a project's CI can use it), 2 on errors.
Every evaluation option lives in ``brewslm.evaluation.EvalConfig``; the command line sets the
common ones as flags and any other as ``KEY=VALUE``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from brewslm.cli.command import Command
from brewslm.cli.options import json_flag, option, options_help
from brewslm.evaluation.config import EvalConfig
from brewslm.options import describe_options, parse_options
from brewslm.output import key_values, table
from brewslm.storage.datasets import SPLITS

STRATEGY_CHOICES = ("label_scoring", "generation", "preference", "perplexity")


@dataclass(kw_only=True)
class EvalOptions:
    model: str | None = option(
        "The model to evaluate: a run folder or run name, a model folder, a .gguf file or a hub "
        "id (or set 'model' in --config).",
        default=None,
        metavar="RUN|MODEL",
    )
    dataset: str | None = option(
        "Dataset name in the workspace, or a dataset version folder (or set 'dataset' in --config).",
        default=None,
        metavar="NAME|PATH",
    )
    split: str | None = option("Split to evaluate on (default: test).", default=None, choices=SPLITS)
    baseline: str | None = option(
        "Model to measure the lift against: a run, model folder or hub id, or 'none' (default: the run's base model).",
        default=None,
        metavar="BASE",
    )
    gate: list[str] = option(
        "A condition the evaluation must meet, e.g. 'macro_f1 >= 0.85', 'lift.macro_f1 > 0' or "
        "'lift_vs_baseline.macro_f1 > 0'; "
        "repeat the flag for more; added to the config's gates. A failed gate exits 1.",
        default=[],
        metavar="EXPR",
        one_per_flag=True,
    )
    config: str | None = option(
        "YAML file of evaluation options; flags and KEY=VALUE overrides win over it.", default=None, metavar="FILE"
    )
    strategy: str | None = option(
        "How predictions are made (default: the task's own).", default=None, choices=STRATEGY_CHOICES
    )
    max_examples: int | None = option(
        "Evaluate a seeded sample of this many rows (default: all).", default=None, metavar="N"
    )
    constrained: bool | None = option(
        "Constrain generation to the task's JSON schema (field_match, tool_call).", default=None
    )
    out: str | None = option(
        "Folder for the report and predictions (default: <run>/eval/<dataset>-<split>-<time>).",
        default=None,
        metavar="DIR",
    )
    overrides: list[str] = option(
        "Any evaluation option as KEY=VALUE (e.g. bootstrap_samples=2000 "
        "handler_options.beta=0.2); the options are listed below.",
        default=[],
        positional=True,
        metavar="KEY=VALUE",
    )
    quiet: bool = option("No progress lines on stderr.", default=False)
    json: bool = json_flag()


def eval_run(opts: EvalOptions) -> dict[str, Any]:
    from brewslm.evaluation import evaluate, load_eval_config, update_eval_config
    from brewslm.evaluation.progress import StderrEvalProgress
    from brewslm.storage.processes import stop_cleanly_on_sigterm
    from brewslm.training.run import find_run
    from brewslm.tuning.advice import add_next_steps

    config = load_eval_config(
        opts.config,
        overrides=opts.overrides,
        model=opts.model,
        dataset=opts.dataset,
        split=opts.split,
        baseline=opts.baseline,
        strategy=opts.strategy,
        max_examples=opts.max_examples,
        constrained=opts.constrained,
        out_dir=opts.out,
    )
    if opts.gate:
        config = update_eval_config(config, gates=[*config.gates, *opts.gate])
    progress = None if opts.quiet else StderrEvalProgress()
    # SIGTERM stops it like Ctrl-C (no report is written part way), exiting 143 instead of dying mid-write
    result = stop_cleanly_on_sigterm(lambda: evaluate(config, progress=progress).to_dict())
    run_dir = find_run(config.model) if config.model else None
    steps = add_next_steps(result["files"]["json"], run_dir) if run_dir else []  # the baseline not beaten: what next
    return {**result, "report": {**result["report"], "next_steps": steps}} if steps else result


eval_run.__doc__ = f"""Evaluate a fine-tune and its base on the same held-out rows: metrics, lift, gates.

Each task is scored the way it should be (classification by label scoring, extraction by span or
field match, QA by exact match / F1, DPO by preference accuracy, chat by perplexity...), with
bootstrap confidence intervals and the paired lift over the base model. The task's cheap baselines
(TF-IDF + logistic regression, a CRF, a cue rule...) are fitted on the train split and scored on the
same rows; the strongest is the report's 'baseline', with the lift over it ('lift_vs_baseline.macro_f1
> 0' gates on it), and the summary opens with a warning when it beats the fine-tune, followed by what to try next (more
epochs or a larger model, with their cost here) read from the training run. Writes
report.json, report.md, report.html and predictions_<model>.jsonl; exits 1 when a gate fails.

{options_help(describe_options(EvalConfig), "evaluation options (KEY=VALUE):")}
"""


def render_eval(result: dict[str, Any]) -> str:
    from brewslm.evaluation.report import render_text_summary

    files = result["files"]
    shown = [
        (name, files[key])
        for name, key in (
            ("report", "html"),
            ("report (JSON)", "json"),
            ("predictions", "predictions_tuned"),
            ("baseline predictions", "predictions_baseline"),
        )
        if key in files
    ]
    return render_text_summary(result["report"]) + "\n\n" + key_values([("written to", result["out_dir"]), *shown])


def eval_exit_status(result: dict[str, Any]) -> int:
    return 0 if result["passed"] else 1


@dataclass(kw_only=True)
class ScoreOptions:
    task: str = option(
        "Task profile of the gold records (classification, structured_extraction, qa, rag_qa, "
        "tool_call, dpo, chat_sft, language_modeling).",
        metavar="PROFILE",
    )
    scoring_mode: str | None = option(
        "structured_extraction only: span_set or field_match (default: inferred from the gold records).",
        default=None,
        metavar="MODE",
    )
    gold: str | None = option(
        "JSONL file of canonical records, one per line, as the import writes them (default: "
        "each prediction row's 'record', as in a predictions_*.jsonl file).",
        default=None,
        metavar="FILE",
    )
    pred: str = option('JSONL file with one {"prediction": ...} per gold line, in the same order.', metavar="FILE")
    dataset: str | None = option(
        "Take the label set, majority label and JSON schema from this dataset's manifest, as "
        "'brewslm eval' does (default: inferred from the gold records).",
        default=None,
        metavar="NAME|PATH",
    )
    option_: list[str] = option(
        "A scorer option as KEY=VALUE (JSON values), e.g. --option normalize_case=false; repeatable.",
        default=[],
        metavar="KEY=VALUE",
        flag="--option",
        one_per_flag=True,
    )
    bootstrap_samples: int = option(
        "Bootstrap resamples for the confidence intervals (0: none).", default=1000, metavar="N"
    )
    json: bool = json_flag()


def eval_score(opts: ScoreOptions) -> dict[str, Any]:
    """Score saved predictions against gold records, without a model.

    The predictions are target-shaped: a label string (classification; {label, confidence} from
    label scoring, which '--option confidence_threshold=P' routes anew), a list of {start, end,
    label} spans (span_set), a JSON object (field_match), an answer string (qa, rag_qa), a
    tool-call object (tool_call), model scores for dpo / chat_sft / language_modeling. A
    predictions_<model>.jsonl file from 'brewslm eval' re-scores to the report's metrics.
    """
    from brewslm.evaluation import score_files

    return score_files(
        opts.task,
        opts.gold,
        opts.pred,
        opts.scoring_mode,
        parse_options(opts.option_),
        dataset=opts.dataset,
        bootstrap_samples=opts.bootstrap_samples,
    )


def render_score(result: dict[str, Any]) -> str:
    from brewslm.evaluation.report import format_interval, format_value

    mode = f" ({result['scoring_mode']})" if result.get("scoring_mode") else ""
    intervals = result.get("intervals") or {}
    percent = f"{round(result['bootstrap']['confidence'] * 100)}% CI"
    rows = [
        [metric, format_value(value), format_interval(intervals.get(metric))]
        for metric, value in result["metrics"].items()
        if value is None or isinstance(value, (int, float))
    ]
    head = key_values(
        [("task", f"{result['task']}{mode}"), ("examples", result["examples"]), ("headline", result["headline"])]
    )
    return head + "\n\n" + table(["metric", "value", percent], rows, width=80)


@dataclass(kw_only=True)
class HarnessOptions:
    model: str = option(
        "Run folder or run name, a model folder or a hub id already in the local cache.", metavar="RUN|MODEL"
    )
    tasks: list[str] = option(
        "lm-eval task names, e.g. --tasks hellaswag arc_easy (their data must be cached locally).", metavar="TASK"
    )
    limit: int | None = option("Rows per task (default: all).", default=None, metavar="N")
    num_fewshot: int | None = option("Few-shot examples per prompt (default: the task's).", default=None, metavar="K")
    batch_size: int = option("Examples per forward pass.", default=8, metavar="N")
    device: str | None = option("cpu, cuda, cuda:1... (default: lm-eval's choice).", default=None)
    json: bool = json_flag()


def eval_harness(opts: HarnessOptions) -> dict[str, Any]:
    """Smoke-check a model on public benchmarks with lm-evaluation-harness, offline.

    Runs only when lm-eval is installed and the tasks' data is in the local cache; otherwise it
    prints why it was skipped and exits 0. It never downloads.
    """
    from brewslm.evaluation.harness import run_harness

    return run_harness(
        opts.model,
        opts.tasks,
        limit=opts.limit,
        num_fewshot=opts.num_fewshot,
        batch_size=opts.batch_size,
        device=opts.device,
    ).to_dict()


def render_harness(result: dict[str, Any]) -> str:
    if result["status"] == "skipped":
        return f"skipped: {result['reason']}"
    rows = [[task, metric, value] for task, metrics in result["results"].items() for metric, value in metrics.items()]
    return table(["task", "metric", "value"], rows)


@dataclass(kw_only=True)
class ErrorsOptions:
    report: str = option(
        "An evaluation's output folder (the 'report' line 'brewslm eval' prints) or its report.json.",
        positional=True,
        metavar="REPORT",
    )
    model: str = option(
        "Whose predictions to review ('baseline': the strongest cheap baseline).",
        default="tuned",
        choices=("tuned", "base", "baseline"),
    )
    limit: int = option("Show at most this many wrong examples (0: all).", default=20, metavar="N")
    all: bool = option("Show every example with its verdict, not only the wrong ones.", default=False)
    json: bool = json_flag()


def eval_errors(opts: ErrorsOptions) -> dict[str, Any]:
    """The examples a model got wrong in a finished evaluation: input, gold, prediction.

    An example is wrong when it falls short of the task's headline metric scored alone (a wrong
    label, a missed span, a wrong field, a wrong tool or argument), as the report scored it; the web
    UI's "errors only" filter is the same rule.
    """
    from brewslm.evaluation.review import prompt_of, review_predictions

    review = review_predictions(opts.report, opts.model)
    verdicts = review.verdicts or [None] * len(review.rows)
    examples = [
        {
            "index": row.get("index", number),
            "id": row.get("id"),
            "verdict": verdict,
            "input": prompt_of(row.get("input")),
            "gold": row.get("gold"),
            "prediction": row.get("prediction"),
            "raw": row.get("raw"),
        }
        for number, (row, verdict) in enumerate(zip(review.rows, verdicts))
        if opts.all or verdict == "error"
    ]
    shown = examples[: opts.limit] if opts.limit > 0 else examples
    return {
        "model": review.model,
        "predictions": str(review.path) if review.path else None,
        "headline": review.headline,
        "examples": len(review.rows),
        "errors": review.errors,
        "note": review.note,
        "shown": shown,
        "more": len(examples) - len(shown),
    }


def render_errors(result: dict[str, Any]) -> str:
    errors = result["errors"]
    verdicts = (
        f"{errors} of {result['examples']} wrong by {result['headline']}"
        if errors is not None
        else result["note"] or "this task has no per-example right or wrong"
    )
    head = key_values(
        [("model", result["model"]), ("predictions", result["predictions"] or "-"), ("examples", verdicts)]
    )
    if not result["shown"]:
        return head
    rows = [
        [
            e["index"],
            e["verdict"] or "-",
            e["input"],
            e["gold"],
            "(unparseable) " + str(e["raw"] or "") if e["prediction"] is None else e["prediction"],
        ]
        for e in result["shown"]
    ]
    more = f"\n... {result['more']} more (--limit 0 shows all)" if result["more"] else ""
    return head + "\n\n" + table(["#", "verdict", "input", "gold", "prediction"], rows, width=60) + more


COMMANDS: dict[str, Any] = {
    "default": "run",
    "run": Command(eval_run, EvalOptions, render_eval, exit_status=eval_exit_status),
    "score": Command(eval_score, ScoreOptions, render_score),
    "harness": Command(eval_harness, HarnessOptions, render_harness),
    "errors": Command(eval_errors, ErrorsOptions, render_errors),
}

__all__ = [
    "COMMANDS",
    "ErrorsOptions",
    "EvalOptions",
    "HarnessOptions",
    "ScoreOptions",
    "eval_errors",
    "eval_harness",
    "eval_run",
    "eval_score",
]
