"""Sequence scores equal a plain full forward's log-probabilities of the trained tokens: every
assistant turn of a chat, every token of raw text (long texts in windows, each token once), and both
sides of a preference pair on the same prompt tokens - whatever the batch size."""

from __future__ import annotations

import sys

import pytest

from brewslm.errors import ConfigError
from brewslm.inference.encoding import encode, encode_text_windows, truncate_pair
from brewslm.inference.sequence_scores import (
    PreferenceScore,
    SequenceScore,
    preference_scores,
    sequence_scores,
)
from brewslm.tasks import get_task_profile
from brewslm.tasks.rendering import Rendered

from .scoring_models import (  # noqa: F401  (model, tokenizer: fixtures)
    full_forward_masked_logprob,
    model,
    tiny_model,
    tokenizer,
    with_lora,
)

CHATS = [
    {
        "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello, how can I help?"},
            {"role": "user", "content": "what is the capital of France?"},
            {"role": "assistant", "content": "Paris is the capital of France."},
        ]
    },
    {
        "messages": [
            {"role": "system", "content": "Answer in JSON."},
            {"role": "user", "content": "map the fields"},
            {"role": "assistant", "content": '{"mapper_id": "label_to_classification"}'},
        ]
    },
    {"messages": [{"role": "user", "content": "ok"}, {"role": "assistant", "content": "ok"}]},
]
TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "My parcel arrived late and the box was damaged; I want a refund. " * 4,
    "a",
]
PAIRS = [
    {
        "prompt": [{"role": "user", "content": "what is the capital of France?"}],
        "chosen": "Paris is the capital of France.",
        "rejected": "the lazy dog",
    },
    {
        "prompt": [{"role": "user", "content": "Please map the dataset fields to a mapper and answer in JSON."}],
        "chosen": '{"mapper_id": "label_to_classification"}',
        "rejected": "no",
    },
]


def render(profile: str, records) -> list[Rendered]:
    task = get_task_profile(profile)
    return [task.render(record) for record in records]


def test_chat_scores_cover_every_assistant_turn(model, tokenizer) -> None:
    rendered = render("chat_sft", CHATS)
    expected = []
    for item in rendered:
        example = encode(item, tokenizer, 4096)
        expected.append(
            (full_forward_masked_logprob(model, example.input_ids, example.trained), sum(example.trained[1:]))
        )
    assert expected[0][1] > len(tokenizer("Paris is the capital of France.<|im_end|>")["input_ids"])  # both turns
    for batch_size in (1, 2, 8):
        scores = sequence_scores(model, tokenizer, rendered, batch_size=batch_size)
        assert [s.tokens for s in scores] == [n for _, n in expected]
        assert [s.logprob for s in scores] == pytest.approx([lp for lp, _ in expected], rel=1e-6, abs=1e-4)


def test_long_texts_are_scored_in_windows_every_token_once(model, tokenizer) -> None:
    rendered = render("language_modeling", [{"text": t} for t in TEXTS])
    max_seq_len = 16
    expected = []
    for item in rendered:
        windows = encode_text_windows(item.text, tokenizer, max_seq_len)
        expected.append(sum(full_forward_masked_logprob(model, w.input_ids, w.trained) for w in windows))
    all_ids = [tokenizer(t)["input_ids"] + [tokenizer.eos_token_id] for t in TEXTS]
    scores = sequence_scores(model, tokenizer, rendered, max_seq_len=max_seq_len, batch_size=3)
    assert [s.tokens for s in scores] == [len(ids) - 1 for ids in all_ids]  # every token after the first
    assert len(encode_text_windows(TEXTS[1], tokenizer, max_seq_len)) > 2
    assert [s.logprob for s in scores] == pytest.approx(expected, rel=1e-6, abs=1e-4)
    # with room for the whole text: one plain forward over all of it
    whole = [encode(item, tokenizer, 4096) for item in rendered]
    scores = sequence_scores(model, tokenizer, rendered, max_seq_len=4096)
    assert [s.logprob for s in scores] == pytest.approx(
        [full_forward_masked_logprob(model, w.input_ids, w.trained) for w in whole], rel=1e-6, abs=1e-4
    )


def test_preference_pairs_score_both_replies_on_the_same_prompt(model, tokenizer) -> None:
    rendered = render("dpo", PAIRS)
    lora = with_lora(tiny_model(tokenizer, seed=8))
    max_seq_len = 20  # the second pair's prompt must be cut, identically on both sides
    expected = []
    for item in rendered:
        chosen, rejected = truncate_pair(
            encode(item, tokenizer, sys.maxsize),
            encode(item.with_completion(item.rejected), tokenizer, sys.maxsize),
            max_seq_len,
        )
        expected.append(
            [
                (full_forward_masked_logprob(lora, e.input_ids, e.trained), sum(e.trained[1:]))
                for e in (chosen, rejected)
            ]
        )
    assert chosen.prompt_truncated and chosen.prompt_truncated == rejected.prompt_truncated
    progress: list[tuple[int, int]] = []
    scores = preference_scores(
        lora,
        tokenizer,
        rendered,
        max_seq_len=max_seq_len,
        batch_size=3,
        progress=lambda done, total: progress.append((done, total)),
    )
    for score, (chosen_want, rejected_want) in zip(scores, expected):
        assert (score.chosen.logprob, score.chosen.tokens) == pytest.approx(chosen_want, rel=1e-6, abs=1e-4)
        assert (score.rejected.logprob, score.rejected.tokens) == pytest.approx(rejected_want, rel=1e-6, abs=1e-4)
    assert progress[-1] == (2, 2)
    with lora.disable_adapter():
        reference = preference_scores(lora, tokenizer, rendered, max_seq_len=max_seq_len)
    prediction = scores[0].to_prediction(reference[0])
    assert prediction == {
        "chosen_logprob": scores[0].chosen.logprob,
        "rejected_logprob": scores[0].rejected.logprob,
        "chosen_tokens": scores[0].chosen.tokens,
        "rejected_tokens": scores[0].rejected.tokens,
        "ref_chosen_logprob": reference[0].chosen.logprob,
        "ref_rejected_logprob": reference[0].rejected.logprob,
    }
    assert prediction["ref_chosen_logprob"] != pytest.approx(prediction["chosen_logprob"], abs=1e-3)


def test_prediction_shapes_and_refusals(model, tokenizer) -> None:
    assert SequenceScore(-12.5, 5).to_prediction() == {"nll": 12.5, "tokens": 5}
    assert set(PreferenceScore(SequenceScore(-1.0, 1), SequenceScore(-2.0, 2)).to_prediction()) == {
        "chosen_logprob",
        "rejected_logprob",
        "chosen_tokens",
        "rejected_tokens",
    }
    assert sequence_scores(model, tokenizer, []) == []
    with pytest.raises(ConfigError, match="rejected reply"):
        preference_scores(model, tokenizer, render("chat_sft", CHATS[:1]))
