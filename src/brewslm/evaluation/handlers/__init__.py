"""Evaluation handlers, one module per task profile (or scoring mode); registry keyed by profile.

    handler = get_eval_handler("classification", context=render_context, manifest=manifest)

Mapper plugins that declare their own task profile register a handler with
``register_eval_handler(HandlerClass)``; a structured_extraction handler is keyed by
``(task, scoring_mode)`` and picked from the manifest's ``output_schema.scoring_mode``.
"""

from __future__ import annotations

from typing import Any, Mapping

from brewslm.errors import ConfigError
from brewslm.evaluation.handlers.base import EvalHandler, Scored
from brewslm.registry import package_members
from brewslm.tasks.rendering import RenderContext

_HANDLERS: dict[tuple[str, str | None], type[EvalHandler]] = {}
_loaded = False


def register_eval_handler(handler: type[EvalHandler], *, replace: bool = False) -> None:
    key = (handler.task, handler.scoring_mode)
    if key in _HANDLERS and not replace:
        raise ConfigError(f"an eval handler for {_key_text(key)} is already registered; pass replace=True to override it")
    _HANDLERS[key] = handler


def _key_text(key: tuple[str, str | None]) -> str:
    return f"'{key[0]}'" + (f" (scoring mode '{key[1]}')" if key[1] else "")


def _ensure_loaded() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for handler in package_members(__name__, __path__, "HANDLER"):
        if isinstance(handler, type) and issubclass(handler, EvalHandler):
            _HANDLERS.setdefault((handler.task, handler.scoring_mode), handler)


def handler_class(task: str, scoring_mode: str | None = None) -> type[EvalHandler]:
    _ensure_loaded()
    for key in ((task, scoring_mode), (task, None)):
        if key in _HANDLERS:
            return _HANDLERS[key]
    modes = sorted(mode for t, mode in _HANDLERS if t == task and mode)
    if modes and scoring_mode is None:
        raise ConfigError(f"task '{task}' is scored in one of these modes: {', '.join(modes)}; "
                          "the dataset manifest's output_schema.scoring_mode names it")
    known = sorted({t for t, _ in _HANDLERS})
    raise ConfigError(f"no eval handler for task profile {_key_text((task, scoring_mode))}; "
                      f"handlers exist for: {', '.join(known)}")


def get_eval_handler(task: str, scoring_mode: str | None = None, *, options: Mapping[str, Any] | None = None,
                     context: RenderContext | None = None, manifest: Mapping[str, Any] | None = None) -> EvalHandler:
    return handler_class(task, scoring_mode)(options=options, context=context, manifest=manifest)


def list_eval_handlers() -> list[type[EvalHandler]]:
    _ensure_loaded()
    return [_HANDLERS[k] for k in sorted(_HANDLERS, key=lambda k: (k[0], k[1] or ""))]


def has_eval_handler(task: str) -> bool:
    _ensure_loaded()
    return any(t == task for t, _ in _HANDLERS)


__all__ = ["EvalHandler", "Scored", "get_eval_handler", "handler_class", "has_eval_handler",
           "list_eval_handlers", "register_eval_handler"]
