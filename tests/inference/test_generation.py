"""Batched generation equals one-at-a-time generation (our loop with batch size 1, and
transformers' own ``model.generate`` per prompt), stops at the end of the turn, keeps input order,
and samples reproducibly; with plain and peft models."""

from __future__ import annotations

import pytest
import torch

from brewslm.errors import ConfigError
from brewslm.inference.generation import (
    DecodeRow,
    Generation,
    decode_rows,
    generate,
    generate_one_by_one,
    nucleus,
)
from brewslm.inference.prompts import prompt_ids
from brewslm.tasks.rendering import Rendered, conversation, single_turn

from .scoring_models import taught_model, tiny_model, tiny_tokenizer, with_lora

TAUGHT = [  # (question, reply) pairs the trained tiny model learns by heart
    ("the quick brown fox", "positive"),
    ("a dull film", "no"),
    ("what is the capital of France?", "Paris is the capital of France."),
    ("map the fields", '{"label": "x"}'),
]
QUESTIONS = [
    "hi",
    "Classify the sentiment: a wonderful, moving film",
    "tokens, tags, text, label",
    "My parcel arrived late and the box was damaged; I want a refund. What should I do next?",
    "ok?",
]


def _rendered(questions) -> list[Rendered]:
    out = [single_turn(q, "x") for q in questions]
    out.append(
        conversation(
            [
                {"role": "system", "content": "Answer briefly."},
                {"role": "user", "content": "hi"},
                {"role": "assistant", "content": "hello"},
                {"role": "user", "content": "and?"},
                {"role": "assistant", "content": "x"},
            ],
            train="last",
        )
    )
    return out


@pytest.fixture(scope="module")
def tokenizer():
    return tiny_tokenizer()


def lively(model, *, seed: int):
    """``model`` with its layers' weights at scale 2/sqrt(fan_in). At the usual 0.02 init a
    32-wide model's residual stream is all token embedding, so it acts as a bigram model and
    greedily repeats the prompt's last token ("\n") whatever came before; here the context
    decides the next token, so replies differ from prompt to prompt."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.model.layers.parameters():
            if param.dim() == 2:
                param.copy_(torch.randn(param.shape, generator=generator) * 2.0 / param.shape[1] ** 0.5)
    return model


@pytest.fixture(scope="module")
def model(tokenizer):
    return lively(tiny_model(tokenizer, seed=0), seed=0)


@pytest.fixture(scope="module")
def trained(tokenizer):
    """The tiny model trained (full weights, a few steps) to give the TAUGHT replies and stop."""
    return taught_model(tokenizer, TAUGHT, seed=1)


def test_batched_greedy_equals_one_at_a_time(model, tokenizer):
    rendered = _rendered(QUESTIONS)
    batched = generate(model, tokenizer, rendered, max_new_tokens=12, batch_size=4)
    assert generate(model, tokenizer, rendered, max_new_tokens=12, batch_size=1) == batched
    assert generate_one_by_one(model, tokenizer, rendered, max_new_tokens=12) == batched
    assert all(isinstance(g, Generation) and g.tokens == 12 and not g.finished for g in batched)
    assert len({g.text for g in batched}) > 1  # different prompts, different replies (not a constant)


def test_replies_stop_at_the_end_of_turn(trained, tokenizer):
    rendered = [single_turn(q, a) for q, a in TAUGHT]
    replies = generate(trained, tokenizer, rendered, max_new_tokens=30, batch_size=8)
    assert [g.text for g in replies] == [a for _, a in TAUGHT]
    assert all(g.finished for g in replies)
    # the end-of-turn token is counted but not part of the text
    assert [g.tokens for g in replies] == [
        len(tokenizer(a, add_special_tokens=False)["input_ids"]) + 1 for _, a in TAUGHT
    ]


def test_rows_finishing_at_different_steps_match_one_at_a_time(trained, tokenizer):
    # replies of 2 to 8 tokens end at different steps (their rows leave the batch), and the
    # 8-token answer outlives the budget of 8 (its end-of-turn would be the 9th token)
    rendered = [single_turn(q, a) for q, a in TAUGHT] + _rendered(QUESTIONS)
    batched = generate(trained, tokenizer, rendered, max_new_tokens=8, batch_size=5)
    assert generate(trained, tokenizer, rendered, max_new_tokens=8, batch_size=1) == batched
    assert generate_one_by_one(trained, tokenizer, rendered, max_new_tokens=8) == batched
    assert {g.finished for g in batched} == {True, False}
    assert len({g.tokens for g in batched}) >= 3


def test_budget_cuts_a_reply_unfinished(trained, tokenizer):
    question, answer = TAUGHT[2]
    reply = generate(trained, tokenizer, [single_turn(question, answer)], max_new_tokens=2)[0]
    first_two = tokenizer(answer, add_special_tokens=False)["input_ids"][:2]
    assert reply == Generation(text=tokenizer.decode(first_two), tokens=2, finished=False)


def test_peft_model_batched_equals_one_at_a_time(tokenizer):
    peft_model = with_lora(lively(tiny_model(tokenizer, seed=4), seed=4), seed=5)
    rendered = _rendered(QUESTIONS)
    batched = generate(peft_model, tokenizer, rendered, max_new_tokens=8, batch_size=3)
    assert generate_one_by_one(peft_model, tokenizer, rendered, max_new_tokens=8) == batched
    with peft_model.disable_adapter():
        base = generate(peft_model, tokenizer, rendered, max_new_tokens=8, batch_size=3)
    assert base != batched  # the adapter is on during generation


def test_sampling_is_seeded_per_row(model, tokenizer):
    rendered = _rendered(QUESTIONS)
    sample = generate(model, tokenizer, rendered, max_new_tokens=10, temperature=1.0, seed=5, batch_size=4)
    assert generate(model, tokenizer, rendered, max_new_tokens=10, temperature=1.0, seed=5, batch_size=1) == sample
    assert generate(model, tokenizer, rendered, max_new_tokens=10, temperature=1.0, seed=6, batch_size=4) != sample
    assert sample != generate(model, tokenizer, rendered, max_new_tokens=10, batch_size=4)  # not greedy
    baseline = generate_one_by_one(model, tokenizer, rendered, max_new_tokens=10, temperature=1.0, seed=5)
    assert len(baseline) == len(rendered) and all(g.tokens >= 1 for g in baseline)


def test_nucleus_keeps_the_fewest_likeliest_tokens_reaching_top_p():
    weights = torch.tensor([0.125, 0.5, 0.125, 0.25])

    def kept(top_p: float) -> list[bool]:
        narrowed = nucleus(weights, top_p)
        assert torch.equal(narrowed[narrowed > 0], weights[narrowed > 0])  # kept tokens keep their weight
        return (narrowed > 0).tolist()

    assert kept(1e-6) == [False, True, False, False]  # the most likely token only
    assert kept(0.5) == [False, True, False, False]  # 0.5 reaches 0.5
    assert kept(0.6) == [False, True, False, True]  # the token that crosses it stays
    assert kept(0.8) == [True, True, False, True]  # ties: the first in order
    assert kept(1.0) == [True, True, True, True]


def test_top_p_narrows_sampling_per_row(model, tokenizer):
    prompts = [prompt_ids(item, tokenizer, 256) for item in _rendered(QUESTIONS)]

    def decode(**settings) -> list[str]:
        rows = [DecodeRow(p, 10, index=i, **settings) for i, p in enumerate(prompts)]
        return [g.text for g in decode_rows(model, tokenizer, rows)]

    greedy = decode()
    assert decode(temperature=1.0, seed=3, top_p=1e-6) == greedy  # a nucleus of one token: the argmax
    sampled = decode(temperature=1.0, seed=3, top_p=0.9)
    assert sampled == decode(temperature=1.0, seed=3, top_p=0.9) and sampled != greedy
    assert decode(top_p=0.01) == greedy  # greedy rows ignore top_p
    # rows of one batch keep their own top_p
    mixed = [
        DecodeRow(p, 10, temperature=1.0, seed=3, index=i, top_p=1e-6 if i % 2 else 0.9) for i, p in enumerate(prompts)
    ]
    texts = [g.text for g in decode_rows(model, tokenizer, mixed)]
    assert texts == [greedy[i] if i % 2 else sampled[i] for i in range(len(prompts))]
    with pytest.raises(ConfigError, match="top_p"):
        decode_rows(model, tokenizer, [DecodeRow(prompts[0], 4, temperature=1.0, top_p=0.0)])


def test_progress_counts_examples_and_mode_is_restored(model, tokenizer):
    events: list[tuple[int, int]] = []
    rendered = _rendered(QUESTIONS)
    model.train()
    try:
        generate(
            model, tokenizer, rendered, max_new_tokens=2, batch_size=4, progress=lambda d, t: events.append((d, t))
        )
        assert model.training
    finally:
        model.eval()
    assert events == [(4, 6), (6, 6)]


@pytest.mark.parametrize(
    "arguments, fragment",
    [
        ({"max_new_tokens": 0}, "max_new_tokens"),
        ({"max_new_tokens": 4, "temperature": -1.0}, "temperature"),
        ({"max_new_tokens": 4, "batch_size": 0}, "batch_size"),
    ],
)
def test_bad_settings_are_config_errors(model, tokenizer, arguments, fragment):
    with pytest.raises(ConfigError, match=fragment):
        generate(model, tokenizer, _rendered(["hi"]), **arguments)


def test_raw_text_has_no_prompt(model, tokenizer):
    with pytest.raises(ConfigError, match="perplexity"):
        generate(model, tokenizer, [Rendered(text="just text")], max_new_tokens=4)
