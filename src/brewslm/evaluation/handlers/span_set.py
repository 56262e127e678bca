"""structured_extraction · span_set handler: exact span-set match, relaxed overlap, seqeval F1.

The model replies with the rendered completion's form, a JSON list ``[{"text", "label"}]`` in order
of appearance. ``parse`` is the task's reader (``tasks.structured_extraction.SpanSetReader``): it
reads the list strictly (invalid JSON, or anything but a list of objects with text ``text`` and
``label``, is unparseable) and recovers character offsets with ``rendering.locate_spans``, the same
function that defines the rendering (a quoted text with whitespace around it that occurs only
trimmed is placed trimmed). A quoted text that does not occur in the input cannot be placed: it
stays in the prediction as ``{"text", "label"}`` (no offsets) and counts as a hallucinated span -
it is listed in the detail, never dropped.

Predictions (``eval score --pred`` files too) are lists of ``{"start", "end", "label"}`` spans.

Metrics (``metrics.spans``): strict micro / macro / weighted P, R, F1 (``precision``, ``recall``,
``f1`` = the strict micro values; headline ``micro_f1``), ``relaxed_*`` (same type, overlapping
ranges, one to one), ``seqeval_*`` (entity F1 over the records' IOB2 tags, equal to the seqeval
package; None when no record carries tokens and tags), ``exact_set_match``, ``length_ratio``
(``to_json`` of the predicted vs the gold span list) and ``unparseable_rate``. Per example, the
detail lists the matched, missed and hallucinated spans and the overlapping (boundary-error) pairs.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from brewslm.errors import ConfigError
from brewslm.evaluation.handlers.base import GENERATION, EvalHandler, Scored
from brewslm.evaluation.metrics.common import example_stats, shared_metrics, sum_stats
from brewslm.evaluation.metrics.spans import per_type, score_spans, span_metrics, view_scores
from brewslm.tasks.structured_extraction import SPAN_SET


class SpanSetHandler(EvalHandler):
    task = "structured_extraction"
    scoring_mode = SPAN_SET
    strategies = (GENERATION,)
    headline = "micro_f1"

    def gold(self, record: Mapping[str, Any]) -> list[dict[str, Any]]:
        spans = record.get("spans")
        if spans is None:
            raise ConfigError(
                "a span_set record needs 'spans'; this record has a 'target', so the dataset is "
                "scored with output_schema.scoring_mode 'field_match'"
            )
        return [{"start": s["start"], "end": s["end"], "label": s["label"]} for s in spans]

    def score_example(self, record: Mapping[str, Any], prediction: Any) -> Scored:
        if prediction is not None and not isinstance(prediction, list):
            raise ConfigError(
                f'a span_set prediction is a list of {{"start", "end", "label"}} spans or null, '
                f"not a {type(prediction).__name__}"
            )
        gold = self.gold(record)
        score = score_spans(record["text"], gold, prediction, tokens=record.get("tokens"), tags=record.get("tags"))
        detail = dict(score.detail)
        if prediction is None:
            detail["unparseable"] = True
        return Scored({**example_stats(gold, prediction), **score.stats}, detail)

    def metrics(self, totals: Mapping[str, float]) -> dict[str, float | None]:
        return {**span_metrics(totals), **shared_metrics(totals)}

    def breakdown(
        self, records: Sequence[Mapping[str, Any]], predictions: Sequence[Any], scored: Sequence[Scored]
    ) -> dict[str, Any]:
        totals = sum_stats(s.stats for s in scored)
        out: dict[str, Any] = {"per_type": per_type(totals, "strict")}
        for view in ("relaxed", "seqeval"):
            scores = view_scores(totals, view)
            out[view] = {name: scores[f"micro_{name}"] for name in ("precision", "recall", "f1")}
            out[view].update(macro_f1=scores["macro_f1"], per_type=per_type(totals, view))
        out["seqeval"]["examples"] = int(totals.get("seqeval_examples", 0))
        if not out["seqeval"]["examples"]:
            out["seqeval"] = {"examples": 0}  # no record carries tokens and tags
        return out


HANDLER = SpanSetHandler
