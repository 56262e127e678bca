"""Handler options (``EvalConfig.handler_options``): reject names a handler does not know.

A misspelt option would otherwise be ignored silently and the report would be scored with the
default the user meant to change, so every handler with options checks them when it is built.
"""

from __future__ import annotations

import difflib
from typing import Any, Iterable, Mapping

from brewslm.errors import ConfigError


def check_options(options: Mapping[str, Any], known: Iterable[str], task: str) -> None:
    """Raise ``ConfigError`` naming the first unknown option, the closest known one and the list."""
    names = sorted(known)
    for name in options:
        if name in names:
            continue
        close = difflib.get_close_matches(str(name), names, n=1, cutoff=0.6)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        listed = ", ".join(names) if names else "none"
        raise ConfigError(f"unknown handler option '{name}' for {task}{hint} (its options: {listed})")


__all__ = ["check_options"]
