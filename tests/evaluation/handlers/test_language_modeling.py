"""language_modeling handler: token-weighted perplexity from {"nll", "tokens"} predictions, hand-computed
and end to end equal to exp of training's mean completion loss on the tiny model."""

from __future__ import annotations

import math

import pytest
import torch

from brewslm.errors import ConfigError
from brewslm.evaluation.handlers import get_eval_handler
from brewslm.evaluation.handlers.language_modeling import PerplexityHandler
from brewslm.inference.batching import collate
from brewslm.inference.sequence_scores import sequence_scores
from brewslm.tasks import get_task_profile
from brewslm.tasks.rendering import RenderContext
from brewslm.training.data import load_examples
from brewslm.training.model import completion_loss
from helpers.scoring import metrics_of
from helpers.tiny_model import build_tiny_model, build_tiny_tokenizer

RECORDS = [{"text": "The quick brown fox jumps over the lazy dog."}, {"text": "a"}, {"text": "Paris"}]


def test_registered_with_its_strategy_and_headline() -> None:
    handler = get_eval_handler("language_modeling")
    assert isinstance(handler, PerplexityHandler)
    assert (handler.strategy, handler.headline) == ("perplexity", "perplexity")
    assert handler.lower_is_better == {"perplexity", "nll_per_token"}
    assert handler.gold(RECORDS[0]) == RECORDS[0]["text"]


def test_perplexity_is_token_weighted_hand_computed() -> None:
    predictions = [{"nll": 10.0, "tokens": 5}, {"nll": 2.0, "tokens": 5}, None]
    metrics, scored = metrics_of(PerplexityHandler(), RECORDS, predictions)
    assert metrics["nll_per_token"] == pytest.approx(1.2)
    assert metrics["perplexity"] == pytest.approx(math.exp(1.2))  # not the mean of e^2 and e^0.4
    assert metrics["tokens"] == 10.0
    assert metrics["unparseable_rate"] == pytest.approx(1 / 3)
    assert metrics["length_ratio"] is None  # no generated text
    assert scored[0].detail == {"nll_per_token": 2.0} and scored[2].detail == {"unparseable": True}


def test_generated_text_gives_a_length_ratio_and_nothing_scored_is_undefined() -> None:
    metrics, _ = metrics_of(
        PerplexityHandler(),
        RECORDS[:2],
        [{"nll": 1.0, "tokens": 2, "text": "The quick"}, {"nll": 1.0, "tokens": 2, "text": "ab"}],
    )
    assert metrics["length_ratio"] == pytest.approx((9 + 2) / (44 + 1))
    metrics, _ = metrics_of(PerplexityHandler(), RECORDS[:1], [None])
    assert metrics["perplexity"] is None and metrics["nll_per_token"] is None
    huge, _ = metrics_of(PerplexityHandler(), RECORDS[:1], [{"nll": 1e6, "tokens": 1}])
    assert huge["perplexity"] == math.inf


def test_bad_predictions_and_options_are_refused() -> None:
    for bad in (
        3.5,
        {"nll": "1"},
        {"nll": 1.0, "tokens": -1},
        {"nll": 1.0, "tokens": 2.5},
        {"nll": 1.0, "tokens": True},
    ):
        with pytest.raises(ConfigError, match="a language_modeling prediction is"):
            PerplexityHandler().score_example(RECORDS[0], bad)
    with pytest.raises(ConfigError, match="unknown handler option 'beta'"):
        PerplexityHandler({"beta": 1})


def test_end_to_end_perplexity_is_exp_of_the_training_loss() -> None:
    tokenizer = build_tiny_tokenizer()
    model = build_tiny_model(tokenizer, seed=4)
    profile = get_task_profile("language_modeling")
    scores = sequence_scores(model, tokenizer, [profile.render(r) for r in RECORDS], max_seq_len=512)
    metrics, _ = metrics_of(PerplexityHandler(), RECORDS, [s.to_prediction() for s in scores])
    examples = load_examples(RECORDS, profile, RenderContext(), tokenizer, 512)
    batch = collate(examples, [(i,) for i in range(len(examples))], pad_id=tokenizer.pad_token_id)
    with torch.no_grad():
        loss = float(completion_loss(model, batch)) / batch.targets
    assert metrics["tokens"] == batch.targets
    assert metrics["perplexity"] == pytest.approx(math.exp(loss), rel=1e-5)
