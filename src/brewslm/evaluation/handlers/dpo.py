"""dpo handler: does the model prefer the chosen reply, by its own log-probabilities?

Predictions come from the preference strategy (``prediction.sequence_scores.preference_scores``):
``{"chosen_logprob", "rejected_logprob", "chosen_tokens", "rejected_tokens"}`` - each reply's
summed token log-probability (reply + end-of-turn token) given the same prompt tokens - and, when
the service also scored the pair with the reference model (the base, adapters off),
``"ref_chosen_logprob"`` and ``"ref_rejected_logprob"``.

Metrics:

- ``preference_accuracy`` (headline): share of pairs where chosen_logprob > rejected_logprob
  (a tie is not a preference); unparseable rows (no scores) count as wrong.
- ``length_normalized_accuracy``: the same on per-token log-probabilities, which removes the
  pull of reply length (a short reply has fewer tokens to lose probability on).
- ``mean_logprob_margin``: mean of chosen_logprob - rejected_logprob;
  ``chosen_logprob_per_token`` / ``rejected_logprob_per_token``.
- with reference scores: the DPO implicit reward r = beta * (logprob - ref_logprob) of each reply;
  ``reward_accuracy`` (share of pairs with r_chosen > r_rejected), ``reward_margin`` (mean of
  r_chosen - r_rejected), ``chosen_reward``, ``rejected_reward`` (means) - the numbers DPO training
  logs as rewards/accuracies and rewards/margins. None without reference scores.
- ``length_ratio`` is None (scores have no generated text) and ``unparseable_rate``.

Options: ``beta`` (default 0.1, DPO's usual value; use the run's own beta to match its training
logs). Every record of a ``dpo`` dataset has both replies (the import rejects a record without
one), so every row is scored as a pair; evaluating the task a pair's prompt belongs to - by
generation - means evaluating a dataset of that task.
"""

from __future__ import annotations

from typing import Any, Mapping

from brewslm.errors import ConfigError
from brewslm.evaluation.handlers._options import check_options
from brewslm.evaluation.handlers.base import PREFERENCE, EvalHandler, Scored
from brewslm.evaluation.handlers.language_modeling import finite_number
from brewslm.evaluation.metrics.common import example_stats, ratio, shared_metrics

DEFAULT_BETA = 0.1
SCORE_KEYS = ("chosen_logprob", "rejected_logprob")
TOKEN_KEYS = ("chosen_tokens", "rejected_tokens")
REFERENCE_KEYS = ("ref_chosen_logprob", "ref_rejected_logprob")


class DpoHandler(EvalHandler):
    task = "dpo"
    strategies = (PREFERENCE,)
    headline = "preference_accuracy"

    def __init__(
        self, options: Mapping[str, Any] | None = None, context: Any = None, manifest: Mapping[str, Any] | None = None
    ):
        super().__init__(options, context, manifest)
        check_options(self.options, ("beta",), self.task)
        beta = self.options.get("beta", DEFAULT_BETA)
        if not finite_number(beta) or beta <= 0:
            raise ConfigError(f"handler option beta must be a positive number (DPO's KL weight), not {beta!r}")
        self.beta = float(beta)

    def gold(self, record: Mapping[str, Any]) -> str:
        """The chosen reply."""
        return record["chosen"]

    def check_prediction(self, prediction: Any) -> None:
        if prediction is None:
            return
        valid = (
            isinstance(prediction, Mapping)
            and all(finite_number(prediction.get(k)) for k in SCORE_KEYS)
            and all(
                isinstance(prediction.get(k), int) and not isinstance(prediction.get(k), bool) and prediction[k] >= 0
                for k in TOKEN_KEYS
            )
            and all(k not in prediction or finite_number(prediction[k]) for k in REFERENCE_KEYS)
        )
        if not valid or (REFERENCE_KEYS[0] in prediction) != (REFERENCE_KEYS[1] in prediction):
            raise ConfigError(
                'a dpo prediction is {"chosen_logprob": number, "rejected_logprob": number, '
                '"chosen_tokens": integer, "rejected_tokens": integer} (optionally with both '
                f'"ref_chosen_logprob" and "ref_rejected_logprob") or null, not {prediction!r}'
            )

    def score_example(self, record: Mapping[str, Any], prediction: Any) -> Scored:
        self.check_prediction(prediction)
        stats = example_stats(None, None, unparseable=prediction is None)  # no text: lengths stay 0
        if prediction is None:
            return Scored(stats, {"unparseable": True})
        chosen, rejected = (float(prediction[k]) for k in SCORE_KEYS)
        chosen_tokens, rejected_tokens = (int(prediction[k]) for k in TOKEN_KEYS)
        per_token = (ratio(chosen, chosen_tokens), ratio(rejected, rejected_tokens))
        normalized = None not in per_token and per_token[0] > per_token[1]
        stats.update(
            {
                "pairs": 1.0,
                "preferred": float(chosen > rejected),
                "normalized_preferred": float(normalized),
                "logprob_margin": chosen - rejected,
                "chosen_logprob": chosen,
                "rejected_logprob": rejected,
                "chosen_tokens": float(chosen_tokens),
                "rejected_tokens": float(rejected_tokens),
            }
        )
        detail: dict[str, Any] = {"preferred": chosen > rejected, "logprob_margin": chosen - rejected}
        if REFERENCE_KEYS[0] in prediction:
            chosen_reward = self.beta * (chosen - float(prediction[REFERENCE_KEYS[0]]))
            rejected_reward = self.beta * (rejected - float(prediction[REFERENCE_KEYS[1]]))
            stats.update(
                {
                    "reward_pairs": 1.0,
                    "reward_preferred": float(chosen_reward > rejected_reward),
                    "reward_margin": chosen_reward - rejected_reward,
                    "chosen_reward": chosen_reward,
                    "rejected_reward": rejected_reward,
                }
            )
            detail["reward_margin"] = chosen_reward - rejected_reward
        return Scored(stats, detail)

    def metrics(self, totals: Mapping[str, float]) -> dict[str, float | None]:
        examples = totals.get("examples", 0.0)
        pairs = totals.get("pairs", 0.0)
        reward_pairs = totals.get("reward_pairs", 0.0)
        # unparseable rows are wrong in the accuracies, as in every handler
        reward_rows = reward_pairs + totals.get("unparseable", 0.0) if reward_pairs else 0.0
        return {
            "preference_accuracy": ratio(totals.get("preferred", 0.0), examples),
            "length_normalized_accuracy": ratio(totals.get("normalized_preferred", 0.0), examples),
            "mean_logprob_margin": ratio(totals.get("logprob_margin", 0.0), pairs),
            "chosen_logprob_per_token": ratio(totals.get("chosen_logprob", 0.0), totals.get("chosen_tokens", 0.0)),
            "rejected_logprob_per_token": ratio(
                totals.get("rejected_logprob", 0.0), totals.get("rejected_tokens", 0.0)
            ),
            "reward_accuracy": ratio(totals.get("reward_preferred", 0.0), reward_rows),
            "reward_margin": ratio(totals.get("reward_margin", 0.0), reward_pairs),
            "chosen_reward": ratio(totals.get("chosen_reward", 0.0), reward_pairs),
            "rejected_reward": ratio(totals.get("rejected_reward", 0.0), reward_pairs),
            **shared_metrics(totals),
        }


HANDLER = DpoHandler

__all__ = ["DEFAULT_BETA", "HANDLER", "DpoHandler"]
