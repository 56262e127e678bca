"""Import throughput: rows/s and peak memory of BrewSLM's import pipeline on generated JSONL.

    python bench/import_throughput.py                          # 100k and 1M rows, one table
    python bench/import_throughput.py --rows 1000000           # one size
    python bench/import_throughput.py --rows 20000 --rows 200000
    python bench/import_throughput.py --repeat 3               # each size 3 times, the median run shown

The data is a classification set written by this script (a `text` of about 80 characters and one
of eight `label`s, fixed seed; a smaller size is a prefix of a larger one), cached in
bench/out/classification_<rows>.jsonl. Each size is imported by `run_import` exactly as
`brewslm data import --locator jsonl:<file>` does (introspection picks the mapper, mode append,
auto split) into a fresh temporary BREWSLM_HOME, in its own process so that its peak RSS
(VmHWM) is its own. "RSS growth" is the peak minus the RSS just before the import started;
streaming in constant memory shows as the same growth at 100k and at 1M rows.
The table is printed and written to bench/out/import_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from measure import OUT, peak_rss_kb, proc_status_kb  # noqa: E402  (bench/ is the script folder)

DEFAULT_ROWS = (100_000, 1_000_000)
SEED = 1234

LABELS = ("billing", "shipping", "account", "technical", "returns", "praise", "complaint", "other")
SUBJECTS = {
    "billing": ["my invoice", "the monthly charge", "a refund", "the card payment", "my subscription fee"],
    "shipping": ["the parcel", "my delivery", "the courier", "the tracking number", "the shipment"],
    "account": ["my password", "the login page", "my profile", "two-factor sign in", "my email address"],
    "technical": ["the mobile app", "the sync feature", "the dashboard", "the export button", "the API"],
    "returns": ["the return label", "the exchange", "my returned item", "the return window", "the store credit"],
    "praise": ["your support team", "the new design", "the quick reply", "the product quality", "the packaging"],
    "complaint": ["the waiting time", "the rude answer", "the broken promise", "the hidden fee", "the poor quality"],
    "other": ["the opening hours", "your office address", "a partnership", "the newsletter", "a job opening"],
}
VERBS = [
    "is not working",
    "needs a look",
    "was great",
    "is confusing",
    "arrived late",
    "looks wrong",
    "has changed",
    "keeps failing",
    "deserves thanks",
    "raises a question",
]
TAILS = [
    "since Monday",
    "again today",
    "after the update",
    "this week",
    "for order {n}",
    "on my second try",
    "as far as I can tell",
    "before the weekend",
    "at checkout",
    "with ticket {n}",
]


def generate(path: Path, rows: int, seed: int = SEED) -> None:
    """Write ``rows`` JSONL rows; the same seed gives the same rows, and a prefix for fewer rows."""
    rng = random.Random(seed)
    tmp = path.with_suffix(".partial")
    with tmp.open("w", encoding="utf-8") as out:
        for i in range(rows):
            label = LABELS[rng.randrange(len(LABELS))]
            text = (
                f"Hello, {rng.choice(SUBJECTS[label])} {rng.choice(VERBS)} "
                f"{rng.choice(TAILS).format(n=rng.randrange(10**6, 10**7))}. Ref {i:07d}, please advise."
            )
            out.write(json.dumps({"id": f"t{i:07d}", "text": text, "label": label}) + "\n")
    tmp.replace(path)


def dataset_file(rows: int) -> Path:
    path = OUT / f"classification_{rows}.jsonl"
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        print(f"generating {path.name} ...", file=sys.stderr, flush=True)
        generate(path, rows)
        print(f"  {time.perf_counter() - started:.1f} s", file=sys.stderr, flush=True)
    return path


def measure_one(path: Path) -> dict:
    """Run one import in this process (a fresh child) and report time and memory."""
    from brewslm.ingestion import ImportSpec, run_import
    from brewslm.mappers import list_mappers
    from brewslm.sources import known_sources

    list_mappers(), known_sources()  # load the registries first so they do not count as growth
    before_kb = proc_status_kb("VmRSS") or peak_rss_kb()
    started = time.perf_counter()
    result = run_import(ImportSpec(locator=f"jsonl:{path}"))
    seconds = time.perf_counter() - started
    peak_kb = peak_rss_kb()
    lines = sum(1 for _ in path.open("rb"))
    return {
        "rows": lines,
        "seconds": round(seconds, 2),
        "rows_per_s": round(lines / seconds),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "rss_before_mb": round(before_kb / 1024, 1),
        "rss_growth_mb": round((peak_kb - before_kb) / 1024, 1),
        "accepted": result.accepted,
        "rejected": sum(result.rejected_counts.values()),
        "duplicates": result.duplicates,
        "mapper_id": (result.manifest or {}).get("mapper_id"),
        "file_mb": round(path.stat().st_size / 2**20, 1),
    }


def run_child(rows: int) -> dict:
    path = dataset_file(rows)
    with tempfile.TemporaryDirectory(prefix="brewslm-bench-") as home:
        env = {**os.environ, "BREWSLM_HOME": home, "BREWSLM_CACHE_DIR": home}
        env.pop("BREWSLM_DATABASE_URL", None)  # the workspace's own SQLite, not a shared database
        proc = subprocess.run([sys.executable, __file__, "--child", str(path)], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"import of {path.name} failed:\n{proc.stderr.strip()}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def render(results: list[dict]) -> str:
    headers = ["rows", "seconds", "rows/s", "peak RSS MB", "RSS growth MB"]
    keys = ["rows", "seconds", "rows_per_s", "peak_rss_mb", "rss_growth_mb"]
    cells = [[f"{r[k]:,}" if isinstance(r[k], int) else f"{r[k]:.1f}" for k in keys] for r in results]
    widths = [max(len(h), *(len(c[i]) for c in cells)) for i, h in enumerate(headers)]
    fmt = lambda row: "  ".join(v.rjust(w) for v, w in zip(row, widths))  # noqa: E731
    return "\n".join([fmt(headers), fmt(["-" * w for w in widths]), *map(fmt, cells)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rows",
        type=int,
        action="append",
        help="rows to generate and import; repeat for several sizes (default: 100000 and 1000000)",
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per size; the table shows the median run by time (default: 1)"
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)  # internal: import this file, print JSON
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure_one(Path(args.child))))
        return
    sizes = sorted(set(args.rows or DEFAULT_ROWS))
    results = []
    for rows in sizes:
        runs = []
        for _ in range(max(1, args.repeat)):
            runs.append(run_child(rows))
            print(f"imported {rows:,} rows in {runs[-1]['seconds']} s", file=sys.stderr, flush=True)
        median = sorted(runs, key=lambda r: r["seconds"])[len(runs) // 2]
        results.append({**median, "runs": len(runs), "all_seconds": [r["seconds"] for r in runs]})
    report = {
        "benchmark": "import_throughput",
        "command": "python bench/import_throughput.py "
        + " ".join(f"--rows {n}" for n in sizes)
        + (f" --repeat {args.repeat}" if args.repeat > 1 else ""),
        "machine": {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()},
        "results": results,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "import_throughput.json").write_text(json.dumps(report, indent=2) + "\n")
    print(render(results))
    print(f"mapper: {results[0]['mapper_id']}; written to {OUT / 'import_throughput.json'}")


if __name__ == "__main__":
    main()
