"""Training data: a dataset split rendered and tokenised once, class balancing, and batch plans.

- ``load_examples`` streams one split through ``profile.render`` and ``encoding.encode`` into an
  ``ExampleSet``: all token ids in one flat int32 array plus offsets (a few bytes per token, no
  Python object per example), with per-example class labels for balancing and a report of what was
  skipped or truncated.
- ``balance_classes`` upsamples minority / downsamples majority classes (seeded, reported).
- ``plan_epoch`` is a pure function of (lengths, seed, epoch): the micro-batches of one epoch, so a
  resumed run rebuilds exactly the batches it had not trained on yet. A micro-batch is a list of
  rows, a row a tuple of example indices (one example per row unless packing).
- ``collate`` turns a micro-batch into tensors for ``model.completion_loss``: inputs, the flat
  positions whose next token is trained, those target tokens, and the length of the prompt prefix
  all rows share (computed once by the model; templated prompts share most of their tokens).

Each example's sequence ends at its last trained token, and that token is only ever a target, never
an input: nothing after the final reply is computed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from brewslm.errors import ConfigError
from brewslm.tasks.base import TaskProfile
from brewslm.tasks.rendering import NotRenderable, RenderContext
from brewslm.training.encoding import EncodedExample, encode, encode_text_windows

MEGABATCH_FACTOR = 50  # length grouping sorts within windows of 50 batches: little padding, still shuffled
MIN_SHARED_PREFIX = 8  # shorter common prefixes are not worth a separate forward pass


@dataclass
class DataReport:
    """What happened to the records of one split on their way to training examples."""

    records: int = 0
    examples: int = 0
    skipped: Counter = field(default_factory=Counter)  # reason -> records without anything to train
    prompt_truncated: int = 0  # examples whose prompt lost tokens
    completion_truncated: int = 0  # examples whose reply lost its end
    text_windows: int = 0  # extra examples from long raw texts split into windows
    tokens: int = 0
    trained_tokens: int = 0
    class_balance: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "examples": self.examples,
            "skipped": dict(self.skipped),
            "prompt_truncated": self.prompt_truncated,
            "completion_truncated": self.completion_truncated,
            "text_windows": self.text_windows,
            "tokens": self.tokens,
            "trained_tokens": self.trained_tokens,
            "class_balance": self.class_balance,
        }


class ExampleSet:
    """Tokenised examples, stored flat: example ``i`` is ``ids[offsets[i]:offsets[i+1]]``."""

    def __init__(
        self, ids: np.ndarray, trained: np.ndarray, offsets: np.ndarray, classes: list[str] | None, report: DataReport
    ):
        self.ids = ids
        self.trained = trained
        self.offsets = offsets
        self.classes = classes  # per-example class label (classification), else None
        self.report = report
        self.lengths = np.diff(offsets).astype(np.int64)

    def __len__(self) -> int:
        return len(self.lengths)

    def example(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        start, end = self.offsets[index], self.offsets[index + 1]
        return self.ids[start:end], self.trained[start:end]

    def input_length(self, index: int) -> int:
        """Tokens fed to the model: every token but the last (which is only a target)."""
        return int(self.lengths[index]) - 1

    @classmethod
    def from_encoded(
        cls, examples: Sequence[EncodedExample], classes: list[str] | None = None, report: DataReport | None = None
    ) -> "ExampleSet":
        builder = _Builder()
        for i, example in enumerate(examples):
            builder.add(example, classes[i] if classes else None)
        return builder.build(report or DataReport(records=len(examples)))


class _Builder:
    def __init__(self) -> None:
        self.ids: list[np.ndarray] = []
        self.trained: list[np.ndarray] = []
        self.lengths: list[int] = []
        self.classes: list[str] = []

    def add(self, example: EncodedExample, label: str | None) -> bool:
        """Keep the example up to its last trained token; False when nothing in it is trained."""
        mask = np.asarray(example.trained, dtype=bool)
        mask[:1] = False  # the first token is never predicted
        hits = np.flatnonzero(mask)
        if hits.size == 0:
            return False
        end = int(hits[-1]) + 1
        self.ids.append(np.asarray(example.input_ids[:end], dtype=np.int32))
        self.trained.append(mask[:end])
        self.lengths.append(end)
        if label is not None:
            self.classes.append(label)
        return True

    def build(self, report: DataReport) -> ExampleSet:
        offsets = np.zeros(len(self.lengths) + 1, dtype=np.int64)
        np.cumsum(self.lengths, out=offsets[1:])
        ids = np.concatenate(self.ids) if self.ids else np.zeros(0, dtype=np.int32)
        trained = np.concatenate(self.trained) if self.trained else np.zeros(0, dtype=bool)
        classes = self.classes if self.classes and len(self.classes) == len(self.lengths) else None
        report.examples = len(self.lengths)
        report.tokens = int(offsets[-1])
        report.trained_tokens = int(trained.sum())
        return ExampleSet(ids, trained, offsets, classes, report)


def load_examples(
    records: Iterable[dict[str, Any]],
    profile: TaskProfile,
    context: RenderContext,
    tokenizer: Any,
    max_seq_len: int,
    *,
    limit: int | None = None,
    class_field: str | None = None,
    on_record: Callable[[int], None] | None = None,
) -> ExampleSet:
    """Render and tokenise ``records`` (streamed) into an ``ExampleSet``.

    Records with nothing to learn (``NotRenderable``) are skipped and counted by reason; long
    raw texts become several windows (every token trained once); other long sequences are
    truncated as ``encoding.truncate`` describes, and counted.
    """
    builder = _Builder()
    report = DataReport()
    for record in records:
        if limit is not None and report.records >= limit:
            break
        report.records += 1
        if on_record is not None:
            on_record(report.records)
        try:
            rendered = profile.render(record, context)
        except NotRenderable as exc:
            report.skipped[exc.reason] += 1
            continue
        label = str(record[class_field]) if class_field else None
        if rendered.is_chat:
            encoded = [encode(rendered, tokenizer, max_seq_len)]
        else:
            encoded = encode_text_windows(rendered.text or "", tokenizer, max_seq_len)
            report.text_windows += len(encoded) - 1
        kept = 0
        for example in encoded:
            report.prompt_truncated += example.prompt_truncated > 0
            report.completion_truncated += example.completion_truncated > 0
            kept += builder.add(example, label)
        if not kept:
            report.skipped["nothing_trained_after_truncation"] += 1
    return builder.build(report)


def sample_records(records: Iterable[dict[str, Any]], limit: int | None, seed: int) -> Iterable[dict[str, Any]]:
    """A seeded random sample of ``limit`` records, kept in their stored order (all of them when
    ``limit`` is None). One streaming pass (reservoir sampling) holds ``limit`` records at most.
    A random sample, not the first N: records a dataset gained later (appended versions, a
    recipe's added negatives) sit at the end and must stay as likely to be picked."""
    if limit is None:
        return records
    rng = np.random.default_rng([seed, 104729])
    reservoir: list[tuple[int, dict[str, Any]]] = []
    for index, record in enumerate(records):
        if index < limit:
            reservoir.append((index, record))
        else:
            slot = int(rng.integers(0, index + 1))
            if slot < limit:
                reservoir[slot] = (index, record)
    return [record for _, record in sorted(reservoir, key=lambda pair: pair[0])]


# --- class balance -----------------------------------------------------------------------------


def balance_classes(classes: Sequence[str], mode: str, seed: int) -> tuple[np.ndarray, dict[str, Any] | None]:
    """Example indices after class balancing, and a report ``{"mode", "before", "after"}``.

    ``upsample``: every class is brought to the largest class's count by repeating its examples
    (whole copies first, then a seeded sample without replacement for the remainder).
    ``downsample``: every class is cut to the smallest class's count (seeded sample).
    ``none``: every example once.
    """
    if mode == "none":
        return np.arange(len(classes)), None
    by_class: dict[str, list[int]] = {}
    for i, label in enumerate(classes):
        by_class.setdefault(label, []).append(i)
    rng = np.random.default_rng([seed, 7919])
    before = {label: len(ix) for label, ix in sorted(by_class.items())}
    target = max(before.values()) if mode == "upsample" else min(before.values())
    chosen: list[np.ndarray] = []
    for label, ix in sorted(by_class.items()):
        members = np.asarray(ix)
        if mode == "upsample":
            copies, rest = divmod(target, len(members))
            picked = np.concatenate([np.tile(members, copies), rng.choice(members, size=rest, replace=False)])
        else:
            picked = np.sort(rng.choice(members, size=target, replace=False))
        chosen.append(picked)
    indices = np.sort(np.concatenate(chosen)) if chosen else np.arange(0)
    after = dict(Counter(classes[i] for i in indices))
    return indices, {"mode": mode, "before": before, "after": {k: after.get(k, 0) for k in before}}


# --- batch plans -------------------------------------------------------------------------------

Row = tuple[int, ...]
MicroBatch = list[Row]


def plan_epoch(
    lengths: np.ndarray,
    indices: np.ndarray,
    *,
    batch_size: int,
    batching: str,
    seed: int,
    epoch: int,
    max_seq_len: int,
) -> list[MicroBatch]:
    """The micro-batches of one epoch, a pure function of its arguments (so resume is exact).

    - ``length_grouped``: shuffle, sort windows of ``MEGABATCH_FACTOR`` batches by length, cut them
      into batches, shuffle the batch order; the batch holding the longest example goes first, so a
      run that would run out of memory does so at once.
    - ``padded``: shuffle and cut.
    - ``packed``: shuffle, then fill rows of up to ``max_seq_len`` input tokens first-fit;
      ``batch_size`` rows per micro-batch.
    """
    rng = np.random.default_rng([seed, epoch])
    order = indices[rng.permutation(len(indices))]
    if batching == "packed":
        rows = _pack(order, lengths, max_seq_len)
        return [rows[i : i + batch_size] for i in range(0, len(rows), batch_size)]
    if batching == "padded":
        return [[(int(i),) for i in order[s : s + batch_size]] for s in range(0, len(order), batch_size)]
    if batching != "length_grouped":
        raise ConfigError(f"unknown batching '{batching}'; use length_grouped, packed or padded")
    window = batch_size * MEGABATCH_FACTOR
    batches: list[np.ndarray] = []
    for start in range(0, len(order), window):
        chunk = order[start : start + window]
        chunk = chunk[np.argsort(-lengths[chunk], kind="stable")]
        batches.extend(chunk[s : s + batch_size] for s in range(0, len(chunk), batch_size))
    if not batches:
        return []
    shuffled = [batches[i] for i in rng.permutation(len(batches))]
    longest = max(range(len(shuffled)), key=lambda b: int(lengths[shuffled[b]].max()))
    shuffled[0], shuffled[longest] = shuffled[longest], shuffled[0]
    return [[(int(i),) for i in batch] for batch in shuffled]


def _pack(order: np.ndarray, lengths: np.ndarray, max_seq_len: int) -> list[Row]:
    """First-fit packing of examples (in the given order) into rows of at most ``max_seq_len``
    input tokens (an example of length n feeds n - 1 tokens)."""
    rows: list[list[int]] = []
    room: list[int] = []
    for i in order:
        need = int(lengths[i]) - 1
        for r, free in enumerate(room):
            if need <= free:
                rows[r].append(int(i))
                room[r] -= need
                break
        else:
            rows.append([int(i)])
            room.append(max_seq_len - need)
    return [tuple(row) for row in rows]


# --- collation ---------------------------------------------------------------------------------


@dataclass
class Batch:
    """One micro-batch as tensors.

    ``input_ids`` (rows x T), right-padded; ``attention_mask`` is None for unpacked batches -
    padding only ever follows the real tokens, so the causal mask alone keeps real tokens from
    seeing it - and a boolean block-diagonal causal mask (rows x 1 x T x T) for packed ones, with
    ``position_ids`` restarting at 0 for every packed example. ``target_index`` are flat positions
    (row * T + t) whose next token is trained and ``target_ids`` those next tokens. ``prefix_len``
    (0: none) is how many leading tokens every row has in common before any row's first target:
    ``model.target_hidden`` runs them once and lets every row attend to their cached keys/values.
    """

    input_ids: Any
    target_index: Any
    target_ids: Any
    attention_mask: Any = None
    position_ids: Any = None
    tokens: int = 0  # real (non-padding) input tokens
    examples: int = 0
    prefix_len: int = 0

    @property
    def targets(self) -> int:
        return int(self.target_ids.shape[0])

    def to(self, device: Any) -> "Batch":
        def move(t: Any) -> Any:
            return t.to(device, non_blocking=True) if t is not None else None

        return Batch(
            move(self.input_ids),
            move(self.target_index),
            move(self.target_ids),
            move(self.attention_mask),
            move(self.position_ids),
            self.tokens,
            self.examples,
            self.prefix_len,
        )


def shared_prefix_length(input_ids: np.ndarray, target_grid: np.ndarray) -> int:
    """Leading tokens all rows have in common, ending before any row's first target position."""
    if input_ids.shape[0] < 2:
        return 0
    same = np.all(input_ids == input_ids[:1], axis=0)
    common = int(np.argmin(same)) if not same.all() else input_ids.shape[1]
    first_targets = np.argmax(target_grid >= 0, axis=1)
    length = min(common, int(first_targets.min()))
    return length if length >= MIN_SHARED_PREFIX else 0


def collate(examples: ExampleSet, batch: MicroBatch, pad_id: int, *, share_prefix: bool = False) -> Batch:
    import torch

    packed = any(len(row) > 1 for row in batch)
    row_inputs: list[np.ndarray] = []
    row_targets: list[np.ndarray] = []  # per row: target token at each input position, -1 = none
    row_positions: list[np.ndarray] = []
    row_segments: list[np.ndarray] = []
    for row in batch:
        inputs, targets, positions, segments = [], [], [], []
        for seg, index in enumerate(row):
            ids, trained = examples.example(index)
            inputs.append(ids[:-1])
            targets.append(np.where(trained[1:], ids[1:], -1))
            positions.append(np.arange(len(ids) - 1))
            segments.append(np.full(len(ids) - 1, seg))
        row_inputs.append(np.concatenate(inputs))
        row_targets.append(np.concatenate(targets))
        row_positions.append(np.concatenate(positions))
        row_segments.append(np.concatenate(segments))
    width = max(len(r) for r in row_inputs)
    n_rows = len(batch)
    input_ids = np.full((n_rows, width), pad_id, dtype=np.int64)
    target_grid = np.full((n_rows, width), -1, dtype=np.int64)
    for r in range(n_rows):
        input_ids[r, : len(row_inputs[r])] = row_inputs[r]
        target_grid[r, : len(row_targets[r])] = row_targets[r]
    flat_targets = target_grid.reshape(-1)
    target_index = np.flatnonzero(flat_targets >= 0)
    out = Batch(
        input_ids=torch.from_numpy(input_ids),
        target_index=torch.from_numpy(target_index),
        target_ids=torch.from_numpy(flat_targets[target_index]),
        tokens=int(sum(len(r) for r in row_inputs)),
        examples=sum(len(row) for row in batch),
        prefix_len=shared_prefix_length(input_ids, target_grid) if share_prefix and not packed else 0,
    )
    if packed:
        positions = np.zeros((n_rows, width), dtype=np.int64)
        segments = np.full((n_rows, width), -1, dtype=np.int64)  # padding: its own block
        for r in range(n_rows):
            positions[r, : len(row_positions[r])] = row_positions[r]
            segments[r, : len(row_segments[r])] = row_segments[r]
        seg = torch.from_numpy(segments)
        same = seg[:, :, None] == seg[:, None, :]
        causal = torch.ones(width, width, dtype=torch.bool).tril()
        out.attention_mask = (same & causal)[:, None, :, :]
        out.position_ids = torch.from_numpy(positions)
    return out


def eval_batches(examples: ExampleSet, batch_size: int) -> list[MicroBatch]:
    """Validation batches: examples sorted by length (least padding), in a fixed order."""
    order = np.argsort(-examples.lengths, kind="stable")
    return [[(int(i),) for i in order[s : s + batch_size]] for s in range(0, len(order), batch_size)]


__all__ = [
    "Batch",
    "DataReport",
    "ExampleSet",
    "MEGABATCH_FACTOR",
    "MIN_SHARED_PREFIX",
    "MicroBatch",
    "balance_classes",
    "collate",
    "eval_batches",
    "load_examples",
    "plan_epoch",
    "sample_records",
    "shared_prefix_length",
]
