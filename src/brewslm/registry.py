"""The built-in half of every registry: one module per item, found by listing its package.

Registries (source connectors, mappers, task profiles, eval handlers) are plain dicts behind small
functions; their built-in entries are the modules of the registry's package that define the
registry's attribute (``MAPPER``, ``PROFILE``, ``HANDLER``...). Listing the package instead of
naming the modules means adding a mapper is adding a file.
"""

from __future__ import annotations

import importlib
import pkgutil
from typing import Any, Iterable, Iterator


def package_members(package: str, path: Iterable[str], attribute: str) -> Iterator[Any]:
    """``attribute`` of each module of ``package`` that has it, modules in name order; ``base`` and
    ``_private`` modules are skipped."""
    for info in sorted(pkgutil.iter_modules(list(path)), key=lambda m: m.name):
        if info.name == "base" or info.name.startswith("_"):
            continue
        member = getattr(importlib.import_module(f"{package}.{info.name}"), attribute, None)
        if member is not None:
            yield member


__all__ = ["package_members"]
