"""What every layer passes around: a canonical record, a row's rejection, a value's JSON type name.

They sit at the bottom of the package order (docs/architecture.md) because sources name a
value's type in their errors, task profiles validate records and return rejections, and mappers
produce both: none of those may import another for them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Record = dict[str, Any]  # one canonical example of a task profile (tasks/*.py document each shape)


@dataclass(frozen=True)
class Rejection:
    """Why a row was not accepted: a stable snake_case ``reason`` and a one-line ``detail``."""

    reason: str
    detail: str = ""
    # True when the row has the shape the mapping reads and its OWN content is unusable (a
    # question nobody answered, call arguments encoded twice): no other mapping would import it
    # faithfully, so the introspector's gate does not count it against the mapping (gate.py)
    defect: bool = False


def type_name(value: Any) -> str:
    """The JSON type of a parsed value, as error messages name it (``null``, ``number``, ``list``...)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


__all__ = ["Record", "Rejection", "type_name"]
