"""Task-aware evaluation: every task profile scored the right way, base vs fine-tune lift, gates, reports.

    from brewslm.evaluation import evaluate, load_eval_config, score_files
    result = evaluate(load_eval_config(model="reviews-lora-20250101-120000", dataset="reviews",
                                       gates=["macro_f1 >= 0.85", "lift.macro_f1 > 0"]))
    result.passed, result.out_dir
    metrics = score_files("classification", "test.jsonl", "predictions.jsonl")["metrics"]

Modules: ``config`` (EvalConfig), ``runner`` (the service: rows, models, predictions, report;
``score_files`` re-scores saved predictions), ``handlers`` (one scorer per task profile, a
registry mapper plugins can add to), ``prediction`` (label scoring, batched and constrained
generation, sequence log-probs, the pairwise and grounding judges), ``metrics`` (pure metric functions),
``aggregate`` (subtask breakdown, bootstrap intervals, paired lift), ``gates``, ``report``
(report.json / .md / .html), ``harness`` (offline lm-eval smoke checks).

``predictions_<model>.jsonl`` holds one row per evaluated example, in the order of the gold rows::

    {"index", "id", "subtask", "record", "input", "gold", "prediction", "raw", "scores", "detail"}

``record`` is the canonical record, ``input`` the prompt messages (or raw text), ``gold`` and
``prediction`` are target-shaped (see ``handlers.base``), ``raw`` the generated text (None for
the log-probability strategies), ``scores`` the model's scores (label probabilities and
log-probs for label scoring; token count and whether it stopped by itself for generation), and
``detail`` the handler's per-example detail. A judged evaluation (rag_qa's ``faithfulness:
llm_judge``) adds ``judge_support``: ``{"judge_model", "claims": [{"sentence", "support"}]}``, the
judge's verdicts, which a re-score reads instead of a model. ``score_files(task, None, that_file)``
re-scores it.
"""

from brewslm.evaluation.config import EvalConfig, build_eval_config, load_eval_config, update_eval_config
from brewslm.evaluation.handlers import EvalHandler, Scored, get_eval_handler, list_eval_handlers, register_eval_handler
from brewslm.evaluation.harness import HarnessResult, run_harness
from brewslm.evaluation.rescore import score_files
from brewslm.evaluation.runner import EvalResult, evaluate

__all__ = [
    "EvalConfig",
    "EvalHandler",
    "EvalResult",
    "HarnessResult",
    "Scored",
    "build_eval_config",
    "evaluate",
    "get_eval_handler",
    "list_eval_handlers",
    "load_eval_config",
    "register_eval_handler",
    "run_harness",
    "score_files",
    "update_eval_config",
]
