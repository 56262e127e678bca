"""Preference training on pairs of replies to one prompt: DPO and ORPO.

Both objectives see a pair as two sequences, prompt + chosen reply and prompt + rejected reply,
rendered by the ``dpo`` task profile and tokenised by ``encoding.encode`` (the reply and its
end-of-turn token are the trained positions, the prompt is context). The two sequences of a pair
always share one micro-batch (rows ``2j`` and ``2j + 1``); micro-batches are planned over pairs by
``data.plan_epoch`` (length-grouped by the longer side), so ``batch_size`` counts pairs. A
sequence's log-probability is the sum of its reply tokens' log-probabilities from
``model.target_logprobs``, which runs the output head on reply positions only.

- **DPO** (Rafailov et al., 2023), sigmoid loss: ``-log sigmoid(beta x ((pi_c - ref_c) - (pi_r -
  ref_r)))`` per pair, with optional label smoothing (conservative DPO). The reference
  log-probabilities are computed once, before training, for the train and validation pairs: with
  the LoRA adapters disabled (``model.disable_adapter()``: the base weights are the reference, no
  second copy of the model), or - for a model without adapters - with the weights as they are
  when the objective is built, i.e. before the first step. At step 0 the policy equals the
  reference (LoRA's B matrices start at zero), so every pair's loss starts at log 2.
- **ORPO** (Hong et al., 2024), no reference: the chosen reply's per-token NLL plus ``lambda x
  -log sigmoid(log odds ratio)``, where a reply's odds are ``p / (1 - p)`` with ``p`` its mean
  per-token probability, ``exp(mean log-prob)``.

Losses and metrics are summed over pairs; the loop divides by the step's pair count
(``weight``), so every reported number is a mean per pair.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Iterable, Iterator

import numpy as np

from brewslm.errors import ConfigError
from brewslm.inference.batching import Batch, DataReport, ExampleSet, MicroBatch, collate, eval_batches
from brewslm.inference.encoding import EncodedExample, encode, truncate_pair
from brewslm.inference.forward import target_logprobs
from brewslm.storage.datasets import DatasetVersion
from brewslm.tasks.base import TaskProfile
from brewslm.tasks.rendering import NotRenderable, RenderContext
from brewslm.training.config import PREFERENCE_METHODS, TrainConfig
from brewslm.training.data import plan_epoch, sample_records
from brewslm.training.model import Precision, resolve_precision

PREFERENCE_PROFILE = "dpo"


# --- pairs -----------------------------------------------------------------------------------------


@dataclass
class PairReport:
    """What happened to the records of one split on their way to training pairs."""

    records: int = 0
    pairs: int = 0
    dropped: Counter = field(default_factory=Counter)  # reason -> records that gave no usable pair
    prompt_truncated: int = 0  # pairs whose (shared) prompt lost tokens to fit max_seq_len
    completion_truncated: int = 0  # pairs where a reply lost its end
    tokens: int = 0  # tokens of both sequences of every pair
    trained_tokens: int = 0  # reply tokens of both sides

    def to_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "pairs": self.pairs,
            "dropped": dict(self.dropped),
            "prompt_truncated": self.prompt_truncated,
            "completion_truncated": self.completion_truncated,
            "tokens": self.tokens,
            "trained_tokens": self.trained_tokens,
        }


class PairSet:
    """Tokenised pairs: pair ``i`` is sequence ``2i`` (prompt + chosen) and ``2i + 1`` (prompt +
    rejected) of ``examples``; ``lengths`` are per pair (the longer side)."""

    def __init__(self, examples: ExampleSet, report: PairReport):
        self.examples = examples
        self.report = report
        self.lengths = examples.lengths.reshape(-1, 2).max(axis=1) if len(examples) else np.zeros(0, dtype=np.int64)
        self.reference: np.ndarray | None = None  # (pairs, 2) reference log-probs, DPO only

    def __len__(self) -> int:
        return len(self.lengths)


def _unusable(chosen: EncodedExample, rejected: EncodedExample) -> str | None:
    """Why a truncated pair cannot be trained on, or None."""
    if not any(chosen.trained[1:]) or not any(rejected.trained[1:]):
        return "nothing_trained_after_truncation"
    if chosen.input_ids == rejected.input_ids:
        return "identical_after_truncation"  # the replies differ only past max_seq_len
    return None


def load_pairs(
    records: Iterable[dict[str, Any]],
    profile: TaskProfile,
    context: RenderContext,
    tokenizer: Any,
    max_seq_len: int,
    *,
    limit: int | None = None,
) -> PairSet:
    """Render, tokenise and truncate preference records (streamed) into a ``PairSet``; records
    that yield no usable pair are counted in ``report.dropped`` by reason."""
    report = PairReport()

    def sequences() -> Iterator[EncodedExample]:
        for record in records:
            if limit is not None and report.records >= limit:
                break
            report.records += 1
            try:
                rendered = profile.render(record, context)
            except NotRenderable as exc:
                report.dropped[exc.reason] += 1
                continue
            if rendered.rejected is None:
                raise ConfigError(
                    f"task profile '{profile.id}' renders no rejected reply, so it cannot be trained with DPO/ORPO"
                )
            # encode whole, then cut both sides together
            chosen = encode(rendered, tokenizer, sys.maxsize)
            rejected = encode(rendered.with_completion(rendered.rejected), tokenizer, sys.maxsize)
            chosen, rejected = truncate_pair(chosen, rejected, max_seq_len)
            reason = _unusable(chosen, rejected)
            if reason is not None:
                report.dropped[reason] += 1
                continue
            report.pairs += 1
            report.prompt_truncated += chosen.prompt_truncated > 0 or rejected.prompt_truncated > 0
            report.completion_truncated += chosen.completion_truncated > 0 or rejected.completion_truncated > 0
            yield chosen
            yield rejected

    examples = ExampleSet.from_encoded(sequences(), report=DataReport())  # type: ignore[arg-type]  (streamed once)
    report.tokens, report.trained_tokens = examples.report.tokens, examples.report.trained_tokens
    return PairSet(examples, report)


# --- batches ---------------------------------------------------------------------------------------


@dataclass
class PairBatch:
    """A micro-batch of pairs: ``batch`` rows ``2j`` / ``2j + 1`` are pair ``j``'s chosen / rejected
    sequence; ``target_rows`` gives each target token's row, ``reply_tokens`` the trained tokens per
    row, ``reference`` the pairs' cached reference log-probs (pairs x 2; DPO only)."""

    batch: Batch
    pair_index: Any
    target_rows: Any
    reply_tokens: Any
    reference: Any = None

    @property
    def pairs(self) -> int:
        return int(self.pair_index.shape[0])

    @property
    def tokens(self) -> int:
        return self.batch.tokens

    @property
    def targets(self) -> int:
        return self.batch.targets

    @property
    def examples(self) -> int:
        return self.pairs

    def to(self, device: Any) -> "PairBatch":
        def move(t: Any) -> Any:
            return t.to(device, non_blocking=True) if t is not None else None

        return PairBatch(
            self.batch.to(device),
            self.pair_index,
            move(self.target_rows),
            move(self.reply_tokens),
            move(self.reference),
        )


def collate_pairs(pairs: PairSet, item: MicroBatch, pad_id: int, *, share_prefix: bool = False) -> PairBatch:
    """Tensors for a micro-batch of pair rows ``[(i,), (j,), ...]`` (as ``data.plan_epoch`` plans
    them); ``share_prefix`` runs the prompt prefix common to all rows once (``data.collate``)."""
    import torch

    index = np.asarray([row[0] for row in item], dtype=np.int64)
    sequences = [(int(2 * i + side),) for i in index for side in (0, 1)]
    batch = collate(pairs.examples, sequences, pad_id, share_prefix=share_prefix)
    rows = batch.target_index // batch.input_ids.shape[1]
    reference = None
    if pairs.reference is not None:
        reference = torch.from_numpy(pairs.reference[index].astype(np.float32))
    return PairBatch(batch, torch.from_numpy(index), rows, torch.bincount(rows, minlength=len(sequences)), reference)


def sequence_logprobs(model: Any, batch: PairBatch) -> Any:
    """Summed reply log-probabilities, (pairs x 2): column 0 chosen, column 1 rejected."""
    import torch

    token_logps = target_logprobs(model, batch.batch)
    summed = torch.zeros(2 * batch.pairs, dtype=token_logps.dtype, device=token_logps.device)
    return summed.index_add(0, batch.target_rows, token_logps).view(-1, 2)


@contextlib.contextmanager
def reference_mode(model: Any) -> Iterator[None]:
    """The model as the DPO reference: eval mode (no dropout), LoRA adapters switched off when it
    has any; the previous train/eval mode is restored afterwards."""
    training = model.training
    model.eval()
    disable = getattr(model, "disable_adapter", None)
    try:
        with disable() if callable(disable) else contextlib.nullcontext():
            yield
    finally:
        model.train(training)


def precompute_reference(
    model: Any, pairs: PairSet, pad_id: int, batch_size: int, precision: Precision, *, share_prefix: bool = False
) -> np.ndarray:
    """Reference log-probabilities (pairs x 2, float64) of every pair: one pass, no gradients."""
    import torch

    out = np.zeros((len(pairs), 2), dtype=np.float64)
    with torch.no_grad(), reference_mode(model):
        for item in eval_batches(pairs, batch_size):  # type: ignore[arg-type]  (needs only .lengths)
            batch = collate_pairs(pairs, item, pad_id, share_prefix=share_prefix)
            with precision.autocast():
                logps = sequence_logprobs(model, batch.to(precision.device))
            out[batch.pair_index.numpy()] = logps.double().cpu().numpy()
    return out


# --- losses ----------------------------------------------------------------------------------------


def dpo_loss(policy: Any, reference: Any, beta: float, label_smoothing: float = 0.0) -> tuple[Any, dict[str, Any]]:
    """Per-pair sigmoid DPO losses (pairs,) and per-pair metrics, from summed reply log-probs
    (pairs x 2: chosen, rejected) of the policy and the reference."""
    import torch.nn.functional as F

    ratios = policy - reference
    logits = beta * (ratios[:, 0] - ratios[:, 1])
    losses = -F.logsigmoid(logits) * (1 - label_smoothing) - F.logsigmoid(-logits) * label_smoothing
    rewards = beta * ratios.detach()
    margins = rewards[:, 0] - rewards[:, 1]
    return losses, {
        "rewards/chosen": rewards[:, 0],
        "rewards/rejected": rewards[:, 1],
        "rewards/margins": margins,
        "rewards/accuracies": (margins > 0).float(),
        "logps/chosen": policy[:, 0].detach(),
        "logps/rejected": policy[:, 1].detach(),
    }


def log1mexp(x: Any) -> Any:
    """``log(1 - exp(x))`` for x < 0, accurate on both sides of -log 2 (Maechler, 2012)."""
    import math

    import torch

    x = x.clamp(max=-1e-7)  # p = 1 exactly would make the odds infinite
    return torch.where(x > -math.log(2), torch.log(-torch.expm1(x)), torch.log1p(-torch.exp(x)))


def orpo_loss(policy: Any, reply_tokens: Any, orpo_lambda: float) -> tuple[Any, dict[str, Any]]:
    """Per-pair ORPO losses (pairs,) and metrics, from summed reply log-probs (pairs x 2) and the
    reply token counts (pairs x 2)."""
    import torch.nn.functional as F

    mean = policy / reply_tokens.clamp(min=1)
    log_odds = (mean[:, 0] - mean[:, 1]) - (log1mexp(mean[:, 0]) - log1mexp(mean[:, 1]))
    nll = -mean[:, 0]
    ratio_loss = -F.logsigmoid(log_odds)
    return nll + orpo_lambda * ratio_loss, {
        "nll": nll.detach(),
        "odds_ratio_loss": ratio_loss.detach(),
        "log_odds_ratio": log_odds.detach(),
        "accuracy": (log_odds.detach() > 0).float(),
        "token_logps/chosen": mean[:, 0].detach(),
        "token_logps/rejected": mean[:, 1].detach(),
    }


# --- the objective ---------------------------------------------------------------------------------


class PreferenceObjective:
    """DPO or ORPO over a ``dpo`` dataset, driven by ``loop.train`` (see ``objective.Objective``)."""

    eval_count = "eval_pairs"  # evaluate()'s means are per pair

    def __init__(
        self,
        config: TrainConfig,
        dataset: DatasetVersion,
        profile: TaskProfile,
        context: RenderContext,
        tokenizer: Any,
        model: Any,
    ):
        check_preference_config(config, dataset, profile)
        self.config = config
        self.name = config.objective
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (tokenizer.eos_token_id or 0)
        train_records = sample_records(dataset.iter_records("train"), config.max_train_examples, config.seed)
        self.train = load_pairs(train_records, profile, context, tokenizer, config.max_seq_len)
        if len(self.train) == 0:
            dropped = ", ".join(f"{n} {reason}" for reason, n in self.train.report.dropped.items()) or "none"
            raise ConfigError(
                f"dataset '{dataset.name}' v{dataset.version} has no usable preference pairs in its train split "
                f"({self.train.report.records} records, dropped: {dropped})"
            )
        if self.train.report.completion_truncated >= len(self.train):
            raise ConfigError(
                f"max_seq_len={config.max_seq_len} is too small to hold any complete reply: all {len(self.train)} "
                "pairs would lose the end of a reply; raise max_seq_len"
            )
        eval_records = sample_records(dataset.iter_records("validation"), config.max_eval_examples, config.seed)
        self.eval = load_pairs(eval_records, profile, context, tokenizer, config.max_seq_len)
        self.indices = np.arange(len(self.train))
        self.reference_info: dict[str, Any] | None = None
        if self.name == "dpo":
            self._compute_reference(model, resolve_precision(config))
        self._plans: dict[int, list[Any]] = {}

    def _compute_reference(self, model: Any, precision: Precision) -> None:
        started = time.perf_counter()
        size = self.config.eval_batch_size or self.config.batch_size
        for pairs in (self.train, self.eval):
            if len(pairs):
                pairs.reference = precompute_reference(
                    model, pairs, self.pad_id, size, precision, share_prefix=self.config.prefix_sharing
                )
        self.reference_info = {
            "model": "base model, adapters disabled"
            if callable(getattr(model, "disable_adapter", None))
            else "initial weights",
            "pairs": len(self.train) + len(self.eval),
            "seconds": round(time.perf_counter() - started, 3),
        }

    # --- data --------------------------------------------------------------------------------

    @property
    def train_examples(self) -> int:
        return len(self.indices)

    @property
    def has_eval(self) -> bool:
        return len(self.eval) > 0

    def plan_epoch(self, epoch: int) -> list[Any]:
        if epoch not in self._plans:
            self._plans = {
                epoch: plan_epoch(
                    self.train.lengths,
                    self.indices,
                    batch_size=self.config.batch_size,
                    batching=self.config.batching,
                    seed=self.config.seed,
                    epoch=epoch,
                    max_seq_len=self.config.max_seq_len,
                )
            }
        return self._plans[epoch]

    def collate(self, item: Any) -> PairBatch:
        share = self.config.prefix_sharing and not self.config.gradient_checkpointing
        return collate_pairs(self.train, item, self.pad_id, share_prefix=share)

    def weight(self, batch: PairBatch) -> int:
        return batch.pairs

    def longest_batch(self) -> tuple[int, int, int]:
        rows = 2 * max(len(item) for item in self.plan_epoch(0))
        width = int(self.train.lengths.max()) - 1
        per_token = self.train.report.trained_tokens / max(self.train.report.tokens, 1)
        return rows, width, int(rows * width * per_token) + rows

    # --- loss --------------------------------------------------------------------------------

    def _pair_losses(self, model: Any, batch: PairBatch) -> tuple[Any, dict[str, Any]]:
        policy = sequence_logprobs(model, batch)
        settings = self.config.preference
        if self.name == "dpo":
            return dpo_loss(policy, batch.reference, settings.beta, settings.label_smoothing)
        return orpo_loss(policy, batch.reply_tokens.view(-1, 2).to(policy.dtype), settings.orpo_lambda)

    def loss(self, model: Any, batch: PairBatch) -> tuple[Any, dict[str, float]]:
        losses, metrics = self._pair_losses(model, batch)
        return losses.sum(), _summed(metrics)

    def measure(self, model: Any, precision: Any, pairs: PairSet, shard: tuple[int, int] = (0, 1)) -> dict[str, float]:
        """Mean loss and metrics per pair of ``pairs`` (``self.train`` or ``self.eval``), without
        gradients; the model is left in eval mode. ``shard=(rank, processes)`` measures every
        ``processes``-th batch from ``rank`` on."""
        import torch

        model.eval()
        total, count = 0.0, 0
        sums: dict[str, float] = {}
        rank, processes = shard
        with torch.no_grad():
            for item in eval_batches(pairs, self.config.eval_batch_size or self.config.batch_size)[rank::processes]:  # type: ignore[arg-type]
                batch = collate_pairs(pairs, item, self.pad_id, share_prefix=self.config.prefix_sharing)
                batch = batch.to(precision.device)
                with precision.autocast():
                    losses, metrics = self._pair_losses(model, batch)
                total += float(losses.sum())
                count += batch.pairs
                for key, value in _summed(metrics).items():
                    sums[key] = sums.get(key, 0.0) + value
        return {"loss": total / max(count, 1), "pairs": count, **{k: v / max(count, 1) for k, v in sums.items()}}

    def evaluate(self, model: Any, precision: Any, shard: tuple[int, int] = (0, 1)) -> dict[str, float]:
        """``measure`` on the validation pairs, every key prefixed ``eval_`` (``eval_loss``...)."""
        if not self.has_eval:
            return {}
        return {f"eval_{key}": value for key, value in self.measure(model, precision, self.eval, shard).items()}

    def report(self) -> dict[str, Any]:
        settings = self.config.preference
        out: dict[str, Any] = {
            "objective": self.name,
            "train": self.train.report.to_dict(),
            "validation": self.eval.report.to_dict(),
        }
        if self.name == "dpo":
            out.update(beta=settings.beta, label_smoothing=settings.label_smoothing, reference=self.reference_info)
        else:
            out.update(orpo_lambda=settings.orpo_lambda)
        return out


def _summed(metrics: dict[str, Any]) -> dict[str, float]:
    """Per-pair metric tensors summed over the batch, read back in one device sync."""
    import torch

    values = torch.stack([value.sum() for value in metrics.values()]).tolist()
    return dict(zip(metrics, values))


def check_preference_config(config: TrainConfig, dataset: DatasetVersion, profile: TaskProfile) -> None:
    """One-line errors for a preference run that cannot work, before anything is tokenised."""
    if config.objective not in PREFERENCE_METHODS:
        raise ConfigError(f"method {config.method} is not a preference method; use dpo or orpo")
    if profile.id != PREFERENCE_PROFILE:
        raise ConfigError(
            f"method {config.method} trains on preference pairs (task profile {PREFERENCE_PROFILE}); dataset "
            f"'{dataset.name}' is {profile.id}; import pairs with the preference_pair mapper"
        )
    if config.batching == "packed":
        raise ConfigError(
            f"batching=packed is not available for method {config.method} (each pair is scored per sequence); "
            "use length_grouped or padded"
        )
    if config.class_balance != "none":
        raise ConfigError(
            f"class_balance={config.class_balance} applies to classification datasets; '{dataset.name}' is {profile.id}"
        )


def build_objective(
    config: TrainConfig,
    dataset: DatasetVersion,
    profile: TaskProfile,
    context: RenderContext,
    tokenizer: Any,
    model: Any,
) -> PreferenceObjective:
    """The DPO / ORPO objective (called by ``objective.build_objective``). DPO's reference
    log-probabilities are computed here, once, before the loop's first step."""
    return PreferenceObjective(config, dataset, profile, context, tokenizer, model)


__all__ = [
    "PairBatch",
    "PairReport",
    "PairSet",
    "PreferenceObjective",
    "build_objective",
    "check_preference_config",
    "collate_pairs",
    "dpo_loss",
    "load_pairs",
    "log1mexp",
    "orpo_loss",
    "precompute_reference",
    "reference_mode",
    "sequence_logprobs",
]
