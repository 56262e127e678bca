"""One CLI command: the function that runs it, its options dataclass and how its result reads."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any, Callable

from brewslm.output import to_jsonable


def _render_json_like(result: Any) -> str:
    import json

    return json.dumps(to_jsonable(result), ensure_ascii=False, indent=2)


@dataclass(frozen=True)
class Command:
    run: Callable[[Any], Any]  # options -> result (JSON-able through cli.output.to_jsonable)
    options: type  # dataclass of documented options, see cli.options
    render: Callable[[Any], str] = _render_json_like  # result -> text for people
    # result -> exit status, asked after the result is printed (e.g. 1 when an eval gate failed, so
    # CI fails with the report on screen); None: a command that returns a result succeeded (0)
    exit_status: Callable[[Any], int] | None = None

    @property
    def description(self) -> str:
        """The function's docstring is the command's ``--help`` description."""
        return inspect.cleandoc(self.run.__doc__ or "")

    @property
    def summary(self) -> str:
        return self.description.split("\n", 1)[0]
