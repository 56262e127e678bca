"""Label scoring: the log-likelihood of every candidate label as the reply to each prompt.

For a prompt and a label, the label's log-probability is the sum of the log-probabilities of its
trained tokens - the label and the template's end-of-turn token, exactly as training encodes the
reply (``prompts.reply_ids``) - each given the prompt and the label's earlier tokens. That is what
a plain forward pass over ``prompt + label`` and a log-softmax of its logits give; the tests hold
``score_labels`` to it. A softmax over the labels' log-probabilities gives one probability per
label (the model's belief restricted to the allowed answers), the argmax label and its confidence.

How it is computed (one forward per example at most, the prompt once for all its labels):

- every label of an example shares one row: ``prompt + label_1 + label_2 + ...`` (without each
  label's last token, which is only ever predicted). A 4-D attention mask lets each label's tokens
  see the prompt and their own earlier tokens only, and position ids restart at the prompt's end
  for every label, so each label is scored exactly as if it followed the prompt alone. The first
  token of every label is predicted from the prompt's last position.
- the output head runs only at those positions (about two per label), never over the whole row.
- the template prefix the prompts of a batch share (system prompt, instruction, label list) runs
  once, for the whole call when every prompt shares it: rows attend to its cached keys and values.
- several examples per forward (rows right-padded; padding is a block of its own), sorted by
  length; an example with very many labels (hundreds of intents) spreads them over several rows.

Prompts are cut, when too long, with room for the longest label (``prompts.fit_prompt``), so all
labels are scored on the same prompt. The model runs in eval mode without gradients, as it is
(a peft model with its adapters on, or a plain model); float32 on CPU is exact to ~1e-5.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np

from brewslm.base_models.kv_cache import cache_argument, output_cache
from brewslm.errors import ConfigError
from brewslm.inference.batching import MIN_SHARED_PREFIX
from brewslm.inference.forward import (
    block_mask_for,
    body_and_head,
    causal_lm,
    last_hidden,
    scale_logits,
    unbounded_cache,
)
from brewslm.inference.prompts import (
    ProgressCounter,
    ProgressFn,
    fit_prompt,
    full_prompt_ids,
    inference_mode,
    pad_token_id,
    reply_ids,
    reply_suffix,
)
from brewslm.tasks.rendering import Rendered

MAX_ROW_LABEL_TOKENS = 512
"""Label tokens one row holds; an example whose labels need more spreads them over several rows
(each repeats the prompt), which keeps rows - and the padding of their batch - short."""

MAX_HEAD_POSITIONS = 1024
"""Positions one forward runs the output head on: bounds the (positions x vocabulary) float32
logits (200 MB for a 49k vocabulary) when examples have many labels."""


@dataclass(frozen=True)
class LabelScores:
    """One example's scores over the candidate labels (in the order they were given)."""

    logprobs: dict[str, float]  # label -> summed log-prob of the label's tokens + end-of-turn token
    probabilities: dict[str, float]  # softmax over the labels' logprobs (sums to 1)
    best: str  # the most likely label (the first one on a tie)
    confidence: float  # probabilities[best]

    @classmethod
    def from_logprobs(cls, logprobs: Mapping[str, float]) -> "LabelScores":
        values = {label: float(v) for label, v in logprobs.items()}
        top = max(values.values())
        weights = {label: math.exp(v - top) for label, v in values.items()}
        total = sum(weights.values())
        probabilities = {label: w / total for label, w in weights.items()}
        best = max(values, key=lambda label: values[label])  # max() keeps the first of equal values
        return cls(values, probabilities, best, probabilities[best])

    def to_dict(self) -> dict[str, Any]:
        """The predictions file's ``scores``."""
        return {"logprobs": self.logprobs, "probabilities": self.probabilities, "confidence": self.confidence}


@dataclass(frozen=True)
class _Row:
    """One forward row: an example's prompt followed by some of its labels."""

    example: int
    prompt: tuple[int, ...]
    labels: tuple[tuple[int, tuple[int, ...]], ...]  # (label index, the label's trained tokens)

    @property
    def fed_tokens(self) -> int:
        return sum(len(tokens) - 1 for _, tokens in self.labels)

    @property
    def head_positions(self) -> int:
        return 1 + self.fed_tokens  # the prompt's last position + every fed label token

    def __len__(self) -> int:
        return len(self.prompt) + self.fed_tokens


def check_labels(labels: Sequence[str]) -> list[str]:
    labels = [str(label) for label in labels]
    if not labels:
        raise ConfigError("label scoring needs at least one candidate label; the dataset manifest lists none")
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise ConfigError(f"candidate labels repeat: {', '.join(repeated)}; each label must be listed once")
    return labels


def _label_tokens(rendered: Sequence[Rendered], tokenizer: Any, labels: list[str]) -> list[list[list[int]]]:
    """Every label's trained tokens for every example. Prompts whose template appends the same
    end-of-turn text to any reply (every common template) share one tokenisation of the labels,
    made the exact way for the first of them; others are tokenised one by one."""
    by_suffix: dict[str, list[list[int]]] = {}
    out = []
    for item in rendered:
        suffix = reply_suffix(item, tokenizer)
        if suffix is None:
            out.append(reply_ids(item, tokenizer, labels))
            continue
        if suffix not in by_suffix:
            by_suffix[suffix] = reply_ids(item, tokenizer, labels)
        out.append(by_suffix[suffix])
    return out


def _rows(example: int, prompt: list[int], tokens: list[list[int]]) -> list[_Row]:
    rows: list[_Row] = []
    group: list[tuple[int, tuple[int, ...]]] = []
    fed = 0
    for index, label_tokens in enumerate(tokens):
        need = len(label_tokens) - 1
        if group and fed + need > MAX_ROW_LABEL_TOKENS:
            rows.append(_Row(example, tuple(prompt), tuple(group)))
            group, fed = [], 0
        group.append((index, tuple(label_tokens)))
        fed += need
    rows.append(_Row(example, tuple(prompt), tuple(group)))
    return rows


def _batches(rows: list[_Row], batch_size: int) -> list[list[_Row]]:
    """Rows longest first, cut into batches of at most ``batch_size`` rows and
    ``MAX_HEAD_POSITIONS`` head positions (a single larger row still gets a batch of its own)."""
    ordered = sorted(rows, key=len, reverse=True)
    batches: list[list[_Row]] = []
    current: list[_Row] = []
    positions = 0
    for row in ordered:
        if current and (len(current) >= batch_size or positions + row.head_positions > MAX_HEAD_POSITIONS):
            batches.append(current)
            current, positions = [], 0
        current.append(row)
        positions += row.head_positions
    if current:
        batches.append(current)
    return batches


def common_prefix(prompts: Sequence[Sequence[int]]) -> tuple[int, ...]:
    """The longest token prefix all prompts share, ending before the shortest prompt's last token
    (whose position predicts the first label token), or () when shorter than ``MIN_SHARED_PREFIX``."""
    if not prompts:
        return ()
    first = prompts[0]
    length = min(len(p) for p in prompts) - 1
    for other in prompts[1:]:
        same = 0
        while same < length and other[same] == first[same]:
            same += 1
        length = same
    return tuple(first[:length]) if length >= MIN_SHARED_PREFIX else ()


class _PrefixCache:
    """The keys/values of a shared prefix, computed once and kept while the next batches share it."""

    def __init__(self, body: Any, device: Any):
        self.body = body
        self.device = device
        self.tokens: tuple[int, ...] = ()
        self.cache: Any = None

    def for_rows(self, prefix: tuple[int, ...], rows: int) -> Any:
        import torch

        if prefix != self.tokens:
            ids = torch.tensor([prefix], dtype=torch.long, device=self.device)
            # every prefix position kept: the rows' mask spans all of them, sliding layers too
            self.cache = output_cache(
                self.body(input_ids=ids, **cache_argument(self.body, unbounded_cache()), use_cache=True)
            )
            self.tokens = prefix
        cache = copy.deepcopy(self.cache)  # batch_repeat_interleave works in place
        cache.batch_repeat_interleave(rows)
        return cache


@dataclass
class _Layout:
    """A batch's rows as arrays: tokens, positions, which block each token belongs to (0: the
    prompt, k: the row's k-th label, -1: padding), the positions the head runs on, and per target
    token the head position it is read at, the token, and its owner ``example * n_labels + label``."""

    ids: np.ndarray
    positions: np.ndarray
    blocks: np.ndarray
    head_rows: list[int] = field(default_factory=list)
    head_cols: list[int] = field(default_factory=list)
    target_head: list[int] = field(default_factory=list)
    target_tokens: list[int] = field(default_factory=list)
    target_owner: list[int] = field(default_factory=list)

    def read_at(self, row: int, col: int) -> int:
        self.head_rows.append(row)
        self.head_cols.append(col)
        return len(self.head_rows) - 1


def _layout(batch: list[_Row], shared: int, pad_id: int, n_labels: int) -> _Layout:
    """Rows after their first ``shared`` tokens (the cached prefix), right-padded."""
    width = max(len(row) for row in batch) - shared
    shape = (len(batch), width)
    out = _Layout(
        np.full(shape, pad_id, dtype=np.int64),
        np.full(shape, shared, dtype=np.int64),
        np.full(shape, -1, dtype=np.int64),
    )
    for r, row in enumerate(batch):
        own = row.prompt[shared:]
        out.ids[r, : len(own)] = own
        out.positions[r, : len(own)] = np.arange(shared, len(row.prompt))
        out.blocks[r, : len(own)] = 0
        prompt_last = out.read_at(r, len(own) - 1)  # predicts every label's first token
        cursor = len(own)
        for k, (label, tokens) in enumerate(row.labels, start=1):
            fed = len(tokens) - 1
            out.ids[r, cursor : cursor + fed] = tokens[:-1]
            out.positions[r, cursor : cursor + fed] = np.arange(len(row.prompt), len(row.prompt) + fed)  # restart
            out.blocks[r, cursor : cursor + fed] = k
            for j, token in enumerate(tokens):
                out.target_head.append(prompt_last if j == 0 else out.read_at(r, cursor + j - 1))
                out.target_tokens.append(token)
                out.target_owner.append(row.example * n_labels + label)
            cursor += fed
    return out


def _attention_mask(blocks: np.ndarray, shared: int) -> Any:
    """(rows, 1, T, shared + T) boolean mask: every token sees the cached prefix, the prompt sees
    the prompt causally, a label's tokens see the prompt and their own earlier tokens."""
    import torch

    rows_n, width = blocks.shape
    block = torch.from_numpy(blocks)
    allowed = (block[:, None, :] == block[:, :, None]) | (block[:, None, :] == 0)
    allowed &= torch.ones(width, width, dtype=torch.bool).tril()
    if shared:
        allowed = torch.cat([torch.ones(rows_n, width, shared, dtype=torch.bool), allowed], dim=2)
    return allowed[:, None]


def _forward(
    model: Any, batch: list[_Row], prefix: tuple[int, ...], prefix_cache: _PrefixCache, pad_id: int, n_labels: int
) -> tuple[np.ndarray, np.ndarray]:
    """Summed label log-probabilities of one batch: (owners ``example * n_labels + label``, their
    log-probs), each owner once."""
    import torch

    body, head = body_and_head(model)
    device = next(model.parameters()).device
    layout = _layout(batch, len(prefix), pad_id, n_labels)
    positions = torch.from_numpy(layout.positions).to(device)
    key_positions = torch.cat([torch.arange(len(prefix), device=device).expand(len(batch), -1), positions], dim=1)
    # in the form the attention implementation reads, cut to the window on sliding-window layers
    mask = block_mask_for(body, _attention_mask(layout.blocks, len(prefix)).to(device), positions, key_positions)
    inputs = {"input_ids": torch.from_numpy(layout.ids).to(device), "attention_mask": mask, "position_ids": positions}
    if prefix:
        out = body(**inputs, **cache_argument(body, prefix_cache.for_rows(prefix, len(batch))), use_cache=True)
    else:
        out = body(**inputs, use_cache=False)

    def index(values: Sequence[int]) -> Any:
        return torch.tensor(values, dtype=torch.long, device=device)

    hidden = last_hidden(out)[index(layout.head_rows), index(layout.head_cols)]
    logprobs = torch.log_softmax(scale_logits(causal_lm(model), head(hidden)).float(), dim=-1)
    picked = logprobs[index(layout.target_head), index(layout.target_tokens)].double().cpu().numpy()
    owners, inverse = np.unique(np.asarray(layout.target_owner, dtype=np.int64), return_inverse=True)
    sums = np.zeros(len(owners), dtype=np.float64)
    np.add.at(sums, inverse, picked)
    return owners, sums


def _check_attention(model: Any) -> None:
    body, _ = body_and_head(model)
    if "flash" in str(getattr(body.config, "_attn_implementation", "")):
        raise ConfigError(
            "label scoring needs a dense attention mask, which flash attention does not take; "
            "load the model with attn_implementation='sdpa'"
        )


def label_sequences(
    tokenizer: Any,
    rendered: Sequence[Rendered],
    labels: Sequence[str],
    *,
    replies: Sequence[str] | None = None,
    max_seq_len: int = 2048,
) -> list[tuple[list[int], list[list[int]]]]:
    """What label scoring scores, per rendering: its prompt ids (cut, when too long, with room for
    the longest label) and each label's trained tokens (the reply text and the end-of-turn token).
    A label's log-probability is the sum over its tokens given the prompt and its earlier tokens -
    ``score_labels`` computes it in one forward per example; any engine that returns the token
    log-probabilities of ``prompt + label`` gives the same sums."""
    labels = check_labels(labels)
    replies = labels if replies is None else check_labels(replies)
    if len(replies) != len(labels):
        raise ConfigError(f"{len(replies)} reply texts for {len(labels)} labels; give one reply per label")
    rendered = list(rendered)
    if not rendered:
        return []
    label_tokens = _label_tokens(rendered, tokenizer, replies)
    out = []
    for i, item in enumerate(rendered):
        reserve = max(len(tokens) for tokens in label_tokens[i])
        out.append((fit_prompt(full_prompt_ids(item, tokenizer), max_seq_len, reserve), label_tokens[i]))
    return out


def score_labels(
    model: Any,
    tokenizer: Any,
    rendered: Sequence[Rendered],
    labels: Sequence[str],
    *,
    replies: Sequence[str] | None = None,
    max_seq_len: int = 2048,
    batch_size: int = 8,
    progress: ProgressFn = None,
) -> list[LabelScores]:
    """Scores of every label in ``labels`` as the reply to each rendering's prompt (see the module
    notes), in the order of ``rendered``. ``replies``: the text a model gives for each label, when
    it is not the label itself (``RenderContext.reply_text``: ``card arrival`` for
    ``card_arrival``); those texts are scored, the results are keyed by the labels."""
    labels = check_labels(labels)
    rendered = list(rendered)
    sequences = label_sequences(tokenizer, rendered, labels, replies=replies, max_seq_len=max_seq_len)
    if not rendered:
        return []
    _check_attention(model)
    rows: list[_Row] = []
    for i, (prompt, label_tokens) in enumerate(sequences):
        rows.extend(_rows(i, prompt, label_tokens))
    pad_id = pad_token_id(tokenizer)
    everywhere = common_prefix([row.prompt for row in rows])
    counter = ProgressCounter(np.bincount([row.example for row in rows], minlength=len(rendered)).tolist(), progress)
    totals = np.zeros(len(rendered) * len(labels), dtype=np.float64)
    with inference_mode(model):
        prefix_cache = _PrefixCache(body_and_head(model)[0], next(model.parameters()).device)
        for batch in _batches(rows, max(1, batch_size)):
            # a prefix only some prompts share pays within a batch of several rows
            prefix = everywhere or (common_prefix([row.prompt for row in batch]) if len(batch) > 1 else ())
            owners, sums = _forward(model, batch, prefix, prefix_cache, pad_id, len(labels))
            totals[owners] += sums
            counter.finish([row.example for row in batch])
    table = totals.reshape(len(rendered), len(labels))
    return [LabelScores.from_logprobs(dict(zip(labels, values.tolist()))) for values in table]


__all__ = [
    "MAX_HEAD_POSITIONS",
    "MAX_ROW_LABEL_TOKENS",
    "LabelScores",
    "check_labels",
    "common_prefix",
    "label_sequences",
    "score_labels",
]
