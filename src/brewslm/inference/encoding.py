"""Rendered records -> token ids and the mask of tokens that carry the loss.

A chat rendering is turned into text with the tokenizer's own chat template, then cut into
segments: context, trained reply, context, trained reply... Each assistant turn's span is found by
rendering the conversation incrementally - the text before the reply is the template applied to the
earlier messages with the generation prompt, the text through the reply is the template applied up
to and including it - so it works with any template that renders conversations prefix-stably
(ChatML/SmolLM2, Llama 3, Gemma, Mistral...), with no ``{% generation %}`` markers needed. A trained
span is the reply plus the template's end-of-turn token(s), minus trailing whitespace.

Segments are tokenised one by one and concatenated, so the prompt's tokens are exactly the tokens a
served model sees before it starts generating (tokenising the whole text at once can merge the last
prompt character with the first reply character).

Sequences longer than ``max_seq_len`` lose prompt tokens from the middle (the head - system prompt
and instruction - and the tail - the latest context and the generation prompt - are kept), and
only when the reply alone does not fit does the reply lose its end; a reply is never dropped
whole. Both cuts are counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from brewslm.errors import ConfigError
from brewslm.inference.chat_templates import CHATML_TEMPLATE, MODEL, set_chat_template
from brewslm.tasks.rendering import Rendered

IGNORE_INDEX = -100


@dataclass(frozen=True)
class EncodedExample:
    """Token ids and, per token, whether it is a trained target (predicted from the tokens before it)."""

    input_ids: tuple[int, ...]
    trained: tuple[bool, ...]
    prompt_truncated: int = 0  # prompt tokens cut to fit max_seq_len
    completion_truncated: int = 0  # reply tokens cut (only when the reply alone exceeds its share)

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def labels(self) -> list[int]:
        """Hugging Face style labels: the token id where trained, ``IGNORE_INDEX`` elsewhere."""
        return [tok if keep else IGNORE_INDEX for tok, keep in zip(self.input_ids, self.trained)]

    @property
    def trained_tokens(self) -> int:
        return sum(self.trained)

    @property
    def truncated(self) -> bool:
        return bool(self.prompt_truncated or self.completion_truncated)


def ensure_chat_template(tokenizer: Any) -> bool:
    """Give ``tokenizer`` the ChatML template when it has none; True when it was added."""
    return set_chat_template(tokenizer, MODEL) != MODEL


def _template(tokenizer: Any, messages: Sequence[dict[str, str]], *, generation_prompt: bool) -> str:
    try:
        return tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=generation_prompt)
    except Exception as exc:  # jinja raises its own errors (e.g. "roles must alternate")
        raise ConfigError(f"the tokenizer's chat template cannot render this conversation: {exc}") from None


def chat_segments(rendered: Rendered, tokenizer: Any) -> list[tuple[str, bool]]:
    """The conversation's text as ``(text, trained)`` segments, up to the end of the last trained reply."""
    messages = list(rendered.messages)
    full = _template(tokenizer, messages, generation_prompt=False)
    segments: list[tuple[str, bool]] = []
    cursor = 0
    for turn in rendered.trained_turns:
        through = _template(tokenizer, messages[: turn + 1], generation_prompt=False)
        before = _template(tokenizer, messages[:turn], generation_prompt=True)
        reply = messages[turn]["content"]
        if through.startswith(before) and through.find(reply, len(before)) == len(before):
            start = len(before)
        else:  # a template whose generation prompt differs from how it renders a finished turn
            start = through.find(reply, len(_template(tokenizer, messages[:turn], generation_prompt=False)))
        end = len(through.rstrip())
        if start < cursor or end < start + len(reply.rstrip()) or not full.startswith(through):
            raise ConfigError(
                "the tokenizer's chat template does not render conversations prefix by prefix (turn "
                f"{turn}'s reply cannot be located); give the model a standard chat template"
            )
        segments.append((full[cursor:start], False))
        segments.append((full[start:end], True))
        cursor = end
    return [(text, trained) for text, trained in segments if text]


def _tokenize(tokenizer: Any, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def encode(rendered: Rendered, tokenizer: Any, max_seq_len: int) -> EncodedExample:
    """Token ids + trained mask for one rendering, at most ``max_seq_len`` tokens.

    Chat renderings use the chat template (see the module notes); raw text (language modelling)
    is tokenised with the tokenizer's special tokens plus a closing EOS, all of it trained - texts
    longer than ``max_seq_len`` should go through ``encode_text_windows`` instead, which keeps
    every token.
    """
    if not rendered.is_chat:
        ids = _text_ids(rendered.text or "", tokenizer)
        trained = [True] * len(ids)
        trained[0] = False  # the first token has nothing before it to be predicted from
        if len(ids) > max_seq_len:
            return EncodedExample(
                tuple(ids[:max_seq_len]), tuple(trained[:max_seq_len]), completion_truncated=len(ids) - max_seq_len
            )
        return EncodedExample(tuple(ids), tuple(trained))
    ids: list[int] = []
    trained_mask: list[bool] = []
    for text, trained in chat_segments(rendered, tokenizer):
        piece = _tokenize(tokenizer, text)
        ids.extend(piece)
        trained_mask.extend([trained] * len(piece))
    return truncate(ids, trained_mask, max_seq_len)


def _text_ids(text: str, tokenizer: Any) -> list[int]:
    ids = list(tokenizer(text, add_special_tokens=True)["input_ids"])
    eos = tokenizer.eos_token_id
    if eos is not None and (not ids or ids[-1] != eos):
        ids.append(eos)
    return ids


def encode_text_windows(text: str, tokenizer: Any, max_seq_len: int) -> list[EncodedExample]:
    """Raw text as consecutive windows of at most ``max_seq_len`` tokens, every token trained once:
    a window's first token is the last token of the previous window (its context), not a target."""
    ids = _text_ids(text, tokenizer)
    windows: list[EncodedExample] = []
    start = 0
    while True:
        chunk = ids[start : start + max_seq_len]
        windows.append(EncodedExample(tuple(chunk), (False,) + (True,) * (len(chunk) - 1)))
        if start + max_seq_len >= len(ids):
            return windows
        start += max_seq_len - 1


def truncate(ids: Sequence[int], trained: Sequence[bool], max_seq_len: int) -> EncodedExample:
    """Fit a sequence into ``max_seq_len`` tokens without dropping its final reply (see module notes).

    The final reply (from the start of the last trained run) keeps all of its tokens when it fits
    alongside at least a quarter of the budget for the prompt; the prompt then loses tokens from
    its middle. A reply longer than that loses its end.
    """
    ids, trained = list(ids), list(trained)
    n = len(ids)
    if n <= max_seq_len:
        return EncodedExample(tuple(ids), tuple(trained))
    reply_start = n
    while reply_start > 0 and trained[reply_start - 1]:
        reply_start -= 1
    prompt_len, reply_len = reply_start, n - reply_start
    prompt_keep = min(prompt_len, max(max_seq_len - reply_len, max_seq_len // 4))
    reply_keep = min(reply_len, max_seq_len - prompt_keep)
    head = prompt_keep // 2
    tail = prompt_keep - head
    kept = list(range(head)) + list(range(prompt_len - tail, prompt_len + reply_keep))
    new_ids = [ids[i] for i in kept]
    new_trained = [trained[i] for i in kept]
    if prompt_keep < prompt_len and head < len(new_trained):
        new_trained[head] = False  # the token before it in the sequence is no longer its real predecessor
    return EncodedExample(
        tuple(new_ids),
        tuple(new_trained),
        prompt_truncated=prompt_len - prompt_keep,
        completion_truncated=reply_len - reply_keep,
    )


def reply_length(trained: tuple[bool, ...]) -> int:
    """Tokens of the final trained run (the reply and its end-of-turn token)."""
    n = len(trained)
    start = n
    while start > 0 and trained[start - 1]:
        start -= 1
    return n - start


def truncate_pair(
    chosen: EncodedExample, rejected: EncodedExample, max_seq_len: int
) -> tuple[EncodedExample, EncodedExample]:
    """Fit both sequences of a pair into ``max_seq_len`` tokens the way ``encoding.truncate`` fits
    one, with the shared prompt cut identically on both sides (sized for the longer reply), so the
    two log-probabilities are conditioned on the same context."""
    if max(len(chosen), len(rejected)) <= max_seq_len:
        return chosen, rejected
    longest = max(reply_length(chosen.trained), reply_length(rejected.trained))
    return _truncate_with_room(chosen, longest, max_seq_len), _truncate_with_room(rejected, longest, max_seq_len)


def _truncate_with_room(example: EncodedExample, room: int, max_seq_len: int) -> EncodedExample:
    # ``truncate`` sizes the prompt cut from the reply length: give the shorter reply placeholder
    # tokens up to the longer one's length, cut, then drop whatever placeholders survived.
    reply = reply_length(example.trained)
    pad = room - reply
    cut = truncate(example.input_ids + (0,) * pad, example.trained + (True,) * pad, max_seq_len)
    prompt_kept = len(example) - reply - cut.prompt_truncated
    reply_kept = min(reply, len(cut) - prompt_kept)
    end = prompt_kept + reply_kept
    return EncodedExample(
        cut.input_ids[:end],
        cut.trained[:end],
        prompt_truncated=cut.prompt_truncated,
        completion_truncated=reply - reply_kept,
    )


__all__ = [
    "reply_length",
    "truncate_pair",
    "CHATML_TEMPLATE",
    "IGNORE_INDEX",
    "EncodedExample",
    "chat_segments",
    "encode",
    "encode_text_windows",
    "ensure_chat_template",
    "truncate",
]
