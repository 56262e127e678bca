"""Turning results into text: plain tables for people, one JSON document for machines (the CLI, the
reports, the UI and the recipe pipeline all write through here), and reading such a document back."""

from __future__ import annotations

import json
import math
import sys
from datetime import date, datetime
from pathlib import Path
from typing import Any, Iterable, Sequence, TextIO

from brewslm.errors import ConfigError

MAX_CELL = 60  # wider cells are cut so a table stays readable in a terminal


def to_jsonable(value: Any) -> Any:
    """Plain JSON types from what the APIs return (dataclasses, pydantic models, paths, times)."""
    if hasattr(value, "to_dict"):
        return to_jsonable(value.to_dict())
    if hasattr(value, "model_dump"):
        return to_jsonable(value.model_dump(mode="json"))
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if hasattr(value, "__dataclass_fields__"):
        import dataclasses

        return to_jsonable(dataclasses.asdict(value))
    return str(value)


def write_json(payload: Any, stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    json.dump(to_jsonable(payload), stream, ensure_ascii=False, indent=2)
    stream.write("\n")


def read_json_object(path: Path, fix: str) -> dict[str, Any]:
    """The JSON object in ``path``; unreadable or not an object: a one-line ``ConfigError`` naming
    the file and ``fix`` (what writes it again)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path} is unreadable ({exc}); {fix}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} is not a JSON object; {fix}")
    return data


def cell(value: Any, width: int = MAX_CELL) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        text = f"{value:.2f}"
    elif isinstance(value, (dict, list)):
        text = json.dumps(to_jsonable(value), ensure_ascii=False)
    else:
        text = str(value)
    text = text.replace("\n", "\\n")
    return text if len(text) <= width else text[: width - 1] + "…"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]], width: int = MAX_CELL) -> str:
    """A left-aligned text table; an empty ``rows`` gives just the header."""
    body = [[cell(v, width) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in body]) for i, h in enumerate(headers)]
    line = lambda values: "  ".join(v.ljust(w) for v, w in zip(values, widths)).rstrip()  # noqa: E731
    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in body])


def key_values(pairs: Iterable[tuple[str, Any]]) -> str:
    pairs = list(pairs)
    pad = max((len(k) for k, _ in pairs), default=0)
    return "\n".join(f"{k.ljust(pad)}  {cell(v, 200)}" for k, v in pairs)


def counts(mapping: dict[str, int] | None, order: Sequence[str] = ()) -> str:
    """``{"a": 2, "b": 1}`` -> ``a 2, b 1``: keys named in ``order`` first, in that order, then the
    rest largest first; empty -> ``none``."""
    rank = {key: i for i, key in enumerate(order)}
    items = sorted((mapping or {}).items(), key=lambda kv: (rank.get(kv[0], len(rank)), -kv[1], kv[0]))
    return ", ".join(f"{k} {v}" for k, v in items) if items else "none"


SPLITS = ("train", "validation", "test")


def when(iso_time: str | None) -> str | None:
    """``2024-05-01T12:00:00.123+00:00`` -> ``2024-05-01 12:00:00`` (the APIs report UTC)."""
    return iso_time[:19].replace("T", " ") if iso_time else None
