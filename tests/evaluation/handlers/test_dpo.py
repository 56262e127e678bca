"""dpo handler: preference accuracy, length-normalised accuracy, margins and the DPO implicit reward
from log-probabilities - hand-computed, equal to training's DPO metrics, and end to end on the tiny model."""

from __future__ import annotations

import math

import pytest
import torch

from brewslm.errors import ConfigError
from brewslm.evaluation.handlers import get_eval_handler
from brewslm.evaluation.handlers.dpo import DpoHandler
from brewslm.inference.sequence_scores import preference_scores
from brewslm.tasks import get_task_profile
from brewslm.training.preference import dpo_loss
from helpers.scoring import metrics_of
from helpers.tiny_model import build_tiny_model, build_tiny_tokenizer

RECORD = {
    "prompt": [{"role": "user", "content": "what is the capital of France?"}],
    "chosen": "Paris is the capital of France.",
    "rejected": "the lazy dog",
}


def pair(
    chosen: float, rejected: float, chosen_tokens: int, rejected_tokens: int, reference: tuple[float, ...] = ()
) -> dict:
    out = {
        "chosen_logprob": chosen,
        "rejected_logprob": rejected,
        "chosen_tokens": chosen_tokens,
        "rejected_tokens": rejected_tokens,
    }
    out.update(zip(("ref_chosen_logprob", "ref_rejected_logprob"), reference))
    return out


PREDICTIONS = [
    pair(-5.0, -7.0, 5, 2),  # preferred; per token -1 vs -3.5: preferred
    pair(-10.0, -8.0, 10, 4),  # not preferred; per token -1 vs -2: preferred
    pair(-3.0, -3.0, 3, 3),  # a tie is no preference
    None,  # no scores: unparseable, wrong
]


def test_registered_with_its_strategy_and_headline() -> None:
    handler = get_eval_handler("dpo")
    assert isinstance(handler, DpoHandler)
    assert (handler.strategy, handler.headline, handler.lower_is_better) == (
        "preference",
        "preference_accuracy",
        frozenset(),
    )
    assert handler.gold(RECORD) == RECORD["chosen"]


def test_metrics_hand_computed() -> None:
    metrics, scored = metrics_of(DpoHandler(), [RECORD] * 4, PREDICTIONS)
    assert metrics["preference_accuracy"] == 0.25
    assert metrics["length_normalized_accuracy"] == 0.5
    assert metrics["mean_logprob_margin"] == pytest.approx((2 - 2 + 0) / 3)
    assert metrics["chosen_logprob_per_token"] == pytest.approx(-18 / 18)
    assert metrics["rejected_logprob_per_token"] == pytest.approx(-18 / 9)
    assert metrics["unparseable_rate"] == 0.25
    assert metrics["length_ratio"] is None  # scores, no text
    for name in ("reward_accuracy", "reward_margin", "chosen_reward", "rejected_reward"):
        assert metrics[name] is None  # no reference scores
    assert scored[0].detail == {"preferred": True, "logprob_margin": 2.0}
    assert scored[3].detail == {"unparseable": True}


def test_rewards_equal_training_dpo_metrics() -> None:
    policy = [(-5.0, -7.0), (-10.0, -8.0), (-4.0, -9.5)]
    reference = [(-6.0, -6.5), (-9.0, -9.0), (-4.5, -8.0)]
    predictions = [pair(c, r, 4, 4, ref) for (c, r), ref in zip(policy, reference)]
    handler = DpoHandler({"beta": 0.25})
    metrics, _ = metrics_of(handler, [RECORD] * 3, predictions)
    _, trained = dpo_loss(
        torch.tensor(policy, dtype=torch.float64), torch.tensor(reference, dtype=torch.float64), beta=0.25
    )
    assert metrics["reward_accuracy"] == pytest.approx(float(trained["rewards/accuracies"].mean()))
    assert metrics["reward_margin"] == pytest.approx(float(trained["rewards/margins"].mean()))
    assert metrics["chosen_reward"] == pytest.approx(float(trained["rewards/chosen"].mean()))
    assert metrics["rejected_reward"] == pytest.approx(float(trained["rewards/rejected"].mean()))
    # beta: 0.25 * ((-5 + 6) - (-7 + 6.5)) = 0.375 for the first pair
    assert handler.score_example(RECORD, predictions[0]).detail["reward_margin"] == pytest.approx(0.375)


def test_bad_options_and_predictions_are_refused() -> None:
    with pytest.raises(ConfigError, match="did you mean 'beta'"):
        DpoHandler({"betta": 0.2})
    with pytest.raises(ConfigError, match="positive number"):
        DpoHandler({"beta": 0})
    for bad in ("chosen", {"chosen_logprob": -1.0}, pair(-1.0, float("nan"), 1, 1), pair(-1.0, -2.0, 1, 1, (-1.0,))):
        with pytest.raises(ConfigError, match="a dpo prediction is"):
            DpoHandler().score_example(RECORD, bad)


def test_end_to_end_from_preference_scores() -> None:
    tokenizer = build_tiny_tokenizer()
    model = build_tiny_model(tokenizer, seed=2)
    rendered = [get_task_profile("dpo").render(RECORD)] * 2
    scores = preference_scores(model, tokenizer, rendered)
    predictions = [s.to_prediction(s) for s in scores]  # the model as its own reference: zero rewards
    metrics, _ = metrics_of(DpoHandler(), [RECORD] * 2, predictions)
    expected = float(scores[0].chosen.logprob > scores[0].rejected.logprob)
    assert metrics["preference_accuracy"] == expected
    assert metrics["reward_margin"] == 0.0 and metrics["reward_accuracy"] == 0.0
    assert math.isfinite(metrics["mean_logprob_margin"])
