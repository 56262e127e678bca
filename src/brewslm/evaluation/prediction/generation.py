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
  reply does not depend on which rows share its batch;
- a row with a ``JsonConstraint`` takes the first token (in logit order) that keeps its reply a
  viable prefix of a valid document, or, sampling, draws among the viable ones of the top k
  (``constrained.ConstrainedReply``).

Greedy batched replies equal the one-at-a-time ones in float32 (padding and batch size change
the rounding of a forward pass by ~1e-7, not its argmax; in bfloat16 an exact near-tie may flip). The text returned is the decoded reply
without its end-of-turn token, special tokens kept (chat-template debris in a reply is a finding,
not something to hide). ``tokens`` counts the tokens generated, the end-of-turn token included.

``generate_one_by_one`` is the naive baseline the speed benchmark compares with: transformers'
``model.generate`` per example, no batching; under a constraint, a logits processor narrows each
step to ``ConstrainedReply``'s candidates, so its greedy replies match ``generate``'s.
Both work with plain models and peft models (adapter on).
"""

from __future__ import annotations

import inspect
import json
from dataclasses import dataclass
from typing import Any, Sequence

from brewslm.errors import ConfigError
from brewslm.evaluation.prediction.constrained import (
    SAMPLING_TOP_K,
    ConstrainedReply,
    JsonConstraint,
    JsonPrefixChecker,
    TokenTexts,
)
from brewslm.evaluation.prediction.prompts import ProgressFn, end_of_turn_ids, inference_mode, prompt_ids
from brewslm.tasks.rendering import Rendered
from brewslm.training.model import causal_lm


@dataclass(frozen=True)
class Generation:
    text: str  # the reply, without its end-of-turn token
    tokens: int  # tokens generated, the end-of-turn token included
    finished: bool  # stopped at an end-of-turn token (not at max_new_tokens)


@dataclass(frozen=True)
class _Settings:
    max_new_tokens: int
    temperature: float
    seed: int
    stop_ids: frozenset[int]
    pad_id: int


def _check_arguments(rendered: Sequence[Rendered], max_new_tokens: int, temperature: float, batch_size: int,
                     constraints: Sequence[JsonConstraint | None] | None) -> list[JsonConstraint | None]:
    if max_new_tokens < 1:
        raise ConfigError(f"max_new_tokens is {max_new_tokens}; generation needs at least 1")
    if temperature < 0:
        raise ConfigError(f"temperature is {temperature}; use 0 for greedy decoding or a positive value to sample")
    if batch_size < 1:
        raise ConfigError(f"batch_size is {batch_size}; use at least 1")
    if constraints is None:
        return [None] * len(rendered)
    if len(constraints) != len(rendered):
        raise ValueError(f"{len(constraints)} constraints for {len(rendered)} prompts; give one (or None) per prompt")
    return list(constraints)


def _settings(tokenizer: Any, max_new_tokens: int, temperature: float, seed: int) -> _Settings:
    stop_ids = end_of_turn_ids(tokenizer)
    if not stop_ids:
        raise ConfigError("the tokenizer has no EOS token and its chat template no end-of-turn token; "
                          "generation would never stop - give the tokenizer an eos_token")
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stop_ids[0]
    return _Settings(max_new_tokens, float(temperature), seed, frozenset(stop_ids), int(pad_id))


def _decode(tokenizer: Any, ids: Sequence[int]) -> str:
    return tokenizer.decode(list(ids), skip_special_tokens=False, clean_up_tokenization_spaces=False)


def _finish(tokenizer: Any, ids: Sequence[int], finished: bool) -> Generation:
    """A reply from its generated ids (the end-of-turn token, when there is one, last)."""
    content = ids[:-1] if finished else ids
    return Generation(text=_decode(tokenizer, content), tokens=len(ids), finished=finished)


def _row_generator(seed: int, index: int) -> Any:
    """Each input row's own random stream, so a sampled reply does not depend on its batch."""
    import torch

    return torch.Generator().manual_seed((seed * 1_000_003 + index) % (2**63))


class _Chooser:
    """Picks one row's next token from its logits: greedy, sampled, constrained or not."""

    def __init__(self, settings: _Settings, index: int, constraint: ConstrainedReply | None):
        self.settings = settings
        self.constraint = constraint
        self.generator = _row_generator(settings.seed, index) if settings.temperature > 0 else None

    def choose(self, logits: Any, best: int) -> int | None:
        """The next token given the row's logits and their argmax (computed for the whole batch
        at once), or None when a constraint leaves no token to take."""
        import torch

        sampling = self.generator is not None
        if self.constraint is not None:
            candidates = self.constraint.candidates(logits, top_k=SAMPLING_TOP_K if sampling else None)
            if not candidates:
                return None
            if not sampling or len(candidates) == 1:
                return candidates[0]
            pool = torch.tensor(candidates)
        elif not sampling:
            return best
        else:
            pool = torch.topk(logits, min(SAMPLING_TOP_K, logits.shape[-1])).indices.cpu()
        weights = torch.softmax(logits.float().cpu()[pool] / self.settings.temperature, dim=-1)
        return int(pool[torch.multinomial(weights, 1, generator=self.generator)])

    def taken(self, token_id: int) -> None:
        if self.constraint is not None:
            self.constraint.advance(token_id)


def _constrained_replies(tokenizer: Any, constraints: Sequence[JsonConstraint | None],
                         stop_ids: frozenset[int]) -> list[ConstrainedReply | None]:
    """One ``ConstrainedReply`` per constrained row; rows with equal constraints (the same schema,
    e.g. a dataset's output schema on every row) share one checker: its compiled schema and memo."""
    if not any(constraints):
        return [None] * len(constraints)
    texts = TokenTexts(tokenizer)
    checkers: dict[str, JsonPrefixChecker] = {}
    out: list[ConstrainedReply | None] = []
    for constraint in constraints:
        if constraint is None:
            out.append(None)
            continue
        key = json.dumps([constraint.schema, constraint.allow_text], sort_keys=True, default=str)
        checker = checkers.get(key)
        if checker is None:
            checker = checkers[key] = JsonPrefixChecker.for_constraint(constraint)
        out.append(ConstrainedReply(checker, texts, sorted(stop_ids)))
    return out


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
    return out.logits[:, -1].float(), out.past_key_values


def _generate_batch(model: Any, tokenizer: Any, prompts: Sequence[Sequence[int]], choosers: Sequence[_Chooser],
                    settings: _Settings, keep_last: bool) -> list[Generation]:
    import torch

    device = next(model.parameters()).device
    rows = len(prompts)
    width = max(len(p) for p in prompts)
    input_ids = torch.full((rows, width), settings.pad_id, dtype=torch.long)
    attention = torch.zeros((rows, width), dtype=torch.long)
    for row, prompt in enumerate(prompts):
        input_ids[row, width - len(prompt):] = torch.tensor(prompt, dtype=torch.long)
        attention[row, width - len(prompt):] = 1
    positions = (attention.cumsum(-1) - 1).clamp(min=0)  # padding does not shift a row's positions
    input_ids, attention, positions = input_ids.to(device), attention.to(device), positions.to(device)
    logits, cache = _last_logits(model, keep_last, input_ids=input_ids, attention_mask=attention,
                                 position_ids=positions)
    next_position = positions[:, -1] + 1
    generated: list[list[int]] = [[] for _ in range(rows)]
    finished = [False] * rows
    live = list(range(rows))  # the rows still decoding, in the cache's row order
    for step in range(settings.max_new_tokens):
        going: list[int] = []  # slots (positions in ``live``) of the rows that go on
        best = logits.argmax(dim=-1).tolist()
        for slot, row in enumerate(live):
            token = choosers[row].choose(logits[slot], best[slot])
            if token is None:
                continue  # nothing can continue a constrained reply: it ends unfinished
            generated[row].append(token)
            if token in settings.stop_ids:
                finished[row] = True
                continue
            choosers[row].taken(token)
            going.append(slot)
        if not going or step == settings.max_new_tokens - 1:
            break
        if len(going) < len(live):  # stopped rows leave the batch and the cache
            index = torch.tensor(going, device=device)
            cache.batch_select_indices(index)
            attention, next_position = attention[index], next_position[index]
            live = [live[slot] for slot in going]
        attention = torch.cat([attention, attention.new_ones((len(live), 1))], dim=1)
        feed = torch.tensor([generated[row][-1] for row in live], device=device)[:, None]
        logits, cache = _last_logits(model, keep_last, input_ids=feed, attention_mask=attention,
                                     position_ids=next_position[:, None], past_key_values=cache)
        next_position = next_position + 1
    return [_finish(tokenizer, generated[row], finished[row]) for row in range(rows)]


def generate(model: Any, tokenizer: Any, rendered: Sequence[Rendered], *, max_new_tokens: int,
             temperature: float = 0.0, seed: int = 0, batch_size: int = 8, max_seq_len: int = 2048,
             constraints: Sequence[JsonConstraint | None] | None = None,
             progress: ProgressFn = None) -> list[Generation]:
    """The model's reply to each rendering's prompt, in input order (see the module notes).

    ``constraints``: one ``JsonConstraint`` (or None) per rendering. Prompts longer than
    ``max_seq_len - max_new_tokens`` lose tokens from the middle, as training cuts them.
    """
    constraints = _check_arguments(rendered, max_new_tokens, temperature, batch_size, constraints)
    settings = _settings(tokenizer, max_new_tokens, temperature, seed)
    prompts = [prompt_ids(r, tokenizer, max_seq_len, reserve=max_new_tokens) for r in rendered]
    replies = _constrained_replies(tokenizer, constraints, settings.stop_ids)
    choosers = [_Chooser(settings, index, reply) for index, reply in enumerate(replies)]
    keep_last = _accepts_logits_to_keep(model)
    order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))  # longest first: peak memory shows early
    results: list[Generation | None] = [None] * len(prompts)
    with inference_mode(model):
        for start in range(0, len(order), batch_size):
            batch = order[start:start + batch_size]
            outputs = _generate_batch(model, tokenizer, [prompts[i] for i in batch], [choosers[i] for i in batch],
                                      settings, keep_last)
            for index, output in zip(batch, outputs):
                results[index] = output
            if progress is not None:
                progress(start + len(batch), len(order))
    return [r for r in results if r is not None]


def _constraint_processor(reply: ConstrainedReply, prompt_len: int, top_k: int | None) -> Any:
    """A transformers logits processor that leaves only ``reply``'s candidate tokens (greedy: the
    one it would take), advancing the reply with the token chosen at the previous step."""
    import torch
    from transformers import LogitsProcessor

    class _Narrow(LogitsProcessor):
        def __init__(self) -> None:
            self.read = prompt_len

        def __call__(self, input_ids: Any, scores: Any) -> Any:
            for token in input_ids[0, self.read:].tolist():
                reply.advance(token)
            self.read = input_ids.shape[1]
            candidates = reply.candidates(scores[0].float(), top_k=top_k)
            if not candidates:  # nothing continues the reply: end the turn rather than emit garbage
                candidates = sorted(reply.stop_ids)[:1]
            narrowed = torch.full_like(scores, float("-inf"))
            narrowed[0, candidates] = scores[0, candidates]
            return narrowed

    return _Narrow()


def generate_one_by_one(model: Any, tokenizer: Any, rendered: Sequence[Rendered], *, max_new_tokens: int,
                        temperature: float = 0.0, seed: int = 0, batch_size: int = 8, max_seq_len: int = 2048,
                        constraints: Sequence[JsonConstraint | None] | None = None,
                        progress: ProgressFn = None) -> list[Generation]:
    """The naive baseline: transformers' ``model.generate`` on one prompt at a time (``batch_size``
    is accepted for a signature like ``generate``'s and ignored). Sampling seeds torch's global
    generator with ``seed`` and the input index inside a forked RNG state, so the caller's random
    state is untouched; its samples differ from ``generate``'s (another random stream). Where a
    constraint leaves no token at all, the baseline ends the turn (``generate`` stops the reply
    unfinished instead)."""
    import torch
    from transformers import LogitsProcessorList

    constraints = _check_arguments(rendered, max_new_tokens, temperature, batch_size, constraints)
    settings = _settings(tokenizer, max_new_tokens, temperature, seed)
    replies = _constrained_replies(tokenizer, constraints, settings.stop_ids)
    sampling = settings.temperature > 0
    decoding: dict[str, Any] = (
        {"do_sample": True, "temperature": settings.temperature, "top_k": SAMPLING_TOP_K, "top_p": 1.0}
        if sampling else {"do_sample": False, "temperature": None, "top_k": None, "top_p": None}
    )
    device = next(model.parameters()).device
    results: list[Generation] = []
    with inference_mode(model):
        for index, (item, reply) in enumerate(zip(rendered, replies)):
            ids = prompt_ids(item, tokenizer, max_seq_len, reserve=max_new_tokens)
            processors = LogitsProcessorList(
                [_constraint_processor(reply, len(ids), SAMPLING_TOP_K if sampling else None)] if reply else [])
            with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
                torch.manual_seed((seed * 1_000_003 + index) % (2**63))
                output = model.generate(
                    input_ids=torch.tensor([ids], device=device),
                    attention_mask=torch.ones((1, len(ids)), dtype=torch.long, device=device),
                    max_new_tokens=max_new_tokens, eos_token_id=sorted(settings.stop_ids),
                    pad_token_id=settings.pad_id, logits_processor=processors, **decoding,
                )
            new = output[0, len(ids):].tolist()
            results.append(_finish(tokenizer, new, bool(new) and new[-1] in settings.stop_ids))
            if progress is not None:
                progress(index + 1, len(rendered))
    return results


__all__ = ["Generation", "generate", "generate_one_by_one"]
