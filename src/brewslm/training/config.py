"""Every training option, in one typed object shared by the CLI, the Python API and the web UI.

    config = load_config("train.yaml", overrides=["lora.r=8", "epochs=2"], dataset="reviews")

``TrainConfig`` is a pydantic model with ``extra="forbid"``: an unknown key is a ``ConfigError``
that suggests the closest known option ("unknown option 'learning_rte'; did you mean
'learning_rate'?"). Each field's description is its help text (``describe_options``). Overrides are
``key=value`` strings, dotted for nested sections (``lora.r=8``, ``early_stopping.patience=3``);
values are read as YAML scalars/lists (``8``, ``true``, ``null``, ``[q_proj, v_proj]``).

The option machinery (YAML file + fields + overrides, did-you-mean, one-line errors, help text) is
``brewslm.options``, generic over any ``OptionsModel``; ``load_config`` / ``build_config`` /
``update_config`` are its ``TrainConfig`` forms.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar, Iterable, Literal, Mapping, Optional, Union

from pydantic import Field, field_validator, model_validator

from brewslm.inference.chat_templates import check_choice
from brewslm.options import OptionsModel, build_options, load_options, update_options

Method = Literal["lora", "full", "dpo", "orpo"]
PREFERENCE_METHODS = ("dpo", "orpo")


def check_run_name(name: str) -> str:
    """``name`` when it is one folder name (the run goes to ``<BREWSLM_HOME>/runs/<name>``); a
    separator, ``..`` or an absolute path would put the run folder anywhere, so those are a
    ``ValueError`` (a path is what ``output_dir`` is for)."""
    if not name.strip() or name in (".", "..") or any(c in name for c in "/\\\0"):
        raise ValueError(
            f"a run name is one folder name under <BREWSLM_HOME>/runs, not a path ({name!r}); "
            "to put the run elsewhere, set output_dir"
        )
    return name


Tracker = Literal["mlflow", "tensorboard", "wandb"]
TRACKER_NAMES: tuple[str, ...] = ("mlflow", "tensorboard", "wandb")


class TrackingOptions(OptionsModel):
    """Experiment tracking options, shared by the training, evaluation and recipe configs (their
    ``--help`` lists them last). ``brewslm.training.tracking`` does the logging."""

    options_last: ClassVar[tuple[str, ...]] = (
        "report_to",
        "mlflow",
        "mlflow_tracking_uri",
        "mlflow_experiment",
        "tensorboard_dir",
        "wandb_project",
        "wandb_mode",
    )

    report_to: list[Tracker] = Field(
        default_factory=list,
        description="Experiment trackers to log to, any of mlflow, tensorboard, wandb (a list, or one name; 'all' or "
        "'none'): parameters, metrics by step, evaluation metrics with intervals, and the files (config, loss curve, "
        "report, LoRA adapter). A tracker failure is one warning line and the run goes on.",
    )
    mlflow: bool = Field(False, description="Shorthand for adding mlflow to report_to.")
    mlflow_tracking_uri: Optional[str] = Field(
        None, description="MLflow tracking URI (unset: MLFLOW_TRACKING_URI, else sqlite:///<BREWSLM_HOME>/mlflow.db)."
    )
    mlflow_experiment: str = Field("brewslm", description="MLflow experiment name.")
    tensorboard_dir: Optional[str] = Field(
        None,
        description="Folder of TensorBoard event files, one sub-folder per run "
        "(unset: <run or evaluation folder>/tensorboard).",
    )
    wandb_project: str = Field("brewslm", description="Weights & Biases project.")
    wandb_mode: Optional[Literal["online", "offline"]] = Field(
        None,
        description="W&B mode (unset: WANDB_MODE, else online when WANDB_API_KEY is set, else offline under "
        "<run or evaluation folder>/wandb, to upload later with `wandb sync`).",
    )

    @field_validator("report_to", mode="before")
    @classmethod
    def _names(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, str):  # "tensorboard", "mlflow,wandb", "all", "none"
            value = [part.strip() for part in value.split(",") if part.strip()]
        if isinstance(value, (list, tuple)):
            names = [str(v).strip().lower() for v in value]
            if "all" in names:
                return list(TRACKER_NAMES)
            return [name for name in names if name != "none"]
        return value

    @property
    def trackers(self) -> list[str]:
        """The trackers to open, in a fixed order, once each (``mlflow: true`` adds mlflow)."""
        named = set(self.report_to) | ({"mlflow"} if self.mlflow else set())
        return [name for name in TRACKER_NAMES if name in named]


class LoraConfig(OptionsModel):
    r: int = Field(16, ge=1, description="LoRA rank.")
    alpha: float = Field(32.0, gt=0, description="LoRA scaling numerator (the update is scaled by alpha / r).")
    dropout: float = Field(0.0, ge=0, lt=1, description="Dropout on the LoRA branch input (0 skips the dropout op).")
    target_modules: Union[str, list[str]] = Field(
        "all-linear",
        description="Linear layers that get adapters: 'all-linear' (every linear layer but the output head) or a "
        "list of module names such as [q_proj, v_proj].",
    )


LOWER_IS_BETTER_HINTS = ("loss", "error", "ece", "perplexity", "nll")  # metric names where smaller wins


def metric_mode(name: str, mode: Optional[str] = None) -> str:
    """ "min" or "max": ``mode`` when given, else read from the metric's name (losses, error rates,
    calibration error and perplexity fall; accuracies, F1 and the like rise)."""
    if mode is not None:
        return mode
    return "min" if any(hint in name.lower() for hint in LOWER_IS_BETTER_HINTS) else "max"


class EarlyStoppingConfig(OptionsModel):
    patience: Optional[int] = Field(
        None, ge=1, description="Stop after this many validation passes without improvement (unset: never stop early)."
    )
    min_delta: float = Field(
        0.0, ge=0, description="The watched metric must improve by more than this to count as better."
    )
    metric: str = Field(
        "eval_loss",
        description="What 'improvement' means: eval_loss (the validation loss), or a task metric the evaluation "
        "handler reports on the validation split (macro_f1, f1, field_accuracy, call_accuracy...). With a task "
        "metric the model kept at the end is the best one by it, even without patience.",
    )
    mode: Optional[Literal["min", "max"]] = Field(
        None,
        description="min or max: whether a smaller or larger metric is better (unset: min for names with loss, "
        "error, ece, perplexity or nll in them, else max).",
    )

    @field_validator("metric")
    @classmethod
    def _metric_named(cls, name: str) -> str:
        if not name.strip():
            raise ValueError("name a metric: eval_loss or a task metric such as macro_f1")
        return name.strip()

    @property
    def watches_task_metric(self) -> bool:
        return self.metric != "eval_loss"

    @property
    def resolved_mode(self) -> str:
        return metric_mode(self.metric, self.mode)


class SearchConfig(OptionsModel):
    enabled: bool = Field(
        False,
        description="Choose learning rate and epochs by successive halving on the validation split before "
        "the final model: every candidate trains briefly, the better third goes on with more epochs.",
    )
    learning_rates: Optional[list[float]] = Field(
        None,
        description="Candidate learning rates (unset: [1e-4, 2e-4, 5e-4] for LoRA, [1e-5, 2e-5, 5e-5] for "
        "full fine-tuning).",
    )
    max_epochs: float = Field(3.0, gt=0, description="Epochs of the last rung; earlier rungs train max_epochs / eta^k.")
    budget_minutes: float = Field(
        30.0,
        gt=0,
        description="Time budget: no trial starts when its estimated time (from the trials so far) would "
        "pass it; the first trial always runs.",
    )
    eta: int = Field(
        3,
        ge=2,
        description="Halving rate: each rung keeps the best 1/eta of the candidates and trains them eta times longer.",
    )
    metric: Optional[str] = Field(
        None,
        description="Validation metric that ranks candidates (unset: the task's headline metric, e.g. macro_f1 "
        "for classification).",
    )
    max_validation_rows: int = Field(
        200,
        ge=1,
        description="Validation rows scored per evaluation (a seeded sample when the split is larger).",
    )

    @field_validator("learning_rates")
    @classmethod
    def _some_rates(cls, rates: Optional[list[float]]) -> Optional[list[float]]:
        if rates is not None and (not rates or any(rate <= 0 for rate in rates)):
            raise ValueError("learning_rates must list one or more positive rates, e.g. [1e-4, 2e-4]")
        return rates


class PreferenceConfig(OptionsModel):
    beta: float = Field(
        0.1,
        gt=0,
        description="DPO: the implicit reward is beta x the log-prob ratio to the reference model; larger "
        "beta keeps the model closer to the reference (TRL's default 0.1).",
    )
    label_smoothing: float = Field(
        0.0,
        ge=0,
        lt=0.5,
        description="DPO: assumed share of pairs whose preference label is wrong (conservative DPO); 0 is plain sigmoid DPO.",
    )
    orpo_lambda: float = Field(
        0.1,
        gt=0,
        description="ORPO: weight of the odds-ratio term added to the chosen reply's NLL (the paper's lambda).",
    )


class DistributedConfig(OptionsModel):
    strategy: Literal["ddp", "fsdp"] = Field(
        "ddp",
        description="How the processes of a torchrun / accelerate launch share a run: ddp (each holds the whole model, "
        "gradients are summed across processes every step) or fsdp (weights, gradients and optimizer state sharded "
        "across processes per decoder layer, for models whose training state does not fit one device). Either way "
        "batch_size x grad_accum is the global batch and each process trains on its share of every micro-batch's rows.",
    )


class TrainConfig(TrackingOptions):
    """One training run. Defaults suit LoRA on a small model on CPU."""

    options_help: ClassVar[str] = "brewslm train --help"
    options_label: ClassVar[str] = "training config"

    # what to train on and from
    dataset: str = Field(description="Dataset name in the workspace, or the path of a dataset version folder.")
    dataset_version: Optional[int] = Field(None, ge=1, description="Dataset version (unset: the current one).")
    base_model: Optional[str] = Field(
        None,
        description="Base model: a local Hugging Face folder, a .gguf file or a hub id (unset: BREWSLM_BASE_MODEL, else the embedded SmolLM2-135M-Instruct).",
    )
    method: Method = Field(
        "lora", description="lora (adapters), full (all weights), dpo or orpo (preference pairs, with LoRA adapters)."
    )
    lora: LoraConfig = Field(default_factory=LoraConfig, description="LoRA settings (methods lora, dpo, orpo).")
    preference: PreferenceConfig = Field(
        default_factory=PreferenceConfig, description="DPO / ORPO settings (methods dpo, orpo)."
    )
    qlora: bool = Field(
        False, description="Load the base model in 4-bit (needs CUDA and bitsandbytes) and train LoRA adapters on it."
    )

    # optimisation
    learning_rate: float = Field(
        2e-4, gt=0, description="Peak learning rate (AdamW); about 2e-5 suits full fine-tuning."
    )
    epochs: float = Field(3.0, gt=0, description="Passes over the training split (fractions allowed).")
    max_steps: Optional[int] = Field(None, ge=1, description="Optimizer steps to run; overrides epochs when set.")
    batch_size: int = Field(8, ge=1, description="Examples per micro-batch.")
    grad_accum: int = Field(
        1, ge=1, description="Micro-batches per optimizer step (effective batch = batch_size x grad_accum)."
    )
    max_seq_len: int = Field(
        1024,
        ge=16,
        description="Longest token sequence; longer prompts lose tokens from the middle, never the whole reply.",
    )
    chat_template: str = Field(
        "model",
        description="Turn format to train with, saved with the run's tokenizer so evaluation, serving and "
        "exports render prompts the same way: model (its own; ChatML when it has none), chatml, llama3, qwen, gemma, "
        "phi (the family's markers must be tokens of the model's vocabulary), or a .jinja file.",
    )
    lr_schedule: Literal["cosine", "linear", "constant"] = Field(
        "cosine", description="Learning-rate decay after warm-up."
    )
    warmup_ratio: float = Field(
        0.03, ge=0, le=1, description="Share of the steps spent warming the learning rate up linearly."
    )
    warmup_steps: Optional[int] = Field(None, ge=0, description="Warm-up steps; overrides warmup_ratio when set.")
    min_lr_ratio: float = Field(
        0.0, ge=0, le=1, description="Where cosine/linear decay ends, as a share of the peak learning rate."
    )
    weight_decay: float = Field(0.0, ge=0, description="AdamW weight decay (not applied to biases and norms).")
    adam_beta1: float = Field(0.9, ge=0, lt=1, description="AdamW beta1.")
    adam_beta2: float = Field(0.999, ge=0, lt=1, description="AdamW beta2.")
    max_grad_norm: Optional[float] = Field(
        1.0, gt=0, description="Clip the gradient norm to this (unset: no clipping)."
    )
    seed: int = Field(0, description="Seed for initialisation, shuffling, dropout and sampling.")

    # data
    batching: Literal["length_grouped", "packed", "padded"] = Field(
        "length_grouped",
        description="length_grouped: shuffled batches of similar length (least padding); packed: several examples per "
        "row with no attention across them; padded: shuffled batches padded to their longest example.",
    )
    prefix_sharing: bool = Field(
        True,
        description="Run the prompt prefix that all rows of a micro-batch share (instructions, tool schemas, system "
        "prompt) once instead of once per row: the same loss and gradients, about twice as fast on templated prompts "
        "(with lora.dropout > 0 the shared part draws one dropout mask for all rows). Not used with "
        "gradient_checkpointing or packed batching.",
    )
    class_balance: Literal["none", "upsample", "downsample"] = Field(
        "none",
        description="Classification only: repeat minority-class examples or drop majority-class ones to equal class counts.",
    )
    max_train_examples: Optional[int] = Field(
        None, ge=1, description="Train on a seeded random sample of N training records, in stored order (unset: all)."
    )
    max_eval_examples: Optional[int] = Field(
        None, ge=1, description="Validate on a seeded random sample of N validation records (unset: all)."
    )

    # evaluation, checkpoints, stopping
    eval_every: Optional[int] = Field(
        None, ge=1, description="Optimizer steps between validation passes (unset: at the end of every epoch)."
    )
    eval_batch_size: Optional[int] = Field(None, ge=1, description="Validation micro-batch size (unset: batch_size).")
    save_every: Optional[int] = Field(
        None, ge=1, description="Optimizer steps between checkpoints (unset: only the final model is saved)."
    )
    keep_checkpoints: int = Field(2, ge=1, description="Checkpoints kept on disk (oldest deleted first).")
    early_stopping: EarlyStoppingConfig = Field(
        default_factory=EarlyStoppingConfig, description="Stop when the validation metric stops improving."
    )
    search: SearchConfig = Field(
        default_factory=SearchConfig, description="Hyper-parameter search on the validation split."
    )
    resume: Optional[str] = Field(
        None,
        description="Continue a run: a checkpoint folder, a run folder (its latest checkpoint) or 'latest' (output_dir's latest).",
    )

    # hardware
    device: Optional[str] = Field(None, description="cpu, cuda, cuda:1... (unset: CUDA when available, else CPU).")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        "auto", description="Compute precision: auto = float32 on CPU, bfloat16 (else float16) autocast on CUDA."
    )
    gradient_checkpointing: bool = Field(
        False, description="Recompute activations in the backward pass: less memory, ~30% slower."
    )
    memory_check: bool = Field(
        True, description="Refuse to start when the estimated memory need exceeds what is available."
    )
    distributed: DistributedConfig = Field(
        default_factory=DistributedConfig,
        description="Several processes (torchrun / accelerate launch); a single process ignores it.",
    )

    # output and reporting
    output_dir: Optional[str] = Field(None, description="Run folder (unset: <BREWSLM_HOME>/runs/<run_name>).")
    run_name: Optional[str] = Field(None, description="Run name (unset: <dataset>-<method>-<timestamp>).")
    log_every: int = Field(
        10, ge=1, description="Optimizer steps between progress lines on stderr (metrics.jsonl gets every step)."
    )

    @field_validator("chat_template")
    @classmethod
    def _known_template(cls, choice: str) -> str:

        return check_choice(choice)

    @field_validator("run_name")
    @classmethod
    def _run_name_is_a_name(cls, name: Optional[str]) -> Optional[str]:
        return name if name is None else check_run_name(name)

    @model_validator(mode="after")
    def _consistent(self) -> "TrainConfig":
        if self.qlora and self.method == "full":
            raise ValueError("qlora trains LoRA adapters on a 4-bit model; it cannot be combined with method=full")
        if self.distributed.strategy == "fsdp" and self.qlora:
            raise ValueError("qlora's 4-bit weights cannot be sharded by FSDP; use distributed.strategy=ddp with qlora")
        if self.distributed.strategy == "fsdp" and self.dtype == "float16":
            raise ValueError(
                "dtype float16 needs a gradient scaler, which FSDP here does not support; use dtype=bfloat16 "
                "with distributed.strategy=fsdp"
            )
        return self

    @property
    def objective(self) -> str:
        """sft, dpo or orpo: what the loss is (lora and full both mean supervised fine-tuning)."""
        return self.method if self.method in PREFERENCE_METHODS else "sft"

    @property
    def uses_lora(self) -> bool:
        return self.method != "full"

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def to_yaml(self) -> str:
        import yaml

        return yaml.safe_dump(self.to_dict(), sort_keys=False, allow_unicode=True)


def build_config(data: Mapping[str, Any]) -> TrainConfig:
    """Validate a dict of options into a ``TrainConfig``; errors are one-line ``ConfigError``s."""
    return build_options(TrainConfig, data)


def load_config(
    path: str | Path | None = None,
    overrides: Iterable[str] = (),
    **fields: Any,
) -> TrainConfig:
    """Options from a YAML file, then keyword ``fields`` (unset ones, None, are ignored), then
    ``key=value`` overrides, in that order of precedence (later wins)."""
    return load_options(TrainConfig, path, overrides, fields)


def update_config(config: TrainConfig, overrides: Iterable[str] = (), **fields: Any) -> TrainConfig:
    """A copy of ``config`` with fields and overrides applied and validated again."""
    return update_options(config, overrides, fields)


__all__ = [
    "DistributedConfig",
    "EarlyStoppingConfig",
    "LoraConfig",
    "Method",
    "PREFERENCE_METHODS",
    "PreferenceConfig",
    "SearchConfig",
    "TrainConfig",
    "build_config",
    "check_run_name",
    "load_config",
    "metric_mode",
    "update_config",
]
