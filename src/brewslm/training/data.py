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
from typing import Any, Callable, Iterable, Sequence

import numpy as np

from brewslm.errors import ConfigError
from brewslm.inference.batching import DataReport, ExampleBuilder, ExampleSet, MicroBatch, Row
from brewslm.inference.encoding import encode, encode_text_windows
from brewslm.tasks.base import TaskProfile
from brewslm.tasks.rendering import NotRenderable, RenderContext

MEGABATCH_FACTOR = 50  # length grouping sorts within windows of 50 batches: little padding, still shuffled


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
    builder = ExampleBuilder()
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


__all__ = [
    "MEGABATCH_FACTOR",
    "balance_classes",
    "load_examples",
    "plan_epoch",
    "sample_records",
]
