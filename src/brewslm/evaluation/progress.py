"""Evaluation progress as lines on stderr (examples/s and an ETA per phase)."""

from __future__ import annotations

import sys
import time
from typing import Any, Callable, TextIO

from brewslm.training.report import format_duration

EvalProgress = Callable[[dict[str, Any]], None]
"""Receives plain dict events: ``{"event": "info", "message"}`` and
``{"event": "predict", "model", "phase", "done", "total", "examples_per_s", "eta_s"}``."""


class StderrEvalProgress:
    """Evaluation events as lines on stderr: info lines, and prediction progress (examples/s, ETA)
    at most every ``interval`` seconds per phase, plus each phase's last line."""

    def __init__(self, stream: TextIO | None = None, interval: float = 5.0):
        self.stream = stream or sys.stderr
        self.interval = interval
        self._last: dict[tuple[str, str], float] = {}

    def __call__(self, event: dict[str, Any]) -> None:
        kind = event.get("event")
        if kind == "info":
            line = str(event.get("message", ""))
        elif kind == "predict":
            key, done, total = (event["model"], event["phase"]), event["done"], event["total"]
            clock = time.monotonic()
            if done < total and clock - self._last.get(key, float("-inf")) < self.interval:
                return
            self._last[key] = clock
            eta = "" if done >= total else f" | ETA {format_duration(event.get('eta_s'))}"
            line = (
                f"{event['model']} {event['phase']}: {done}/{total} examples | "
                f"{event['examples_per_s']:.1f} examples/s{eta}"
            )
        else:
            return
        print(line, file=self.stream, flush=True)


__all__ = [
    "EvalProgress",
    "StderrEvalProgress",
]
