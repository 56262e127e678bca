"""Supervised fine-tuning: the loss is the cross-entropy of the trained reply tokens only.

``SftObjective`` renders and tokenises the train and validation splits once (``data.load_examples``),
balances classes when asked, plans length-grouped / packed / padded micro-batches per epoch, and
computes the completion-only loss (``model.completion_loss``: the output head runs only at trained
positions). The loop in ``brewslm.training.loop`` drives it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from brewslm.errors import ConfigError
from brewslm.inference.batching import Batch, ExampleSet, collate, eval_batches
from brewslm.storage.datasets import DatasetVersion
from brewslm.tasks.base import TaskProfile
from brewslm.tasks.rendering import RenderContext
from brewslm.training.config import TrainConfig
from brewslm.training.data import balance_classes, load_examples, plan_epoch, sample_records
from brewslm.training.model import completion_loss


class SftObjective:
    name = "sft"
    eval_count = "eval_tokens"  # evaluate()'s means are per trained token

    def __init__(
        self, config: TrainConfig, dataset: DatasetVersion, profile: TaskProfile, context: RenderContext, tokenizer: Any
    ):
        self.config = config
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (tokenizer.eos_token_id or 0)
        class_field = "label" if profile.id == "classification" else None
        if config.class_balance != "none" and class_field is None:
            raise ConfigError(
                f"class_balance={config.class_balance} applies to classification datasets; '{dataset.name}' is {profile.id}"
            )
        train_records = sample_records(dataset.iter_records("train"), config.max_train_examples, config.seed)
        self.train = load_examples(
            train_records, profile, context, tokenizer, config.max_seq_len, class_field=class_field
        )
        if len(self.train) == 0:
            skipped = ", ".join(f"{n} {reason}" for reason, n in self.train.report.skipped.items()) or "none"
            raise ConfigError(
                f"dataset '{dataset.name}' v{dataset.version} has no trainable examples in its train split "
                f"({self.train.report.records} records, skipped: {skipped})"
            )
        check_fits(self.train, config.max_seq_len)
        eval_records = sample_records(dataset.iter_records("validation"), config.max_eval_examples, config.seed)
        self.eval = load_examples(eval_records, profile, context, tokenizer, config.max_seq_len)
        if config.class_balance != "none" and self.train.classes is not None:
            self.indices, balance = balance_classes(self.train.classes, config.class_balance, config.seed)
        else:
            self.indices, balance = np.arange(len(self.train)), None
        self.train.report.class_balance = balance
        self._plans: dict[int, list[Any]] = {}

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

    def collate(self, item: Any) -> Batch:
        share = self.config.prefix_sharing and not self.config.gradient_checkpointing
        return collate(self.train, item, self.pad_id, share_prefix=share)

    def weight(self, batch: Batch) -> int:
        return batch.targets

    def longest_batch(self) -> tuple[int, int, int]:
        plan = self.plan_epoch(0)
        rows = max(len(item) for item in plan)
        if self.config.batching == "packed":
            width = self.config.max_seq_len
        else:
            width = int(self.train.lengths.max()) - 1
        per_token = self.train.report.trained_tokens / max(self.train.report.tokens, 1)
        return rows, width, int(rows * width * per_token) + rows

    # --- loss --------------------------------------------------------------------------------

    def loss(self, model: Any, batch: Batch) -> tuple[Any, dict[str, float]]:
        return completion_loss(model, batch), {}

    def evaluate(self, model: Any, precision: Any, shard: tuple[int, int] = (0, 1)) -> dict[str, float]:
        """Mean cross-entropy per trained token over the validation split (model left in eval mode);
        ``shard=(rank, processes)`` evaluates every ``processes``-th batch from ``rank`` on."""
        import torch

        if not self.has_eval:
            return {}
        model.eval()
        total, count = 0.0, 0
        rank, processes = shard
        with torch.no_grad():
            for item in eval_batches(self.eval, self.config.eval_batch_size or self.config.batch_size)[rank::processes]:
                batch = collate(self.eval, item, self.pad_id, share_prefix=self.config.prefix_sharing).to(
                    precision.device
                )
                with precision.autocast():
                    total += float(completion_loss(model, batch))
                count += batch.targets
        return {"eval_loss": total / max(count, 1), "eval_tokens": count}

    def report(self) -> dict[str, Any]:
        return {"train": self.train.report.to_dict(), "validation": self.eval.report.to_dict()}


def check_fits(examples: ExampleSet, max_seq_len: int) -> None:
    """Refuse a max_seq_len that leaves every example's reply cut short."""
    report = examples.report
    if report.examples and report.completion_truncated >= report.examples:
        raise ConfigError(
            f"max_seq_len={max_seq_len} is too small to hold any complete reply: all {report.examples} examples "
            "would lose the end of their completion; raise max_seq_len"
        )


__all__ = ["SftObjective", "check_fits"]
