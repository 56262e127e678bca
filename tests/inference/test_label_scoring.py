"""Label scoring equals a plain full forward over prompt + label + end-of-turn, however the work is
packed (labels sharing a row, rows split, the shared prefix cached, several examples per batch),
with peft adapters on, with eager or sdpa attention, and with prompts cut to fit."""

from __future__ import annotations

import math
import sys

import pytest
import torch

from brewslm.errors import ConfigError
from brewslm.inference import label_scoring
from brewslm.inference.encoding import encode
from brewslm.inference.label_scoring import LabelScores, common_prefix, score_labels
from brewslm.inference.prompts import fit_prompt, full_prompt_ids, reply_ids, reply_suffix
from brewslm.tasks import get_task_profile
from brewslm.tasks.rendering import RenderContext, Rendered, conversation

from .scoring_models import (  # noqa: F401  (model, tokenizer: fixtures)
    PLAIN_TEMPLATE,
    full_forward_logprob,
    model,
    tiny_model,
    tiny_tokenizer,
    tokenizer,
    with_lora,
)

LABELS = ["negative", "neutral", "positive", "mixed feelings", '{"x": 1}']
TEXTS = [
    "a fine film",
    "dull and far too long for anyone to sit through",
    "ok",
    "the quick brown fox jumps over the lazy dog",
    "My parcel arrived late and the box was damaged",
]


@pytest.fixture(scope="module")
def rendered() -> list[Rendered]:
    profile = get_task_profile("classification")
    context = RenderContext(labels=tuple(sorted(LABELS)))
    return [profile.render({"text": text, "label": LABELS[i % len(LABELS)]}, context) for i, text in enumerate(TEXTS)]


def reference(model, tokenizer, item: Rendered, labels, max_seq_len: int = sys.maxsize) -> dict[str, float]:
    """Each label's log-prob from a full forward over (the cut prompt) + the label's trained tokens."""
    replies = reply_ids(item, tokenizer, labels)
    prompt = fit_prompt(full_prompt_ids(item, tokenizer), max_seq_len, max(len(r) for r in replies))
    return {label: full_forward_logprob(model, prompt + reply, len(prompt)) for label, reply in zip(labels, replies)}


def assert_matches(scores: list[LabelScores], expected: list[dict[str, float]]) -> None:
    assert len(scores) == len(expected)
    for got, want in zip(scores, expected):
        assert list(got.logprobs) == list(want)
        for label in want:
            assert got.logprobs[label] == pytest.approx(want[label], abs=1e-4)


def test_label_logprobs_equal_a_full_forward_pass(model, tokenizer, rendered) -> None:
    expected = [reference(model, tokenizer, item, LABELS) for item in rendered]
    # the reference really is prompt + label + end-of-turn as training encodes the reply
    item = rendered[0]
    whole = encode(item.with_completion("neutral"), tokenizer, 4096)
    start = whole.trained.index(True)
    assert full_forward_logprob(model, whole.input_ids, start) == pytest.approx(expected[0]["neutral"], abs=1e-5)
    assert len({round(v, 3) for v in expected[0].values()}) == len(LABELS)  # the labels really differ
    for batch_size in (1, 3, 8):
        assert_matches(score_labels(model, tokenizer, rendered, LABELS, batch_size=batch_size), expected)


def test_split_rows_small_head_chunks_and_no_prefix_sharing_give_the_same_scores(
    model, tokenizer, rendered, monkeypatch
) -> None:
    expected = [reference(model, tokenizer, item, LABELS) for item in rendered]
    assert common_prefix([full_prompt_ids(item, tokenizer) for item in rendered])  # the prompts share a template
    monkeypatch.setattr(label_scoring, "MAX_ROW_LABEL_TOKENS", 3)  # about one label per row
    monkeypatch.setattr(label_scoring, "MAX_HEAD_POSITIONS", 5)
    assert_matches(score_labels(model, tokenizer, rendered, LABELS, batch_size=4), expected)
    monkeypatch.setattr(label_scoring, "MIN_SHARED_PREFIX", 10**6)  # no prefix cache at all
    assert_matches(score_labels(model, tokenizer, rendered, LABELS, batch_size=4), expected)


def test_prompts_without_a_common_prefix_share_per_batch_or_not_at_all(model, tokenizer) -> None:
    items = [
        conversation(
            [
                {"role": "system", "content": f"System prompt number {i} for the whole chat."},
                {"role": "user", "content": "Which way? Reply with the label only."},
                {"role": "assistant", "content": "left"},
            ]
        )
        for i in range(3)
    ]
    items.append(conversation([{"role": "user", "content": "Which way?"}, {"role": "assistant", "content": "x"}]))
    labels = ["left", "right"]
    expected = [reference(model, tokenizer, item, labels) for item in items]
    assert_matches(score_labels(model, tokenizer, items, labels, batch_size=2), expected)


def test_multi_turn_prompts_score_the_final_reply(model, tokenizer) -> None:
    chat = conversation(
        [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "hello there"},
            {"role": "user", "content": "and the label?"},
            {"role": "assistant", "content": "positive"},
        ]
    )
    labels = ["positive", "negative"]
    assert_matches(score_labels(model, tokenizer, [chat], labels), [reference(model, tokenizer, chat, labels)])


def test_a_template_without_an_end_of_turn_token_scores_replies_one_by_one(model, rendered) -> None:
    plain = tiny_tokenizer()
    plain.chat_template = PLAIN_TEMPLATE
    assert reply_suffix(rendered[0], plain) is None
    expected = [reference(model, plain, item, LABELS) for item in rendered[:2]]
    assert_matches(score_labels(model, plain, rendered[:2], LABELS), expected)


def test_long_prompts_are_cut_with_room_for_the_longest_label(model, tokenizer, rendered) -> None:
    long = get_task_profile("classification").render({"text": " ".join(TEXTS * 6), "label": "ok"}, RenderContext())
    items = [long, rendered[2]]
    max_seq_len = 48
    assert len(full_prompt_ids(long, tokenizer)) > max_seq_len
    expected = [reference(model, tokenizer, item, LABELS, max_seq_len) for item in items]
    assert_matches(score_labels(model, tokenizer, items, LABELS, max_seq_len=max_seq_len), expected)


@pytest.mark.parametrize("attention", ["eager", "sdpa"])
def test_peft_adapters_are_on_and_attention_kind_does_not_matter(tokenizer, rendered, attention) -> None:
    lora = with_lora(tiny_model(tokenizer, seed=5, attention=attention))
    expected = [reference(lora, tokenizer, item, LABELS) for item in rendered[:3]]
    assert_matches(score_labels(lora, tokenizer, rendered[:3], LABELS, batch_size=2), expected)
    with lora.disable_adapter():
        base = [reference(lora, tokenizer, item, LABELS) for item in rendered[:3]]
        assert_matches(score_labels(lora, tokenizer, rendered[:3], LABELS, batch_size=2), base)
    assert abs(base[0]["neutral"] - expected[0]["neutral"]) > 1e-2  # the adapters change the scores


def test_probabilities_best_label_and_confidence(model, tokenizer, rendered) -> None:
    progress: list[tuple[int, int]] = []
    scores = score_labels(
        model, tokenizer, rendered, LABELS, progress=lambda done, total: progress.append((done, total))
    )
    for score in scores:
        assert math.isclose(sum(score.probabilities.values()), 1.0, abs_tol=1e-9)
        assert score.best == max(score.logprobs, key=score.logprobs.get)
        assert score.confidence == score.probabilities[score.best]
        logits = torch.tensor(list(score.logprobs.values()), dtype=torch.float64)
        assert list(score.probabilities.values()) == pytest.approx(torch.softmax(logits, 0).tolist())
    assert progress[-1] == (len(rendered), len(rendered))
    assert [done for done, _ in progress] == sorted(done for done, _ in progress)


def test_ties_pick_the_first_label() -> None:
    tie = LabelScores.from_logprobs({"b": -1.0, "a": -1.0, "c": -3.0})
    assert tie.best == "b" and tie.probabilities["a"] == tie.probabilities["b"]
    assert tie.to_dict()["confidence"] == tie.confidence


def test_bad_labels_and_raw_text_are_refused(model, tokenizer, rendered) -> None:
    with pytest.raises(ConfigError, match="at least one candidate label"):
        score_labels(model, tokenizer, rendered, [])
    with pytest.raises(ConfigError, match="repeat: positive"):
        score_labels(model, tokenizer, rendered, ["positive", "negative", "positive"])
    with pytest.raises(ConfigError, match="raw text"):
        score_labels(model, tokenizer, [Rendered(text="plain text")], ["a"])
    assert score_labels(model, tokenizer, [], ["a"]) == []


def test_common_prefix_stops_before_the_shortest_prompts_last_token() -> None:
    assert common_prefix([list(range(20)), list(range(20))]) == tuple(range(19))
    assert common_prefix([list(range(20)), list(range(12)) + [99]]) == tuple(range(12))
    assert common_prefix([list(range(20)), [0, 1, 2, 7]]) == ()  # shorter than MIN_SHARED_PREFIX


def test_replies_are_scored_and_the_results_keyed_by_their_labels(model, tokenizer, rendered) -> None:
    labels = ["lost_card", "card_arrival"]
    replies = ["lost card", "card arrival"]
    by_label = score_labels(model, tokenizer, rendered, labels, replies=replies)
    by_reply = score_labels(model, tokenizer, rendered, replies)
    for keyed, plain in zip(by_label, by_reply):
        assert keyed.logprobs == {label: plain.logprobs[reply] for label, reply in zip(labels, replies)}
        assert keyed.best == labels[replies.index(plain.best)]
    with pytest.raises(ConfigError, match="1 reply texts for 2 labels"):
        score_labels(model, tokenizer, rendered, labels, replies=["lost card"])
