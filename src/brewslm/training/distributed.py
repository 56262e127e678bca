"""Several processes, one run: data-parallel training under ``torchrun`` or ``accelerate launch``.

The command is the one a single process runs; the launcher starts N copies of it and this module
makes them one run::

    # 2 processes on one CPU machine (gloo); OMP_NUM_THREADS=1 keeps them off each other's cores
    OMP_NUM_THREADS=1 torchrun --nproc_per_node 2 -m brewslm train --dataset reviews max_steps=100
    # the same through accelerate: --multi_gpu is its torchrun launcher, and runs on CPU-only
    # machines too (gloo); 'accelerate launch --cpu' starts one process unless given an MPI hostfile
    OMP_NUM_THREADS=1 accelerate launch --multi_gpu --num_processes 2 -m brewslm train --dataset reviews max_steps=100
    # 8 GPUs of one node (nccl); weights, gradients and optimizer state sharded per decoder layer
    torchrun --nproc_per_node 8 -m brewslm train --dataset reviews --method full distributed.strategy=fsdp
    # two nodes of 8 GPUs: the same on each node, with its --node_rank
    torchrun --nnodes 2 --node_rank 0 --nproc_per_node 8 --master_addr HOST0 --master_port 29500 -m brewslm train ...

How ``Runtime`` shares the work:

- **The batch.** ``batch_size x grad_accum`` stays the global batch of one optimizer step, however
  many processes there are: every process walks the same batch plan (``plan_epoch`` is a pure
  function of seed and epoch) and trains on rows ``rank, rank + N, ...`` of each micro-batch (a
  length-grouped micro-batch is sorted by length, so the shares are even). N processes therefore
  take the optimizer steps one process takes, on the same examples, and end with the same weights
  up to float rounding; a checkpoint resumes under any number of processes. A process whose share
  of a short micro-batch is empty runs its first row at weight zero, so that every process makes
  the same forward and backward calls (FSDP's collectives need that).
- **The gradient.** The step's normaliser (trained tokens for SFT, pairs for DPO/ORPO) is summed
  over processes before any backward pass; each process divides its summed loss by it, and the
  gradients are summed across processes: the exact gradient of the global batch. ``ddp``: every
  process holds the whole model, and after the step's micro-batches the trainable gradients are
  summed in a few bucketed all-reduces (one for LoRA's few tensors) - nothing is exchanged per
  micro-batch, as with torch DDP under ``no_sync``. The loss functions call the decoder body and
  the output head separately (the head runs on trained positions only), which DDP's forward hook
  would not see, hence the explicit all-reduce. ``fsdp`` (torch ``fully_shard``): every decoder
  layer, and the rest of the model, is sharded across the processes; weights are gathered layer by
  layer for forward and backward and gradients reduce-scattered as sums. The loss runs inside one
  sharded root module's forward, so the embeddings and head are gathered too. Prefix sharing is
  off under FSDP (it calls the layers a data-dependent number of times).
- **Weights and randomness.** Rank 0's initial trainable weights are broadcast to all. Ranks above
  0 then reseed torch (dropout differs per process; rank 0 keeps the single-process stream).
- **Evaluation.** ``ddp``: each process evaluates every N-th validation batch and the means are
  merged by their counts; ``fsdp``: all processes evaluate all batches together. Rank 0's result
  is broadcast, so early-stopping decisions agree.
- **Writes.** Only rank 0 writes the run folder, metrics, checkpoints, best weights, the final
  model, audit events and MLflow; the others meet it at barriers where they read what it wrote.
  A checkpoint holds the full trainable weights and optimizer state (gathered under FSDP) in the
  single-process format, and every process's RNG state.
- **Progress.** Rank 0 reports as a single process does; every process also reports one
  ``{"event": "rank"}`` summary of its own share (micro-batches, examples, tokens) at the end.

Environment: ``WORLD_SIZE`` > 1 with ``RANK``, ``MASTER_ADDR`` and ``MASTER_PORT`` (and
``LOCAL_RANK``), as torchrun and accelerate launch set them - or an MPI launcher's
``OMPI_COMM_WORLD_*`` / ``PMI_*`` equivalents - start a process group: gloo on CPU, nccl on CUDA
with ``cuda:LOCAL_RANK`` per process. A process group that already exists (the caller's) is used
and left open.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from brewslm.errors import BrewError, ConfigError
from brewslm.inference.forward import causal_lm
from brewslm.training.checkpoint import (
    WEIGHTS,
    LoopState,
    apply_trainable,
    read_checkpoint,
    rng_state,
    set_rng_state,
    trainable_state,
    write_checkpoint,
)
from brewslm.training.config import TrainConfig
from brewslm.training.model import Precision
from brewslm.training.report import Progress

BUCKET_BYTES = 25 * 2**20  # gradients are summed in flat buffers of about this size
RANK_SEED_STRIDE = 1_000_003  # rank r > 0 reseeds torch with seed + r x this


@dataclasses.dataclass(frozen=True)
class Launch:
    """This process's place in a launch."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1  # processes on this machine


def _env_int(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(
            f"environment variable {name}={raw!r} is not a whole number; it is set by torchrun / accelerate launch"
        ) from None


# torchrun's names first, then MPI launchers' (accelerate launch --cpu with --mpirun_hostfile uses mpirun)
WORLD_VARS = ("WORLD_SIZE", "OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE")
RANK_VARS = ("RANK", "OMPI_COMM_WORLD_RANK", "PMI_RANK", "MV2_COMM_WORLD_RANK")
LOCAL_RANK_VARS = ("LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_RANK", "MPI_LOCALRANKID", "MV2_COMM_WORLD_LOCAL_RANK")
LOCAL_WORLD_VARS = ("LOCAL_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_SIZE", "MPI_LOCALNRANKS", "MV2_COMM_WORLD_LOCAL_SIZE")


def _first_int(env: Mapping[str, str], names: Sequence[str]) -> tuple[str, int | None]:
    for name in names:
        value = _env_int(env, name)
        if value is not None:
            return name, value
    return names[0], None


def launch_from_env(env: Mapping[str, str] | None = None) -> Launch:
    """The launch torchrun / accelerate launch describe in ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``,
    ``MASTER_ADDR`` and ``MASTER_PORT`` (or an MPI launcher's rank variables); a single process
    when the world size is unset or 1."""
    env = os.environ if env is None else env
    world_var, world = _first_int(env, WORLD_VARS)
    if world is None or world <= 1:
        return Launch()
    rank_var, rank = _first_int(env, RANK_VARS)
    missing = [
        name
        for name, value in (
            (rank_var, rank),
            ("MASTER_ADDR", env.get("MASTER_ADDR")),
            ("MASTER_PORT", env.get("MASTER_PORT")),
        )
        if value in (None, "")
    ]
    if missing:
        raise ConfigError(
            f"{world_var}={world} makes this one of {world} processes, but {', '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not set; start several processes with "
            f"'torchrun --nproc_per_node N -m brewslm train ...' or 'accelerate launch', or unset {world_var}"
        )
    if rank is None or not 0 <= rank < world:
        raise ConfigError(f"{rank_var}={rank} is outside 0..{world - 1} ({world_var}={world})")
    _, local = _first_int(env, LOCAL_RANK_VARS)
    _, local_world = _first_int(env, LOCAL_WORLD_VARS)
    return Launch(rank, world, rank if local is None else local, local_world or world)


# --- the runtime ------------------------------------------------------------------------------------


class Runtime:
    """One process's view of a run: its rank, its share of each batch, and how gradients, results
    and checkpoints meet across processes. A single process gets ``Runtime()``, whose methods
    reduce to the plain single-process calls."""

    def __init__(
        self,
        launch: Launch = Launch(),
        *,
        strategy: str = "single",
        precision: Precision | None = None,
        backend: str | None = None,
        owns_group: bool = False,
    ):
        self.rank, self.world_size, self.local_rank = launch.rank, launch.world_size, launch.local_rank
        self.local_world_size = launch.local_world_size
        self.strategy = strategy if launch.world_size > 1 else "single"
        self.precision = precision
        self.backend = backend
        self.owns_group = owns_group
        self.root: Any = None  # the FSDP root module (strategy fsdp), else None
        self.counts = {"micro_batches": 0, "examples": 0, "tokens": 0, "targets": 0}

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def describe(self) -> dict[str, Any]:
        return {"world_size": self.world_size, "strategy": self.strategy, "backend": self.backend}

    def close(self) -> None:
        """Leave the process group this runtime started (one the caller started stays open)."""
        if self.owns_group:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()
            self.owns_group = False

    # --- agreeing ------------------------------------------------------------------------------

    def barrier(self) -> None:
        if self.distributed:
            import torch.distributed as dist

            dist.barrier()

    def broadcast(self, value: Any) -> Any:
        """Rank 0's ``value`` on every process (any picklable object)."""
        if not self.distributed:
            return value
        import torch.distributed as dist

        box = [value]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather(self, value: Any) -> list[Any]:
        """Every process's ``value``, in rank order, on every process."""
        if not self.distributed:
            return [value]
        import torch.distributed as dist

        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, value)
        return out

    def on_main(self, decide: Callable[[], Any]) -> Any:
        """``decide()`` run on rank 0 only; its result - or its error, raised - on every process."""
        if not self.distributed:
            return decide()
        result, error = None, None
        if self.is_main:
            try:
                result = decide()
            except Exception as exc:  # every process must leave the broadcast, then fail alike
                error = exc
        shared_result, shared_error = self.broadcast((result, _portable(error)))
        if error is not None:
            raise error
        if shared_error is not None:
            raise shared_error
        return shared_result

    def sum(self, values: Sequence[float]) -> list[float]:
        """``values`` summed element-wise over all processes (float64)."""
        if not self.distributed:
            return list(values)
        import torch
        import torch.distributed as dist

        total = torch.tensor(list(values), dtype=torch.float64, device=self._comm_device())
        dist.all_reduce(total)
        return total.tolist()

    def _comm_device(self) -> Any:
        import torch

        return self.precision.device if self.backend == "nccl" and self.precision is not None else torch.device("cpu")

    def progress(self, progress: Progress) -> Progress:
        """Rank 0 reports everything; the others only their own ``rank`` summary."""
        if self.is_main:
            return progress
        return lambda event: progress(event) if event.get("event") == "rank" else None

    # --- data ----------------------------------------------------------------------------------

    def shard(self, item: Sequence[Any]) -> tuple[list[Any], bool]:
        """This process's rows of a micro-batch (every N-th, from its rank on) and whether they
        count: an empty share becomes the micro-batch's first row, to be weighted zero."""
        if not self.distributed:
            return list(item), True
        rows = list(item[self.rank :: self.world_size])
        return (rows, True) if rows else (list(item[:1]), False)

    def count(self, batch: Any) -> None:
        self.counts["micro_batches"] += 1
        self.counts["examples"] += int(getattr(batch, "examples", 0))
        self.counts["tokens"] += int(getattr(batch, "tokens", 0))
        self.counts["targets"] += int(getattr(batch, "targets", 0))

    def summary(self) -> dict[str, Any]:
        return {
            "event": "rank",
            "rank": self.rank,
            "world_size": self.world_size,
            "strategy": self.strategy,
            **self.counts,
        }

    # --- the model -----------------------------------------------------------------------------

    def prepare(self, model: Any, seed: int) -> Any:
        """Rank 0's trainable weights everywhere, FSDP sharding when asked, per-rank dropout seeds."""
        if not self.distributed:
            return model
        import torch
        import torch.distributed as dist

        with torch.no_grad():
            _each_bucket(
                [p.data for p in model.parameters() if p.requires_grad], lambda flat: dist.broadcast(flat, src=0)
            )
        if self.strategy == "fsdp":
            self.root = _shard(
                model, self.precision.device if self.precision is not None else torch.device("cpu"), self.world_size
            )
        if self.rank:
            torch.manual_seed(seed + RANK_SEED_STRIDE * self.rank)
        return model

    def forward(self, fn: Callable[..., Any], model: Any, *args: Any) -> Any:
        """``fn(model, *args)``; under FSDP inside the sharded root's forward, whose hooks gather
        the weights the call needs (and reduce-scatter their gradients in backward)."""
        if self.root is not None:
            return self.root(fn, *args)
        return fn(model, *args)

    def sync_gradients(self, params: Sequence[Any]) -> None:
        """Sum the trainable gradients over processes (``ddp``; FSDP did it in backward). A
        parameter without a gradient on every process keeps none, as in a single process."""
        if not self.distributed or self.root is not None:
            return
        import torch
        import torch.distributed as dist

        present = self.sum([0.0 if p.grad is None else 1.0 for p in params])
        grads = []
        for param, seen in zip(params, present):
            if seen:
                if param.grad is None:
                    param.grad = torch.zeros_like(param)
                grads.append(param.grad)
        _each_bucket(grads, dist.all_reduce)

    def evaluate(self, objective: Any, model: Any, precision: Precision) -> dict[str, Any]:
        """The validation metrics of the whole split, the same on every process."""
        if not self.distributed:
            return objective.evaluate(model, precision)
        if self.root is not None:
            results = self.root(objective.evaluate, precision)
        else:
            local = objective.evaluate(model, precision, shard=(self.rank, self.world_size))
            results = merge_means(self.gather(local), objective.eval_count)
        return self.broadcast(results)

    # --- state: checkpoints, best weights, the final model -------------------------------------

    def trainable_state(self, model: Any) -> dict[str, Any]:
        """The full trainable weights on CPU, on rank 0 (the others take part in FSDP's gather and get {})."""
        if self.root is None:
            return trainable_state(model) if self.is_main else {}
        out = {}
        for name, param in model.named_parameters():
            if param.requires_grad:
                full = _full(param).detach()
                if self.is_main:
                    out[name] = full.to("cpu").contiguous()
        return out

    def optimizer_state(self, optimizer: Any) -> dict[str, Any]:
        """``optimizer.state_dict()`` with full tensors, on rank 0: the single-process format."""
        state = optimizer.state_dict()
        if self.root is None:
            return state if self.is_main else {}
        full: dict[Any, Any] = {}
        for index in sorted(state["state"]):  # the same order on every process: the gathers pair up
            entry = {
                key: _full(value).detach().to("cpu") if _is_dtensor(value) else value
                for key, value in state["state"][index].items()
            }
            if self.is_main:
                full[index] = entry
        return {"state": full, "param_groups": state["param_groups"]} if self.is_main else {}

    def rng_state(self) -> dict[str, Any]:
        """Rank 0's RNG states (what a single process would save) plus every process's, by rank."""
        state = rng_state()
        if self.distributed:
            state["ranks"] = self.gather(rng_state())
        return state

    def save_checkpoint(
        self,
        run_dir: Path,
        model: Any,
        optimizer: Any,
        state: LoopState,
        config: Mapping[str, Any],
        *,
        scaler: Any = None,
        keep: int = 2,
    ) -> None:
        weights, optimizer_state, rng = self.trainable_state(model), self.optimizer_state(optimizer), self.rng_state()
        if self.is_main:
            write_checkpoint(
                run_dir,
                state,
                config,
                weights=weights,
                optimizer=optimizer_state,
                scaler=scaler.state_dict() if scaler is not None else None,
                rng=rng,
                keep=keep,
            )

    def load_checkpoint(
        self, path: Path, model: Any, optimizer: Any, *, scaler: Any = None, seed: int = 0
    ) -> LoopState:
        """``checkpoint.load_checkpoint`` on every process: full states sharded again under FSDP,
        each process's own RNG state where the checkpoint has it."""
        import torch

        saved = read_checkpoint(path)
        self.apply_trainable(model, saved.weights, saved.path / WEIGHTS)
        optimizer.load_state_dict(self._local_optimizer_state(optimizer, saved.optimizer))
        if scaler is not None and saved.scaler is not None:
            scaler.load_state_dict(saved.scaler)
        ranks = saved.rng.get("ranks")
        if self.distributed and ranks and len(ranks) == self.world_size:
            set_rng_state(ranks[self.rank])
        else:
            set_rng_state(saved.rng)
            if self.rank:  # a checkpoint from another number of processes: a fresh stream per rank
                torch.manual_seed(seed + RANK_SEED_STRIDE * self.rank + saved.state.step)
        return saved.state

    def apply_trainable(self, model: Any, saved: Mapping[str, Any], path: Path) -> None:
        if self.root is not None:
            params = dict(model.named_parameters())
            saved = {name: _like(params[name], tensor) if name in params else tensor for name, tensor in saved.items()}
        apply_trainable(model, saved, path)

    def save_trainable(self, model: Any, path: Path) -> None:
        weights = self.trainable_state(model)
        if self.is_main:
            from safetensors.torch import save_file

            save_file(weights, str(path))

    def load_trainable(self, model: Any, path: Path) -> None:
        from safetensors.torch import load_file

        self.apply_trainable(model, load_file(str(path)), path)

    def model_state(self, model: Any, *, trainable_only: bool) -> dict[str, Any] | None:
        """What ``save_pretrained`` needs of a sharded model: the full state dict (only the trainable
        tensors when ``trainable_only``: a LoRA adapter), gathered to rank 0. None when the model
        holds its full weights already (one process, ddp)."""
        if self.root is None:
            return None
        out: dict[str, Any] = {}
        gathered: dict[int, Any] = {}  # tied weights are one parameter: gather it once, save it once
        for name, value in model.state_dict(keep_vars=True).items():
            if trainable_only and not getattr(value, "requires_grad", False):
                continue
            if id(value) not in gathered:
                full = _full(value).detach()
                gathered[id(value)] = full.to("cpu").contiguous() if self.is_main else None
            if self.is_main:
                out[name] = gathered[id(value)]
        return out if self.is_main else None

    def _local_optimizer_state(self, optimizer: Any, saved: dict[str, Any]) -> dict[str, Any]:
        if self.root is None:
            return saved
        flat = [param for group in optimizer.param_groups for param in group["params"]]
        state = {}
        for index, entry in saved["state"].items():
            param = flat[int(index)]
            state[index] = {
                key: _like(param, value)
                if _is_dtensor(param) and getattr(value, "shape", None) == param.shape
                else value
                for key, value in entry.items()
            }
        return {"state": state, "param_groups": saved["param_groups"]}


def start(config: TrainConfig, precision: Precision) -> Runtime:
    """The runtime of this process: a single process unless launched several times (or inside a
    process group the caller made). Joins the process group - gloo on CPU, nccl on CUDA with
    ``cuda:LOCAL_RANK`` as this process's device - and checks what the strategy needs."""
    import torch
    import torch.distributed as dist

    existing = dist.is_available() and dist.is_initialized()
    if existing:
        launch = Launch(
            dist.get_rank(),
            dist.get_world_size(),
            _first_int(os.environ, LOCAL_RANK_VARS)[1] or 0,
            _first_int(os.environ, LOCAL_WORLD_VARS)[1] or dist.get_world_size(),
        )
    else:
        launch = launch_from_env()
    if launch.world_size <= 1:
        return Runtime(precision=precision)
    if not dist.is_available():
        raise ConfigError(
            "this torch build has no torch.distributed, so it cannot train in several processes; run one process"
        )
    strategy = config.distributed.strategy
    precision = _process_device(precision, config, launch)
    if strategy == "fsdp":
        _check_fsdp(precision)
    backend = dist.get_backend() if existing else ("nccl" if precision.device.type == "cuda" else "gloo")
    if precision.device.type == "cuda":
        torch.cuda.set_device(precision.device)  # before NCCL starts: its communicators bind to the current device
    if not existing:
        dist.init_process_group(backend=backend, rank=launch.rank, world_size=launch.world_size)
    return Runtime(launch, strategy=strategy, precision=precision, backend=str(backend), owns_group=not existing)


def adjust_config(config: TrainConfig, runtime: Runtime) -> TrainConfig:
    """The options a strategy cannot honour, switched off: prefix sharing under FSDP (it runs the
    layers once or twice per micro-batch depending on the rows, and sharded layers need every
    process to make the same calls)."""
    if runtime.strategy == "fsdp" and config.prefix_sharing:
        return config.model_copy(update={"prefix_sharing": False})
    return config


def merge_means(results: Sequence[Mapping[str, Any]], count_key: str) -> dict[str, Any]:
    """Per-process evaluation results (means over ``count_key`` items each) as one result over all
    of them: counts summed, means weighted by their counts."""
    keys: list[str] = []
    for result in results:
        keys.extend(key for key in result if key not in keys)
    total = sum(result.get(count_key, 0) for result in results)
    merged: dict[str, Any] = {}
    for key in keys:
        if key == count_key:
            merged[key] = total
            continue
        weights = [(result[key], result.get(count_key, 0)) for result in results if key in result]
        count = sum(n for _, n in weights)
        merged[key] = sum(value * n for value, n in weights) / count if count else weights[0][0]
    return merged


# --- helpers -------------------------------------------------------------------------------------


def _portable(error: BaseException | None) -> BaseException | None:
    """An error to send to the other processes: BrewErrors as they are, others as a RuntimeError."""
    if error is None or isinstance(error, BrewError):
        return error
    return RuntimeError(f"rank 0 failed: {type(error).__name__}: {error}")


def _process_device(precision: Precision, config: TrainConfig, launch: Launch) -> Precision:
    """CUDA runs put process ``LOCAL_RANK`` on ``cuda:LOCAL_RANK``."""
    import torch

    device = precision.device
    if device.type != "cuda":
        return precision
    if config.device not in (None, "cuda"):
        raise ConfigError(
            f"device={config.device} would put all {launch.world_size} processes on one GPU; under torchrun / "
            "accelerate launch each process uses cuda:LOCAL_RANK - leave device unset or set it to cuda"
        )
    available = torch.cuda.device_count()
    if launch.local_rank >= available:
        raise ConfigError(
            f"process LOCAL_RANK={launch.local_rank} has no GPU of its own: this machine has {available}; "
            f"start at most {available} processes per machine"
        )
    return dataclasses.replace(precision, device=torch.device("cuda", launch.local_rank))


def _check_fsdp(precision: Precision) -> None:
    try:
        from torch.distributed.fsdp import fully_shard  # noqa: F401
    except ImportError:
        import torch

        raise ConfigError(
            f"distributed.strategy=fsdp needs torch's fully_shard (torch >= 2.6; this is {torch.__version__}); "
            "upgrade torch or use distributed.strategy=ddp"
        ) from None
    if precision.grad_scaler:
        raise ConfigError(
            "float16 training needs a gradient scaler, which FSDP here does not support; this GPU has no "
            "bfloat16, so use distributed.strategy=ddp (or dtype=float32)"
        )


def decoder_layers(model: Any) -> list[Any]:
    """The repeated blocks FSDP shards one by one: the classes the model lists in
    ``_no_split_modules`` (outermost matches), else the decoder body's ``layers``."""
    lm = causal_lm(model)
    names = set(getattr(lm, "_no_split_modules", None) or ())
    found: list[Any] = []
    inside: set[int] = set()
    for module in lm.modules():
        if id(module) in inside:
            continue
        if type(module).__name__ in names:
            found.append(module)
            inside.update(id(child) for child in module.modules())
    if found:
        return found
    body = lm.get_decoder() if hasattr(lm, "get_decoder") else None
    return list(getattr(body, "layers", None) or [])


def _shard(model: Any, device: Any, world_size: int) -> Any:
    """``fully_shard`` every decoder layer, then a root module around the whole model, whose
    forward runs a given function of the model (the loss, the evaluation). Gradients are reduced
    as plain sums: the loss is already divided by the global normaliser."""
    import torch
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import FSDPModule, fully_shard

    layers = decoder_layers(model)
    if not layers:
        lm = causal_lm(model)
        raise ConfigError(
            f"distributed.strategy=fsdp found no decoder layers to shard in {type(lm).__name__}; use distributed.strategy=ddp"
        )
    mesh = init_device_mesh(device.type, (world_size,))
    for layer in layers:
        fully_shard(layer, mesh=mesh)

    class ShardedRun(torch.nn.Module):
        def __init__(self, inner: Any):
            super().__init__()
            self.model = inner

        def forward(self, fn: Callable[..., Any], *args: Any) -> Any:
            return fn(self.model, *args)

    root = fully_shard(ShardedRun(model), mesh=mesh)
    for module in root.modules():
        if isinstance(module, FSDPModule):
            module.set_gradient_divide_factor(1.0)
            force_sum = getattr(module, "set_force_sum_reduction_for_comms", None)
            if callable(force_sum):
                force_sum(True)  # plain SUM collectives (gloo has no pre-multiplied sum)
    return root


def _is_dtensor(value: Any) -> bool:
    try:
        from torch.distributed.tensor import DTensor
    except ImportError:
        return False
    return isinstance(value, DTensor)


def _full(value: Any) -> Any:
    """A sharded tensor gathered whole (a collective: every process calls it, in the same order)."""
    return value.full_tensor() if _is_dtensor(value) else value


def _like(param: Any, tensor: Any) -> Any:
    """A full ``tensor`` sharded the way ``param`` is (each process keeps its part)."""
    if not _is_dtensor(param):
        return tensor
    from torch.distributed.tensor import distribute_tensor

    local = tensor.to(device=param.device, dtype=param.dtype)
    try:
        return distribute_tensor(local, param.device_mesh, param.placements, src_data_rank=None)
    except TypeError:  # torch before src_data_rank: scatter from rank 0 (every process read the same file)
        return distribute_tensor(local, param.device_mesh, param.placements)


def _buckets(tensors: Iterable[Any]) -> Iterator[list[Any]]:
    """Tensors grouped by dtype and device into runs of about ``BUCKET_BYTES``."""
    groups: dict[tuple[Any, Any], list[Any]] = {}
    sizes: dict[tuple[Any, Any], int] = {}
    for tensor in tensors:
        key = (tensor.dtype, tensor.device)
        groups.setdefault(key, []).append(tensor)
        sizes[key] = sizes.get(key, 0) + tensor.numel() * tensor.element_size()
        if sizes[key] >= BUCKET_BYTES:
            yield groups.pop(key)
            sizes.pop(key)
    yield from groups.values()


def _each_bucket(tensors: Sequence[Any], collective: Callable[[Any], Any]) -> None:
    """Run an in-place collective on ``tensors`` through flat buffers, writing the results back."""
    import torch

    for bucket in _buckets(tensors):
        flat = torch.cat([t.reshape(-1) for t in bucket])
        collective(flat)
        offset = 0
        for tensor in bucket:
            size = tensor.numel()
            tensor.copy_(flat[offset : offset + size].view_as(tensor))
            offset += size


__all__ = [
    "BUCKET_BYTES",
    "Launch",
    "Runtime",
    "adjust_config",
    "decoder_layers",
    "launch_from_env",
    "merge_means",
    "start",
]
