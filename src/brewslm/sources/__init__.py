"""Source connectors: a locator's scheme selects a factory that streams rows.

Built-in connectors live one per module in this package. Plugins call
``register_source(id, factory)``; modules named in ``DATA_ADAPTER_PLUGIN_MODULES``
(comma-separated) are imported on first use so they can register themselves.
"""

from __future__ import annotations

import importlib
import os
from typing import Callable

from brewslm.errors import PluginError, SourceError
from brewslm.sources.base import Locator, ParseFailure, Source, SourceRow

SourceFactory = Callable[[Locator], Source]

_SOURCES: dict[str, SourceFactory] = {}
_BUILTIN_SOURCES: set[str] = set()
_loaded = False

# module -> schemes it registers; imported on first use to keep start-up light
_BUILTIN_MODULES = (
    "jsonl",
    "csv_source",
    "json_source",
    "conll",
    "text",
    "parquet",
    "file",
    "hf",
    "kaggle",
)


def register_source(source_id: str, factory: SourceFactory, *, replace: bool = False) -> None:
    """Register ``factory`` for locators ``<source_id>:...``.

    Replacing a built-in connector needs ``replace=True`` so a plugin cannot shadow one by accident.
    """
    source_id = source_id.lower()
    if source_id in _SOURCES and not replace:
        kind = "built-in" if source_id in _BUILTIN_SOURCES else "registered"
        raise PluginError(
            f"source '{source_id}' is already {kind}; pass replace=True to register_source to override it"
        )
    _SOURCES[source_id] = factory


def _register_builtin(source_id: str, factory: SourceFactory) -> None:
    _SOURCES[source_id] = factory
    _BUILTIN_SOURCES.add(source_id)


def _ensure_loaded() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for module in _BUILTIN_MODULES:
        try:
            mod = importlib.import_module(f"brewslm.sources.{module}")
        except ModuleNotFoundError as exc:
            if exc.name == f"brewslm.sources.{module}":
                continue
            raise
        for source_id, factory in getattr(mod, "SOURCES", {}).items():
            _register_builtin(source_id, factory)
    for module in _plugin_modules("DATA_ADAPTER_PLUGIN_MODULES"):
        try:
            importlib.import_module(module)
        except Exception as exc:  # a broken plugin must not take the built-ins down with it
            _PLUGIN_ERRORS.append(f"source plugin '{module}' failed to load: {exc}")


_PLUGIN_ERRORS: list[str] = []


def _plugin_modules(env_var: str) -> list[str]:
    return [m.strip() for m in os.environ.get(env_var, "").split(",") if m.strip()]


def plugin_errors() -> list[str]:
    _ensure_loaded()
    return list(_PLUGIN_ERRORS)


def known_sources() -> list[str]:
    _ensure_loaded()
    return sorted(_SOURCES)


def open_source(locator: str | Locator) -> Source:
    """Open the source a locator names; an unknown scheme lists the known ones.

    The generic ``?join=<file>&on=<key>`` options work with every connector (see ``join.py``).
    """
    from brewslm.sources.join import with_join

    _ensure_loaded()
    loc = locator if isinstance(locator, Locator) else Locator.parse(locator)
    return with_join(loc, _open_plain)


def _open_plain(loc: Locator) -> Source:
    factory = _SOURCES.get(loc.scheme)
    if factory is None:
        raise SourceError(
            f"unknown source '{loc.scheme}' in locator '{loc}'; known sources: {', '.join(known_sources())}"
        )
    return factory(loc)


__all__ = [
    "Locator",
    "ParseFailure",
    "Source",
    "SourceRow",
    "known_sources",
    "open_source",
    "plugin_errors",
    "register_source",
]
