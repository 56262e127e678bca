"""The training loop, read top to bottom: config -> checks -> model -> data -> schedule -> loop
(step, log, evaluate, stop early, checkpoint) -> save.

    from brewslm.training import load_config, train
    result = train(load_config("train.yaml", dataset="reviews"))

Everything objective-specific (data, loss, validation metric) sits behind ``objective.Objective``;
everything else - precision, LoRA, AdamW, warm-up + decay, gradient accumulation normalised by the
step's trained-token count, clipping, exact resume, early stopping, progress, metrics, the run
folder and the audit-log events - is here, once, for SFT and preference training alike. Under
torchrun / accelerate launch the same loop runs in every process; ``distributed.Runtime`` shares
each micro-batch's rows, sums normalisers and gradients, and keeps the writes on rank 0.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from brewslm import __version__
from brewslm.base_models import quiet_loading
from brewslm.errors import BrewError, ConfigError
from brewslm.inference.chat_templates import set_chat_template, template_sha256
from brewslm.inference.forward import causal_lm
from brewslm.storage.datasets import DatasetVersion
from brewslm.storage.run_records import CONFIG_FILE
from brewslm.tasks import get_task_profile
from brewslm.tasks.base import TaskProfile
from brewslm.tasks.rendering import RenderContext
from brewslm.training.checkpoint import (
    LoopState,
    check_resume_compatible,
    read_checkpoint_state,
    resolve_resume,
    seed_everything,
)
from brewslm.training.config import TrainConfig
from brewslm.training.distributed import Runtime, adjust_config, start
from brewslm.training.memory import available_memory, check_memory, estimate_memory, model_shape
from brewslm.training.model import (
    Precision,
    apply_method,
    check_base_model,
    check_qlora,
    load_base,
    parameter_counts,
    resolve_precision,
)
from brewslm.training.objective import Objective, build_objective
from brewslm.training.report import MetricsLog, Progress, StderrProgress, plot_loss_curve
from brewslm.training.run import (
    BEST_WEIGHTS,
    LOSS_CURVE,
    METRICS_FILE,
    MODEL_DIR,
    RUN_RECORD,
    RunRecorder,
    now,
    open_training_dataset,
    resolve_run_dir,
)
from brewslm.training.tracking import Trackers, check_trackers_available, open_trackers


@dataclass
class TrainResult:
    """What a finished run produced. ``train_loss`` is the mean loss of the last 10 steps. In a
    multi-process run every process returns the same result but its own ``rank``."""

    run_dir: Path
    model_dir: Path
    steps: int
    epochs: float
    train_loss: float
    final_step_loss: float
    eval_loss: float | None
    best_eval_loss: float | None
    best_step: int | None
    stopped_early: bool
    tokens_per_second: float
    train_seconds: float
    tokens: int
    trained_tokens: int
    data: dict[str, Any] = field(default_factory=dict)
    event_id: int | None = None
    rank: int = 0
    # the model kept: {"metric", "mode", "value", "step"} by the early-stopping metric (None: no validation)
    best: dict[str, Any] | None = None
    eval_metrics: dict[str, float] = field(default_factory=dict)  # validation_metrics' values at the kept step

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.__dict__)
        out["run_dir"], out["model_dir"] = str(self.run_dir), str(self.model_dir)
        return out


# --- the learning rate: a pure function of the step (nothing to checkpoint) ---------------------


def lr_at(step: int, *, peak: float, warmup: int, total: int, schedule: str, min_ratio: float = 0.0) -> float:
    """Learning rate for the update after ``step`` completed steps: linear warm-up from 0, then
    cosine / linear decay to ``min_ratio x peak`` at ``total``, or constant (the formulas of
    transformers' schedulers, so runs compare with TRL step for step)."""
    if step < warmup:
        return peak * step / max(1, warmup)
    if schedule == "constant":
        return peak
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    shape = 0.5 * (1.0 + math.cos(math.pi * progress)) if schedule == "cosine" else 1.0 - progress
    return peak * (min_ratio + (1.0 - min_ratio) * shape)


def build_optimizer(model: Any, config: TrainConfig, precision: Precision) -> Any:
    """AdamW over the trainable parameters; no weight decay on biases and norm weights (1-D tensors)."""
    import torch

    decay, no_decay = [], []
    for _, param in model.named_parameters():
        if param.requires_grad:
            (decay if param.ndim >= 2 else no_decay).append(param)
    groups = [{"params": decay, "weight_decay": config.weight_decay}]
    if no_decay:
        groups.append({"params": no_decay, "weight_decay": 0.0})
    version = tuple(int(part) for part in torch.__version__.split("+")[0].split(".")[:2])
    # the fused kernel updates all (hundreds of small) LoRA tensors in one pass; on CPU since torch 2.4
    fused = precision.device.type == "cuda" or (precision.device.type == "cpu" and version >= (2, 4))
    return torch.optim.AdamW(
        groups,
        lr=config.learning_rate,
        betas=(config.adam_beta1, config.adam_beta2),
        eps=1e-8,
        fused=fused,
    )


# --- checks that need no model (they fail within the first second) -----------------------------


@dataclass
class Setup:
    dataset: DatasetVersion
    profile: TaskProfile
    context: RenderContext
    precision: Precision


def preflight(config: TrainConfig) -> Setup:
    """Everything that can be checked before loading a model: hardware options, the dataset, its
    task profile's renderer, the splits, the base model path, the trackers' packages."""
    check_qlora(config)
    check_trackers_available(config.trackers)
    precision = resolve_precision(config)
    dataset = open_training_dataset(config)
    profile = get_task_profile(dataset.task_profile)
    if not profile.can_render:
        raise ConfigError(
            f"task profile '{profile.id}' of dataset '{dataset.name}' has no renderer, so it cannot be trained on"
        )
    if config.objective != "sft" and profile.id != "dpo":
        raise ConfigError(
            f"method {config.method} trains on preference pairs (task profile dpo); dataset '{dataset.name}' is {profile.id}"
        )
    splits = dataset.counts.get("splits") or {}
    if not splits.get("train") and next(iter(dataset.iter_records("train")), None) is None:
        shown = ", ".join(f"{k} {v}" for k, v in splits.items()) or "no records"
        raise ConfigError(
            f"dataset '{dataset.name}' v{dataset.version} has an empty train split ({shown}); import more data or re-split it"
        )
    watching = config.early_stopping.patience or config.early_stopping.watches_task_metric
    if watching and not splits.get("validation") and next(iter(dataset.iter_records("validation")), None) is None:
        raise ConfigError(
            f"early stopping needs validation data, and dataset '{dataset.name}' v{dataset.version} has an empty validation split"
        )
    check_base_model(config.base_model)
    return Setup(dataset, profile, RenderContext.from_manifest(dataset.manifest), precision)


def check_training_memory(
    model: Any, objective: Objective, config: TrainConfig, precision: Precision, runtime: Runtime | None = None
) -> None:
    """Refuse a run whose estimated memory need exceeds what is free. With several processes each
    needs its share of a micro-batch's rows, and under FSDP its shard of weights, gradients and
    optimizer state (the whole model is loaded, then sharded); processes on one CPU machine share
    its RAM."""
    if not config.memory_check:
        return
    runtime = runtime or Runtime()
    total, trainable = parameter_counts(model)
    shape = model_shape(causal_lm(model))
    rows, width, targets = objective.longest_batch()
    processes = runtime.world_size
    shards = processes if runtime.strategy == "fsdp" else 1
    param_bytes = 0 if config.qlora else 4
    compute_bytes = 2 if precision.autocast_dtype is not None else 4
    estimate = estimate_memory(
        total_params=-(-total // shards),
        trainable_params=-(-trainable // shards),
        param_bytes=param_bytes,
        compute_bytes=compute_bytes,
        layers=shape["layers"],
        hidden=shape["hidden"],
        heads=shape["heads"],
        vocab=shape["vocab"],
        batch_rows=-(-rows // processes),
        seq_len=width,
        targets=-(-targets // processes),
        gradient_checkpointing=config.gradient_checkpointing,
    )
    runtime.barrier()  # every process has loaded its model: free memory is what is left for all of them
    available, what = available_memory(precision.device)
    if runtime.distributed and precision.device.type != "cuda" and runtime.local_world_size > 1:
        available //= runtime.local_world_size
        what = f"{what} per process ({runtime.local_world_size} processes share this machine)"
    check_memory(estimate, available, what, already_resident=total * param_bytes)


def _micro_batches(objective: Objective, epoch: int, index: int) -> Iterator[tuple[int, int, Any]]:
    """(epoch, index, micro-batch) from a data position on, across epochs, forever."""
    while True:
        plan = objective.plan_epoch(epoch)
        for i in range(index, len(plan)):
            yield epoch, i, plan[i]
        epoch, index = epoch + 1, 0


# --- the run -------------------------------------------------------------------------------------

ValidationMetrics = Callable[[Any, Any], Mapping[str, float]]
"""``(model, tokenizer) -> {metric: value}``: task metrics of the model on validation rows, called at
every evaluation after the loss (``brewslm.tuning.validation`` builds one from the task's eval handler;
training cannot, evaluation sits above it)."""


def train(
    config: TrainConfig, progress: Progress | None = None, *, validation_metrics: ValidationMetrics | None = None
) -> TrainResult:
    """Train as ``config`` says; returns the run's result. Bad configuration raises a one-line
    ``ConfigError`` before any training step; a run that fails after starting is recorded as
    ``training_run_failed`` in the audit log. Started by torchrun / accelerate launch, every
    process calls this and they train as one run (``brewslm.training.distributed``).

    ``validation_metrics`` adds task metrics to every evaluation; ``early_stopping.metric`` may name
    one of them (a task metric without it is a ``ConfigError``)."""
    if config.search.enabled:  # one run is not a search: refuse rather than ignore the option
        raise ConfigError(
            "search.enabled=true asks for a hyper-parameter search, which train() does not run; use "
            "'brewslm train' or brewslm.tuning.search.train_as_configured(config)"
        )
    watched = config.early_stopping.metric
    if config.early_stopping.watches_task_metric and validation_metrics is None:
        raise ConfigError(
            f"option 'early_stopping.metric' is {watched!r}, a task metric, and this run has no task "
            "evaluator to compute it; run it through 'brewslm train' (which builds one) or set "
            "early_stopping.metric=eval_loss"
        )
    progress = progress or StderrProgress(every=config.log_every)
    setup = preflight(config)  # fails alike in every process, before they meet
    runtime = start(config, setup.precision)
    try:
        return _train(adjust_config(config, runtime), setup, runtime, runtime.progress(progress), validation_metrics)
    finally:
        runtime.close()


def _new_run_dir(config: TrainConfig, dataset: DatasetVersion) -> Path:
    run_dir = resolve_run_dir(config, dataset)
    if (run_dir / RUN_RECORD).is_file():
        raise ConfigError(
            f"{run_dir} already holds a training run; pick another output_dir/run_name, or resume=latest to continue it"
        )
    return run_dir


def _train(
    config: TrainConfig,
    setup: Setup,
    runtime: Runtime,
    progress: Progress,
    validation_metrics: ValidationMetrics | None = None,
) -> TrainResult:
    """config -> setup -> schedule -> run folder and record -> the loop -> the saved model, in that
    order (nanoGPT's train.py); the steps themselves are ``Loop``'s."""
    import torch

    # -- setup: model, data, memory check; all before the run folder exists -----------------------
    precision, dataset, main = runtime.precision, setup.dataset, runtime.is_main
    run_dir, resume_from = _run_folder(config, dataset, runtime)
    seed_everything(config.seed)
    model, tokenizer = load_base(config, precision)
    template_applied = set_chat_template(tokenizer, config.chat_template)
    model = apply_method(model, config)
    objective = build_objective(config, dataset, setup.profile, setup.context, tokenizer, model)
    check_training_memory(model, objective, config, precision, runtime)
    model = runtime.prepare(model, config.seed)

    # -- schedule and optimizer -------------------------------------------------------------------
    schedule = Schedule.of(config, micro_batches_per_epoch=len(objective.plan_epoch(0)))
    optimizer = build_optimizer(model, config, precision)
    scaler = torch.amp.GradScaler(precision.device.type) if precision.grad_scaler else None

    # -- run folder, record, resume (files: the main process) ----------------------------------------
    if main:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / CONFIG_FILE).write_text(config.to_yaml(), encoding="utf-8")
    metrics = MetricsLog(run_dir / METRICS_FILE)
    state = LoopState()
    if resume_from is not None:
        state = runtime.load_checkpoint(resume_from, model, optimizer, scaler=scaler, seed=config.seed)
        if main:
            metrics.truncate_after(state.step)
    elif main and metrics.path.exists():
        metrics.path.unlink()
    recorder = _recorder(
        config, setup, runtime, run_dir, model, tokenizer, template_applied, objective, schedule, resume_from
    )
    recorder.started()
    runtime.barrier()  # the run folder is ready (and a resumed run's metrics trimmed) before anyone reads it

    # -- the loop, then the model it keeps --------------------------------------------------------
    tracker = Trackers()
    try:
        if main:
            tracker = open_trackers(config, run_dir.name, config.to_dict(), run_dir)
        progress(
            {
                "event": "start",
                "method": config.method,
                "examples": objective.train_examples,
                "tokens": recorder.record["data"].get("train", {}).get("tokens", 0),
                "total_steps": schedule.total_steps,
                "trainable_params": recorder.record["parameters"]["trainable"],
                "precision": precision.describe(),
                "device": str(precision.device),
                "run_dir": str(run_dir),
                "resumed_from": recorder.record["resumed_from"],
                "processes": runtime.world_size,
                "strategy": runtime.strategy,
            }
        )
        loop = Loop(
            config=config,
            objective=objective,
            model=model,
            optimizer=optimizer,
            scaler=scaler,
            runtime=runtime,
            schedule=schedule,
            state=state,
            metrics=metrics,
            progress=progress,
            tracker=tracker,
            run_dir=run_dir,
            task_metrics=_task_metrics(validation_metrics, tokenizer, runtime),
        )
        result = _run(loop)
        full_state = runtime.model_state(model, trainable_only=config.uses_lora)  # gathered under FSDP
        model_dir = run_dir / MODEL_DIR
        if main:
            _save_model(model, tokenizer, config, run_dir, state_dict=full_state)
            plot_loss_curve(
                metrics.read(), run_dir / LOSS_CURVE, title=f"{dataset.name} · {config.method} · {run_dir.name}"
            )
        result.update(model_dir=model_dir, data=objective.report())
        final = TrainResult(run_dir=run_dir, rank=runtime.rank, **result)
        final.event_id = recorder.finished(_public_metrics(final), final.data)
        tracker.log(
            {"final_train_loss": final.train_loss, "final_eval_loss": final.eval_loss or float("nan")}, state.step
        )
        files = [run_dir / name for name in (CONFIG_FILE, RUN_RECORD, METRICS_FILE, LOSS_CURVE)]
        # a LoRA adapter is a few MB and goes with the files; full weights stay in the run folder (named by run.json)
        tracker.log_artifacts(files + ([model_dir] if config.uses_lora else []))
        tracker.finish("finished")
        progress(
            {
                "event": "end",
                "steps": final.steps,
                "train_loss": final.train_loss,
                "eval_loss": final.eval_loss,
                "stopped_early": final.stopped_early,
                "tokens_per_s": final.tokens_per_second,
                "run_dir": str(run_dir),
            }
        )
        runtime.barrier()  # every process returns once the run folder is complete
        return final
    except BaseException as exc:
        message = str(exc) if isinstance(exc, BrewError) else f"{type(exc).__name__}: {exc}"
        recorder.failed(message, state.step, interrupted=isinstance(exc, KeyboardInterrupt))
        tracker.finish("failed")
        raise


def _run_folder(config: TrainConfig, dataset: DatasetVersion, runtime: Runtime) -> tuple[Path, Path | None]:
    """The run folder, and the checkpoint to resume from (None for a new run)."""
    if not config.resume:
        return runtime.on_main(lambda: _new_run_dir(config, dataset)), None  # one name, one check, for all processes
    guess = resolve_run_dir(config, dataset) if (config.output_dir or config.run_name) else None
    resume_from = resolve_resume(config.resume, guess)
    _, saved_config = read_checkpoint_state(resume_from)
    check_resume_compatible(saved_config, config.to_dict())
    return resume_from.parent.parent, resume_from


def _recorder(
    config: TrainConfig,
    setup: Setup,
    runtime: Runtime,
    run_dir: Path,
    model: Any,
    tokenizer: Any,
    template_applied: str,
    objective: Objective,
    schedule: "Schedule",
    resume_from: Path | None,
) -> RunRecorder:
    """What run.json says from the start: what is trained on what, how, and on which schedule."""
    dataset, precision = setup.dataset, runtime.precision
    total_params, trainable_params = parameter_counts(model)
    record: dict[str, Any] = {
        "name": run_dir.name,
        "status": "running",
        "started_at": now(),
        "dataset": {
            "name": dataset.name,
            "version": dataset.version,
            "task_profile": setup.profile.id,
            "path": str(dataset.path),
        },
        "base_model": config.base_model,
        "base_model_path": str(getattr(causal_lm(model), "name_or_path", "") or ""),
        "method": config.method,
        "objective": objective.name,
        "model_dir": MODEL_DIR,
        "model_kind": "lora_adapter" if config.uses_lora else "full",
        "render_context": setup.context.to_dict(),
        "chat_template_added": template_applied.startswith("chatml (the model has none)"),
        "chat_template": {
            "choice": config.chat_template,
            "applied": template_applied,
            "sha256": template_sha256(tokenizer),
        },
        "precision": precision.describe(),
        "device": str(precision.device),
        "parameters": {"total": total_params, "trainable": trainable_params},
        "schedule": {
            "total_steps": schedule.total_steps,
            "steps_per_epoch": schedule.steps_per_epoch,
            "warmup_steps": schedule.warmup,
            "eval_every": schedule.eval_every,
            "micro_batches_per_epoch": schedule.micro_batches_per_epoch,
        },
        "distributed": runtime.describe(),
        "data": objective.report(),
        "resumed_from": str(resume_from) if resume_from else None,
        "brewslm_version": __version__,
    }
    event = {
        "run_dir": str(run_dir),
        "method": config.method,
        "base_model": config.base_model,
        "dataset_version": dataset.version,
        "total_steps": schedule.total_steps,
        "resumed_from": record["resumed_from"],
    }
    return RunRecorder(run_dir, dataset.name, record, event, write=runtime.is_main)


@dataclass(frozen=True)
class Schedule:
    """How many optimizer steps, the warm-up and how often to evaluate."""

    total_steps: int
    warmup: int
    eval_every: int
    steps_per_epoch: int
    micro_batches_per_epoch: int

    @classmethod
    def of(cls, config: TrainConfig, *, micro_batches_per_epoch: int) -> "Schedule":
        steps_per_epoch = max(1, math.ceil(micro_batches_per_epoch / config.grad_accum))
        total = config.max_steps or max(1, math.ceil(config.epochs * micro_batches_per_epoch / config.grad_accum))
        warmup = config.warmup_steps if config.warmup_steps is not None else math.ceil(config.warmup_ratio * total)
        return cls(total, warmup, config.eval_every or steps_per_epoch, steps_per_epoch, micro_batches_per_epoch)

    def lr(self, step: int, config: TrainConfig) -> float:
        return lr_at(
            step,
            peak=config.learning_rate,
            warmup=self.warmup,
            total=self.total_steps,
            schedule=config.lr_schedule,
            min_ratio=config.min_lr_ratio,
        )


def _run(loop: "Loop") -> dict[str, Any]:
    """Step until the schedule ends or early stopping says so; evaluate and checkpoint on the way;
    keep the best model seen when something watches validation."""
    loop.model.train()
    while loop.state.step < loop.schedule.total_steps and not loop.stopped_early:
        loop.step()
        if loop.evaluation_due():
            loop.evaluate()
        if loop.config.save_every and loop.state.step % loop.config.save_every == 0:
            loop.checkpoint()
    loop.restore_best()
    return loop.result()


@dataclass
class Loop:
    """Everything the training steps read and change, as one object (what nanoGPT keeps in
    train.py's globals): the model and its optimizer, the data position and counters
    (``state``, checkpointed), this session's throughput, the best evaluation so far."""

    config: TrainConfig
    objective: Objective
    model: Any
    optimizer: Any
    scaler: Any
    runtime: Runtime
    schedule: Schedule
    state: LoopState
    metrics: MetricsLog
    progress: Progress
    tracker: Trackers
    run_dir: Path
    task_metrics: Callable[[Any], dict[str, float]] | None = None
    stopped_early: bool = False
    session_tokens: int = 0  # this process's session, for tokens/s and the ETA (a resumed run starts anew)
    session_seconds: float = 0.0
    session_steps: int = 0
    recent: list[float] = field(default_factory=list)  # the last 10 step losses (train_loss is their mean)
    last_loss: float = math.nan
    eval_loss: float | None = None
    best: dict[str, Any] = field(default_factory=dict)  # {"metric", "value", "step", "eval_loss", "metrics"}

    def __post_init__(self) -> None:
        stopping = self.config.early_stopping
        self.params = [p for p in self.model.parameters() if p.requires_grad]
        self.stream = _micro_batches(self.objective, self.state.epoch, self.state.batch_in_epoch)
        self.recent = [e["loss"] for e in self.metrics.read() if e.get("kind") == "train"][-10:]  # a resumed run's
        self.last_loss = self.recent[-1] if self.recent else math.nan
        self.eval_loss = self.state.last_eval_loss
        # the best weights are kept on disk while anything can end the run on a worse model than seen
        self.keep_best = bool(stopping.patience) or stopping.watches_task_metric
        # the best evaluation is checkpointed with the state
        self.best = self.state.extra.setdefault("best", {})
        if not self.best and self.state.best_step is not None and not stopping.watches_task_metric:
            # a checkpoint from before "best" was recorded
            self.best.update(
                metric=stopping.metric,
                value=self.state.best_eval_loss,
                step=self.state.best_step,
                eval_loss=self.state.best_eval_loss,
                metrics={},
            )
        if self.best and self.best.get("metric") != stopping.metric:
            self.best.clear()  # resumed watching another metric: its best says nothing about this one

    # ---- one optimizer step over grad_accum micro-batches ----
    def step(self) -> None:
        import torch

        config, runtime, objective, state = self.config, self.runtime, self.objective, self.state
        lr = self.schedule.lr(state.step, config)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        started = time.perf_counter()
        items = [next(self.stream) for _ in range(config.grad_accum)]
        shares = [runtime.shard(item) for _, _, item in items]  # this process's rows of each micro-batch
        batches = [objective.collate(rows) for rows, _ in shares]
        counted = [batch for batch, (_, real) in zip(batches, shares) if real]
        weight = runtime.sum([sum(objective.weight(batch) for batch in counted)])[
            0
        ]  # the step's normaliser, all processes
        loss_sum = 0.0
        step_metrics: dict[str, float] = {}
        for batch, (_, real) in zip(batches, shares):
            batch = batch.to(runtime.precision.device)
            with runtime.precision.autocast():
                summed, extra = runtime.forward(objective.loss, self.model, batch)
            if not real:  # an empty share: the same calls as the other processes, contributing nothing
                summed, extra = summed * 0.0, {key: 0.0 for key in extra}
            loss = summed / max(weight, 1)
            (self.scaler.scale(loss) if self.scaler is not None else loss).backward()
            loss_sum += float(summed.detach())
            for key, value in extra.items():
                step_metrics[key] = step_metrics.get(key, 0.0) + float(value)
        runtime.sync_gradients(self.params)
        grad_norm = None
        if config.max_grad_norm is not None:
            if self.scaler is not None:
                self.scaler.unscale_(self.optimizer)
            grad_norm = float(torch.nn.utils.clip_grad_norm_(self.params, config.max_grad_norm))
        if self.scaler is not None:
            self.scaler.step(self.optimizer)
            self.scaler.update()
        else:
            self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        seconds = time.perf_counter() - started

        # ---- bookkeeping: data position, counters, log ----
        epoch, index, _ = items[-1]
        plan_length = len(objective.plan_epoch(epoch))
        state.epoch, state.batch_in_epoch = (epoch + 1, 0) if index + 1 >= plan_length else (epoch, index + 1)
        state.step += 1
        for batch in counted:
            runtime.count(batch)
        totals = runtime.sum(
            [
                loss_sum,
                sum(batch.tokens for batch in counted),
                sum(getattr(batch, "targets", 0) for batch in counted),
                *step_metrics.values(),
            ]
        )
        loss_sum, tokens, targets = totals[0], int(totals[1]), int(totals[2])
        step_metrics = dict(zip(step_metrics, totals[3:]))
        state.tokens += tokens
        state.trained_tokens += targets
        state.train_seconds += seconds
        self.session_tokens += tokens
        self.session_seconds += seconds
        self.session_steps += 1
        self.last_loss = loss_sum / max(weight, 1)
        self.recent = (self.recent + [self.last_loss])[-10:]
        tokens_per_s = self.session_tokens / max(self.session_seconds, 1e-9)
        entry = {
            "kind": "train",
            "step": state.step,
            "epoch": round(epoch + (index + 1) / plan_length, 4),
            "loss": self.last_loss,
            "lr": lr,
            "grad_norm": grad_norm,
            "tokens": state.tokens,
            "trained_tokens": state.trained_tokens,
            "tokens_per_s": round(tokens_per_s, 2),
            "step_seconds": round(seconds, 4),
            "eta_s": round((self.schedule.total_steps - state.step) * self.session_seconds / self.session_steps, 1),
            **{key: value / max(weight, 1) for key, value in step_metrics.items()},
        }
        if runtime.is_main:
            self.metrics.write(entry)
        self.progress({"event": "step", "total_steps": self.schedule.total_steps, **entry})
        self.tracker.log({"loss": self.last_loss, "lr": lr, "tokens_per_s": tokens_per_s}, state.step)

    # ---- evaluate, stop early ----
    def evaluation_due(self) -> bool:
        step = self.state.step
        return self.objective.has_eval and (step % self.schedule.eval_every == 0 or step == self.schedule.total_steps)

    def evaluate(self) -> None:
        stopping, state, best = self.config.early_stopping, self.state, self.best
        watched = stopping.metric
        results = self.runtime.evaluate(self.objective, self.model, self.runtime.precision)  # the same in every process
        task = self.task_metrics(self.model) if self.task_metrics is not None else {}
        self.model.train()
        self.eval_loss = results["eval_loss"]
        value = _watched_value(watched, {**results, **task})
        improved = _improves(value, best.get("value"), stopping.resolved_mode, stopping.min_delta)
        if improved:
            best.update(metric=watched, value=value, step=state.step, eval_loss=self.eval_loss, metrics=task)
            state.best_eval_loss, state.best_step, state.evals_without_improvement = self.eval_loss, state.step, 0
            if self.keep_best:
                self.runtime.save_trainable(self.model, self.run_dir / BEST_WEIGHTS)
        else:
            state.evals_without_improvement += 1
        state.last_eval_step, state.last_eval_loss = state.step, self.eval_loss
        eval_entry = {
            "kind": "eval",
            "step": state.step,
            **results,
            **task,
            "best_eval_loss": state.best_eval_loss,
            "best_metric": watched,
            "best_value": best.get("value"),
            "improved": improved,
        }
        if self.runtime.is_main:
            self.metrics.write(eval_entry)
        self.progress({"event": "eval", **eval_entry})
        self.tracker.log({**results, **task}, state.step)
        patience = stopping.patience
        if patience and state.evals_without_improvement >= patience:
            self.stopped_early = True
            seen = f"best {watched} {best['value']:.4f} at step {best['step']}" if best else f"no finite {watched}"
            self.progress(
                {
                    "event": "info",
                    "message": f"early stop at step {state.step}: no validation improvement in "
                    f"{patience} evaluations ({seen})",
                }
            )

    # ---- checkpoint ----
    def checkpoint(self) -> None:
        self.runtime.save_checkpoint(
            self.run_dir,
            self.model,
            self.optimizer,
            self.state,
            self.config.to_dict(),
            scaler=self.scaler,
            keep=self.config.keep_checkpoints,
        )

    # ---- the end: the model to keep, the numbers to report ----
    def restore_best(self) -> None:
        """The model kept is the best one seen while early stopping watched validation."""
        if not self.keep_best:
            return
        self.runtime.barrier()  # the main process has written the best weights
        if self.best and (self.run_dir / BEST_WEIGHTS).is_file():
            self.runtime.load_trainable(self.model, self.run_dir / BEST_WEIGHTS)
            self.eval_loss = self.state.best_eval_loss
            if self.config.early_stopping.watches_task_metric:
                self.progress(
                    {
                        "event": "info",
                        "message": f"kept the model of step {self.best['step']}: best "
                        f"{self.best['metric']} {self.best['value']:.4f}",
                    }
                )

    def result(self) -> dict[str, Any]:
        state, best, stopping = self.state, self.best, self.config.early_stopping
        if self.runtime.distributed:
            self.progress(self.runtime.summary())
        epochs_done = state.epoch + state.batch_in_epoch / max(len(self.objective.plan_epoch(state.epoch)), 1)
        return {
            "steps": state.step,
            "epochs": round(epochs_done, 4),
            "train_loss": sum(self.recent) / max(len(self.recent), 1) if self.recent else float("nan"),
            "final_step_loss": self.last_loss,
            "eval_loss": self.eval_loss,
            "best_eval_loss": state.best_eval_loss,
            "best_step": state.best_step,
            "stopped_early": self.stopped_early,
            "tokens_per_second": round(self.session_tokens / max(self.session_seconds, 1e-9), 2),
            "train_seconds": round(state.train_seconds, 3),
            "tokens": state.tokens,
            "trained_tokens": state.trained_tokens,
            "best": (
                {
                    "metric": stopping.metric,
                    "mode": stopping.resolved_mode,
                    "value": best["value"],
                    "step": best["step"],
                }
                if best.get("step") is not None
                else None
            ),
            "eval_metrics": dict(best.get("metrics") or {}) if self.keep_best else {},
        }


def _task_metrics(
    validation_metrics: ValidationMetrics | None, tokenizer: Any, runtime: Runtime
) -> Callable[[Any], dict[str, float]] | None:
    """``validation_metrics`` bound to the run's tokenizer, in eval mode, with rank 0's numbers on
    every process (so all of them make the same early-stopping decision)."""
    if validation_metrics is None:
        return None

    def measure(model: Any) -> dict[str, float]:
        import torch

        model.eval()
        with torch.no_grad():
            # None is the handler's "undefined" (e.g. precision with nothing predicted): never an improvement
            values = {
                name: math.nan if value is None else float(value)
                for name, value in validation_metrics(model, tokenizer).items()
            }
        return runtime.broadcast(values)

    return measure


def _watched_value(name: str, results: Mapping[str, float]) -> float:
    if name not in results:
        shown = ", ".join(sorted(results))
        raise ConfigError(
            f"option 'early_stopping.metric' is {name!r}, which the validation pass does not report; "
            f"it reports: {shown}"
        )
    return float(results[name])


def _improves(value: float, best: float | None, mode: str, min_delta: float) -> bool:
    """Whether ``value`` beats ``best`` by more than ``min_delta`` in the direction ``mode`` says."""
    if best is None:
        return not math.isnan(value)
    return value < best - min_delta if mode == "min" else value > best + min_delta


def _save_model(
    model: Any, tokenizer: Any, config: TrainConfig, run_dir: Path, state_dict: dict[str, Any] | None = None
) -> Path:
    """The LoRA adapter (peft format) or the full weights, with the tokenizer and its chat template;
    ``state_dict`` gives the weights when the model holds only its shard of them (FSDP)."""
    out = run_dir / MODEL_DIR
    out.mkdir(parents=True, exist_ok=True)
    model.eval()
    extra = {"state_dict": state_dict} if state_dict is not None else {}
    with quiet_loading():
        if config.uses_lora:
            model.save_pretrained(str(out), **extra)
        else:
            causal_lm(model).save_pretrained(str(out), **extra)
        tokenizer.save_pretrained(str(out))
    return out


def _public_metrics(result: TrainResult) -> dict[str, Any]:
    keys = (
        "steps",
        "epochs",
        "train_loss",
        "final_step_loss",
        "eval_loss",
        "best_eval_loss",
        "best_step",
        "stopped_early",
        "tokens_per_second",
        "train_seconds",
        "tokens",
        "trained_tokens",
        "best",
        "eval_metrics",
    )
    return {key: getattr(result, key) for key in keys}


__all__ = [
    "Setup",
    "TrainResult",
    "Loop",
    "Schedule",
    "ValidationMetrics",
    "build_optimizer",
    "check_training_memory",
    "lr_at",
    "preflight",
    "train",
]
