"""Prompt tokens are training's (the generation prompt included, cut as training cuts), reply tokens
are what training marks as trained, and the end-of-turn tokens are found from the template."""

from __future__ import annotations

import pytest

from brewslm.errors import ConfigError
from brewslm.inference.encoding import encode
from brewslm.inference.prompts import (
    ProgressCounter,
    end_of_turn_ids,
    fit_prompt,
    full_prompt_ids,
    prompt_ids,
    reply_ids,
    reply_suffix,
)
from brewslm.tasks import get_task_profile
from brewslm.tasks.rendering import RenderContext, Rendered

from .scoring_models import PLAIN_TEMPLATE, tiny_tokenizer, tokenizer  # noqa: F401  (tokenizer: a fixture)

CHAT = {
    "messages": [
        {"role": "system", "content": "Answer in JSON."},
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
        {"role": "user", "content": "map the fields"},
        {"role": "assistant", "content": '{"mapper_id": "label_to_classification"}'},
    ]
}


def classification(text: str, label: str = "positive") -> Rendered:
    return get_task_profile("classification").render(
        {"text": text, "label": label}, RenderContext(labels=("negative", "positive"))
    )


def test_prompt_is_the_served_prompt_and_trainings_prefix(tokenizer) -> None:
    rendered = classification("a fine film")
    served = tokenizer.apply_chat_template(rendered.prompt, tokenize=False, add_generation_prompt=True)
    assert prompt_ids(rendered, tokenizer, 2048) == tokenizer(served, add_special_tokens=False)["input_ids"]
    chat = get_task_profile("chat_sft").render(CHAT)
    whole = encode(chat, tokenizer, 4096)
    prompt = prompt_ids(chat, tokenizer, 4096)
    assert list(whole.input_ids[: len(prompt)]) == prompt and whole.trained[len(prompt)]
    assert not whole.trained[len(prompt) - 1] and any(whole.trained[: len(prompt)])  # the earlier reply is in it


@pytest.mark.parametrize("max_seq_len", [24, 40, 64])
def test_long_prompts_are_cut_like_training_cuts_them(tokenizer, max_seq_len) -> None:
    rendered = classification("the quick brown fox jumps over the lazy dog " * 8)
    gold_reply = reply_ids(rendered, tokenizer, [rendered.completion])[0]
    trained = encode(rendered, tokenizer, max_seq_len)  # training: room for the gold reply
    cut = prompt_ids(rendered, tokenizer, max_seq_len, reserve=len(gold_reply))
    assert trained.prompt_truncated and list(trained.input_ids[: len(cut)]) == cut
    full = full_prompt_ids(rendered, tokenizer)
    assert len(cut) == max(max_seq_len - len(gold_reply), max_seq_len // 4)
    assert cut[:4] == full[:4] and cut[-4:] == full[-4:]  # head (system, instruction) and tail kept
    assert fit_prompt(full, len(full) + 3, reserve=3) == full  # fits: untouched


def test_reply_tokens_are_the_trained_tokens(tokenizer) -> None:
    rendered = classification("ok")
    for label, ids in zip(["negative", "", "x y"], reply_ids(rendered, tokenizer, ["negative", "", "x y"])):
        example = encode(rendered.with_completion(label), tokenizer, 4096)
        assert ids == [t for t, keep in zip(example.input_ids, example.trained) if keep]
        assert ids[-1] == tokenizer.convert_tokens_to_ids("<|im_end|>")
    assert reply_suffix(rendered, tokenizer) == "<|im_end|>"


def test_templates_without_an_end_of_turn_token() -> None:
    plain = tiny_tokenizer()
    plain.chat_template = PLAIN_TEMPLATE
    rendered = classification("ok")
    assert reply_suffix(rendered, plain) is None  # replies then are tokenised one by one
    assert end_of_turn_ids(plain) == [plain.eos_token_id]


def test_end_of_turn_ids_hold_eos_and_the_templates_token(tokenizer) -> None:
    assert end_of_turn_ids(tokenizer) == [tokenizer.convert_tokens_to_ids("<|im_end|>")]  # eos is <|im_end|>
    other = tiny_tokenizer()
    other.eos_token = "<|endoftext|>"
    assert end_of_turn_ids(other) == [other.convert_tokens_to_ids(t) for t in ("<|endoftext|>", "<|im_end|>")]


def test_raw_text_has_no_prompt(tokenizer) -> None:
    with pytest.raises(ConfigError, match="raw text"):
        prompt_ids(Rendered(text="plain"), tokenizer, 2048)


def test_progress_counts_whole_examples() -> None:
    seen: list[tuple[int, int]] = []
    counter = ProgressCounter([2, 1, 0], lambda done, total: seen.append((done, total)))
    counter.finish([0])
    counter.finish([1, 0])
    assert seen == [(1, 3), (3, 3)]  # the example with nothing to do counts as done from the start
