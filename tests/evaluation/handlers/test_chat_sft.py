"""chat_sft handler: perplexity over every assistant turn, scored like language_modeling; the
reference text is the final reply."""

from __future__ import annotations

import math

import pytest

from brewslm.evaluation.handlers import get_eval_handler
from brewslm.evaluation.handlers.chat_sft import ChatSftHandler
from brewslm.inference.encoding import encode
from brewslm.inference.sequence_scores import sequence_scores
from brewslm.tasks import get_task_profile
from helpers.scoring import metrics_of
from helpers.tiny_model import build_tiny_model, build_tiny_tokenizer

RECORD = {
    "messages": [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "capital of France?"},
        {"role": "assistant", "content": "Paris."},
    ]
}


def test_registered_and_its_reference_is_the_final_reply() -> None:
    handler = get_eval_handler("chat_sft")
    assert isinstance(handler, ChatSftHandler)
    assert (handler.strategy, handler.headline, "perplexity" in handler.lower_is_better) == (
        "perplexity",
        "perplexity",
        True,
    )
    assert handler.gold(RECORD) == "Paris."


def test_perplexity_over_every_assistant_turn() -> None:
    tokenizer = build_tiny_tokenizer()
    model = build_tiny_model(tokenizer, seed=6)
    rendered = get_task_profile("chat_sft").render(RECORD)
    score = sequence_scores(model, tokenizer, [rendered])[0]
    assert score.tokens == sum(encode(rendered, tokenizer, 512).trained)  # both replies and their end-of-turn
    metrics, _ = metrics_of(ChatSftHandler(), [RECORD], [{**score.to_prediction(), "text": "Paris is it."}])
    assert metrics["perplexity"] == pytest.approx(math.exp(-score.logprob / score.tokens))
    assert metrics["length_ratio"] == pytest.approx(len("Paris is it.") / len("Paris."))
