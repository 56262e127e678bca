"""What the benchmarks share: process memory readings (Linux /proc/self/status, with getrusage as the
fallback) and printing + saving a result."""

from __future__ import annotations

import json
import resource
import sys
from pathlib import Path
from typing import Any

OUT = Path(__file__).resolve().parent / "out"


def proc_status_kb(key: str) -> int | None:
    """A ``/proc/self/status`` value in kB (``VmHWM``: peak RSS, ``VmRSS``: current RSS), or None."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def peak_rss_kb() -> int:
    """This process's peak resident set size in kB."""
    hwm = proc_status_kb("VmHWM")
    if hwm is not None:
        return hwm
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # macOS reports bytes


def peak_rss_mb() -> float:
    return round(peak_rss_kb() / 1024, 1)


def rss_mb() -> float | None:
    kb = proc_status_kb("VmRSS")
    return round(kb / 1024, 1) if kb is not None else None


def report_result(name: str, result: dict[str, Any], table: str) -> Path:
    """Print ``table`` and write ``result`` with it to ``bench/out/<name>.json``; returns the file."""
    print(table)
    OUT.mkdir(parents=True, exist_ok=True)
    out_file = OUT / f"{name}.json"
    out_file.write_text(json.dumps({**result, "table": table}, indent=2) + "\n", encoding="utf-8")
    print(f"\nwritten to {out_file}", file=sys.stderr)
    return out_file
