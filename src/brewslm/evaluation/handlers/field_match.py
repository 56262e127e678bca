"""structured_extraction · field_match handler: a JSON object of fields, scored field by field.

The model replies with the target as a JSON object. ``parse`` is the task's reader
(``tasks.structured_extraction.FieldMatchReader``: ``replies.parse_json_completion``, lenient only
about surrounding whitespace and a Markdown code fence); a reply that is not JSON is unparseable
(None). Predictions (``eval score --pred`` files too) are the parsed JSON values - normally an
object; any other JSON value is valid JSON that gets every field wrong.

Metrics:
- ``valid_json_rate``: replies that parse as JSON (all rows);
- ``schema_valid_rate``: replies valid against the dataset's JSON schema (the manifest's
  ``output_schema.json_schema``: the mapper's given schema or the one inferred at import), checked
  with a pydantic model built from it (``json_fields.model_from_schema``); None without a schema;
- ``field_accuracy`` (headline): gold fields predicted right, micro over every field of every row
  (an unparseable reply gets all its fields wrong); ``field_accuracy_parsed``: the same over the
  rows whose reply parsed, to tell extraction quality from format failures;
- ``exact_record_accuracy``: rows with every field right and no extra field;
- ``length_ratio`` (``to_json`` of prediction vs target) and ``unparseable_rate``.
Breakdown: ``per_field`` ``{field: {"accuracy", "support"}}``, fields in schema order.

Options (``json_fields.FieldNormalization``, booleans): ``ignore_case`` (false),
``normalize_whitespace`` (true), ``normalize_numbers`` (true: ``"3" == 3 == 3.0``),
``normalize_dates`` (false: ISO-parse common date forms), ``dayfirst`` (true); ``json_schema``
(an object: the target's JSON schema, replacing the manifest's - a recipe's contract).
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, Mapping, Sequence

from pydantic import BaseModel

from brewslm.errors import ConfigError
from brewslm.evaluation.handlers._options import check_options
from brewslm.evaluation.handlers.base import GENERATION, EvalHandler, Scored
from brewslm.evaluation.metrics.common import example_stats, ratio, shared_metrics, sum_stats
from brewslm.evaluation.metrics.json_fields import (
    FieldComparison,
    FieldNormalization,
    compare_fields,
    model_from_schema,
    schema_errors,
)
from brewslm.tasks.rendering import RenderContext
from brewslm.tasks.structured_extraction import FIELD_MATCH

FIELD_TOTAL = "field_total:"
FIELD_CORRECT = "field_correct:"


class FieldMatchHandler(EvalHandler):
    task = "structured_extraction"
    scoring_mode = FIELD_MATCH
    strategies = (GENERATION,)
    headline = "field_accuracy"

    def __init__(
        self,
        options: Mapping[str, Any] | None = None,
        context: RenderContext | None = None,
        manifest: Mapping[str, Any] | None = None,
    ):
        super().__init__(options, context, manifest)
        check_options(
            self.options, (*FieldNormalization.option_names(), "json_schema"), f"structured_extraction ({FIELD_MATCH})"
        )
        if self.options.get("json_schema") is not None and not isinstance(self.options["json_schema"], dict):
            raise ConfigError(
                f"handler option 'json_schema' must be a JSON schema object, not {self.options['json_schema']!r}"
            )
        self.normalization = FieldNormalization.from_options(self.options)

    @property
    def schema(self) -> dict[str, Any] | None:
        """The target's JSON schema: the ``json_schema`` option, else the dataset's (None when neither)."""
        return self.reader.schema

    @cached_property
    def _schema_model(self) -> type[BaseModel] | None:
        return model_from_schema(self.schema) if self.schema else None

    def gold(self, record: Mapping[str, Any]) -> dict[str, Any]:
        target = record.get("target")
        if target is None:
            raise ConfigError(
                "a field_match record needs a 'target' object; this record has 'spans', so the dataset "
                "is scored with output_schema.scoring_mode 'span_set'"
            )
        return target

    def score_example(self, record: Mapping[str, Any], prediction: Any) -> Scored:
        gold = self.gold(record)
        parsed = prediction is not None
        if parsed:
            comparison = compare_fields(gold, prediction, self.normalization)
        else:  # unparseable: every field wrong, a gold null included
            comparison = FieldComparison(correct=(), wrong=(), missing=tuple(gold), extra=())
        stats = {
            **example_stats(gold, prediction),
            "valid_json": float(parsed),
            "fields": float(len(gold)),
            "fields_correct": float(len(comparison.correct)),
            "parsed_fields": float(len(gold)) if parsed else 0.0,
            "parsed_fields_correct": float(len(comparison.correct)) if parsed else 0.0,
            "exact_record": float(parsed and comparison.exact),
        }
        for key in gold:
            stats[FIELD_TOTAL + key] = 1.0
            stats[FIELD_CORRECT + key] = float(key in comparison.correct)
        detail: dict[str, Any] = {
            "correct_fields": list(comparison.correct),
            "wrong_fields": list(comparison.wrong),
            "missing_fields": list(comparison.missing),
            "extra_fields": list(comparison.extra),
        }
        if self._schema_model is not None:
            problem = schema_errors(self._schema_model, prediction) if parsed else "not JSON"
            stats.update({"schema_checked": 1.0, "schema_valid": float(problem is None)})
            if problem is not None:
                detail["schema_error"] = problem
        return Scored(stats, detail)

    def metrics(self, totals: Mapping[str, float]) -> dict[str, float | None]:
        examples = totals.get("examples", 0.0)
        return {
            "field_accuracy": ratio(totals.get("fields_correct", 0.0), totals.get("fields", 0.0)),
            "field_accuracy_parsed": ratio(totals.get("parsed_fields_correct", 0.0), totals.get("parsed_fields", 0.0)),
            "exact_record_accuracy": ratio(totals.get("exact_record", 0.0), examples),
            "valid_json_rate": ratio(totals.get("valid_json", 0.0), examples),
            "schema_valid_rate": ratio(totals.get("schema_valid", 0.0), totals.get("schema_checked", 0.0)),
            **shared_metrics(totals),
        }

    def breakdown(
        self, records: Sequence[Mapping[str, Any]], predictions: Sequence[Any], scored: Sequence[Scored]
    ) -> dict[str, Any]:
        totals = sum_stats(s.stats for s in scored)
        names = [key[len(FIELD_TOTAL) :] for key in totals if key.startswith(FIELD_TOTAL)]
        order = {name: i for i, name in enumerate((self.schema or {}).get("properties") or {})}
        names.sort(key=lambda name: (order.get(name, len(order)), name))
        per_field = {}
        for name in names:
            support = totals[FIELD_TOTAL + name]
            per_field[name] = {"accuracy": ratio(totals.get(FIELD_CORRECT + name, 0.0), support), "support": support}
        return {"per_field": per_field}


HANDLER = FieldMatchHandler
