"""What the training loop optimises, behind one small interface.

The loop (``brewslm.training.loop``) owns everything that is the same for every objective: model
and adapters, the optimizer and learning-rate schedule, gradient accumulation and clipping,
checkpoints and exact resume, evaluation cadence and early stopping, progress, metrics and the run
folder. An ``Objective`` owns the data and the loss:

    objective.train_examples             # int, examples per epoch (after class balancing)
    objective.plan_epoch(epoch)          # micro-batch descriptors of one epoch (pure in seed, epoch)
    objective.collate(item)              # -> a batch with .to(device), .tokens, .examples
    objective.weight(batch)              # how much the batch counts in the step's normaliser
                                         #   (trained tokens for SFT; pairs for DPO)
    objective.loss(model, batch)         # -> (summed loss tensor, {metric: summed value})
    objective.evaluate(model, precision, shard=(rank, processes))
                                         # -> {"eval_loss": ..., ...} on the validation split
                                         #   (every processes-th batch from rank on; default all)
    objective.eval_count                 # the key of evaluate()'s result that counts what its
                                         #   means are over (merges the shards of several processes)
    objective.report()                   # -> data report for run.json

The step loss is ``sum(loss over micro-batches) / sum(weight over micro-batches)``, so gradient
accumulation and data-parallel processes (``brewslm.training.distributed``) average over tokens,
not over micro-batches.

``build_objective`` picks the implementation from ``config.objective``: ``sft`` is
``brewslm.training.sft.SftObjective``; ``dpo`` and ``orpo`` are built in
``brewslm.training.preference`` (its ``build_objective(config, dataset, profile, context,
tokenizer, model)``), which reuses ``data.plan_epoch``/``collate`` and ``model.target_logprobs``.
``data.collate(..., share_prefix=True)`` lets rows that start alike (a pair's chosen and rejected
sequences, a batch of one template) run their common prefix once.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol

from brewslm.errors import ConfigError
from brewslm.storage.datasets import DatasetVersion
from brewslm.tasks.base import TaskProfile
from brewslm.tasks.rendering import RenderContext
from brewslm.training.config import PREFERENCE_METHODS, TrainConfig


class Objective(Protocol):
    name: str
    train_examples: int
    has_eval: bool
    eval_count: str

    def plan_epoch(self, epoch: int) -> list[Any]: ...

    def collate(self, item: Any) -> Any: ...

    def weight(self, batch: Any) -> int: ...

    def loss(self, model: Any, batch: Any) -> tuple[Any, dict[str, float]]: ...

    def evaluate(self, model: Any, precision: Any, shard: tuple[int, int] = (0, 1)) -> dict[str, float]: ...

    def report(self) -> dict[str, Any]: ...

    def longest_batch(self) -> tuple[int, int, int]:
        """(rows, tokens per row, trained targets) of the largest micro-batch, for the memory check."""
        ...


PREFERENCE_MODULE = "brewslm.training.preference"


def build_objective(
    config: TrainConfig,
    dataset: DatasetVersion,
    profile: TaskProfile,
    context: RenderContext,
    tokenizer: Any,
    model: Any,
) -> Objective:
    if config.objective == "sft":
        from brewslm.training.sft import SftObjective

        return SftObjective(config, dataset, profile, context, tokenizer)
    if config.objective in PREFERENCE_METHODS:
        try:
            module = importlib.import_module(PREFERENCE_MODULE)
        except ModuleNotFoundError as exc:
            if exc.name != PREFERENCE_MODULE:
                raise
            raise ConfigError(
                f"method '{config.method}' is not available in this build: DPO/ORPO is built in {PREFERENCE_MODULE}, "
                "which is not installed; use method=lora or method=full"
            ) from None
        return module.build_objective(config, dataset, profile, context, tokenizer, model)
    raise ConfigError(f"unknown training objective '{config.objective}'")


__all__ = ["Objective", "PREFERENCE_MODULE", "build_objective"]
