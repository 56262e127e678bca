"""Evaluation speed: label scoring vs generation on the same SST-2 classification rows, SmolLM2-135M.

    python bench/eval_speed.py                      # 500 SST-2 validation rows: the issue's numbers
    python bench/eval_speed.py --quick              # 50 rows: a smoke run
    python bench/eval_speed.py --quick --examples 8 # a few rows: does it work at all
    python bench/eval_speed.py --batch-size 16 --base path/to/model   # other settings / another model

What runs. A fixed seeded sample of ``--examples`` distinct SST-2 validation rows (from
``../shared/datasets/sentiment_sst2/dev.csv``, or ``$BREWSLM_SHARED_DATASETS``) is imported into a
fresh temporary workspace as ``brewslm data import`` does it (mapper ``label_to_classification``,
labels named negative / positive, the validation split). The classification task profile renders
every record (instruction with the label list + text; the reply is the label) and the embedded
SmolLM2-135M-Instruct (``brewslm.base_models.load_causal_lm``, float32 on CPU) predicts each row three ways:

- **label scoring** (``prediction.score_labels``): the log-likelihood of each label + end-of-turn
  token given the prompt, every label of an example in one row, the template prefix shared by all
  prompts computed once; the prediction is the argmax label.
- **batched generation** (``prediction.generate``): greedy decoding with a KV cache, ``--batch-size``
  prompts at a time, at most the classification handler's ``max_new_tokens``, stopping at the
  end-of-turn token; the reply is read by the handler's strict ``parse`` (an exact label or
  unparseable).
- **naive generation** (``prediction.generate_one_by_one``): transformers' ``model.generate`` on one
  prompt at a time, same budget and stop tokens - what evaluating by generation costs without batching.

How it is measured. Each method runs once on two rows first (warm-up: lazy initialisation,
allocator), then on all rows; its time is the wall time of that call (prompt tokenisation
included, model loading not). examples/s = rows / seconds. Accuracy and macro-F1 come from the
classification handler (an unparseable reply is a miss). "agreement" is the share of rows where
label scoring's argmax equals the parsed batched generation (unparseable counts as disagreement);
batched and naive greedy generation should agree on every row. The target printed beside the
table is the issue's: label scoring >= 5x the examples/s of naive per-example generation. The table
and every number behind it are written to ``bench/out/eval_speed.json``. The embedded model is
converted once into ``bench/out/train_vs_trl_home`` (shared with ``train_vs_trl.py``) unless
``--base`` or ``BREWSLM_BASE_MODEL`` names one.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_vs_trl as shared  # noqa: E402  (the SST-2 reader, model resolution and machine facts)
from measure import report_result  # noqa: E402

DATASET = "sst2_eval"
TARGET_SPEEDUP = 5.0


def sample_dev_rows(n: int, seed: int) -> list[tuple[str, str]]:
    """``n`` distinct SST-2 validation rows, a seeded sample."""
    path = shared.shared_datasets_dir() / "sentiment_sst2" / "dev.csv"
    if not path.is_file():
        sys.exit(
            f"SST-2 validation rows not found at {path}; set BREWSLM_SHARED_DATASETS to the shared datasets folder"
        )
    seen: set[str] = set()
    rows = []
    for text, label in shared._read_rows(path):
        key = shared._key(text)
        if key and key not in seen:
            seen.add(key)
            rows.append((text, label))
    if n > len(rows):
        sys.exit(f"--examples {n}: {path} has only {len(rows)} distinct rows")
    return random.Random(f"{seed}-eval-speed").sample(rows, n)


def import_rows(work: Path, rows: list[tuple[str, str]]) -> None:
    from brewslm.ingestion import ImportSpec, run_import

    path = work / "sst2_validation.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["sentence", "label"])
        writer.writerows(rows)
    result = run_import(
        ImportSpec(
            locator=f"csv:{path}",
            mapper_id="label_to_classification",
            dataset=DATASET,
            split="validation",
            field_map={"sentence": "text", "label": "label"},
            options={"label_names": shared.LABEL_NAMES},
        )
    )
    if result.accepted != len(rows):
        sys.exit(
            f"import kept {result.accepted} of {len(rows)} rows (rejected {result.rejected_counts}, "
            f"duplicates {result.duplicates})"
        )


def timed(run: Callable[[list[Any]], list[Any]], rendered: list[Any]) -> tuple[list[Any], float]:
    run(rendered[:2])  # warm-up
    started = time.perf_counter()
    out = run(rendered)
    return out, time.perf_counter() - started


def scores_of(handler: Any, records: list[dict[str, Any]], predictions: list[Any]) -> dict[str, Any]:
    from brewslm.evaluation.metrics.common import sum_stats

    metrics = handler.metrics(sum_stats(handler.score_example(r, p).stats for r, p in zip(records, predictions)))
    return {
        "accuracy": metrics["accuracy"],
        "macro_f1": metrics["macro_f1"],
        "unparseable_rate": metrics["unparseable_rate"],
    }


def agreement(a: list[Any], b: list[Any]) -> float:
    return sum(x is not None and x == y for x, y in zip(a, b)) / len(a)


def run(args: argparse.Namespace, base: str, work: Path) -> dict[str, Any]:
    import torch

    from brewslm.base_models import load_causal_lm
    from brewslm.evaluation.handlers import get_eval_handler
    from brewslm.inference import generate, generate_one_by_one, score_labels
    from brewslm.storage.datasets import open_dataset
    from brewslm.tasks import get_task_profile
    from brewslm.tasks.rendering import RenderContext

    rows = sample_dev_rows(args.examples, args.data_seed)
    import_rows(work, rows)
    dataset = open_dataset(DATASET)
    records = list(dataset.iter_records("validation"))
    context = RenderContext.from_manifest(dataset.manifest)
    profile = get_task_profile(dataset.task_profile)
    rendered = [profile.render(record, context) for record in records]
    handler = get_eval_handler("classification", context=context, manifest=dataset.manifest)
    labels = handler.candidate_labels()
    model, tokenizer = load_causal_lm(base, device="cpu", dtype=torch.float32)
    print(f"{len(records)} rows, labels {labels}; model {base}", file=sys.stderr, flush=True)

    settings = {"batch_size": args.batch_size, "max_seq_len": args.max_seq_len}
    gen = {**settings, "max_new_tokens": handler.max_new_tokens}
    methods: dict[str, dict[str, Any]] = {}

    scored, seconds = timed(lambda items: score_labels(model, tokenizer, items, labels, **settings), rendered)
    methods["label scoring"] = {"seconds": seconds, "predictions": [s.best for s in scored]}
    print(f"label scoring: {seconds:.1f} s", file=sys.stderr, flush=True)
    for name, function in (("batched generation", generate), ("naive generation", generate_one_by_one)):
        replies, seconds = timed(lambda items: function(model, tokenizer, items, **gen), rendered)
        methods[name] = {
            "seconds": seconds,
            "predictions": [handler.parse(g.text, r) for g, r in zip(replies, records)],
            "replies": [g.text for g in replies],
            "new_tokens": sum(g.tokens for g in replies),
        }
        print(f"{name}: {seconds:.1f} s", file=sys.stderr, flush=True)

    naive = len(records) / methods["naive generation"]["seconds"]
    for method in methods.values():
        method["examples_per_second"] = len(records) / method["seconds"]
        method["speedup_vs_naive"] = method["examples_per_second"] / naive
        method.update(scores_of(handler, records, method["predictions"]))
    speedup = methods["label scoring"]["speedup_vs_naive"]
    return {
        "examples": len(records),
        "labels": labels,
        "model": base,
        "settings": {
            **gen,
            "data_seed": args.data_seed,
            "dtype": "float32",
            "device": "cpu",
            "torch_threads": torch.get_num_threads(),
        },
        "methods": methods,
        "agreement": {
            "label_scoring_vs_batched_generation": agreement(
                methods["label scoring"]["predictions"], methods["batched generation"]["predictions"]
            ),
            "batched_vs_naive_generation": agreement(
                methods["batched generation"]["replies"], methods["naive generation"]["replies"]
            ),
        },
        "target": {
            "label_scoring_speedup_vs_naive": speedup,
            "required": TARGET_SPEEDUP,
            "met": speedup >= TARGET_SPEEDUP,
        },
        "machine": {
            "cpu": shared.cpu_name(),
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": __import__("transformers").__version__,
            "load_1m_at_end": round(os.getloadavg()[0], 2),
        },
    }


def render_table(result: dict[str, Any]) -> str:
    headers = ["method", "examples/s", "seconds", "speed-up vs naive", "accuracy", "macro F1", "unparseable"]
    cells = [
        [
            name,
            f"{m['examples_per_second']:.2f}",
            f"{m['seconds']:.1f}",
            f"{m['speedup_vs_naive']:.2f}x",
            f"{m['accuracy']:.3f}",
            f"{m['macro_f1']:.3f}",
            f"{m['unparseable_rate']:.3f}",
        ]
        for name, m in result["methods"].items()
    ]
    widths = [max(len(row[i]) for row in [headers, *cells]) for i in range(len(headers))]
    lines = [
        "  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row))
        for row in [headers, ["-" * w for w in widths], *cells]
    ]
    agree, target = result["agreement"], result["target"]
    lines += [
        "",
        f"agreement: label scoring argmax = parsed batched generation on "
        f"{agree['label_scoring_vs_batched_generation']:.3f} of rows; batched = naive generation replies on "
        f"{agree['batched_vs_naive_generation']:.3f}",
        f"target: label scoring >= {target['required']:.0f}x naive generation examples/s: "
        f"{target['label_scoring_speedup_vs_naive']:.2f}x ({'met' if target['met'] else 'NOT met'})",
        f"{result['examples']} SST-2 validation rows, {result['settings']['torch_threads']} torch threads on "
        f"{result['machine']['cpu']}; batch {result['settings']['batch_size']}, "
        f"max_new_tokens {result['settings']['max_new_tokens']}",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--examples", type=int, help="SST-2 validation rows (default: 500; 50 with --quick)")
    parser.add_argument("--quick", action="store_true", help="smoke run: 50 rows")
    parser.add_argument("--base", help="model folder (default: BREWSLM_BASE_MODEL, else the embedded SmolLM2)")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-seq-len", type=int, default=2048)
    parser.add_argument("--data-seed", type=int, default=0, help="seed of the SST-2 sample (default: 0)")
    args = parser.parse_args()
    args.examples = args.examples or (50 if args.quick else 500)
    if args.examples < 2:
        sys.exit("--examples must be at least 2")
    base = shared.resolve_base(args)  # before the temporary workspace: the converted model is kept
    with tempfile.TemporaryDirectory(prefix="brewslm-eval-speed-") as work:
        os.environ.update(
            {
                "BREWSLM_HOME": str(Path(work) / "home"),
                "BREWSLM_CACHE_DIR": str(Path(work) / "cache"),
                "HF_HUB_OFFLINE": "1",
                "TRANSFORMERS_OFFLINE": "1",
                "TOKENIZERS_PARALLELISM": "false",
            }
        )
        os.environ.pop("BREWSLM_DATABASE_URL", None)  # the temporary workspace's own SQLite
        Path(os.environ["BREWSLM_HOME"]).mkdir(parents=True)
        result = run(args, base, Path(work))
    result["command"] = " ".join(["python", "bench/eval_speed.py", *sys.argv[1:]])
    report_result("eval_speed", result, render_table(result))


if __name__ == "__main__":
    main()
