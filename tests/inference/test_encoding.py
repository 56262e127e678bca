"""Tokenisation with masks: only assistant replies (with their end-of-turn token) are trained, the
prompt tokens are exactly what a served model sees, and truncation never drops a whole reply."""

from __future__ import annotations

import pytest

from brewslm.errors import ConfigError
from brewslm.inference.encoding import (
    CHATML_TEMPLATE,
    IGNORE_INDEX,
    chat_segments,
    encode,
    encode_text_windows,
    ensure_chat_template,
    truncate,
)
from brewslm.tasks import get_task_profile
from brewslm.tasks.rendering import Rendered
from helpers.tiny_model import build_tiny_tokenizer

CHAT = {
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello!"},
        {"role": "user", "content": "bye"},
        {"role": "assistant", "content": "ciao"},
    ]
}

# Llama 3 style: headers instead of ChatML markers, the end-of-turn token right after the reply
LLAMA3_TEMPLATE = (
    "{{ '<|begin_of_text|>' }}{% for m in messages %}"
    "{{ '<|start_header_id|>' + m['role'] + '<|end_header_id|>\n\n' + m['content'] + '<|eot_id|>' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)
# SmolLM2 style: a default system prompt when the conversation has none
DEFAULT_SYSTEM_TEMPLATE = (
    "{% for m in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are helpful.<|im_end|>\n' }}{% endif %}"
    "{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
# Not prefix-stable: earlier turns are rendered differently once a later turn exists
UNSTABLE_TEMPLATE = (
    "{% for m in messages %}{% if loop.last %}{{ m['role'] + ': ' + m['content'] + '\n' }}"
    "{% else %}{{ m['role'] | upper + ': ' + m['content'] + '\n' }}{% endif %}{% endfor %}"
    "{% if add_generation_prompt %}{{ 'assistant: ' }}{% endif %}"
)


@pytest.fixture(scope="module")
def tokenizer():
    return build_tiny_tokenizer()


def trained_text(tokenizer, example) -> str:
    return tokenizer.decode([t for t, keep in zip(example.input_ids, example.trained) if keep])


def test_only_assistant_replies_are_trained(tokenizer) -> None:
    example = encode(get_task_profile("chat_sft").render(CHAT), tokenizer, 512)
    assert trained_text(tokenizer, example) == "hello!<|im_end|>ciao<|im_end|>"
    labels = example.labels
    assert all(label == IGNORE_INDEX for label, keep in zip(labels, example.trained) if not keep)
    assert [label for label in labels if label != IGNORE_INDEX] == [
        t for t, k in zip(example.input_ids, example.trained) if k
    ]
    # the sequence ends with the last reply's end-of-turn token: nothing after it is ever computed
    assert tokenizer.decode(example.input_ids[-1:]) == "<|im_end|>"


def test_prompt_tokens_are_what_a_served_model_sees(tokenizer) -> None:
    rendered = get_task_profile("classification").render({"text": "fine film", "label": "positive"})
    example = encode(rendered, tokenizer, 512)
    served = tokenizer.apply_chat_template(rendered.prompt, add_generation_prompt=True, tokenize=True)
    served = served["input_ids"] if isinstance(served, dict) or hasattr(served, "keys") else served
    n_prompt = example.trained.index(True)
    assert list(example.input_ids[:n_prompt]) == list(served)
    assert trained_text(tokenizer, example) == "positive<|im_end|>"


def test_changing_the_prompt_leaves_the_trained_tokens_alone(tokenizer) -> None:
    profile = get_task_profile("classification")
    a = encode(profile.render({"text": "fine film", "label": "positive"}), tokenizer, 512)
    b = encode(
        profile.render({"text": "a completely different and much longer review text", "label": "positive"}),
        tokenizer,
        512,
    )
    assert len(a) != len(b)
    assert [t for t, k in zip(a.input_ids, a.trained) if k] == [t for t, k in zip(b.input_ids, b.trained) if k]


@pytest.mark.parametrize("template, end", [(LLAMA3_TEMPLATE, "<|eot_id|>"), (DEFAULT_SYSTEM_TEMPLATE, "<|im_end|>")])
def test_other_templates(template: str, end: str) -> None:
    tokenizer = build_tiny_tokenizer()
    tokenizer.chat_template = template
    example = encode(get_task_profile("chat_sft").render(CHAT), tokenizer, 1024)
    assert trained_text(tokenizer, example) == f"hello!{end}ciao{end}"


def test_a_template_that_is_not_prefix_stable_is_refused() -> None:
    tokenizer = build_tiny_tokenizer()
    tokenizer.chat_template = UNSTABLE_TEMPLATE
    with pytest.raises(ConfigError, match="prefix by prefix"):
        chat_segments(get_task_profile("chat_sft").render(CHAT), tokenizer)


def test_a_tokenizer_without_a_template_gets_chatml() -> None:
    tokenizer = build_tiny_tokenizer()
    tokenizer.chat_template = None
    assert ensure_chat_template(tokenizer) is True and tokenizer.chat_template == CHATML_TEMPLATE
    assert ensure_chat_template(tokenizer) is False


def test_long_prompts_lose_their_middle_not_the_reply(tokenizer) -> None:
    rendered = get_task_profile("classification").render({"text": "word " * 200, "label": "positive"})
    full = encode(rendered, tokenizer, 10_000)
    short = encode(rendered, tokenizer, 64)
    assert len(short) == 64 and short.prompt_truncated == len(full) - 64 and short.completion_truncated == 0
    assert trained_text(tokenizer, short) == "positive<|im_end|>"
    n = len(short)
    reply = full.trained.index(True)
    head = (64 - (len(full) - reply)) // 2
    assert short.input_ids[:head] == full.input_ids[:head]  # the instruction's start is kept
    assert short.input_ids[-(n - head) :] == full.input_ids[-(n - head) :]  # and the end, generation prompt included


def test_a_reply_longer_than_the_budget_loses_its_end_only() -> None:
    ids = list(range(100))
    trained = [False] * 40 + [True] * 60
    out = truncate(ids, trained, 32)
    assert len(out) == 32 and out.prompt_truncated == 32 and out.completion_truncated == 36
    # a quarter of the budget stays with the prompt (its head and tail), the rest is the reply's start
    assert out.input_ids[:8] == (0, 1, 2, 3, 36, 37, 38, 39)
    assert out.input_ids[8:] == tuple(range(40, 64)) and out.trained_tokens == 24


def test_earlier_turns_keep_their_labels_when_they_fit(tokenizer) -> None:
    example = encode(get_task_profile("chat_sft").render(CHAT), tokenizer, 512)
    assert example.truncated is False
    assert truncate(example.input_ids, example.trained, 512) == example


def test_raw_text_is_trained_everywhere_in_windows(tokenizer) -> None:
    text = "The quick brown fox jumps over the lazy dog. " * 6
    whole = encode(Rendered(text=text), tokenizer, 10_000)
    assert whole.trained[0] is False and all(whole.trained[1:])
    assert tokenizer.decode(whole.input_ids[-1:]) == tokenizer.eos_token
    windows = encode_text_windows(text, tokenizer, 16)
    assert len(windows) > 3 and all(len(w) <= 16 for w in windows)
    assert sum(w.trained_tokens for w in windows) == len(whole) - 1  # every token a target exactly once
    stitched = list(windows[0].input_ids) + [t for w in windows[1:] for t in w.input_ids[1:]]
    assert stitched == list(whole.input_ids)
