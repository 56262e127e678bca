"""What each catalog model costs on this machine, and which one to fine-tune on a dataset.

Memory: ``training.memory.estimate_memory`` (the same estimate the training loop checks before it
starts) with the catalog's architecture numbers; activations are Korthikanti et al.'s per layer
and token estimate without the attention scores (transformers' default SDPA attention does not
store them), logits three float32 copies. On tiny models it is within 25% of the measured
peak (tests/tuning/test_recommend.py).

Speed: training tokens/s ~= efficiency x FLOP/s / (k x parameters), with k = 6 for full
fine-tuning (forward 2, backward 4 FLOPs per parameter and token) and k = 4 for LoRA (the frozen
weights need no weight gradients); attention's own FLOPs are left out (small at these lengths).
FLOP/s is a short fp32 (CPU) or bf16 (CUDA) matmul probe; the efficiency (the share of the probe's
FLOP/s that training reaches) is measured once with a few timed LoRA steps of the embedded
SmolLM2, else a default. Both are cached per device name under the user cache directory. Every
value says whether it was ``measured`` or ``estimated``.

Recommendation: the smallest catalog model expected to train enough epochs within the budget
and to beat the dataset's cheap baseline. How many epochs are enough comes from an optional short
probe run's validation-loss curve (still falling at the end: the training default of 3 epochs;
flat: 1), else the default. Whether a size can beat the baseline comes from the evaluations
already run on this dataset in the workspace (``past_results``): a fine-tune that did not clearly
beat its cheap baseline rules out catalog models up to SIZE_MARGIN times its size (a model that
size, trained the same way, is not expected to do better); one that beat it says that size is
enough. With no such evaluation, nothing is ruled out and the reasons say so.
"""

from __future__ import annotations

import json
import math
import platform
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from brewslm import workspace
from brewslm.base_models import load_causal_lm, quiet_loading
from brewslm.base_models.catalog import CATALOG, CatalogModel, lora_parameter_count
from brewslm.base_models.embedded import default_base_model
from brewslm.errors import BrewError, ConfigError
from brewslm.training.memory import MemoryEstimate, available_memory, estimate_memory

SPEED_CACHE_FILE = "machine_speed.json"
DEFAULT_EFFICIENCY = 0.3  # a typical share of matmul FLOP/s that eager PyTorch training reaches
FLOPS_PER_PARAMETER = {"full": 6, "lora": 4}
LORA_RANK = 16  # the training default (TrainConfig.lora.r)
DEFAULT_EPOCHS = 3.0  # the training default (TrainConfig.epochs)
PLATEAU_SHARE = 0.1  # the probe's last third gained under 10% of its total drop: the curve is flat
EMBEDDED_ID = "smollm2-135m-instruct"
PROBE_STEPS, PROBE_BATCH, PROBE_EVALS, PROBE_EVAL_ROWS = 24, 4, 4, 64
PROBE_BUDGET_SHARE = 0.2  # a probe expected to take more than a fifth of the budget is not run
SIZE_MARGIN = 1.2  # a model within 20% of the size of one that lost to the baseline is "the same size"
REPORT_GLOBS = ("runs/*/eval/*/report.json", "recipe-runs/*/eval/*/report.json")  # where evaluations land


# --- the machine's speed -------------------------------------------------------------------------


@dataclass(frozen=True)
class MachineSpeed:
    device: str  # cpu or cuda
    name: str  # the CPU or GPU model the numbers belong to
    gflops: float
    efficiency: float
    efficiency_source: str  # measured (a timed run of calibration_model) or estimated (the default)
    calibration_model: str | None = None
    calibration_tokens_per_s: float | None = None


def device_name(device: str) -> str:
    if device == "cuda":
        import torch

        return torch.cuda.get_device_name(0)
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown cpu"


def probe_gflops(device: str, size: int = 1024, repeats: int = 6) -> float:
    """The best of a few timed square matmuls, fp32 on CPU (what CPU training computes in), bf16
    on CUDA (the GPU default)."""
    import torch

    dtype = torch.bfloat16 if device == "cuda" else torch.float32
    a = torch.randn(size, size, dtype=dtype, device=device)
    b = torch.randn(size, size, dtype=dtype, device=device)
    times = []
    for _ in range(repeats + 1):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        torch.mm(a, b)
        if device == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    best = min(times[1:])  # the first one warms the kernels up; the fastest is the least disturbed
    return 2 * size**3 / best / 1e9


def calibrate_embedded(device: str, steps: int = 2, batch_rows: int = 2, seq_len: int = 128) -> float:
    """Training tokens/s of LoRA (the training default) on the embedded SmolLM2: a few timed
    forward/backward/AdamW steps after one untimed warm-up step."""
    import torch

    from brewslm.training.config import TrainConfig
    from brewslm.training.model import apply_method

    torch.manual_seed(0)
    with quiet_loading():
        model, _ = load_causal_lm(None, device=device)
    model = apply_method(model, TrainConfig(dataset="calibration"))
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    ids = torch.randint(0, model.config.vocab_size, (batch_rows, seq_len), device=device)
    elapsed = 0.0
    for step in range(steps + 1):
        start = time.perf_counter()
        model(input_ids=ids, labels=ids).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device == "cuda":
            torch.cuda.synchronize()
        elapsed += (time.perf_counter() - start) if step else 0.0
    return steps * batch_rows * seq_len / elapsed


def machine_speed(
    device: str = "cpu",
    *,
    measure: bool = True,
    gflops_probe: Callable[[str], float] = probe_gflops,
    calibrate: Callable[[str], float] = calibrate_embedded,
) -> MachineSpeed:
    """This machine's speed, from the cache when this device name was measured before. With
    ``measure=False`` nothing slow runs: a cached efficiency is used if there is one, else the
    default, marked estimated."""
    check_device(device)
    name = device_name(device)
    key = f"{device}|{name}"
    cache_path = workspace.cache_dir() / SPEED_CACHE_FILE
    try:
        cache = json.loads(cache_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        cache = {}
    cached = cache.get(key) if isinstance(cache, dict) else None
    if isinstance(cached, dict):
        try:
            speed = MachineSpeed(**cached)
            if speed.efficiency_source == "measured" or not measure:
                return speed
        except TypeError:  # written by another version: measure again
            pass
    gflops = gflops_probe(device)
    speed = MachineSpeed(device, name, round(gflops, 1), DEFAULT_EFFICIENCY, "estimated")
    if measure:
        tokens_per_s = calibrate(device)
        flops_per_token = FLOPS_PER_PARAMETER["lora"] * _embedded().parameters
        speed = replace(
            speed,
            efficiency=round(tokens_per_s * flops_per_token / (gflops * 1e9), 4),
            efficiency_source="measured",
            calibration_model=EMBEDDED_ID,
            calibration_tokens_per_s=round(tokens_per_s, 1),
        )
    cache = cache if isinstance(cache, dict) else {}
    cache[key] = asdict(speed)
    try:
        cache_path.write_text(json.dumps(cache, indent=2) + "\n", encoding="utf-8")
    except OSError:
        pass  # a read-only cache only costs a probe next time
    return speed


def check_device(device: str) -> None:
    if device not in ("cpu", "cuda"):
        raise ConfigError(f"device '{device}' is not supported here; use cpu or cuda")
    if device == "cuda":
        import torch

        if not torch.cuda.is_available():
            raise ConfigError("device cuda was asked for but no CUDA GPU is visible to torch; use --device cpu")


# --- what each model costs -----------------------------------------------------------------------


def _embedded() -> CatalogModel:
    return next(entry for entry in CATALOG if entry.id == EMBEDDED_ID)


def is_present_locally(entry: CatalogModel) -> bool:
    """The embedded model always is (it ships in a package); others when the hub cache holds them."""
    if entry.id == EMBEDDED_ID:
        return True
    if (workspace.models_dir() / entry.id / "config.json").is_file():
        return True
    try:
        from huggingface_hub import try_to_load_from_cache

        return isinstance(try_to_load_from_cache(entry.hub_id, "config.json"), str)
    except Exception:  # no hub client or an unreadable cache: not present as far as we can tell
        return False


def memory_estimate(
    entry: CatalogModel, method: str, *, seq_len: int, batch_rows: int, compute_bytes: int = 4
) -> MemoryEstimate:
    """``training.memory.estimate_memory`` for a catalog model: fp32 weights (the training
    default; bf16 autocast keeps fp32 master weights), ``compute_bytes`` 4 (fp32) or 2 (bf16)."""
    trainable = entry.parameters if method == "full" else lora_parameter_count(entry, LORA_RANK)
    return estimate_memory(
        total_params=entry.parameters,
        trainable_params=trainable,
        param_bytes=4,
        compute_bytes=compute_bytes,
        layers=entry.layers,
        hidden=entry.hidden,
        heads=entry.heads,
        vocab=entry.vocab,
        batch_rows=batch_rows,
        seq_len=seq_len,
        targets=batch_rows * seq_len,
        gradient_checkpointing=False,
        attention_scores=False,
    )


def tokens_per_second(entry: CatalogModel, method: str, speed: MachineSpeed) -> tuple[float, str]:
    """(training tokens/s, measured|estimated): measured only for the calibration model's LoRA run."""
    if method == "lora" and entry.id == speed.calibration_model and speed.calibration_tokens_per_s:
        return speed.calibration_tokens_per_s, "measured"
    return speed.efficiency * speed.gflops * 1e9 / (FLOPS_PER_PARAMETER[method] * entry.parameters), "estimated"


@dataclass(frozen=True)
class ModelCosts:
    id: str
    hub_id: str
    parameters: int
    max_context: int
    licence: str
    template: str
    memory: dict[str, dict[str, float]]  # method -> precision -> GiB
    tokens_per_s: dict[str, float]  # method -> tokens/s
    tokens_per_s_source: dict[str, str]  # method -> measured | estimated
    present_locally: bool
    approximate: bool


def model_costs(entry: CatalogModel, speed: MachineSpeed, *, seq_len: int, batch_rows: int) -> ModelCosts:
    memory = {
        method: {
            precision: round(
                memory_estimate(entry, method, seq_len=seq_len, batch_rows=batch_rows, compute_bytes=size).total
                / 1024**3,
                2,
            )
            for precision, size in (("fp32", 4), ("bf16", 2))
        }
        for method in ("lora", "full")
    }
    speeds = {method: tokens_per_second(entry, method, speed) for method in ("lora", "full")}
    return ModelCosts(
        entry.id,
        entry.hub_id,
        entry.parameters,
        entry.max_context,
        entry.licence,
        entry.template,
        memory,
        {m: round(v[0], 1) for m, v in speeds.items()},
        {m: v[1] for m, v in speeds.items()},
        is_present_locally(entry),
        entry.approximate,
    )


def list_models(speed: MachineSpeed, *, seq_len: int = 512, batch_rows: int = 8) -> list[ModelCosts]:
    return [model_costs(entry, speed, seq_len=seq_len, batch_rows=batch_rows) for entry in CATALOG]


# --- the dataset ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetFacts:
    name: str
    version: int
    task_profile: str
    rows: int  # training records
    labels: int | None  # distinct classes (classification), else None
    sampled: int  # examples whose token lengths were measured
    mean_tokens: float
    p95_tokens: int
    max_tokens: int
    tokens_per_epoch: int  # mean tokens x rows


def dataset_facts(name: str, *, sample: int = 2000, max_seq_len: int = 1024) -> DatasetFacts:
    """Rows and labels of the train split, and the token lengths of up to ``sample`` of its
    examples rendered and tokenised as training does, with the default base model's tokenizer. The
    dataset passes training's own pre-flight checks first (same one-line errors)."""
    import numpy as np

    from brewslm.training import load_config
    from brewslm.training.data import load_examples
    from brewslm.training.loop import preflight

    setup = preflight(load_config(None, dataset=name))
    dataset = setup.dataset
    rows = int((dataset.counts.get("splits") or {}).get("train") or 0) or sum(1 for _ in dataset.iter_records("train"))
    base = default_base_model()
    try:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(base)
    except (OSError, ValueError) as exc:
        raise ConfigError(
            f"cannot load the tokenizer of the default base model {base}: {str(exc).splitlines()[0]}"
        ) from None
    class_field = "label" if setup.profile.id == "classification" else None  # as training balances classes
    examples = load_examples(
        dataset.iter_records("train"),
        setup.profile,
        setup.context,
        tokenizer,
        max_seq_len,
        limit=sample,
        class_field=class_field,
    )
    if len(examples) == 0:
        raise ConfigError(
            f"no training example of dataset '{dataset.name}' could be rendered; check it with 'brewslm data audit'"
        )
    lengths = examples.lengths
    labels = len(set(examples.classes)) if examples.classes else None
    return DatasetFacts(
        dataset.name,
        dataset.version,
        setup.profile.id,
        rows,
        labels,
        len(examples),
        round(float(lengths.mean()), 1),
        int(np.percentile(lengths, 95)),
        int(lengths.max()),
        int(round(float(lengths.mean()) * rows)),
    )


# --- the probe and the choice --------------------------------------------------------------------


@dataclass(frozen=True)
class ProbeCurve:
    model: str
    steps: list[int]
    eval_loss: list[float]
    examples_seen: int  # training examples the probe consumed (steps x batch size)


def probe_minutes(facts: DatasetFacts, speed: MachineSpeed) -> float:
    """The probe's expected minutes: its training tokens at the embedded model's LoRA tokens/s, plus
    its validations (forward only, about a third of a training step's cost per token)."""
    tokens_s, _ = tokens_per_second(_embedded(), "lora", speed)
    tokens = facts.mean_tokens * (PROBE_STEPS * PROBE_BATCH + PROBE_EVALS * PROBE_EVAL_ROWS / 3)
    return tokens / tokens_s / 60


def run_probe(
    dataset: str, *, steps: int = PROBE_STEPS, batch_size: int = PROBE_BATCH, evals: int = PROBE_EVALS
) -> ProbeCurve:
    """A short LoRA run of the default base model (the embedded SmolLM2, the smallest catalog model),
    evaluating the validation loss ``evals`` times on up to ``PROBE_EVAL_ROWS`` validation examples;
    its run folder is temporary."""
    import tempfile

    from brewslm.training import load_config, train

    curve: list[tuple[int, float]] = []

    def watch(event: dict[str, Any]) -> None:
        if event.get("event") == "eval" and event.get("eval_loss") is not None:
            curve.append((int(event["step"]), float(event["eval_loss"])))

    with tempfile.TemporaryDirectory(prefix="brewslm-probe-") as folder:
        config = load_config(
            None,
            dataset=dataset,
            overrides=[
                f"max_steps={steps}",
                f"batch_size={batch_size}",
                f"eval_every={max(1, steps // evals)}",
                f"max_eval_examples={PROBE_EVAL_ROWS}",
                f"output_dir={folder}/run",
            ],
        )
        train(config, progress=watch)
    if len(curve) < 2:
        raise ConfigError(
            f"the probe run on dataset '{dataset}' gave {len(curve)} validation losses; "
            "it needs a validation split (re-split the dataset) or run with --no-probe"
        )
    return ProbeCurve(EMBEDDED_ID, [s for s, _ in curve], [v for _, v in curve], steps * batch_size)


def epochs_needed(curve: ProbeCurve | None) -> tuple[float, str]:
    """(epochs, why) from the probe's curve: flat by its end -> 1 epoch, still falling -> the default."""
    if curve is None:
        return DEFAULT_EPOCHS, f"no probe run: the training default of {DEFAULT_EPOCHS:g} epochs"
    losses = curve.eval_loss
    total_drop = losses[0] - min(losses)
    late = losses[len(losses) * 2 // 3 :]
    late_drop = late[0] - min(late)
    if total_drop <= 0 or late_drop <= PLATEAU_SHARE * total_drop:
        return 1.0, (
            f"the probe's validation loss was flat by its last third ({late_drop:.3f} of a {max(total_drop, 0):.3f} "
            "drop): 1 epoch"
        )
    return DEFAULT_EPOCHS, (
        f"the probe's validation loss was still falling in its last third ({late_drop:.3f} of a "
        f"{total_drop:.3f} drop): {DEFAULT_EPOCHS:g} epochs"
    )


@dataclass(frozen=True)
class PastResult:
    """One evaluation of a fine-tune of the dataset against its cheap baseline (a report.json)."""

    report: str
    parameters: int  # the fine-tuned model's total parameters (its run.json)
    base_model: str
    baseline: str
    headline: str
    tuned: float
    baseline_value: float
    lift_ci: tuple[float | None, float | None]
    beaten: bool  # the fine-tune clearly beat the baseline (report.baseline_verdict is None)

    def describe(self) -> str:
        low, high = self.lift_ci
        span = f" [{low:+.3f}, {high:+.3f}]" if low is not None and high is not None else ""
        return (
            f"a fine-tune of {self.base_model} ({self.parameters / 1e6:.0f}M) {'beat' if self.beaten else 'did not beat'} "
            f"{self.baseline}: {self.headline} {self.tuned:.3f} vs {self.baseline_value:.3f}, lift "
            f"{self.tuned - self.baseline_value:+.3f}{span} ({self.report})"
        )


def past_results(dataset: str, home: Path | None = None) -> list[PastResult]:
    """Every evaluation report under the workspace (``REPORT_GLOBS``) of a fine-tuned run on
    ``dataset`` with a cheap baseline to compare, oldest first; unreadable files are skipped."""
    from brewslm.evaluation.report import baseline_verdict
    from brewslm.storage.run_records import read_run

    root = Path(home) if home else workspace.home_dir()
    found = []
    for path in sorted(
        {p for pattern in REPORT_GLOBS for p in root.glob(pattern)}, key=lambda p: (p.stat().st_mtime, str(p))
    ):
        try:
            report = json.loads(path.read_text(encoding="utf-8"))
            tuned = (report.get("models") or {}).get("tuned") or {}
            record = read_run(tuned["source"]) if tuned.get("source") else {}
        except (OSError, ValueError, BrewError):
            continue
        headline = report.get("headline")
        entry = (report.get("lift_vs_baseline") or {}).get(headline) or {}
        parameters = (record.get("parameters") or {}).get("total")
        if (
            (report.get("dataset") or {}).get("name") != dataset
            or tuned.get("kind") != "run"
            or not parameters
            or entry.get("lift") is None
            or entry.get("tuned") is None
            or entry.get("base") is None
        ):
            continue
        found.append(
            PastResult(
                report=str(path),
                parameters=int(parameters),
                base_model=str(
                    ((report.get("models") or {}).get("base") or {}).get("name") or record.get("base_model")
                ),
                baseline=str(((report.get("models") or {}).get("baseline") or {}).get("name") or "the baseline"),
                headline=str(headline),
                tuned=float(entry["tuned"]),
                baseline_value=float(entry["base"]),
                lift_ci=(entry.get("ci_low"), entry.get("ci_high")),
                beaten=baseline_verdict(report) is None,
            )
        )
    return found


@dataclass
class Recommendation:
    model: str | None
    hub_id: str | None
    epochs: float
    budget_minutes: float
    device: str
    why: list[str]
    dataset: DatasetFacts
    candidates: list[dict[str, Any]] = field(default_factory=list)
    probe: ProbeCurve | None = None
    past: list[PastResult] = field(default_factory=list)


def ruled_out_below(past: list[PastResult]) -> tuple[int, PastResult | None]:
    """(parameters, why): catalog models of up to this many parameters are not expected to beat the
    baseline - SIZE_MARGIN x the largest fine-tune that did not, unless a fine-tune at least that
    large beat it (then nothing is ruled out); (0, None) without evidence."""
    lost = max((p for p in past if not p.beaten), key=lambda p: p.parameters, default=None)
    if lost is None or any(p.beaten and p.parameters >= lost.parameters for p in past):
        return 0, None
    return int(lost.parameters * SIZE_MARGIN), lost


def recommend(
    facts: DatasetFacts,
    speed: MachineSpeed,
    *,
    budget_minutes: float,
    probe: ProbeCurve | None = None,
    batch_rows: int = 8,
    available_bytes: int | None = None,
    notes: tuple[str, ...] = (),
    past: list[PastResult] | tuple[PastResult, ...] = (),
) -> Recommendation:
    """The smallest catalog model whose LoRA run of the needed epochs fits the budget and the
    memory, and that is not ruled out by a fine-tune of its size that did not beat the cheap
    baseline (``past``); deterministic for given inputs. ``notes`` join the reasons (e.g. why no
    probe ran)."""
    epochs, epochs_why = epochs_needed(probe)
    seq_len = max(facts.p95_tokens, 16)
    past = list(past)
    limit, lost = ruled_out_below(past)
    candidates = []
    for entry in sorted(CATALOG, key=lambda e: (e.parameters, e.id)):
        tokens_s, source = tokens_per_second(entry, "lora", speed)
        minutes = facts.tokens_per_epoch / tokens_s / 60
        memory = memory_estimate(
            entry, "lora", seq_len=seq_len, batch_rows=batch_rows, compute_bytes=2 if speed.device == "cuda" else 4
        ).total
        fits_memory = available_bytes is None or memory <= available_bytes
        candidates.append(
            {
                "model": entry.id,
                "parameters": entry.parameters,
                "minutes_per_epoch": round(minutes, 1),
                "tokens_per_s": round(tokens_s, 1),
                "tokens_per_s_source": source,
                "memory_gib": round(memory / 1024**3, 2),
                "fits_memory": fits_memory,
                "fits_budget": fits_memory and minutes * epochs <= budget_minutes,
                "ruled_out": entry.parameters <= limit,
            }
        )
    chosen = next((c for c in candidates if c["fits_budget"] and not c["ruled_out"]), None)
    why = [
        f"dataset {facts.name} v{facts.version} ({facts.task_profile}): {facts.rows} training rows"
        + (f", {facts.labels} labels" if facts.labels else ""),
        f"tokens per example (default tokenizer, {facts.sampled} sampled): mean {facts.mean_tokens:g}, "
        f"p95 {facts.p95_tokens}, max {facts.max_tokens}; about {facts.tokens_per_epoch} tokens per epoch",
        f"this machine ({speed.device}, {speed.name}): {speed.gflops:g} GFLOP/s matmul, training efficiency "
        f"{speed.efficiency:g} ({speed.efficiency_source})",
        *notes,
        f"epochs needed: {epochs_why}",
    ]
    if probe is not None:
        points = ", ".join(f"{s}:{v:.3f}" for s, v in zip(probe.steps, probe.eval_loss))
        why.append(f"probe ({probe.model}, {probe.examples_seen} examples): validation loss by step {points}")
    why += [f"evaluated before: {p.describe()}" for p in past]
    if lost is not None:
        why.append(
            f"models of up to {limit / 1e6:.0f}M parameters are not expected to beat {lost.baseline} "
            f"({SIZE_MARGIN:g}x the {lost.parameters / 1e6:.0f}M fine-tune that did not)"
        )
    elif not past:
        why.append(
            "no fine-tune of this dataset was evaluated against its cheap baseline yet: the smallest model "
            "that fits is the first to try; its evaluation report says whether the baseline wins"
        )
    if chosen is None:
        within = any(c["fits_budget"] for c in candidates)
        why.append(
            f"no catalog model larger than the ones ruled out trains {epochs:g} epochs within "
            f"{budget_minutes:g} minutes; raise --budget, or ship the cheap baseline"
            if within
            else f"no catalog model trains {epochs:g} epochs within {budget_minutes:g} minutes; raise --budget, "
            "or train on a sample (max_train_examples) or fewer epochs"
        )
    else:
        why.append(
            f"{chosen['model']} is the smallest model expected to train {epochs:g} epochs in "
            f"{chosen['minutes_per_epoch'] * epochs:.1f} of {budget_minutes:g} minutes"
            + (f" and larger than the {lost.parameters / 1e6:.0f}M fine-tune the baseline beat" if lost else "")
        )
    entry = next((e for e in CATALOG if chosen and e.id == chosen["model"]), None)
    return Recommendation(
        entry.id if entry else None,
        entry.hub_id if entry else None,
        epochs,
        budget_minutes,
        speed.device,
        why,
        facts,
        candidates,
        probe,
        past,
    )


def parse_budget(text: str) -> float:
    """Minutes from '30m', '2h', '90s' or a bare number of minutes."""
    value = str(text).strip().lower()
    scale = {"s": 1 / 60, "m": 1.0, "h": 60.0}.get(value[-1:], None)
    number = value[:-1] if scale is not None else value
    try:
        minutes = float(number) * (scale or 1.0)
    except ValueError:
        raise ConfigError(f"budget '{text}' is not a duration; write e.g. 30m, 2h or 90s") from None
    if not minutes > 0 or math.isinf(minutes):
        raise ConfigError(f"budget '{text}' must be a positive duration, e.g. 30m")
    return minutes


def available_bytes(device: str) -> int:
    import torch

    return available_memory(torch.device(device))[0]


__all__ = [
    "DatasetFacts",
    "MachineSpeed",
    "ModelCosts",
    "PastResult",
    "ProbeCurve",
    "Recommendation",
    "dataset_facts",
    "epochs_needed",
    "list_models",
    "machine_speed",
    "memory_estimate",
    "model_costs",
    "parse_budget",
    "past_results",
    "probe_gflops",
    "probe_minutes",
    "recommend",
    "ruled_out_below",
    "run_probe",
    "tokens_per_second",
]
