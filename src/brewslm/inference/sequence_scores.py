"""Sequence scores: the summed log-probability of a rendering's trained tokens (= minus its NLL).

The perplexity strategy (chat_sft, language_modeling) and the preference strategy (dpo) measure how
likely a model finds the reference text, on exactly the tokens training learns from:

- a chat rendering: every trained assistant turn with its end-of-turn token, given the
  conversation before it (``training.encoding.encode``, cut to ``max_seq_len`` as training cuts);
- raw text (language modelling): every token after the first, plus the closing EOS; a text longer
  than ``max_seq_len`` is scored in consecutive windows (``encode_text_windows``: each window's
  first token is the previous window's last, so every token is scored once, with up to
  ``max_seq_len - 1`` tokens of context) and the windows are summed back per record;
- a preference pair (``preference_scores``): prompt + chosen and prompt + rejected, cut together
  the way DPO training cuts them (``preference.truncate_pair``: the same prompt tokens on both
  sides), each side's reply tokens summed;
- plain token ids (``token_logprobs``): every token after the first, one log-probability each,
  and optionally the most likely tokens at each position - what an OpenAI ``/v1/completions``
  request with ``echo`` and ``logprobs`` returns, and what a server in front of another engine
  scores labels with.

The computation is training's own (``ExampleSet``, ``collate``, ``model.target_logprobs``):
examples sorted by length, several per forward, the output head only at the trained positions, the
prompt prefix a batch shares run once. The sums are exact per record (to float rounding), whatever
the batching.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from brewslm.errors import ConfigError
from brewslm.inference.batching import ExampleSet, collate, eval_batches
from brewslm.inference.encoding import EncodedExample, encode, encode_text_windows, truncate_pair
from brewslm.inference.forward import body_and_head, causal_lm, last_hidden, scale_logits, target_logprobs
from brewslm.inference.prompts import ProgressCounter, ProgressFn, inference_mode, pad_token_id
from brewslm.tasks.rendering import Rendered


@dataclass(frozen=True)
class SequenceScore:
    """Summed log-probability (= -NLL) of a rendering's trained tokens, and how many there are."""

    logprob: float
    tokens: int

    @property
    def nll(self) -> float:
        return -self.logprob

    def to_prediction(self) -> dict[str, Any]:
        """The perplexity handlers' prediction: ``{"nll", "tokens"}``."""
        return {"nll": self.nll, "tokens": self.tokens}


@dataclass(frozen=True)
class PreferenceScore:
    """A preference pair's two sequence scores (the replies given the same prompt tokens)."""

    chosen: SequenceScore
    rejected: SequenceScore

    def to_prediction(self, reference: "PreferenceScore | None" = None) -> dict[str, Any]:
        """The dpo handler's prediction; ``reference``: the same pair scored by the reference
        model (the base, adapters disabled), which adds the ``ref_*`` keys the DPO reward needs."""
        out: dict[str, Any] = {
            "chosen_logprob": self.chosen.logprob,
            "rejected_logprob": self.rejected.logprob,
            "chosen_tokens": self.chosen.tokens,
            "rejected_tokens": self.rejected.tokens,
        }
        if reference is not None:
            out["ref_chosen_logprob"] = reference.chosen.logprob
            out["ref_rejected_logprob"] = reference.rejected.logprob
        return out


@dataclass(frozen=True)
class TokenLogprobs:
    """Log-probabilities along one sequence of token ids: ``logprobs[i]`` is that of token
    ``i + 1`` given tokens ``0..i``; ``top[i]``: the ``(token id, log-prob)`` pairs most likely at
    that position, most likely first (empty lists when no top was asked for)."""

    logprobs: list[float]
    top: list[list[tuple[int, float]]]


def token_logprobs(
    model: Any, sequences: Sequence[Sequence[int]], *, top: int = 0, batch_size: int = 8
) -> list[TokenLogprobs]:
    """Teacher-forced log-probabilities of every token after the first of each sequence (plain
    ids, nothing added), in order, with the ``top`` most likely tokens at each position. Rows are
    right-padded and run longest first; the output head runs row by row on its real positions,
    which bounds the (positions x vocabulary) logits to one sequence's."""
    import torch

    if top < 0:
        raise ConfigError(f"top is {top}; ask for 0 or more most likely tokens")
    for number, sequence in enumerate(sequences):
        if len(sequence) < 1:
            raise ConfigError(f"sequence {number} is empty; score at least one token")
    results: list[TokenLogprobs | None] = [None] * len(sequences)
    order = sorted(range(len(sequences)), key=lambda i: len(sequences[i]), reverse=True)
    body, head = body_and_head(model)
    lm = causal_lm(model)
    device = next(model.parameters()).device
    with inference_mode(model):
        for start in range(0, len(order), max(1, batch_size)):
            batch = order[start : start + max(1, batch_size)]
            width = len(sequences[batch[0]])
            ids = torch.zeros((len(batch), width), dtype=torch.long)
            mask = torch.zeros((len(batch), width), dtype=torch.long)
            for row, index in enumerate(batch):
                ids[row, : len(sequences[index])] = torch.tensor(list(sequences[index]), dtype=torch.long)
                mask[row, : len(sequences[index])] = 1
            hidden = last_hidden(body(input_ids=ids.to(device), attention_mask=mask.to(device), use_cache=False))
            for row, index in enumerate(batch):
                n = len(sequences[index])
                if n < 2:
                    results[index] = TokenLogprobs([], [])
                    continue
                logprobs = torch.log_softmax(scale_logits(lm, head(hidden[row, : n - 1])).float(), dim=-1)
                targets = ids[row, 1:n].to(device)
                picked = logprobs.gather(1, targets[:, None])[:, 0].double().cpu().tolist()
                best: list[list[tuple[int, float]]] = [[] for _ in range(n - 1)]
                if top:
                    values, tokens = logprobs.topk(min(top, logprobs.shape[-1]), dim=-1)
                    best = [list(zip(t, v)) for t, v in zip(tokens.cpu().tolist(), values.double().cpu().tolist())]
                results[index] = TokenLogprobs(picked, best)
    return [result for result in results if result is not None]


def score_encoded(
    model: Any,
    encoded: Sequence[EncodedExample],
    owners: Sequence[int],
    records: int,
    pad_id: int,
    *,
    batch_size: int = 8,
    progress: ProgressFn = None,
    unit: int = 1,
) -> list[SequenceScore]:
    """Summed trained-token log-probs of ``encoded`` examples, added up per owner record
    (``owners[i]``: the record of example ``i``, in ``range(records)``). Progress counts
    examples of ``unit`` consecutive records (2: a preference pair's two sequences)."""
    # ExampleSet drops examples with nothing to score; keep the owner of every one it keeps
    kept = [i for i, example in enumerate(encoded) if any(example.trained[1:])]
    examples = ExampleSet.from_encoded([encoded[i] for i in kept])
    owner = np.asarray([owners[i] for i in kept], dtype=np.int64)
    logprobs = np.zeros(records, dtype=np.float64)
    tokens = np.zeros(records, dtype=np.int64)
    counter = ProgressCounter(np.bincount(owner // unit, minlength=-(-records // unit)).tolist(), progress)
    device = next(model.parameters()).device
    with inference_mode(model):
        for item in eval_batches(examples, max(1, batch_size)):
            batch = collate(examples, item, pad_id, share_prefix=True)
            values = target_logprobs(model, batch.to(device)).double().cpu().numpy()
            rows = (batch.target_index // batch.input_ids.shape[1]).numpy()
            target_owner = owner[np.asarray([row[0] for row in item])[rows]]
            np.add.at(logprobs, target_owner, values)
            np.add.at(tokens, target_owner, 1)
            counter.finish([int(owner[row[0]]) // unit for row in item])
    return [SequenceScore(float(lp), int(n)) for lp, n in zip(logprobs, tokens)]


def sequence_scores(
    model: Any,
    tokenizer: Any,
    rendered: Sequence[Rendered],
    *,
    max_seq_len: int = 2048,
    batch_size: int = 8,
    progress: ProgressFn = None,
) -> list[SequenceScore]:
    """One ``SequenceScore`` per rendering, in order (see the module notes)."""
    encoded: list[EncodedExample] = []
    owners: list[int] = []
    for i, item in enumerate(rendered):
        if item.is_chat:
            pieces = [encode(item, tokenizer, max_seq_len)]
        else:
            pieces = encode_text_windows(item.text or "", tokenizer, max_seq_len)
        encoded.extend(pieces)
        owners.extend([i] * len(pieces))
    return score_encoded(
        model, encoded, owners, len(rendered), pad_token_id(tokenizer), batch_size=batch_size, progress=progress
    )


def preference_scores(
    model: Any,
    tokenizer: Any,
    rendered: Sequence[Rendered],
    *,
    max_seq_len: int = 2048,
    batch_size: int = 8,
    progress: ProgressFn = None,
) -> list[PreferenceScore]:
    """Chosen and rejected reply scores of preference renderings (``dpo`` profile: the chosen reply
    is the trained turn, ``Rendered.rejected`` the alternative), in order."""
    encoded: list[EncodedExample] = []
    for item in rendered:
        if item.rejected is None:
            raise ConfigError(
                "preference scoring needs records with a rejected reply (the dpo task profile); "
                "score this dataset with its task's own strategy"
            )
        chosen = encode(item, tokenizer, sys.maxsize)
        rejected = encode(item.with_completion(item.rejected), tokenizer, sys.maxsize)
        encoded.extend(truncate_pair(chosen, rejected, max_seq_len))
    scores = score_encoded(
        model,
        encoded,
        range(len(encoded)),
        len(encoded),
        pad_token_id(tokenizer),
        batch_size=batch_size,
        progress=progress,
        unit=2,
    )
    return [PreferenceScore(scores[2 * i], scores[2 * i + 1]) for i in range(len(rendered))]


__all__ = [
    "PreferenceScore",
    "SequenceScore",
    "TokenLogprobs",
    "preference_scores",
    "score_encoded",
    "sequence_scores",
    "token_logprobs",
]
