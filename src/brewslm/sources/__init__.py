"""Source connectors: a locator's scheme selects a factory that streams rows.

Built-in connectors live one per module in this package (``SOURCES = {scheme: factory}``). Plugins
are ``brewslm.sources`` entry points naming such a dict, or modules named in
``DATA_ADAPTER_PLUGIN_MODULES`` (comma-separated) that call ``register_source(id, factory)`` when
imported on first use (``brewslm.registry``).
"""

from __future__ import annotations

from typing import Callable

from brewslm.errors import SourceError
from brewslm.registry import Registry
from brewslm.sources.base import Locator, ParseFailure, Source, SourceRow
from brewslm.sources.join import with_join

SourceFactory = Callable[[Locator], Source]

# built-ins: each module's SOURCES = {scheme: factory}; entry points "brewslm.sources" name such a
# dict (or a hook(register)); DATA_ADAPTER_PLUGIN_MODULES modules call register_source on import
REGISTRY: Registry[SourceFactory] = Registry(
    "source",
    __name__,
    "SOURCES",
    key=lambda factory: None,
    entry_points="brewslm.sources",
    env_var="DATA_ADAPTER_PLUGIN_MODULES",
    accept=callable,
)


def register_source(source_id: str, factory: SourceFactory, *, replace: bool = False) -> None:
    """Register ``factory`` for locators ``<source_id>:...``.

    Replacing a built-in connector needs ``replace=True`` so a plugin cannot shadow one by accident.
    """
    REGISTRY.register(factory, key=source_id.lower(), replace=replace)


def plugin_errors() -> list[str]:
    return REGISTRY.plugin_errors()


def known_sources() -> list[str]:
    return [str(key) for key in REGISTRY.keys()]


def open_source(locator: str | Locator) -> Source:
    """Open the source a locator names; an unknown scheme lists the known ones.

    The generic ``?join=<file>&on=<key>`` options work with every connector (see ``join.py``).
    """
    loc = locator if isinstance(locator, Locator) else Locator.parse(locator)
    return with_join(loc, _open_plain, open_any=open_source, known=known_sources)


def _open_plain(loc: Locator) -> Source:
    factory = REGISTRY.find(loc.scheme)
    if factory is None:
        raise SourceError(
            f"unknown source '{loc.scheme}' in locator '{loc}'; known sources: {', '.join(known_sources())}"
        )
    return factory(loc)


__all__ = [
    "REGISTRY",
    "Locator",
    "ParseFailure",
    "Source",
    "SourceRow",
    "known_sources",
    "open_source",
    "plugin_errors",
    "register_source",
]
