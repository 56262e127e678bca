"""Evaluation handlers, one module per task profile (or scoring mode); registry keyed by profile.

    handler = get_eval_handler("classification", context=render_context, manifest=manifest)

Mapper plugins that declare their own task profile register a handler with
``register_eval_handler(HandlerClass)`` or a ``brewslm.eval_handlers`` entry point; a structured_extraction handler is keyed by
``(task, scoring_mode)`` and picked from the manifest's ``output_schema.scoring_mode``.
"""

from __future__ import annotations

from typing import Any, Mapping

from brewslm.errors import ConfigError
from brewslm.evaluation.handlers.base import EvalHandler, Scored
from brewslm.registry import Registry
from brewslm.tasks.rendering import RenderContext

REGISTRY: Registry[type[EvalHandler]] = Registry(
    "eval handler",
    __name__,
    "HANDLER",
    key=lambda handler: (handler.task, handler.scoring_mode),
    entry_points="brewslm.eval_handlers",
    accept=lambda handler: isinstance(handler, type) and issubclass(handler, EvalHandler),
)


def register_eval_handler(handler: type[EvalHandler], *, replace: bool = False) -> None:
    REGISTRY.register(handler, replace=replace)


def _key_text(key: tuple[str, str | None]) -> str:
    return f"'{key[0]}'" + (f" (scoring mode '{key[1]}')" if key[1] else "")


def handler_class(task: str, scoring_mode: str | None = None) -> type[EvalHandler]:
    for key in ((task, scoring_mode), (task, None)):
        handler = REGISTRY.find(key)
        if handler is not None:
            return handler
    keys = REGISTRY.keys()
    modes = sorted(mode for t, mode in keys if t == task and mode)
    if modes and scoring_mode is None:
        raise ConfigError(
            f"task '{task}' is scored in one of these modes: {', '.join(modes)}; "
            "the dataset manifest's output_schema.scoring_mode names it"
        )
    known = sorted({t for t, _ in keys})
    raise ConfigError(
        f"no eval handler for task profile {_key_text((task, scoring_mode))}; handlers exist for: {', '.join(known)}"
    )


def get_eval_handler(
    task: str,
    scoring_mode: str | None = None,
    *,
    options: Mapping[str, Any] | None = None,
    context: RenderContext | None = None,
    manifest: Mapping[str, Any] | None = None,
) -> EvalHandler:
    return handler_class(task, scoring_mode)(options=options, context=context, manifest=manifest)


def list_eval_handlers() -> list[type[EvalHandler]]:
    return REGISTRY.entries()


def has_eval_handler(task: str) -> bool:
    return any(t == task for t, _ in REGISTRY.keys())


__all__ = [
    "REGISTRY",
    "EvalHandler",
    "Scored",
    "get_eval_handler",
    "handler_class",
    "has_eval_handler",
    "list_eval_handlers",
    "register_eval_handler",
]
