"""``class_balance`` (the sentiment recipe): make the trivial-majority trap visible.

A classifier that always answers the most common label can score a high accuracy on skewed data.
This twist puts that trivial model's scores (``majority_baseline_accuracy`` /
``majority_baseline_macro_f1``, computed by the classification handler from the gold rows and
the training split's majority label) beside the base model and the fine-tune, and can balance
the training classes (``train_balance``: TrainConfig's ``class_balance``).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, Mapping, Optional

from pydantic import Field

from brewslm.errors import ConfigError
from brewslm.evaluation.runner import EvalResult
from brewslm.recipes.twists import RecipeContext, Twist, TwistOptions, rate_text

METRICS = ("accuracy", "macro_f1")


class ClassBalanceOptions(TwistOptions):
    kind: Literal["class_balance"] = "class_balance"
    train_balance: Optional[Literal["none", "upsample", "downsample"]] = Field(
        None,
        description="Balance the training classes (unset: the recipe's train.class_balance).",
    )
    majority_label: Optional[str] = Field(
        None,
        description="The label the trivial baseline always answers (unset: the training split's most common label).",
    )


class ClassBalance(Twist):
    kind: ClassVar[str] = "class_balance"
    summary: ClassVar[str] = "Majority-class baseline beside the model; optional class balancing in training."
    Options = ClassBalanceOptions

    def check(self, ctx: RecipeContext) -> None:
        if ctx.recipe.task != "classification":
            raise ConfigError(f"twist 'class_balance' needs task classification, not '{ctx.recipe.task}'")

    def adjust_train(self, ctx: RecipeContext, config: Any) -> Any:
        if self.options.train_balance is None:
            return config
        from brewslm.training import update_config

        return update_config(config, class_balance=self.options.train_balance)

    def adjust_eval(self, ctx: RecipeContext, config: Any) -> Any:
        if self.options.majority_label is None:
            return config
        from brewslm.evaluation import update_eval_config

        options = {**config.handler_options, "majority_label": self.options.majority_label}
        return update_eval_config(config, handler_options=options)

    def after_eval(self, ctx: RecipeContext, result: EvalResult) -> dict[str, Any]:
        metrics = result.report.get("metrics") or {}
        tuned = metrics.get("tuned") or {}
        base = metrics.get("base") or {}
        table = {
            "majority": {m: tuned.get(f"majority_baseline_{m}") for m in METRICS},
            "base": {m: base.get(m) for m in METRICS} if base else None,
            "tuned": {m: tuned.get(m) for m in METRICS},
        }
        beats = tuned.get("macro_f1")
        trivial = table["majority"]["macro_f1"]
        return {
            "majority_label": self.options.majority_label,  # None: the training split's most common label
            "scores": table,
            "tuned_beats_majority": None if beats is None or trivial is None else beats > trivial,
        }

    def describe(self, section: Mapping[str, Any]) -> list[str]:
        scores = section.get("scores") or {}
        label = section.get("majority_label")
        lines = [f"majority-class baseline (always answering {repr(label) if label else 'the most common label'}):"]
        for who in ("majority", "base", "tuned"):
            row = scores.get(who)
            if row:
                lines.append(f"  {who:<9}" + "  ".join(f"{m} {rate_text(row.get(m))}" for m in METRICS))
        if section.get("tuned_beats_majority") is False:
            lines.append("  warning: the fine-tune does not beat always answering the majority label")
        return lines


TWIST = ClassBalance
