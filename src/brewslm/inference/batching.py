"""Tokenised examples stored flat, and batches of them as tensors: what training and sequence
scoring feed a model.

- ``ExampleSet``: all token ids in one flat int32 array plus offsets (a few bytes per token, no
  Python object per example), with per-example class labels and a ``DataReport`` of what happened
  to the records on their way in; ``ExampleSet.from_encoded`` builds one from encoded examples.
- ``collate`` turns a micro-batch (rows of example indices) into tensors for the forward pass
  (``forward.target_hidden``): inputs, the flat positions whose next token is trained, those target
  tokens, and the length of the prompt prefix all rows share (run once by the model).
- ``eval_batches``: examples sorted by length, in a fixed order (least padding).

Each example's sequence ends at its last trained token, and that token is only ever a target, never
an input: nothing after the final reply is computed.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np

from brewslm.inference.encoding import EncodedExample

MIN_SHARED_PREFIX = 8  # shorter common prefixes are not worth a separate forward pass

Row = tuple[int, ...]
MicroBatch = list[Row]


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
        builder = ExampleBuilder()
        for i, example in enumerate(examples):
            builder.add(example, classes[i] if classes else None)
        return builder.build(report or DataReport(records=len(examples)))


class ExampleBuilder:
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
    "MIN_SHARED_PREFIX",
    "MicroBatch",
    "Row",
    "collate",
    "eval_batches",
    "shared_prefix_length",
]
