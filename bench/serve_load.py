"""Serving under load: requests/s and latency with dynamic batching vs one request at a time.

    python bench/serve_load.py                                # SmolLM2-135M, 8 clients, 96 requests per mode
    python bench/serve_load.py --clients 16 --requests 160    # more load
    python bench/serve_load.py --base path/to/model --requests 8 --max-tokens 8   # a smoke run on any model
    python bench/serve_load.py --device cpu --threads 4      # on the CPU, torch limited to 4 threads
    python bench/serve_load.py --model runs/reviews-lora      # a fine-tune (any spec `brewslm serve` takes)

What runs. The model (``--model``: a run, recipe, export or model folder; default ``--base``: the
embedded SmolLM2-135M-Instruct, or ``BREWSLM_BASE_MODEL``) is loaded once
(``serving.ServedModels``) and served twice in this process, one mode after the other, by the real
app (``serving.app.create_app``) under uvicorn on a free loopback port (``serving.local``):

- **batched**: the engine's dynamic batching (requests arriving within ``--window-ms`` of the first
  queued one, up to ``--max-batch-size``, decode as one batch);
- **one at a time**: the same server with ``batching`` off - the baseline.

In each mode ``--clients`` concurrent clients (httpx, one connection each) send ``POST
/v1/chat/completions`` in a closed loop - a client sends its next request when its previous reply
arrives - until ``--requests`` requests have been sent or ``--max-seconds`` have passed (whichever
comes first: the run is bounded in count and time). Each request is one short user question
(cycled from a fixed list), ``max_tokens`` = ``--max-tokens``, greedy (temperature 0), no streaming.
Two requests per client run first, untimed (warm-up: allocator, kernels, connections).

How it is measured. requests/s = requests answered with 200 / wall time from the first request
sent to the last reply received; latency = per-request wall time at the client (p50 / p95 over the
answered requests); tokens/s = completion tokens (the replies' ``usage``) / wall time. A request
fails when the server answers anything but 200 or the connection errors; failures are counted,
never retried. "speed-up" is batched requests/s / one-at-a-time requests/s; the target printed is
the issue's: >= 2x at 8 clients with zero failed requests. "mean batch" is the engine's rows per
batch in the timed part. "same replies" is the share of questions whose greedy reply text is the
same in both modes (float32 gives 1.0; bfloat16 may flip a near-tie). The table and every number
are written to ``bench/out/serve_load.json``. The embedded model is converted once into
``bench/out/train_vs_trl_home`` (shared with the other benchmarks) unless ``--base``,
``--model`` or ``BREWSLM_BASE_MODEL`` names one.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import train_vs_trl as shared  # noqa: E402  (model resolution and machine facts)
from measure import report_result  # noqa: E402

TARGET_SPEEDUP = 2.0
TARGET_CLIENTS = 8
QUESTIONS = [
    "What is the capital of France?",
    "Give me one tip for sleeping better.",
    "Name three primary colours.",
    "How do I boil an egg?",
    "What does a compiler do?",
    "Write a haiku about rain.",
    "Why is the sky blue?",
    "Suggest a name for a black cat.",
    "What is 12 times 7?",
    "How many days are in a leap year?",
    "Translate 'good morning' into Spanish.",
    "What is the boiling point of water?",
    "Summarise the plot of Cinderella in one sentence.",
    "Which planet is closest to the sun?",
    "What is a noun?",
    "Recommend a board game for four players.",
]


def percentile(values: list[float], q: float) -> float | None:
    """The q-th percentile (0-100), linear between closest ranks (numpy's default)."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


async def client_loop(
    client: Any,
    url: str,
    model_id: str,
    slots: list[int],
    args: argparse.Namespace,
    deadline: float,
    records: list[dict[str, Any]],
) -> None:
    """One client: request after request until the shared budget (``slots``) or the time is spent."""
    while time.perf_counter() < deadline:
        if not slots:
            return
        number = slots.pop()
        question = QUESTIONS[number % len(QUESTIONS)]
        body = {
            "model": model_id,
            "messages": [{"role": "user", "content": question}],
            "max_tokens": args.max_tokens,
            "temperature": 0,
        }
        started = time.perf_counter()
        record: dict[str, Any] = {"question": number % len(QUESTIONS)}
        try:
            response = await client.post(url, json=body)
            record["status"] = response.status_code
            if response.status_code == 200:
                data = response.json()
                record["text"] = data["choices"][0]["message"]["content"]
                record["completion_tokens"] = data["usage"]["completion_tokens"]
            else:
                record["error"] = response.text[:300]
        except Exception as exc:  # a failed request is counted, never retried
            record["status"] = None
            record["error"] = f"{type(exc).__name__}: {exc}"[:300]
        record["seconds"] = time.perf_counter() - started
        records.append(record)


async def drive(
    base_url: str, model_id: str, args: argparse.Namespace, api_key: str | None, engine_stats: Any
) -> dict[str, Any]:
    """Warm-up, then the timed part; the engine's counters are read around the timed part."""
    import httpx

    url = f"{base_url}/v1/chat/completions"
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    clients = [httpx.AsyncClient(timeout=args.max_seconds + 60, headers=headers) for _ in range(args.clients)]
    try:
        warmup: list[dict[str, Any]] = []
        slots = list(range(2 * args.clients))
        deadline = time.perf_counter() + args.max_seconds
        await asyncio.gather(*(client_loop(c, url, model_id, slots, args, deadline, warmup) for c in clients))
        before = engine_stats()
        records: list[dict[str, Any]] = []
        slots = list(range(args.requests))[::-1]
        started = time.perf_counter()
        deadline = started + args.max_seconds
        await asyncio.gather(*(client_loop(c, url, model_id, slots, args, deadline, records) for c in clients))
        wall = time.perf_counter() - started
        after = engine_stats()
    finally:
        for client in clients:
            await client.aclose()
    return {
        "records": records,
        "wall_seconds": wall,
        "warmup_failed": sum(r["status"] != 200 for r in warmup),
        "before": before,
        "after": after,
    }


def summarize(run: dict[str, Any]) -> dict[str, Any]:
    records, wall, before, after = run["records"], run["wall_seconds"], run["before"], run["after"]
    ok = [r for r in records if r["status"] == 200]
    latencies = [r["seconds"] for r in ok]
    batches = after.get("batches", 0) - before.get("batches", 0)
    rows = after.get("batch_rows", 0) - before.get("batch_rows", 0)
    return {
        "requests": len(records),
        "answered": len(ok),
        "failed": len(records) - len(ok),
        "warmup_failed": run["warmup_failed"],
        "wall_seconds": wall,
        "requests_per_second": len(ok) / wall if wall > 0 else None,
        "completion_tokens_per_second": sum(r["completion_tokens"] for r in ok) / wall if wall > 0 else None,
        "latency_p50_s": percentile(latencies, 50),
        "latency_p95_s": percentile(latencies, 95),
        "latency_mean_s": statistics.fmean(latencies) if latencies else None,
        "mean_batch_size": rows / batches if batches else None,
        "errors": sorted({r["error"] for r in records if r.get("error")})[:5],
        "replies": {str(r["question"]): r["text"] for r in ok},
    }


def serve_mode(models: Any, model_id: str, args: argparse.Namespace, batching: bool) -> dict[str, Any]:
    from brewslm.serving.app import create_app
    from brewslm.serving.local import running_server
    from brewslm.serving.settings import server_settings

    settings = server_settings(
        batching=batching,
        window_ms=args.window_ms,
        max_batch_size=args.max_batch_size,
        max_tokens_limit=max(args.max_tokens, 1),
        default_max_tokens=max(args.max_tokens, 1),
        request_timeout_s=args.max_seconds + 60,
    )
    app = create_app(models, settings)
    engine = app.state.brewslm.engine  # the app's engine: its batch counters
    with running_server(app) as base_url:
        run = asyncio.run(drive(base_url, model_id, args, settings.key, engine.stats))
    return summarize(run)


def render_table(result: dict[str, Any]) -> str:
    headers = ["mode", "req/s", "p50 s", "p95 s", "tok/s", "mean batch", "answered", "failed"]
    cells = []
    for name, m in result["modes"].items():
        cells.append(
            [
                name,
                _num(m["requests_per_second"]),
                _num(m["latency_p50_s"], 3),
                _num(m["latency_p95_s"], 3),
                _num(m["completion_tokens_per_second"], 1),
                _num(m["mean_batch_size"]),
                str(m["answered"]),
                str(m["failed"]),
            ]
        )
    widths = [max(len(row[i]) for row in [headers, *cells]) for i in range(len(headers))]
    lines = [
        "  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row))
        for row in [headers, ["-" * w for w in widths], *cells]
    ]
    target = result["target"]
    lines += [
        "",
        f"speed-up (batched / one at a time, requests/s): {_num(target['speedup'])}x; target >= "
        f"{target['required']:.0f}x at {TARGET_CLIENTS} clients with 0 failed: "
        f"{'met' if target['met'] else 'NOT met'}"
        + (
            ""
            if result["settings"]["clients"] == TARGET_CLIENTS
            else f" (this run: {result['settings']['clients']} clients)"
        ),
        f"same greedy replies in both modes: {_num(result['same_replies'])} of questions",
        f"model {result['model']['id']} on {result['machine']['device']}; {result['settings']['clients']} clients, "
        f"max_tokens {result['settings']['max_tokens']}, window {result['settings']['window_ms']:g} ms, "
        f"max batch {result['settings']['max_batch_size']}",
    ]
    return "\n".join(lines)


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def same_replies(a: dict[str, str], b: dict[str, str]) -> float | None:
    common = sorted(set(a) & set(b))
    return sum(a[k] == b[k] for k in common) / len(common) if common else None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--base", help="model folder (default: BREWSLM_BASE_MODEL, else the embedded SmolLM2)")
    parser.add_argument("--model", help="what to serve: a run, recipe, export or model folder (default: --base)")
    parser.add_argument("--clients", type=int, default=TARGET_CLIENTS, help="concurrent clients (default: 8)")
    parser.add_argument("--requests", type=int, default=96, help="timed requests per mode (default: 96)")
    parser.add_argument("--max-seconds", type=float, default=180.0, help="time bound per mode (default: 180)")
    parser.add_argument("--max-tokens", type=int, default=32, help="max_tokens per request (default: 32)")
    parser.add_argument("--window-ms", type=float, default=10.0)
    parser.add_argument("--max-batch-size", type=int, default=16)
    parser.add_argument("--device", help="torch device (default: cuda when available, else cpu)")
    parser.add_argument(
        "--threads", type=int, help="torch CPU threads (default: torch's; 1 is faster on a busy machine)"
    )
    args = parser.parse_args()
    if args.clients < 1 or args.requests < 1 or args.max_tokens < 1 or args.max_seconds <= 0:
        sys.exit("--clients, --requests and --max-tokens must be at least 1, --max-seconds above 0")
    spec = args.model or shared.resolve_base(args)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

    import torch

    from brewslm.serving.served import ServedModels

    if args.threads:
        torch.set_num_threads(args.threads)

    models = ServedModels.load([spec], device=args.device)
    served = models.default
    device = next(served.model.parameters()).device
    modes = {
        "batched": serve_mode(models, served.id, args, batching=True),
        "one at a time": serve_mode(models, served.id, args, batching=False),
    }
    batched, alone = modes["batched"], modes["one at a time"]
    speedup = (
        batched["requests_per_second"] / alone["requests_per_second"]
        if batched["requests_per_second"] and alone["requests_per_second"]
        else None
    )
    failed = sum(m["failed"] + m["warmup_failed"] for m in modes.values())
    result = {
        "model": {"spec": spec, "id": served.id, "dtype": str(next(served.model.parameters()).dtype)},
        "settings": {
            "clients": args.clients,
            "requests": args.requests,
            "max_seconds": args.max_seconds,
            "max_tokens": args.max_tokens,
            "window_ms": args.window_ms,
            "max_batch_size": args.max_batch_size,
        },
        "modes": modes,
        "same_replies": same_replies(batched["replies"], alone["replies"]),
        "target": {
            "speedup": speedup,
            "required": TARGET_SPEEDUP,
            "failed": failed,
            "met": speedup is not None and speedup >= TARGET_SPEEDUP and failed == 0,
        },
        "machine": {
            "device": torch.cuda.get_device_name(device)
            if device.type == "cuda"
            else f"{shared.cpu_name()} (cpu, {torch.get_num_threads()} threads)",
            "cores": os.cpu_count(),
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": __import__("transformers").__version__,
            "load_1m_at_end": round(os.getloadavg()[0], 2),
        },
        "command": " ".join(["python", "bench/serve_load.py", *sys.argv[1:]]),
    }
    report_result("serve_load", result, render_table(result))


if __name__ == "__main__":
    main()
