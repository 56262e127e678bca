"""json_constrained twist (json_extract): free text -> a JSON object, with a schema as the contract.

The schema is ``twist.schema`` (a JSON schema object, checked when the recipe loads by building its
pydantic model, ``json_fields.model_from_schema``) or, when absent, the one the import inferred
(the manifest's ``output_schema.json_schema``). The field_match handler scores against it
(``handler_options.json_schema``), and the evaluation runs at temperature 0 twice: free
generation (the recipe's main report), then constrained decoding to the schema
(``constrained=true``, its report under ``<out>/twist/constrained``), so ``valid_json_rate``,
``schema_valid_rate`` and ``field_accuracy`` show side by side what the constraint buys.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Optional

from pydantic import AliasChoices, Field, field_validator

from brewslm.evaluation.runner import EvalResult
from brewslm.recipes.twists import RecipeContext, Twist, TwistOptions, rate_text

COMPARED = ("valid_json_rate", "schema_valid_rate", "field_accuracy")


class JsonConstrainedOptions(TwistOptions):
    # ``schema`` in a recipe (a pydantic BaseModel attribute name, hence the field's own name)
    json_schema: Optional[dict[str, Any]] = Field(
        None,
        validation_alias=AliasChoices("schema", "json_schema"),
        description="The target's JSON schema, as `schema` (default: inferred at import).",
    )
    compare_constrained: bool = Field(True, description="Also evaluate with constrained decoding and compare.")

    @field_validator("json_schema")
    @classmethod
    def _buildable(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        if value is not None:
            from brewslm.evaluation.metrics.json_fields import model_from_schema

            model_from_schema(value)  # raises on a schema it cannot express
        return value


def side_by_side(free: Mapping[str, Any], constrained: Mapping[str, Any] | None) -> dict[str, dict[str, Any]]:
    """``{metric: {"free": {"tuned", "base"}, "constrained": {...}}}`` for the compared metrics."""

    def values(report: Mapping[str, Any] | None, metric: str) -> dict[str, Any] | None:
        if report is None:
            return None
        metrics = report["metrics"]
        return {label: (metrics.get(label) or {}).get(metric) for label in ("tuned", "base") if metrics.get(label)}

    return {metric: {"free": values(free, metric), "constrained": values(constrained, metric)} for metric in COMPARED}


class JsonConstrainedTwist(Twist):
    kind = "json_constrained"
    summary = "a JSON schema as the contract; evaluate free and constrained decoding side by side"
    Options = JsonConstrainedOptions
    options: JsonConstrainedOptions

    def adjust_eval(self, ctx: RecipeContext, config: Any) -> Any:
        from brewslm.evaluation.config import update_eval_config

        options = dict(config.handler_options)
        if self.options.json_schema is not None:
            options["json_schema"] = self.options.json_schema
        return update_eval_config(config, temperature=0.0, constrained=False, handler_options=options)

    def after_eval(self, ctx: RecipeContext, result: EvalResult) -> dict[str, Any]:
        from brewslm.evaluation import evaluate
        from brewslm.evaluation.config import EvalConfig, update_eval_config

        constrained = None
        if self.options.compare_constrained:
            config = EvalConfig.model_validate(result.report["config"])
            config = update_eval_config(config, constrained=True, gates=[], out_dir=str(ctx.twist_dir / "constrained"))
            constrained = evaluate(config).report
        return {
            "schema": "recipe" if self.options.json_schema is not None else "inferred",
            "comparison": side_by_side(result.report, constrained),
            "constrained_report": str(ctx.twist_dir / "constrained" / "report.html") if constrained else None,
        }

    def describe(self, section: Mapping[str, Any]) -> list[str]:
        lines = []
        for metric, modes in (section.get("comparison") or {}).items():
            parts = []
            for mode in ("free", "constrained"):
                values = modes.get(mode)
                if values:
                    parts.append(f"{mode}: " + ", ".join(f"{label} {rate_text(v)}" for label, v in values.items()))
            lines.append(f"{metric}: " + " | ".join(parts))
        return lines

    def serving_settings(self, section: Mapping[str, Any], twist_dir: Path) -> dict[str, Any]:
        """The recipe's schema is the extract endpoint's contract; without one the bundle falls back
        to the dataset's inferred schema (``brewslm.export.bundle.with_dataset_schema``)."""
        return {"json_schema": self.options.json_schema} if self.options.json_schema is not None else {}


TWIST = JsonConstrainedTwist

__all__ = ["COMPARED", "JsonConstrainedOptions", "JsonConstrainedTwist", "side_by_side"]
