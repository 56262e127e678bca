"""Training: completion-only SFT with LoRA or full fine-tuning, from an imported dataset.

    from brewslm.training import load_config, train, export_merged
    result = train(load_config("train.yaml", overrides=["lora.r=8"], dataset="reviews"))
    export_merged(result.run_dir, "reviews-merged")

Modules: ``config`` (TrainConfig), ``encoding`` (chat template -> ids + trained mask), ``data``
(examples, class balance, batch plans, collation), ``model`` (base, LoRA, precision, completion-only
loss), ``objective`` (the loss interface; SFT in ``sft``, DPO/ORPO in ``preference``), ``loop``
(the training loop), ``checkpoint`` (exact resume), ``memory`` (out-of-memory pre-check),
``report`` (progress, metrics, loss curve, MLflow), ``run`` (run folder), ``merge`` (a run merged into a standalone model folder).
"""

from brewslm.storage.run_records import read_run
from brewslm.training.config import TrainConfig, build_config, load_config, update_config
from brewslm.training.loop import TrainResult, train
from brewslm.training.merge import export_merged, load_trained
from brewslm.training.run import render_context_of

__all__ = [
    "TrainConfig",
    "TrainResult",
    "build_config",
    "export_merged",
    "load_config",
    "load_trained",
    "read_run",
    "render_context_of",
    "train",
    "update_config",
]
