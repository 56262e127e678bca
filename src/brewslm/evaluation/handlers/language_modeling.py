"""language_modeling handler: perplexity of held-out text (and the perplexity scoring chat_sft shares).

Predictions come from the perplexity strategy (``prediction.sequence_scores``): ``{"nll": summed
negative log-likelihood of the record's trained tokens, "tokens": how many}`` - for raw text every
token after the first plus the closing EOS, long texts in windows summed back per record. A
prediction may also carry ``"text"``, a reply the service generated (e.g. for the pairwise judge);
``length_ratio`` then compares it with the reference, and is None without one (scores have no length).

Metrics: ``perplexity`` = exp(total NLL / total tokens) - token-weighted over the whole set, so a
long document counts by its tokens, as perplexity of a corpus is defined (not a mean of per-record
perplexities) - ``nll_per_token``, ``tokens``, ``length_ratio`` and ``unparseable_rate`` (rows
with no score). Headline: perplexity; lower is better for it and for nll_per_token.

A perplexity compares models only on the same tokens: two models with different tokenizers see
different token counts, which is why ``tokens`` is reported beside it.
"""

from __future__ import annotations

import math
from numbers import Real
from typing import Any, Mapping

from brewslm.errors import ConfigError
from brewslm.evaluation.handlers._options import check_options
from brewslm.evaluation.handlers.base import PERPLEXITY, EvalHandler, Scored
from brewslm.evaluation.metrics.common import example_stats, ratio, shared_metrics


def finite_number(value: Any) -> bool:
    return isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)


class PerplexityHandler(EvalHandler):
    """Scores ``{"nll", "tokens"}`` predictions; subclasses name the task and its reference text."""

    task = "language_modeling"
    strategies = (PERPLEXITY,)
    headline = "perplexity"
    lower_is_better = frozenset({"perplexity", "nll_per_token"})

    def __init__(
        self, options: Mapping[str, Any] | None = None, context: Any = None, manifest: Mapping[str, Any] | None = None
    ):
        super().__init__(options, context, manifest)
        check_options(self.options, (), self.task)

    def gold(self, record: Mapping[str, Any]) -> str:
        """The reference text: the document itself."""
        return record["text"]

    def check_prediction(self, prediction: Any) -> None:
        if prediction is None:
            return
        valid = (
            isinstance(prediction, Mapping)
            and finite_number(prediction.get("nll"))
            and isinstance(prediction.get("tokens"), int)
            and not isinstance(prediction.get("tokens"), bool)
            and prediction["tokens"] >= 0
            and isinstance(prediction.get("text", ""), str)
        )
        if not valid:
            raise ConfigError(
                f'a {self.task} prediction is {{"nll": number, "tokens": integer >= 0}} (optionally '
                f'with "text") or null, not {prediction!r}'
            )

    def score_example(self, record: Mapping[str, Any], prediction: Any) -> Scored:
        self.check_prediction(prediction)
        text = prediction.get("text") if prediction is not None else None
        # lengths only when there is a generated reply to measure
        stats = example_stats(self.gold(record) if text is not None else None, text, unparseable=prediction is None)
        detail: dict[str, Any] = {}
        if prediction is None:
            detail["unparseable"] = True
        else:
            stats["nll"] = float(prediction["nll"])
            stats["tokens"] = float(prediction["tokens"])
            detail["nll_per_token"] = ratio(stats["nll"], stats["tokens"])
        return Scored(stats, detail)

    def metrics(self, totals: Mapping[str, float]) -> dict[str, float | None]:
        nll_per_token = ratio(totals.get("nll", 0.0), totals.get("tokens", 0.0))
        return {
            "perplexity": None if nll_per_token is None else _exp(nll_per_token),
            "nll_per_token": nll_per_token,
            "tokens": totals.get("tokens", 0.0),
            **shared_metrics(totals),
        }


def _exp(value: float) -> float:
    try:
        return math.exp(value)
    except OverflowError:  # a per-token NLL above ~709 nats: the model gives the text no probability at all
        return math.inf


HANDLER = PerplexityHandler

__all__ = ["HANDLER", "PerplexityHandler", "finite_number"]
