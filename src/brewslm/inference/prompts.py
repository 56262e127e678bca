"""What every prediction strategy shares: the prompt tokens, the reply tokens, the end-of-turn tokens.

- ``prompt_ids(rendered, tokenizer, max_seq_len)``: the tokens a model sees before its reply.
  They come from training's own encoder (``training.encoding.encode``), cut before the last trained
  reply, so evaluation conditions the model on exactly the tokens it was trained and is served
  with (the chat template's generation prompt included, each segment tokenised on its own).
- ``reply_ids(rendered, tokenizer, replies)``: other final replies to the same prompt as the tokens
  training would mark as trained (the reply and the template's end-of-turn token), e.g. every
  candidate label of a classification prompt.
- ``end_of_turn_ids(tokenizer)``: the tokens that end a reply (EOS and the template's end-of-turn
  token, e.g. ``<|im_end|>``), where generation stops.

Long prompts are cut the way training cuts them (``encoding.truncate``: tokens leave from the
middle, the head - system prompt, instruction - and the tail - the latest context and the
generation prompt - stay). Training sizes that cut from the gold reply's length; here the room kept
free after the prompt is an explicit ``reserve`` (the longest candidate label, the generation
budget), so the prompt never depends on the gold answer: at most ``max_seq_len - reserve`` tokens
are kept, and never fewer than a quarter of ``max_seq_len``, as in training.
"""

from __future__ import annotations

import contextlib
import sys
from typing import Any, Callable, Iterator, Sequence

from brewslm.errors import ConfigError
from brewslm.inference.encoding import EncodedExample, chat_segments, encode, truncate
from brewslm.tasks.rendering import Rendered, single_turn

ProgressFn = Callable[[int, int], None] | None
"""Called with (examples done, examples in all) as predictions progress."""


def _final_reply_start(example: EncodedExample) -> int:
    """Index of the first token of the last trained run (the final reply and its end-of-turn)."""
    start = len(example.trained)
    while start > 0 and example.trained[start - 1]:
        start -= 1
    return start


def _require_chat(rendered: Rendered) -> None:
    if not rendered.is_chat:
        raise ConfigError("raw text (language_modeling) has no prompt to answer; score it with the perplexity strategy")


def full_prompt_ids(rendered: Rendered, tokenizer: Any) -> list[int]:
    """The prompt's tokens before any cut (see ``prompt_ids``)."""
    _require_chat(rendered)
    example = encode(rendered, tokenizer, sys.maxsize)
    return list(example.input_ids[: _final_reply_start(example)])


def fit_prompt(ids: Sequence[int], max_seq_len: int, reserve: int = 0) -> list[int]:
    """``ids`` cut to leave ``reserve`` tokens of room within ``max_seq_len`` (training's rule)."""
    ids = list(ids)
    if len(ids) + reserve <= max_seq_len:
        return ids
    # truncate() sizes the prompt cut from the reply's length: let placeholders stand for the reply
    cut = truncate(ids + [0] * reserve, [False] * len(ids) + [True] * reserve, max_seq_len)
    return list(cut.input_ids[: len(ids) - cut.prompt_truncated])


def prompt_ids(rendered: Rendered, tokenizer: Any, max_seq_len: int, *, reserve: int = 0) -> list[int]:
    """The tokens a model sees before its reply to ``rendered.prompt`` (the generation prompt
    included), at most ``max(max_seq_len - reserve, max_seq_len // 4)`` of them."""
    return fit_prompt(full_prompt_ids(rendered, tokenizer), max_seq_len, reserve)


def reply_ids(rendered: Rendered, tokenizer: Any, replies: Sequence[str]) -> list[list[int]]:
    """Each reply's trained tokens as the final reply of ``rendered`` (reply + end-of-turn), exactly
    as ``encode(rendered.with_completion(reply), ...)`` marks them."""
    _require_chat(rendered)
    return [_final_reply(encode(rendered.with_completion(reply), tokenizer, sys.maxsize)) for reply in replies]


def _final_reply(example: EncodedExample) -> list[int]:
    return list(example.input_ids[_final_reply_start(example) :])


def reply_suffix(rendered: Rendered, tokenizer: Any) -> str | None:
    """The text the chat template puts after the final reply (``"<|im_end|>"`` for ChatML), or
    None when the template does not simply append one to the reply. When it does, any reply's
    trained text is that reply followed by this suffix, so replies can be tokenised once for
    every prompt with the same suffix (``reply_ids`` renders the whole conversation per reply)."""
    _require_chat(rendered)
    reply = rendered.completion
    final_text, trained = chat_segments(rendered, tokenizer)[-1]
    if not trained or not final_text.startswith(reply):
        return None
    suffix = final_text[len(reply) :]
    # a template with no end-of-turn text lets encode's rstrip() eat a reply's trailing spaces
    return suffix if suffix.strip() else None


def end_of_turn_ids(tokenizer: Any) -> list[int]:
    """Token ids that end a reply: the tokenizer's EOS and the chat template's end-of-turn token
    (the last token of a dummy reply's trained span, e.g. ``<|im_end|>``), without duplicates."""
    found: list[int] = []
    if tokenizer.eos_token_id is not None:
        found.append(int(tokenizer.eos_token_id))
    if getattr(tokenizer, "chat_template", None):
        reply = "ok"
        trained = _final_reply(encode(single_turn("hi", reply), tokenizer, sys.maxsize))
        plain = list(tokenizer(reply, add_special_tokens=False)["input_ids"])
        # only a token the template adds after the reply ends a turn (not the reply's own last token)
        if len(trained) > len(plain) and trained[: len(plain)] == plain and trained[-1] not in found:
            found.append(int(trained[-1]))
    return found


def pad_token_id(tokenizer: Any) -> int:
    """The id right-padding uses (never attended to, never scored): pad, else EOS, else 0."""
    if tokenizer.pad_token_id is not None:
        return int(tokenizer.pad_token_id)
    return int(tokenizer.eos_token_id) if tokenizer.eos_token_id is not None else 0


@contextlib.contextmanager
def inference_mode(model: Any) -> Iterator[None]:
    """No gradients, and the model in eval mode (no dropout in LoRA layers) for the duration;
    its previous train/eval mode is restored afterwards."""
    import torch

    training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            yield
    finally:
        model.train(training)


class ProgressCounter:
    """Reports whole examples done when an example's work is spread over several rows / batches."""

    def __init__(self, parts_per_example: Sequence[int], progress: ProgressFn):
        self.remaining = list(parts_per_example)
        self.total = len(self.remaining)
        self.done = sum(1 for n in self.remaining if n == 0)
        self.progress = progress

    def finish(self, examples: Sequence[int]) -> None:
        """One part of each listed example is done (an example listed twice: two parts)."""
        for index in examples:
            self.remaining[index] -= 1
            self.done += self.remaining[index] == 0
        if self.progress is not None:
            self.progress(self.done, self.total)


__all__ = [
    "ProgressCounter",
    "ProgressFn",
    "end_of_turn_ids",
    "fit_prompt",
    "full_prompt_ids",
    "inference_mode",
    "pad_token_id",
    "prompt_ids",
    "reply_ids",
    "reply_suffix",
]
