"""intent_router twist (intent): an intent classifier that knows when to hand over to a human.

1. Training upsamples minority intents (``train.class_balance = upsample``; ``upsample: false``
   keeps the recipe's own setting).
2. After training, the fine-tune label-scores the *validation* split; every distinct confidence is
   a candidate threshold, and ``sweep_thresholds`` gives each one's coverage (rows answered) and
   accuracy on the answered rows. ``pick_threshold`` takes the lowest threshold whose answered
   accuracy reaches ``target_accuracy`` (highest coverage at that quality); when none does, the
   one with the best accuracy x coverage. The curve is drawn to ``coverage_accuracy.png``.
3. The test evaluation gives the threshold to the classification handler (``confidence_threshold``,
   ``fallback_label``), for the fine-tune and the base alike. Its headline (macro F1, accuracy) stays
   the classifier's own answers, before routing, so the lift over the base and any baseline compare
   labels with labels; routing is reported beside it: ``coverage`` (rows answered), ``routed_accuracy``
   (accuracy on them), ``routed_macro_f1`` (macro F1 after routing, a routed row a miss) and
   ``rare_recall`` after routing: mean recall over the rare intents, the classes in the bottom
   quartile (``rare_quantile``) of training counts. ``ece`` says how far the confidences the
   threshold cuts can be trusted (0: a "90% sure" answer is right 9 times in 10).
The threshold is chosen on validation rows only, never on the test rows it is reported on.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
from pydantic import Field

from brewslm.errors import ConfigError
from brewslm.evaluation.runner import EvalResult
from brewslm.inference import score_labels
from brewslm.recipes.twists import RecipeContext, Twist, TwistOptions, rate_text

SWEEP_FILE = "threshold_sweep.json"
TEST_METRICS = ("macro_f1", "ece", "coverage", "routed_accuracy", "routed_macro_f1", "rare_recall")
"""What the recipe reports of the test evaluation: the classifier's own headline and calibration,
then the router at the tuned threshold."""
CURVE_FILE = "coverage_accuracy.png"


@dataclass(frozen=True)
class ThresholdPoint:
    """Routing every example with confidence below ``threshold`` to the fallback: the share of rows
    still answered (``coverage``) and the accuracy over them (None when none is answered)."""

    threshold: float
    coverage: float
    accuracy: float | None
    answered: int


def sweep_thresholds(
    gold: Sequence[str], predicted: Sequence[str], confidence: Sequence[float]
) -> list[ThresholdPoint]:
    """One point per distinct confidence (plus 0: answer everything), by increasing threshold."""
    if not (len(gold) == len(predicted) == len(confidence)) or not gold:
        raise ValueError("gold, predicted and confidence must be equally long and non-empty")
    conf = np.asarray(confidence, dtype=float)
    correct = np.asarray([g == p for g, p in zip(gold, predicted)], dtype=float)
    points = []
    for threshold in sorted({0.0, *conf.tolist()}):
        answered = conf >= threshold
        n = int(answered.sum())
        points.append(
            ThresholdPoint(float(threshold), n / len(conf), float(correct[answered].sum() / n) if n else None, n)
        )
    return points


def pick_threshold(points: Sequence[ThresholdPoint], target_accuracy: float) -> tuple[ThresholdPoint, bool]:
    """``(point, reached)``: the lowest threshold whose accuracy reaches the target; else the point
    with the highest accuracy x coverage (``reached`` False)."""
    for point in sorted(points, key=lambda p: p.threshold):
        if point.accuracy is not None and point.accuracy >= target_accuracy:
            return point, True
    best = max(points, key=lambda p: ((p.accuracy or 0.0) * p.coverage, -p.threshold))
    return best, False


def rare_labels(label_counts: Mapping[str, float], quantile: float = 0.25) -> list[str]:
    """The labels whose count is at or below the ``quantile`` of the counts (sorted by name)."""
    if not label_counts:
        return []
    cut = float(np.quantile(np.asarray(list(label_counts.values()), dtype=float), quantile))
    return sorted(label for label, n in label_counts.items() if n <= cut)


def plot_coverage_accuracy(points: Sequence[ThresholdPoint], chosen: ThresholdPoint, target: float, path: Path) -> Path:
    """Accuracy on answered rows against coverage, the chosen threshold marked."""
    from brewslm.training.report import agg_figure

    figure = agg_figure(6.0, 4.0)
    axes = figure.add_subplot(1, 1, 1)
    shown = [p for p in points if p.accuracy is not None]
    axes.plot([p.coverage for p in shown], [p.accuracy for p in shown], marker=".", linewidth=1.2)
    axes.axhline(target, color="grey", linestyle="--", linewidth=0.8, label=f"target accuracy {target:.2f}")
    if chosen.accuracy is not None:
        axes.scatter(
            [chosen.coverage], [chosen.accuracy], color="red", zorder=3, label=f"threshold {chosen.threshold:.3f}"
        )
    axes.set_xlabel("coverage (share of rows answered)")
    axes.set_ylabel("accuracy on answered rows")
    axes.set_xlim(0, 1.02)
    axes.set_title("Intent router on validation: coverage vs accuracy")
    axes.legend(loc="lower left")
    figure.tight_layout()
    figure.savefig(path)
    return path


class IntentRouterOptions(TwistOptions):
    target_accuracy: float = Field(
        0.9, gt=0.0, le=1.0, description="Accuracy the answered rows must reach on validation."
    )
    fallback_label: str = Field(
        "talk_to_human", min_length=1, description="What the router answers below the confidence threshold."
    )
    upsample: bool = Field(True, description="Train with class_balance=upsample (minority intents repeated).")
    rare_quantile: float = Field(
        0.25, gt=0.0, lt=1.0, description="Rare intents: training count at or below this quantile."
    )
    validation_split: str = Field("validation", description="The split the threshold is tuned on.")


class IntentRouterTwist(Twist):
    kind = "intent_router"
    summary = "upsample rare intents; tune a confidence threshold on validation and route below it to a human"
    Options = IntentRouterOptions
    options: IntentRouterOptions

    def adjust_train(self, ctx: RecipeContext, config: Any) -> Any:
        from brewslm.training.config import update_config

        return update_config(config, class_balance="upsample") if self.options.upsample else config

    def adjust_eval(self, ctx: RecipeContext, config: Any) -> Any:
        from brewslm.evaluation.config import update_eval_config

        sweep = self.tune_threshold(ctx, config)
        options = {
            **config.handler_options,
            "confidence_threshold": sweep["threshold"],
            "fallback_label": self.options.fallback_label,
            "rare_labels": sweep["rare_labels"],
        }
        return update_eval_config(config, handler_options=options, strategy="label_scoring")

    def tune_threshold(self, ctx: RecipeContext, config: Any) -> dict[str, Any]:
        """Label-score the validation split with the fine-tune; write the sweep and its curve."""
        from brewslm.evaluation.config import update_eval_config
        from brewslm.evaluation.model_refs import load_model
        from brewslm.evaluation.runner import plan_evaluation

        if ctx.run_dir is None:
            raise RuntimeError("intent_router tunes its threshold after training; the run is missing")  # pipeline bug
        dataset = ctx.open_dataset()
        split = self.options.validation_split
        if not (dataset.counts.get("splits") or {}).get(split):
            raise ConfigError(
                f"twist intent_router tunes its threshold on the '{split}' split and dataset "
                f"'{dataset.name}' has no {split} rows; import with a validation split "
                "(or set twist.validation_split)"
            )
        plan = plan_evaluation(
            update_eval_config(
                config,
                model=str(ctx.run_dir),
                split=split,
                baseline="none",
                gates=[],
                max_examples=None,
                strategy="label_scoring",
            )
        )
        model, tokenizer = load_model(plan.tuned, config.device)
        scores = score_labels(
            model,
            tokenizer,
            plan.rows.rendered,
            plan.handler.candidate_labels(),
            replies=plan.handler.label_replies(),
            batch_size=config.batch_size,
            max_seq_len=config.max_seq_len,
        )
        gold = [record["label"] for record in plan.rows.records]
        points = sweep_thresholds(gold, [s.best for s in scores], [s.confidence for s in scores])
        chosen, reached = pick_threshold(points, self.options.target_accuracy)
        counts: dict[str, int] = {}
        for record in dataset.iter_records("train"):
            counts[record["label"]] = counts.get(record["label"], 0) + 1
        sweep = {
            "split": split,
            "examples": len(gold),
            "threshold": chosen.threshold,
            "target_accuracy": self.options.target_accuracy,
            "target_reached": reached,
            "chosen": asdict(chosen),
            "points": [asdict(p) for p in points],
            "rare_labels": rare_labels(counts, self.options.rare_quantile),
        }
        (ctx.twist_dir / SWEEP_FILE).write_text(json.dumps(sweep, indent=2) + "\n", encoding="utf-8")
        plot_coverage_accuracy(points, chosen, self.options.target_accuracy, ctx.twist_dir / CURVE_FILE)
        return sweep

    def after_eval(self, ctx: RecipeContext, result: EvalResult) -> dict[str, Any]:
        sweep = json.loads((ctx.twist_dir / SWEEP_FILE).read_text(encoding="utf-8"))
        metrics = result.report["metrics"]
        test = {
            label: {key: (metrics.get(label) or {}).get(key) for key in TEST_METRICS}
            for label in ("tuned", "base")
            if metrics.get(label)
        }
        return {
            "threshold": sweep["threshold"],
            "target_accuracy": sweep["target_accuracy"],
            "target_reached": sweep["target_reached"],
            "fallback_label": self.options.fallback_label,
            "validation": sweep["chosen"],
            "rare_labels": sweep["rare_labels"],
            "test": test,
            "curve": str(ctx.twist_dir / CURVE_FILE),
            "sweep": str(ctx.twist_dir / SWEEP_FILE),
        }

    def describe(self, section: Mapping[str, Any]) -> list[str]:
        lines = [
            f"router threshold {rate_text(section.get('threshold'))} (validation coverage "
            f"{rate_text(section['validation'].get('coverage'))}, "
            f"accuracy {rate_text(section['validation'].get('accuracy'))}"
            + ("" if section.get("target_reached") else "; target accuracy not reached")
            + ")"
        ]
        for label, values in (section.get("test") or {}).items():
            lines.append(
                f"{label}: classifier macro-F1 {rate_text(values.get('macro_f1'))} (before routing), "
                f"ECE {rate_text(values.get('ece'))}; routed: coverage {rate_text(values.get('coverage'))}, "
                f"accuracy {rate_text(values.get('routed_accuracy'))}, "
                f"macro-F1 {rate_text(values.get('routed_macro_f1'))}, "
                f"rare-intent recall {rate_text(values.get('rare_recall'))}"
            )
        lines.append(f"coverage/accuracy curve: {section.get('curve')}")
        return lines

    def serving_settings(self, section: Mapping[str, Any], twist_dir: Path) -> dict[str, Any]:
        """The threshold tuned on validation and the label answered below it (/v1/classify routes with them)."""
        if section.get("threshold") is None:
            return {}
        return {
            "confidence_threshold": section["threshold"],
            "fallback_label": section.get("fallback_label") or self.options.fallback_label,
        }


TWIST = IntentRouterTwist

__all__ = [
    "IntentRouterOptions",
    "IntentRouterTwist",
    "ThresholdPoint",
    "pick_threshold",
    "plot_coverage_accuracy",
    "rare_labels",
    "sweep_thresholds",
]
