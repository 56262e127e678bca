"""Generation: a model's replies to many prompts, in batches, with a KV cache.

``generate`` decodes with its own loop over the model's forward pass, which keeps every row's
choice of the next token in our hands (greedy, seeded sampling, a JSON constraint per row):

- prompts are the tokens training conditioned on (``prompts.prompt_ids``, with room kept for the
  reply), sorted by length so a batch pads little, left-padded so every row's next token sits in
  the last column, with position ids that ignore the padding; results come back in input order;
- the prompt runs once and every later step feeds one token per row against the cache; a row
  stops at an end-of-turn token (``prompts.end_of_turn_ids``) and leaves the batch (its cache rows
  are dropped), so long replies do not keep finished rows computing;
- temperature 0 is greedy (argmax); otherwise a token is drawn from the ``SAMPLING_TOP_K`` best,
  each row with its own ``torch.Generator`` seeded from ``seed`` and the row's input index, so a
  reply does not depend on which rows share its batch. A row's ``top_p`` below 1 narrows that
  draw to a nucleus, in transformers' order (temperature, then top-k, then top-p): the fewest of
  those k tokens, most likely first, whose probabilities - renormalised over the k at the row's
  temperature - add up to ``top_p`` (the token that crosses it included, so never none). Greedy
  rows ignore ``top_p`` (the argmax is in every nucleus);
- a row with a constraint (``JsonConstraint``, ``RegexConstraint``, ``ChoiceConstraint``) masks
  its logits to the tokens its grammar allows (``constrained.ConstrainedReply``, llguidance), then
  takes the argmax or samples from *every* allowed token (not only the top k: a grammar may leave
  few of them, and a reply forced onto an unlikely one would wander); ``top_p`` then takes its
  nucleus of those.

Greedy batched replies equal the one-at-a-time ones in float32 (padding and batch size change
the rounding of a forward pass by ~1e-7, not its argmax; in bfloat16 an exact near-tie may flip). The text returned is the decoded reply
without its end-of-turn token, special tokens kept (chat-template debris in a reply is a finding,
not something to hide). ``tokens`` counts the tokens generated, the end-of-turn token included.

``generate_one_by_one`` is the naive baseline the speed benchmark compares with: transformers'
``model.generate`` per example, no batching; under a constraint, a logits processor applies
``ConstrainedReply``'s mask, so its greedy replies match ``generate``'s.
Both work with plain models and peft models (adapter on).

The loop itself is ``decode_rows(model, tokenizer, rows)``: one batch of ``DecodeRow``s, each
with its own budget, temperature, seed, constraint and stop strings, which the server's engine
(``brewslm.serving.engine``) drives too. A row may also stream (``on_text`` gets the reply's new
text as soon as it is final: text that could still turn out to start a stop string, or a
character whose bytes are not all generated yet, is held back), report its end at once
(``on_done``, while its batch-mates go on) and be cancelled (``cancelled()`` is asked before
every step; a cancelled row leaves the batch and its cache rows). A stop string ends a reply as
the end-of-turn token does (``finished``), the text cut before it.
"""

from __future__ import annotations

import inspect
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from brewslm.base_models.kv_cache import cache_argument, output_cache
from brewslm.errors import ConfigError
from brewslm.inference.constrained import (
    SAMPLING_TOP_K,
    ConstrainedReply,
    Constraint,
    compile_grammar,
    compile_matcher,
    constraint_key,
    model_vocabulary,
)
from brewslm.inference.forward import causal_lm
from brewslm.inference.prompts import ProgressFn, end_of_turn_ids, inference_mode, prompt_ids
from brewslm.tasks.rendering import Rendered


@dataclass(frozen=True)
class Generation:
    text: str  # the reply, without its end-of-turn token
    tokens: int  # tokens generated, the end-of-turn token included
    finished: bool  # stopped at an end-of-turn token (not at max_new_tokens)
    # the tokens of ``text``: without the end-of-turn token, cut before a stop string (not compared:
    # generation is judged by its text)
    ids: tuple[int, ...] = field(default=(), compare=False)


@dataclass(frozen=True)
class DecodeTokens:
    """The token ids decoding needs from a tokenizer (read once per tokenizer)."""

    stop_ids: frozenset[int]  # end a reply (``prompts.end_of_turn_ids``)
    pad_id: int  # left-padding of a batch's prompts (never attended to)


@dataclass(frozen=True, eq=False)
class DecodeRow:
    """One prompt to decode and how; every row of a batch has its own settings."""

    prompt: Sequence[int]
    max_new_tokens: int
    temperature: float = 0.0  # 0: greedy
    seed: int = 0
    index: int = 0  # mixed into the seed, so rows of one call sample from streams of their own
    constraint: ConstrainedReply | None = None
    stop: tuple[str, ...] = ()  # strings that end the reply (not part of the text returned)
    on_text: Callable[[str], None] | None = None  # the reply's new final text, as it is generated
    on_done: Callable[["Generation"], None] | None = None  # the row's result, as soon as it ends
    cancelled: Callable[[], bool] | None = None  # asked before each step: True -> the row leaves
    top_p: float = 1.0  # sampling: the nucleus of the top-k draw (1: all k); greedy rows ignore it


def _check_arguments(
    rendered: Sequence[Rendered],
    max_new_tokens: int,
    temperature: float,
    batch_size: int,
    constraints: Sequence[Constraint | None] | None,
) -> list[Constraint | None]:
    check_budget(max_new_tokens, temperature)
    if batch_size < 1:
        raise ConfigError(f"batch_size is {batch_size}; use at least 1")
    if constraints is None:
        return [None] * len(rendered)
    if len(constraints) != len(rendered):
        raise ValueError(f"{len(constraints)} constraints for {len(rendered)} prompts; give one (or None) per prompt")
    return list(constraints)


def check_budget(max_new_tokens: int, temperature: float, top_p: float = 1.0) -> None:
    """One-line errors for a generation budget, temperature or top_p no decoding can honour."""
    if max_new_tokens < 1:
        raise ConfigError(f"max_new_tokens is {max_new_tokens}; generation needs at least 1")
    if temperature < 0:
        raise ConfigError(f"temperature is {temperature}; use 0 for greedy decoding or a positive value to sample")
    if not 0 < top_p <= 1:
        raise ConfigError(f"top_p is {top_p}; use a value in (0, 1] (1: no nucleus)")


def decode_tokens(tokenizer: Any) -> DecodeTokens:
    stop_ids = end_of_turn_ids(tokenizer)
    if not stop_ids:
        raise ConfigError(
            "the tokenizer has no EOS token and its chat template no end-of-turn token; "
            "generation would never stop - give the tokenizer an eos_token"
        )
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stop_ids[0]
    return DecodeTokens(frozenset(stop_ids), int(pad_id))


def _decode(tokenizer: Any, ids: Sequence[int]) -> str:
    return tokenizer.decode(list(ids), skip_special_tokens=False, clean_up_tokenization_spaces=False)


def _finish(tokenizer: Any, ids: Sequence[int], finished: bool) -> Generation:
    """A reply from its generated ids (the end-of-turn token, when there is one, last)."""
    content = ids[:-1] if finished else ids
    return Generation(text=_decode(tokenizer, content), tokens=len(ids), finished=finished, ids=tuple(content))


def ids_within(tokenizer: Any, ids: Sequence[int], text: str) -> tuple[int, ...]:
    """The longest run of ``ids`` from the start whose text lies within ``text`` (a reply cut at a
    stop string: the tokens before the one the stop string began in)."""
    end = len(ids)
    while end and not text.startswith(_decode(tokenizer, ids[:end])):
        end -= 1
    return tuple(ids[:end])


def _row_generator(seed: int, index: int) -> Any:
    """Each input row's own random stream, so a sampled reply does not depend on its batch."""
    import torch

    return torch.Generator().manual_seed((seed * 1_000_003 + index) % (2**63))


def nucleus(weights: Any, top_p: float) -> Any:
    """``weights`` (probabilities) with every token outside the nucleus set to 0: the fewest most
    likely tokens whose probabilities add up to ``top_p``, the one that crosses it included."""
    import torch

    order = torch.argsort(weights, descending=True, stable=True)
    ranked = weights[order]
    before = torch.cumsum(ranked, dim=-1) - ranked  # the mass of the tokens ranked above each one
    keep = torch.zeros_like(weights, dtype=torch.bool)
    keep[order[before < top_p]] = True  # top_p > 0: the most likely token always stays
    return torch.where(keep, weights, torch.zeros_like(weights))


class _Chooser:
    """Picks one row's next token from its logits: greedy, sampled, constrained or not."""

    def __init__(self, row: DecodeRow):
        self.temperature = float(row.temperature)
        self.top_p = float(row.top_p)
        self.constraint = row.constraint
        self.generator = _row_generator(row.seed, row.index) if self.temperature > 0 else None

    def choose(self, logits: Any, best: int) -> int | None:
        """The next token given the row's logits and their argmax (computed for the whole batch
        at once), or None when a constraint leaves no token to take."""
        import torch

        sampling = self.generator is not None
        if self.constraint is not None:
            masked = self.constraint.mask(logits.float().cpu())
            if not bool(torch.isfinite(masked).any()):
                return None
            if not sampling:
                return int(masked.argmax())
            weights = torch.softmax(masked / self.temperature, dim=-1)  # every allowed token, not a top k
            if self.top_p < 1.0:
                weights = nucleus(weights, self.top_p)
            return int(torch.multinomial(weights, 1, generator=self.generator))
        if not sampling:
            return best
        pool = torch.topk(logits, min(SAMPLING_TOP_K, logits.shape[-1])).indices.cpu()
        weights = torch.softmax(logits.float().cpu()[pool] / self.temperature, dim=-1)
        if self.top_p < 1.0:
            weights = nucleus(weights, self.top_p)
        return int(pool[torch.multinomial(weights, 1, generator=self.generator)])

    def taken(self, token_id: int) -> None:
        if self.constraint is not None:
            self.constraint.advance(token_id)


class ReplyText:
    """A row's reply as text while its tokens arrive: where a stop string ends it, and how much of
    it is final (safe to stream). The reply is re-decoded whole at each token (a token's text can
    depend on its neighbours: multi-byte characters, word-initial spaces), which costs microseconds
    at the lengths a reply has."""

    def __init__(self, tokenizer: Any, stop: Sequence[str]):
        self.tokenizer = tokenizer
        self.stop = tuple(s for s in stop if s)
        self.hold = max((len(s) for s in self.stop), default=1) - 1  # a stop string's head may be at the end
        self.text = ""
        self.sent = 0
        self.stopped = False

    def update(self, ids: Sequence[int]) -> bool:
        """Re-read the reply from ``ids`` (no end-of-turn token); True when it holds a stop string
        (the text is cut before the first one)."""
        self.text = _decode(self.tokenizer, ids)
        cuts = [at for at in (self.text.find(s) for s in self.stop) if at >= 0]
        if cuts:
            self.text = self.text[: min(cuts)]
            self.stopped = True
        return self.stopped

    def new_text(self, final: bool) -> str:
        """The text not handed out yet that can no longer change (all of it when ``final``)."""
        end = len(self.text)
        if not final:
            end -= self.hold
            while end > self.sent and self.text[end - 1] == "\ufffd":  # a character still missing bytes
                end -= 1
        delta = self.text[self.sent : end] if end > self.sent else ""
        self.sent = max(self.sent, end)
        return delta


class ReplyConstraints:
    """Each constrained row's ``ConstrainedReply``. Rows with equal constraints (the same schema,
    e.g. a dataset's output schema on every row) share one compiled matcher, copied per reply, and
    the tokenizer is read (``constrained.model_vocabulary``) once, when the first constraint comes.
    The newest ``max_checkers`` matchers are kept (a server sees many schemas over its life)."""

    def __init__(self, tokenizer: Any, stop_ids: Sequence[int], *, max_checkers: int = 64):
        self.tokenizer = tokenizer
        self.stop_ids = sorted(stop_ids)
        self.max_checkers = max_checkers
        self._vocabulary: Any = None
        self._matchers: OrderedDict[str, Any] = OrderedDict()

    def reply(self, constraint: Constraint | None) -> ConstrainedReply | None:
        """A new reply under ``constraint`` (None: no constraint); a constraint that cannot be
        compiled is a ``ConfigError`` here, before any model runs."""
        if constraint is None:
            return None
        key = constraint_key(constraint)
        matcher = self._matchers.pop(key, None)
        if matcher is None:
            compile_grammar(constraint)  # a bad schema fails here, before the tokenizer is read
            if self._vocabulary is None:
                self._vocabulary = model_vocabulary(self.tokenizer, self.stop_ids)
            matcher = compile_matcher(constraint, self._vocabulary)
        self._matchers[key] = matcher
        while len(self._matchers) > self.max_checkers:
            self._matchers.popitem(last=False)
        return ConstrainedReply(matcher.deep_copy(), self._vocabulary.vocab_size, self.stop_ids)


def _accepts_logits_to_keep(model: Any) -> bool:
    try:
        return "logits_to_keep" in inspect.signature(causal_lm(model).forward).parameters
    except (TypeError, ValueError):
        return False


def _last_logits(model: Any, keep_last: bool, **inputs: Any) -> tuple[Any, Any]:
    """Float32 logits at each row's last position, and the updated cache."""
    if keep_last:
        inputs["logits_to_keep"] = 1  # the LM head runs on the last position only
    out = model(use_cache=True, **inputs)
    return out.logits[:, -1].float(), output_cache(out)


def _prefill(model: Any, prompts: Sequence[Sequence[int]], pad_id: int, keep_last: bool) -> tuple[Any, ...]:
    """The prompts, left-padded, through the model once: logits at each row's last position, the
    cache, the attention mask and each row's next position (padding does not shift positions)."""
    import torch

    device = next(model.parameters()).device
    rows = len(prompts)
    width = max(len(p) for p in prompts)
    input_ids = torch.full((rows, width), pad_id, dtype=torch.long)
    attention = torch.zeros((rows, width), dtype=torch.long)
    for row, prompt in enumerate(prompts):
        input_ids[row, width - len(prompt) :] = torch.tensor(list(prompt), dtype=torch.long)
        attention[row, width - len(prompt) :] = 1
    positions = (attention.cumsum(-1) - 1).clamp(min=0)
    input_ids, attention, positions = input_ids.to(device), attention.to(device), positions.to(device)
    logits, cache = _last_logits(
        model, keep_last, input_ids=input_ids, attention_mask=attention, position_ids=positions
    )
    return logits, cache, attention, positions[:, -1] + 1


def _decode_batch(
    model: Any, tokenizer: Any, rows: Sequence[DecodeRow], tokens: DecodeTokens, keep_last: bool
) -> list[Generation]:
    import torch

    device = next(model.parameters()).device
    choosers = [_Chooser(row) for row in rows]
    texts = [ReplyText(tokenizer, row.stop) if row.stop or row.on_text else None for row in rows]
    logits, cache, attention, next_position = _prefill(model, [row.prompt for row in rows], tokens.pad_id, keep_last)
    generated: list[list[int]] = [[] for _ in rows]
    results: list[Generation | None] = [None] * len(rows)

    def end(row: int, finished: bool) -> None:
        ids = generated[row]
        result = _finish(tokenizer, ids, finished and ids[-1] in tokens.stop_ids)
        text = texts[row]
        if text is not None:
            if text.stopped:
                result = Generation(
                    text=text.text, tokens=len(ids), finished=True, ids=ids_within(tokenizer, ids, text.text)
                )
            if rows[row].on_text is not None:
                text.text = result.text
                rest = text.new_text(final=True)
                if rest:
                    rows[row].on_text(rest)
        results[row] = result
        if rows[row].on_done is not None:
            rows[row].on_done(result)

    live = list(range(len(rows)))  # the rows still decoding, in the cache's row order
    while live:
        going: list[int] = []  # slots (positions in ``live``) of the rows that go on
        best = logits.argmax(dim=-1).tolist()
        for slot, row in enumerate(live):
            spec = rows[row]
            if spec.cancelled is not None and spec.cancelled():
                end(row, False)
                continue
            token = choosers[row].choose(logits[slot], best[slot])
            if token is None:  # nothing can continue a constrained reply: it ends unfinished
                end(row, False)
                continue
            generated[row].append(token)
            if token in tokens.stop_ids:
                end(row, True)
                continue
            choosers[row].taken(token)
            text = texts[row]
            if text is not None:
                if text.update(generated[row]):
                    end(row, True)
                    continue
                if spec.on_text is not None:
                    delta = text.new_text(final=False)
                    if delta:
                        spec.on_text(delta)
            if len(generated[row]) >= spec.max_new_tokens:
                end(row, False)
                continue
            going.append(slot)
        if not going:
            break
        if len(going) < len(live):  # stopped rows leave the batch and the cache
            index = torch.tensor(going, device=device)
            cache.batch_select_indices(index)
            attention, next_position = attention[index], next_position[index]
            live = [live[slot] for slot in going]
        attention = torch.cat([attention, attention.new_ones((len(live), 1))], dim=1)
        feed = torch.tensor([generated[row][-1] for row in live], device=device)[:, None]
        logits, cache = _last_logits(
            model,
            keep_last,
            input_ids=feed,
            attention_mask=attention,
            position_ids=next_position[:, None],
            **cache_argument(model, cache),
        )
        next_position = next_position + 1
    return [r for r in results if r is not None]


def decode_rows(
    model: Any, tokenizer: Any, rows: Sequence[DecodeRow], *, tokens: DecodeTokens | None = None
) -> list[Generation]:
    """Every row decoded in one batch (see the module notes), results in row order. ``tokens``:
    ``decode_tokens(tokenizer)``, read once by a caller that decodes many batches."""
    if not rows:
        return []
    for row in rows:
        check_budget(row.max_new_tokens, row.temperature, row.top_p)
        if not row.prompt:
            raise ConfigError("a prompt has no tokens; generation needs at least one token to continue")
    with inference_mode(model):
        return _decode_batch(model, tokenizer, rows, tokens or decode_tokens(tokenizer), _accepts_logits_to_keep(model))


def generate(
    model: Any,
    tokenizer: Any,
    rendered: Sequence[Rendered],
    *,
    max_new_tokens: int,
    temperature: float = 0.0,
    seed: int = 0,
    batch_size: int = 8,
    max_seq_len: int = 2048,
    constraints: Sequence[Constraint | None] | None = None,
    progress: ProgressFn = None,
) -> list[Generation]:
    """The model's reply to each rendering's prompt, in input order (see the module notes).

    ``constraints``: one constraint (``JsonConstraint``, ``RegexConstraint``, ``ChoiceConstraint``)
    or None per rendering. Prompts longer than
    ``max_seq_len - max_new_tokens`` lose tokens from the middle, as training cuts them.
    """
    constraints = _check_arguments(rendered, max_new_tokens, temperature, batch_size, constraints)
    tokens = decode_tokens(tokenizer)
    replies = ReplyConstraints(tokenizer, tokens.stop_ids)
    rows = [
        DecodeRow(
            prompt_ids(item, tokenizer, max_seq_len, reserve=max_new_tokens),
            max_new_tokens,
            temperature,
            seed,
            index,
            replies.reply(constraint),
        )
        for index, (item, constraint) in enumerate(zip(rendered, constraints))
    ]
    keep_last = _accepts_logits_to_keep(model)
    order = sorted(range(len(rows)), key=lambda i: -len(rows[i].prompt))  # longest first: peak memory shows early
    results: list[Generation | None] = [None] * len(rows)
    with inference_mode(model):
        for start in range(0, len(order), batch_size):
            batch = order[start : start + batch_size]
            outputs = _decode_batch(model, tokenizer, [rows[i] for i in batch], tokens, keep_last)
            for index, output in zip(batch, outputs):
                results[index] = output
            if progress is not None:
                progress(start + len(batch), len(order))
    return [r for r in results if r is not None]


def _constraint_processor(reply: ConstrainedReply, prompt_len: int) -> Any:
    """A transformers logits processor that leaves only the tokens ``reply`` allows, advancing the
    reply with the token chosen at the previous step."""
    import torch
    from transformers import LogitsProcessor

    class _Narrow(LogitsProcessor):
        def __init__(self) -> None:
            self.read = prompt_len

        def __call__(self, input_ids: Any, scores: Any) -> Any:
            for token in input_ids[0, self.read :].tolist():
                reply.advance(token)
            self.read = input_ids.shape[1]
            masked = reply.mask(scores[0].float().cpu())
            if not bool(torch.isfinite(masked).any()):  # nothing continues the reply: end the turn
                masked[sorted(reply.stop_ids)[0]] = 0.0
            return masked.to(scores.device, scores.dtype)[None]

    return _Narrow()


def generate_one_by_one(
    model: Any,
    tokenizer: Any,
    rendered: Sequence[Rendered],
    *,
    max_new_tokens: int,
    temperature: float = 0.0,
    seed: int = 0,
    batch_size: int = 8,
    max_seq_len: int = 2048,
    constraints: Sequence[Constraint | None] | None = None,
    progress: ProgressFn = None,
) -> list[Generation]:
    """The naive baseline: transformers' ``model.generate`` on one prompt at a time (``batch_size``
    is accepted for a signature like ``generate``'s and ignored). Sampling seeds torch's global
    generator with ``seed`` and the input index inside a forked RNG state, so the caller's random
    state is untouched; its samples differ from ``generate``'s (another random stream). A
    constrained reply samples from every allowed token, as ``generate``'s does. Where a
    constraint leaves no token at all, the baseline ends the turn (``generate`` stops the reply
    unfinished instead)."""
    import torch
    from transformers import LogitsProcessorList

    constraints = _check_arguments(rendered, max_new_tokens, temperature, batch_size, constraints)
    tokens = decode_tokens(tokenizer)
    builder = ReplyConstraints(tokenizer, tokens.stop_ids)
    replies = [builder.reply(constraint) for constraint in constraints]
    sampling = temperature > 0
    decoding: dict[str, Any] = (
        {"do_sample": True, "temperature": float(temperature), "top_p": 1.0}
        if sampling
        else {"do_sample": False, "temperature": None, "top_k": None, "top_p": None}
    )
    device = next(model.parameters()).device
    results: list[Generation] = []
    with inference_mode(model):
        for index, (item, reply) in enumerate(zip(rendered, replies)):
            ids = prompt_ids(item, tokenizer, max_seq_len, reserve=max_new_tokens)
            processors = LogitsProcessorList([_constraint_processor(reply, len(ids))] if reply else [])
            if sampling:  # a constrained reply samples from every allowed token
                decoding["top_k"] = 0 if reply else SAMPLING_TOP_K  # 0: no top-k (None: the model's default)
            with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
                torch.manual_seed((seed * 1_000_003 + index) % (2**63))
                output = model.generate(
                    input_ids=torch.tensor([ids], device=device),
                    attention_mask=torch.ones((1, len(ids)), dtype=torch.long, device=device),
                    max_new_tokens=max_new_tokens,
                    eos_token_id=sorted(tokens.stop_ids),
                    pad_token_id=tokens.pad_id,
                    logits_processor=processors,
                    **decoding,
                )
            new = output[0, len(ids) :].tolist()
            results.append(_finish(tokenizer, new, bool(new) and new[-1] in tokens.stop_ids))
            if progress is not None:
                progress(index + 1, len(rendered))
    return results


__all__ = [
    "DecodeRow",
    "DecodeTokens",
    "Generation",
    "ReplyConstraints",
    "ReplyText",
    "check_budget",
    "decode_rows",
    "decode_tokens",
    "generate",
    "generate_one_by_one",
    "nucleus",
]
