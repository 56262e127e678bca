"""Introspection time on 100k-row files of the shapes real data comes in.

    python bench/introspection_speed.py                 # every shape, 100k rows, median of 3
    python bench/introspection_speed.py --rows 20000 --repeat 1
    python bench/introspection_speed.py --src /path/to/other/checkout/src   # the same files, another version

Each file is written by this script (fixed seed) into bench/out/introspection_speed/, then
``brewslm.introspection.introspect(locator)`` is timed in a fresh process per run (the clock starts
after BrewSLM's modules are imported, so it is the introspection a command does, not Python's
start-up): sampling the source, profiling, every mapper's sniff and the dry-run gate. The shapes:
classification JSONL; a headerless CSV with a title, a body and class ids (and a classes.txt
beside it); a JSON document whose records sit under a nested key; a JSON object keyed by id; plain
text, one sentence per line; JSON Lines behind a .txt extension read through ``file:``. The
target (issue 15) is under 3 s per 100k-row file on 2 cores. ``--src`` runs the same files against
another checkout's ``src`` folder (e.g. a git worktree of an older commit), so two versions can be
compared on one machine in one sitting. The table is printed and written to
bench/out/introspection_speed.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from measure import OUT, report_result  # noqa: E402  (bench/ is the script folder)

SEED = 7
WORDS = (
    "the order arrived late and the box was damaged while the support team answered quickly "
    "my invoice shows a charge twice please refund it the app crashes when I open settings "
    "great product fast delivery would buy again the courier left it at the wrong door"
).split()
LABELS = ("billing", "shipping", "account", "praise")


def sentence(rng: random.Random, low: int, high: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(low, high))).capitalize() + "."


def write_files(folder: Path, rows: int) -> dict[str, str]:
    """The benchmark files (written once per size); shape -> locator."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)
    records = [
        {
            "id": f"r{i}",
            "title": sentence(rng, 3, 6),
            "text": sentence(rng, 12, 30),
            "label": LABELS[rng.randrange(len(LABELS))],
        }
        for i in range(rows)
    ]
    files = {
        "jsonl": folder / "classification.jsonl",
        "csv_headerless": folder / "headerless.csv",
        "json_nested": folder / "nested.json",
        "json_keyed": folder / "keyed.json",
        "text_lines": folder / "corpus.txt",
        "jsonl_as_txt": folder / "lines.txt",
    }
    if not all(path.exists() for path in files.values()):
        with files["jsonl"].open("w", encoding="utf-8") as out:
            out.writelines(json.dumps({"text": r["text"], "label": r["label"]}) + "\n" for r in records)
        with files["csv_headerless"].open("w", encoding="utf-8") as out:
            out.writelines(f'{LABELS.index(r["label"]) + 1},"{r["title"]}","{r["text"]}"\n' for r in records)
        (folder / "classes.txt").write_text("".join(label + "\n" for label in LABELS), encoding="utf-8")
        body = [{"text": r["text"], "label": r["label"]} for r in records]
        files["json_nested"].write_text(
            json.dumps({"meta": {"version": 2, "source": "bench"}, "data": {"examples": body}}), encoding="utf-8"
        )
        files["json_keyed"].write_text(
            json.dumps({r["id"]: {"text": r["text"], "label": r["label"]} for r in records}), encoding="utf-8"
        )
        files["text_lines"].write_text("".join(r["text"] + "\n" for r in records), encoding="utf-8")
        files["jsonl_as_txt"].write_text(files["jsonl"].read_text(encoding="utf-8"), encoding="utf-8")
    schemes = {
        "jsonl": "jsonl",
        "csv_headerless": "csv",
        "json_nested": "json",
        "json_keyed": "json",
        "text_lines": "text",
        "jsonl_as_txt": "file",
    }
    return {shape: f"{schemes[shape]}:{path}" for shape, path in files.items()}


CHILD = """
import json, sys, time
from brewslm.introspection import introspect
start = time.perf_counter()
result = introspect(sys.argv[1], llm_assist=False)
seconds = time.perf_counter() - start
accepted = result.accepted
print(json.dumps({"seconds": seconds, "mapper": accepted.mapper_id if accepted else None,
                  "confidence": accepted.confidence if accepted else None}))
"""


def time_once(locator: str, src: Path | None) -> dict:
    env = {**os.environ, "BREWSLM_HOME": tempfile.mkdtemp(prefix="brewslm-introspect-bench-")}
    env.pop("DATASET_IMPORT_LLM_ASSIST_ENABLED", None)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    proc = subprocess.run([sys.executable, "-c", CHILD, locator], env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        return {"seconds": None, "error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--src", type=Path, help="another checkout's src folder to time instead of this one")
    args = parser.parse_args()

    locators = write_files(OUT / "introspection_speed" / str(args.rows), args.rows)
    results, lines = [], [f"{'shape':<16} {'seconds (median)':>17} {'runs':>22}  accepted", "-" * 80]
    for shape, locator in locators.items():
        runs = [time_once(locator, args.src) for _ in range(args.repeat)]
        times = [r["seconds"] for r in runs if r.get("seconds") is not None]
        median = statistics.median(times) if times else None
        last = runs[-1]
        accepted = (
            f"{last['mapper']} {last['confidence']:.2f}"
            if last.get("mapper")
            else last.get("error") or "nothing accepted"
        )
        results.append(
            {
                "shape": shape,
                "locator": locator,
                "rows": args.rows,
                "seconds": times,
                "median_seconds": median,
                "accepted": accepted,
            }
        )
        shown = f"{median:.2f}" if median is not None else "-"
        lines.append(f"{shape:<16} {shown:>17} {', '.join(f'{t:.2f}' for t in times):>22}  {accepted}")
    report_result(
        "introspection_speed",
        {"rows": args.rows, "src": str(args.src or "this checkout"), "results": results},
        "\n".join(lines),
    )


if __name__ == "__main__":
    main()
