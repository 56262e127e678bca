"""Training throughput: BrewSLM's engine vs TRL's SFTTrainer, LoRA on SmolLM2-135M, the same data.

    python bench/train_vs_trl.py                          # 512 SST-2 examples: TRL, then our engine's rows
    python bench/train_vs_trl.py --quick                  # 64 examples, 32 validation rows: a smoke run
    python bench/train_vs_trl.py --seeds 0,1,2 --wait-quiet   # the run in docs/performance.md: 3 seeds, a quiet machine
    python bench/train_vs_trl.py --variants fp32          # only our headline row (fp32, prefix sharing on)
    python bench/train_vs_trl.py --trl-variants conversational,same-tokens   # + TRL fed our token ids

What runs. A fixed seeded sample of ``--examples`` distinct SST-2 training rows and
``--eval-examples`` dev rows (from ``../shared/datasets/sentiment_sst2``, or
``$BREWSLM_SHARED_DATASETS``) is imported into a fresh temporary workspace as ``brewslm data
import`` does it (mapper ``label_to_classification``, labels named negative / positive, train and
validation splits). The classification task profile renders each record once (``profile.render``:
user = instruction + text, assistant = the label) and both trainers get those conversations:

- **TRL** ``SFTTrainer`` gets them in its conversational prompt-completion format
  (``{"prompt": [user], "completion": [assistant]}``), tokenises them with the model's chat template
  and trains with ``completion_only_loss=True``. ``--trl-variants same-tokens`` adds a row where
  TRL is given our encoder's token ids and completion mask instead (``input_ids`` +
  ``completion_mask``), so that only the training loops differ.
- **BrewSLM** (``brewslm.training.train``) trains on the imported dataset; variants: ``fp32`` (the
  headline: float32, prefix sharing on - the defaults), ``fp32-no-prefix`` (``prefix_sharing=false``)
  and ``bf16`` (bfloat16 autocast on CPU).

The same hyper-parameters on both sides: SmolLM2-135M-Instruct (the embedded model) in float32,
LoRA r=16 / alpha 32 / dropout 0 on all linear layers, fused AdamW at 2e-4, cosine decay after the
same number of warm-up steps (3% of the steps, rounded up), gradient clipping at 1.0, batch 8 x 1
accumulation, max length 256, one epoch. TRL's own defaults turn on gradient checkpointing and bf16
autocast; both are switched off so that both sides compute the same thing.

How it is measured. Each trainer runs in its own process, so its peak RSS (VmHWM: model, data,
activations, everything) is its own. Throughput is measured the same way for both: the training
tokens (every token of the rendered conversations as our encoder counts them - the same number for
both rows) divided by the wall time of the training loop only (from the loop's start to the last
optimizer step: no model loading, tokenisation, evaluation or saving); that wall time is the
"s/epoch". "others' CPU" is the share of the machine's cores other processes kept busy during the
loop (from /proc/stat; the largest over the seeds): near 0 means the run had the machine to itself.
With ``--seeds`` every trainer runs once per training seed on the same data; the table shows the
median throughput, the largest peak RSS and the mean validation metrics (loss ± its standard
deviation). ``--wait-quiet`` waits (at most 10 minutes) before each
run for the 1-minute load average to drop below ``--max-load``.

One evaluator scores every trained adapter afterwards, in its own process: the plain model forward
(full logits; no prefix sharing), mean cross-entropy per completion token (the label and its
end-of-turn token, as our encoder marks them) over the validation rows; "val acc" is the share of
rows whose whole completion is the greedy choice at every position (the exact-match accuracy of
greedy decoding). The table is printed and written, with every run's details, to
``bench/out/train_vs_trl.json``. The embedded model is converted once into
``bench/out/train_vs_trl_home`` (unless ``--base`` or ``BREWSLM_BASE_MODEL`` names one).
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import random
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from measure import OUT, peak_rss_mb, rss_mb  # noqa: E402  (bench/ is the script folder)

REPO = Path(__file__).resolve().parents[1]
MODEL_HOME = OUT / "train_vs_trl_home"  # the embedded model, converted once and reused across runs
DATASET = "sst2"
LABEL_NAMES = ["negative", "positive"]
VARIANTS = {
    "fp32": {"dtype": "float32", "prefix_sharing": True},
    "fp32-no-prefix": {"dtype": "float32", "prefix_sharing": False},
    "bf16": {"dtype": "bfloat16", "prefix_sharing": True},
}
DEFAULT_VARIANTS = "fp32,fp32-no-prefix,bf16"
TRL_VARIANTS = {
    "conversational": "trl SFTTrainer",  # the headline: TRL tokenises the conversations itself
    "same-tokens": "trl SFTTrainer (our tokens)",  # pre-tokenised by our encoder: only the loops differ
}


# --- small shared helpers ------------------------------------------------------------------------


def shared_datasets_dir() -> Path:
    return Path(os.environ.get("BREWSLM_SHARED_DATASETS", str(REPO.parent / "shared" / "datasets")))


def _system_busy_seconds() -> float | None:
    """CPU seconds all processes have spent busy since boot (Linux /proc/stat), or None."""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class LoopClock:
    """Wall and CPU time of a training loop, from its start to its last optimizer step.

    ``others_cpu`` is the share of the machine's cores that *other* processes kept busy meanwhile
    (system busy time minus this process's, over wall time x cores): near 0 on a quiet machine.
    ``cpu_share`` is this process's CPU time over wall time x torch threads."""

    def __init__(self) -> None:
        self.started = self.last = 0.0
        self.cpu_started = self.cpu_last = 0.0
        self.busy_started = self.busy_last = None
        self.rss_at_start_mb: float | None = None

    @staticmethod
    def _cpu() -> float:
        times = os.times()
        return times.user + times.system

    def start(self) -> None:
        self.started, self.cpu_started, self.rss_at_start_mb = time.perf_counter(), self._cpu(), rss_mb()
        self.busy_started = _system_busy_seconds()

    def step(self) -> float:
        self.last, self.cpu_last, self.busy_last = time.perf_counter(), self._cpu(), _system_busy_seconds()
        return self.last - self.started

    def result(self) -> dict[str, Any]:
        import torch

        wall = self.last - self.started
        own = self.cpu_last - self.cpu_started
        threads = torch.get_num_threads()
        others = None
        if self.busy_started is not None and self.busy_last is not None:
            others = round(max(0.0, (self.busy_last - self.busy_started - own) / (wall * (os.cpu_count() or 1))), 3)
        return {
            "loop_seconds": wall,
            "cpu_share": round(own / (wall * threads), 3),
            "others_cpu": others,
            "torch_threads": threads,
            "rss_at_start_mb": self.rss_at_start_mb,
        }


def warmup_steps(args: argparse.Namespace, examples: int) -> int:
    """Warm-up steps for one epoch, as our engine rounds warmup_ratio (given to both trainers)."""
    steps = math.ceil(math.ceil(examples / args.batch_size) / args.grad_accum)
    return math.ceil(args.warmup_ratio * steps)


def rendered_split(split: str) -> tuple[list[Any], Any, Any]:
    """(renderings, profile, context) of one split of the bench dataset, rendered by its task profile."""
    from brewslm.ingestion import open_dataset
    from brewslm.tasks import get_task_profile
    from brewslm.tasks.rendering import RenderContext

    dataset = open_dataset(DATASET)
    profile = get_task_profile(dataset.task_profile)
    context = RenderContext.from_manifest(dataset.manifest)
    return [profile.render(record, context) for record in dataset.iter_records(split)], profile, context


# --- data: a fixed sample of SST-2, imported like `brewslm data import` does ----------------------


def _read_rows(path: Path) -> list[tuple[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return [(row["sentence"], row["label"]) for row in csv.DictReader(handle)]


def _key(text: str) -> str:
    return " ".join(text.split()).lower()


def sample_rows(train_n: int, eval_n: int, seed: int) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """Distinct train rows and dev rows (no dev text also in the sample), seeded."""
    folder = shared_datasets_dir() / "sentiment_sst2"
    if not (folder / "train.csv").is_file():
        sys.exit(f"SST-2 sample not found under {folder}; set BREWSLM_SHARED_DATASETS to the shared datasets folder")

    def distinct(rows: list[tuple[str, str]], exclude: set[str]) -> list[tuple[str, str]]:
        seen, out = set(exclude), []
        for text, label in rows:
            key = _key(text)
            if key and key not in seen:
                seen.add(key)
                out.append((text, label))
        return out

    train = distinct(_read_rows(folder / "train.csv"), set())
    if train_n > len(train):
        sys.exit(f"--examples {train_n}: {folder / 'train.csv'} has only {len(train)} distinct rows")
    picked = random.Random(f"{seed}-train").sample(train, train_n)
    dev = distinct(_read_rows(folder / "dev.csv"), {_key(t) for t, _ in picked})
    if eval_n > len(dev):
        sys.exit(f"--eval-examples {eval_n}: {folder / 'dev.csv'} has only {len(dev)} usable rows")
    return picked, random.Random(f"{seed}-dev").sample(dev, eval_n)


def prepare(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """Import the sample into the workspace at ``work/home``; returns the counts and token totals.
    Runs in a child process (the workspace location is read from the environment)."""
    from transformers import AutoTokenizer

    from brewslm.ingestion import ImportSpec, run_import
    from brewslm.training.data import load_examples

    train_rows, dev_rows = sample_rows(args.examples, args.eval_examples, args.data_seed)
    counts = {}
    for split, rows in (("train", train_rows), ("validation", dev_rows)):
        path = work / f"sst2_{split}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["sentence", "label"])
            writer.writerows(rows)
        result = run_import(
            ImportSpec(
                locator=f"csv:{path}",
                mapper_id="label_to_classification",
                dataset=DATASET,
                split=split,
                field_map={"sentence": "text", "label": "label"},
                options={"label_names": LABEL_NAMES},
            )
        )
        if result.accepted != len(rows) or result.duplicates or sum(result.rejected_counts.values()):
            sys.exit(
                f"import of the {split} sample kept {result.accepted} of {len(rows)} rows "
                f"(rejected {result.rejected_counts}, duplicates {result.duplicates})"
            )
        counts[split] = result.accepted
    tokenizer = AutoTokenizer.from_pretrained(args.base)
    renders, profile, context = rendered_split("train")
    from brewslm.ingestion import open_dataset

    train_set = load_examples(
        open_dataset(DATASET).iter_records("train"), profile, context, tokenizer, args.max_seq_len
    )
    return {
        "train_rows": counts["train"],
        "validation_rows": counts["validation"],
        "train_tokens": train_set.report.tokens,
        "train_completion_tokens": train_set.report.trained_tokens,
        "mean_tokens_per_example": round(train_set.report.tokens / max(len(train_set), 1), 1),
        "example_prompt": renders[0].prompt,
        "example_completion": renders[0].completion,
    }


# --- the trainers (each in its own process) -------------------------------------------------------


def train_ours(work: Path, args: argparse.Namespace, variant: str) -> dict[str, Any]:
    from brewslm.training import build_config, train
    from brewslm.training.report import StderrProgress

    clock, marks = LoopClock(), {}
    printer = StderrProgress(every=max(1, args.log_every))

    def progress(event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "start":
            clock.start()
        elif kind == "step":
            clock.step()
            marks["final_train_loss"] = event["loss"]
        printer(event)

    config = build_config(
        {
            "dataset": DATASET,
            "base_model": args.base,
            "method": "lora",
            "lora": {
                "r": args.lora_r,
                "alpha": args.lora_alpha,
                "dropout": args.lora_dropout,
                "target_modules": "all-linear",
            },
            "learning_rate": args.lr,
            "epochs": 1,
            "batch_size": args.batch_size,
            "grad_accum": args.grad_accum,
            "max_seq_len": args.max_seq_len,
            "lr_schedule": "cosine",
            "warmup_steps": warmup_steps(args, args.examples),
            "max_grad_norm": 1.0,
            "weight_decay": 0.0,
            "seed": args.seed,
            "device": "cpu",
            "log_every": args.log_every,
            "output_dir": str(work / f"ours-{variant}-seed{args.seed}"),
            **VARIANTS[variant],
        }
    )
    result = train(config, progress)
    return {
        "trainer": f"brewslm ({variant})",
        "variant": variant,
        "adapter": str(result.model_dir),
        **clock.result(),
        "steps": result.steps,
        "own_tokens": result.tokens,
        "own_tokens_per_s": result.tokens_per_second,
        "final_train_loss": marks.get("final_train_loss"),
        "engine_eval_loss": result.eval_loss,
        "peak_rss_mb": peak_rss_mb(),
    }


def train_trl(work: Path, args: argparse.Namespace, data: str) -> dict[str, Any]:
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback, set_seed
    from trl import SFTConfig, SFTTrainer

    tokenizer = AutoTokenizer.from_pretrained(args.base)
    renders, profile, context = rendered_split("train")
    if data == "conversational":
        rows = [{"prompt": r.prompt, "completion": [{"role": "assistant", "content": r.completion}]} for r in renders]
    else:  # our encoder's token ids and completion mask, so only the training loops differ
        from brewslm.ingestion import open_dataset
        from brewslm.training.data import load_examples

        examples = load_examples(
            open_dataset(DATASET).iter_records("train"), profile, context, tokenizer, args.max_seq_len
        )
        rows = []
        for i in range(len(examples)):
            ids, trained = examples.example(i)
            rows.append({"input_ids": ids.tolist(), "completion_mask": trained.astype(int).tolist()})
    set_seed(args.seed)
    model = AutoModelForCausalLM.from_pretrained(args.base, dtype=torch.float32)
    model.config.use_cache = False
    clock, marks = LoopClock(), {}

    class Clock(TrainerCallback):
        def on_train_begin(self, targs, state, control, **kw):
            clock.start()

        def on_step_end(self, targs, state, control, **kw):
            seconds = clock.step()
            if (
                state.global_step == 1
                or state.global_step % args.log_every == 0
                or state.global_step == state.max_steps
            ):
                print(f"trl step {state.global_step}/{state.max_steps} | {seconds:.0f} s", file=sys.stderr, flush=True)

        def on_log(self, targs, state, control, logs=None, **kw):
            if logs and "loss" in logs:
                marks["final_train_loss"] = logs["loss"]

    config = SFTConfig(
        output_dir=str(work / f"trl-{data}-seed{args.seed}"),
        per_device_train_batch_size=args.batch_size,
        gradient_accumulation_steps=args.grad_accum,
        learning_rate=args.lr,
        lr_scheduler_type="cosine",
        warmup_steps=warmup_steps(args, args.examples),
        num_train_epochs=1,
        max_grad_norm=1.0,
        weight_decay=0.0,
        seed=args.seed,
        data_seed=args.seed,
        bf16=False,
        fp16=False,
        gradient_checkpointing=False,
        use_cpu=True,
        max_length=args.max_seq_len,
        completion_only_loss=True,
        packing=False,
        padding_free=False,
        logging_steps=args.log_every,
        save_strategy="no",
        eval_strategy="no",
        report_to="none",
        dataloader_num_workers=0,
        disable_tqdm=True,
    )
    lora = LoraConfig(
        r=args.lora_r,
        lora_alpha=args.lora_alpha,
        lora_dropout=args.lora_dropout,
        target_modules="all-linear",
        task_type="CAUSAL_LM",
        bias="none",
    )
    trainer = SFTTrainer(
        model=model,
        args=config,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        peft_config=lora,
        callbacks=[Clock()],
    )
    train_data = trainer.train_dataset
    own_tokens = sum(len(ids) for ids in train_data["input_ids"])
    own_completion = sum(sum(1 for t in labels if t != -100) for labels in train_data["labels"])
    trainer.train()
    adapter = work / f"trl-{data}-seed{args.seed}" / "adapter"
    trainer.model.save_pretrained(str(adapter))
    timing = clock.result()
    return {
        "trainer": TRL_VARIANTS[data],
        "variant": f"trl-{data}",
        "adapter": str(adapter),
        **timing,
        "steps": trainer.state.global_step,
        "own_tokens": own_tokens,
        "own_completion_tokens": own_completion,
        "own_tokens_per_s": round(own_tokens / timing["loop_seconds"], 2),
        "final_train_loss": marks.get("final_train_loss"),
        "peak_rss_mb": peak_rss_mb(),
        "versions": {
            "trl": __import__("trl").__version__,
            "transformers": __import__("transformers").__version__,
            "peft": __import__("peft").__version__,
            "torch": torch.__version__,
        },
    }


# --- one evaluator for every trained adapter -----------------------------------------------------


def completion_metrics(model: Any, examples: Any, pad_id: int, batch_size: int = 16) -> dict[str, float]:
    """Mean NLL per completion token and greedy exact match, from the plain forward pass."""
    import numpy as np
    import torch
    import torch.nn.functional as F

    order = np.argsort(-examples.lengths, kind="stable")
    total, tokens, exact = 0.0, 0, 0
    with torch.no_grad():
        for start in range(0, len(order), batch_size):
            chunk = [examples.example(int(i)) for i in order[start : start + batch_size]]
            width = max(len(ids) for ids, _ in chunk)
            input_ids = torch.full((len(chunk), width), pad_id, dtype=torch.long)
            attention = torch.zeros((len(chunk), width), dtype=torch.long)
            labels = torch.full((len(chunk), width), -100, dtype=torch.long)
            for row, (ids, trained) in enumerate(chunk):
                ids_t = torch.as_tensor(ids.astype("int64"))
                input_ids[row, : len(ids)], attention[row, : len(ids)] = ids_t, 1
                labels[row, : len(ids)] = torch.where(torch.as_tensor(trained), ids_t, torch.tensor(-100))
            logits = model(input_ids=input_ids, attention_mask=attention).logits[:, :-1].float()
            targets = labels[:, 1:]
            total += float(
                F.cross_entropy(
                    logits.reshape(-1, logits.shape[-1]), targets.reshape(-1), ignore_index=-100, reduction="sum"
                )
            )
            mask = targets != -100
            tokens += int(mask.sum())
            right = (logits.argmax(-1) == targets) | ~mask
            exact += int(right.all(dim=1).sum())
    return {"val_loss": total / max(tokens, 1), "val_tokens": tokens, "val_acc": exact / max(len(order), 1)}


def evaluate(work: Path, args: argparse.Namespace, adapters: dict[str, str]) -> dict[str, Any]:
    """Validation metrics of the base model and of each adapter, with the same encoder and forward."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from brewslm.ingestion import open_dataset
    from brewslm.training.data import load_examples

    torch.manual_seed(args.seed)
    tokenizer = AutoTokenizer.from_pretrained(args.base)
    _, profile, context = rendered_split("validation")
    examples = load_examples(
        open_dataset(DATASET).iter_records("validation"), profile, context, tokenizer, args.max_seq_len
    )
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    out: dict[str, Any] = {}
    for name, adapter in {"base model (untrained)": None, **adapters}.items():
        model = AutoModelForCausalLM.from_pretrained(args.base, dtype=torch.float32)
        if adapter is not None:
            model = PeftModel.from_pretrained(model, adapter)
        model.eval()
        out[name] = completion_metrics(model, examples, pad_id)
        print(
            f"evaluated {name}: val loss {out[name]['val_loss']:.4f}, acc {out[name]['val_acc']:.3f}",
            file=sys.stderr,
            flush=True,
        )
    return out


# --- the parent: orchestration, load check, table -----------------------------------------------


def wait_for_quiet(max_load: float, timeout: float = 600, poll: float = 30) -> float:
    """Wait (at most ``timeout`` s) for the 1-minute load average to drop below ``max_load``."""
    waited = 0.0
    load = os.getloadavg()[0]
    while load >= max_load and waited < timeout:
        print(
            f"load {load:.2f} >= {max_load}; waiting for a quiet machine ({waited:.0f}/{timeout:.0f} s)",
            file=sys.stderr,
            flush=True,
        )
        time.sleep(poll)
        waited += poll
        load = os.getloadavg()[0]
    if load >= max_load:
        print(f"load still {load:.2f} after {timeout:.0f} s; running anyway", file=sys.stderr, flush=True)
    return round(load, 2)


def child(work: Path, task: str, *extra: str, seed: int | None = None) -> Any:
    """Run one step of the benchmark in a fresh process (its peak RSS its own); returns its JSON."""
    tag = "-".join([task, *extra[:1]] + ([f"seed{seed}"] if seed is not None else [])) if task != "eval" else task
    out_file = work / f"{tag}.json"
    env = {
        **os.environ,
        "BREWSLM_HOME": str(work / "home"),
        "BREWSLM_CACHE_DIR": str(work / "cache"),
        "HF_HOME": str(work / "hf"),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "WANDB_DISABLED": "true",
    }
    env.pop("BREWSLM_DATABASE_URL", None)  # the temporary workspace's own SQLite
    command = [
        sys.executable,
        __file__,
        *sys.argv[1:],
        "--child",
        task,
        "--work",
        str(work),
        "--child-out",
        str(out_file),
    ]
    command += [f"--child-arg={value}" for value in extra] + ([f"--seeds={seed}"] if seed is not None else [])
    proc = subprocess.run(command, env=env, stdout=subprocess.DEVNULL)  # progress goes to stderr
    if proc.returncode != 0 or not out_file.is_file():
        sys.exit(f"{tag} failed (exit {proc.returncode}); see its output above")
    return json.loads(out_file.read_text())


def resolve_base(args: argparse.Namespace) -> str:
    if args.base:
        return str(Path(args.base).expanduser().resolve())
    if os.environ.get("BREWSLM_BASE_MODEL"):
        return os.environ["BREWSLM_BASE_MODEL"]
    os.environ.setdefault("BREWSLM_HOME", str(MODEL_HOME))  # convert the embedded GGUF once, under bench/out
    from brewslm.base_models import embedded_model_dir

    return str(embedded_model_dir())


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _mean(values: list[float]) -> float:
    return sum(values) / len(values)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _spread(values: list[float]) -> float:
    """Sample standard deviation (0 for a single run)."""
    if len(values) < 2:
        return 0.0
    mean = _mean(values)
    return math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1))


def summarize(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per trainer over its seeds: the median throughput (robust to one run that shared the
    cores), the largest peak RSS, the mean validation metrics and the loss's standard deviation."""
    rows: dict[str, dict[str, Any]] = {}
    for run in runs:
        rows.setdefault(run["trainer"], {"trainer": run["trainer"], "variant": run["variant"], "runs": []})[
            "runs"
        ].append(run)
    out = []
    for row in rows.values():
        group = row.pop("runs")
        row.update(
            seeds=[r["seed"] for r in group],
            tokens_per_s=round(_median([r["tokens_per_s"] for r in group]), 2),
            seconds_per_epoch=round(_median([r["seconds_per_epoch"] for r in group]), 2),
            cpu_share=round(_median([r["cpu_share"] for r in group]), 3),
            others_cpu=max((r["others_cpu"] for r in group if r["others_cpu"] is not None), default=None),
            peak_rss_mb=max(r["peak_rss_mb"] for r in group),
            val_loss=round(_mean([r["val_loss"] for r in group]), 5),
            val_loss_sd=round(_spread([r["val_loss"] for r in group]), 5),
            val_acc=round(_mean([r["val_acc"] for r in group]), 4),
        )
        out.append(row)
    trl = next((r for r in out if r["variant"] == "trl-conversational"), None)
    for row in out:
        row["speedup_vs_trl"] = round(row["tokens_per_s"] / trl["tokens_per_s"], 2) if trl else None
    return out


def check_targets(rows: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The issue's targets for the headline row (fp32) against TRL: >= 2.5x tokens/s, no more peak
    memory, validation loss within 2%."""
    trl = next((r for r in rows if r["variant"] == "trl-conversational"), None)
    ours = next((r for r in rows if r["variant"] == "fp32"), None)
    if not (trl and ours):
        return None
    gap = (ours["val_loss"] - trl["val_loss"]) / trl["val_loss"]
    return {
        "speedup": ours["speedup_vs_trl"],
        "speedup_met": ours["speedup_vs_trl"] >= 2.5,
        "peak_rss_ratio": round(ours["peak_rss_mb"] / trl["peak_rss_mb"], 3),
        "memory_met": ours["peak_rss_mb"] <= trl["peak_rss_mb"],
        "val_loss_gap": round(gap, 4),
        "val_loss_met": abs(gap) <= 0.02,
    }


def render_table(rows: list[dict[str, Any]]) -> str:
    several = any(len(r["seeds"]) > 1 for r in rows)
    headers = ["trainer", "tokens/s", "s/epoch", "peak RSS MB", "val loss", "val acc", "speed-up vs TRL", "others' CPU"]
    cells = []
    for r in rows:
        loss = f"{r['val_loss']:.4f}" + (f" ± {r['val_loss_sd']:.4f}" if several else "")
        speedup = f"{r['speedup_vs_trl']:.2f}x" if r["speedup_vs_trl"] is not None else "-"
        cells.append(
            [
                r["trainer"],
                f"{r['tokens_per_s']:.1f}",
                f"{r['seconds_per_epoch']:.1f}",
                f"{r['peak_rss_mb']:.0f}",
                loss,
                f"{r['val_acc']:.3f}",
                speedup,
                f"{r['others_cpu']:.2f}" if r["others_cpu"] is not None else "-",
            ]
        )
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    fmt = lambda row: "  ".join(v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(row, widths)))  # noqa: E731
    return "\n".join([fmt(headers), fmt(["-" * w for w in widths]), *map(fmt, cells)])


def run_all(
    args: argparse.Namespace, seeds: list[int], variants: list[str], trl_variants: list[str], work: Path
) -> tuple[dict[str, Any], list[dict[str, Any]], dict[str, Any]]:
    print(f"workspace {work}; base model {args.base}", file=sys.stderr, flush=True)
    data = child(work, "prepare")
    print(
        f"imported {data['train_rows']} train / {data['validation_rows']} validation rows; "
        f"{data['train_tokens']} training tokens ({data['mean_tokens_per_example']} per example)",
        file=sys.stderr,
        flush=True,
    )
    runs: list[dict[str, Any]] = []
    jobs = [("trl", v) for v in trl_variants] + [("ours", v) for v in variants]
    for seed in seeds:
        for job in jobs:
            load = wait_for_quiet(args.max_load) if args.wait_quiet else round(os.getloadavg()[0], 2)
            print(f"--- {' '.join(job)}, seed {seed} (1-min load {load})", file=sys.stderr, flush=True)
            run = child(work, *job, seed=seed)
            print(
                f"    {run['loop_seconds']:.1f} s; CPU share {run['cpu_share']:.2f}, others' CPU {run['others_cpu']}",
                file=sys.stderr,
                flush=True,
            )
            run.update(
                seed=seed,
                load_1m_at_start=load,
                seconds_per_epoch=round(run["loop_seconds"], 2),
                tokens_per_s=round(data["train_tokens"] / run["loop_seconds"], 2),
            )
            runs.append(run)
    adapters = {f"{r['trainer']} seed {r['seed']}": r["adapter"] for r in runs}
    metrics = child(work, "eval", json.dumps(adapters))
    for run in runs:
        run.update(metrics[f"{run['trainer']} seed {run['seed']}"])
    return data, runs, metrics.get("base model (untrained)") or {}


def main() -> None:
    command = " ".join(["python", "bench/train_vs_trl.py", *sys.argv[1:]])
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=512, help="training examples (default: 512)")
    parser.add_argument("--eval-examples", type=int, default=200, help="validation rows (default: 200)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 64 training examples, 32 validation rows")
    parser.add_argument(
        "--variants",
        default=DEFAULT_VARIANTS,
        help=f"our engine's rows, comma-separated from {', '.join(VARIANTS)} (default: {DEFAULT_VARIANTS})",
    )
    parser.add_argument(
        "--trl-variants",
        default="conversational",
        help="TRL rows, comma-separated from conversational (the headline: TRL tokenises the "
        "prompt-completion conversations) and same-tokens (fed our encoder's token ids and completion "
        "mask); empty: no TRL row (default: conversational)",
    )
    parser.add_argument("--base", help="base model folder (default: BREWSLM_BASE_MODEL, else the embedded SmolLM2)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--grad-accum", type=int, default=1)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--lora-r", type=int, default=16)
    parser.add_argument("--lora-alpha", type=float, default=32.0)
    parser.add_argument("--lora-dropout", type=float, default=0.0)
    parser.add_argument("--max-seq-len", type=int, default=256)
    parser.add_argument("--warmup-ratio", type=float, default=0.03)
    parser.add_argument(
        "--seeds",
        default="0",
        help="training seeds, comma-separated: every trainer runs once per seed and the table shows "
        "means (val loss ± its standard deviation); the data sample is the same for all (default: 0)",
    )
    parser.add_argument("--data-seed", type=int, default=0, help="seed of the SST-2 sample (default: 0)")
    parser.add_argument("--log-every", type=int, default=16, help="optimizer steps between progress lines")
    parser.add_argument(
        "--wait-quiet",
        action="store_true",
        help="before each trainer, wait (<= 10 min) for the 1-minute load average to drop below --max-load",
    )
    parser.add_argument("--max-load", type=float, default=0.5)
    parser.add_argument("--keep", action="store_true", help="keep the temporary workspace (adapters, run folders)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-arg", action="append", default=[], help=argparse.SUPPRESS)
    parser.add_argument("--child-out", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.examples, args.eval_examples = min(args.examples, 64), min(args.eval_examples, 32)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    trl_variants = [v.strip() for v in args.trl_variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS] + [v for v in trl_variants if v not in TRL_VARIANTS]
    if unknown:
        parser.error(
            f"unknown variant(s) {', '.join(unknown)}; our engine's: {', '.join(VARIANTS)}; "
            f"TRL's: {', '.join(TRL_VARIANTS)}"
        )

    seeds = [int(v) for v in args.seeds.split(",") if v.strip()]
    args.seed = seeds[0]
    if args.child:
        run_child(args)
        return
    args.base = resolve_base(args)
    sys.argv += ["--base", args.base]  # children use the same folder
    work = Path(tempfile.mkdtemp(prefix="brewslm-train-bench-"))
    try:
        data, runs, base = run_all(args, seeds, variants, trl_variants, work)
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    rows = summarize(runs)
    targets = check_targets(rows)
    trl = next((r for r in runs if r["variant"].startswith("trl")), {})
    report = {
        "benchmark": "train_vs_trl",
        "command": command,
        "machine": {
            "cpu": cpu_name(),
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            **trl.get("versions", {}),
        },
        "setup": {
            "dataset": "SST-2 sample (shared/datasets/sentiment_sst2)",
            "base_model": args.base,
            "examples": args.examples,
            "eval_examples": args.eval_examples,
            "batch_size": args.batch_size,
            "grad_accum": args.grad_accum,
            "learning_rate": args.lr,
            "lora_r": args.lora_r,
            "lora_alpha": args.lora_alpha,
            "lora_dropout": args.lora_dropout,
            "max_seq_len": args.max_seq_len,
            "warmup_steps": warmup_steps(args, args.examples),
            "schedule": "cosine",
            "epochs": 1,
            "seeds": seeds,
            "data_seed": args.data_seed,
        },
        "data": data,
        "base_model_val": base,
        "summary": rows,
        "targets": targets,
        "runs": runs,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "train_vs_trl.json").write_text(json.dumps(report, indent=2) + "\n")
    print(render_table(rows))
    print(
        f"{data['train_tokens']} training tokens in {args.examples} examples, {len(seeds)} seed(s); base model "
        f"before training: val loss {base.get('val_loss', float('nan')):.4f}, val acc {base.get('val_acc', float('nan')):.3f}"
    )
    if targets:
        print(
            f"targets (brewslm fp32 vs TRL): speed-up {targets['speedup']:.2f}x (>= 2.5x: "
            f"{'met' if targets['speedup_met'] else 'NOT met'}), peak RSS {targets['peak_rss_ratio']:.2f}x of TRL's "
            f"({'met' if targets['memory_met'] else 'NOT met'}), val loss {targets['val_loss_gap']:+.2%} "
            f"(within 2%: {'met' if targets['val_loss_met'] else 'NOT met'})"
        )
    print(f"written to {OUT / 'train_vs_trl.json'}")


def run_child(args: argparse.Namespace) -> None:
    work = Path(args.work)
    if args.child == "prepare":
        result = prepare(work, args)
    elif args.child == "ours":
        result = train_ours(work, args, args.child_arg[0])
    elif args.child == "trl":
        result = train_trl(work, args, args.child_arg[0])
    else:
        result = evaluate(work, args, json.loads(args.child_arg[0]))
    Path(args.child_out).write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
