"""Mappers: one module per mapper, each declaring its task profile and field map.

Registry: a plain dict behind ``register_mapper`` / ``get_mapper`` / ``list_mappers``.
Plugins: modules named in ``DATASET_MAPPER_PLUGIN_MODULES`` (comma-separated) define
``register_dataset_mappers(register)`` and call ``register(mapper_instance, replace=False)``.
One broken plugin is reported (``plugin_errors()``) and skipped; the rest load.
"""

from __future__ import annotations

import importlib
import os

from brewslm.errors import MapperError, PluginError
from brewslm.mappers.base import FieldSpec, Mapper, Proposal, Rejection
from brewslm.registry import package_members

_MAPPERS: dict[str, Mapper] = {}
_BUILTIN_IDS: set[str] = set()
_PLUGIN_ERRORS: list[str] = []
_loaded = False


def register_mapper(mapper: Mapper, *, replace: bool = False) -> None:
    """Add a mapper; its task profile must be a registered one. Replacing needs ``replace=True``."""
    from brewslm.tasks import get_task_profile

    if not getattr(mapper, "id", None):
        raise PluginError(f"mapper {mapper!r} has no id")
    get_task_profile(mapper.task_profile)  # raises a clear error for an unknown profile
    if mapper.id in _MAPPERS and not replace:
        kind = "built-in" if mapper.id in _BUILTIN_IDS else "registered"
        raise PluginError(f"mapper '{mapper.id}' is already {kind}; pass replace=True to override it")
    _MAPPERS[mapper.id] = mapper


def _ensure_loaded() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for mapper in package_members(__name__, __path__, "MAPPER"):
        if isinstance(mapper, Mapper):
            _MAPPERS[mapper.id] = mapper
            _BUILTIN_IDS.add(mapper.id)
    for name in [m.strip() for m in os.environ.get("DATASET_MAPPER_PLUGIN_MODULES", "").split(",") if m.strip()]:
        load_plugin(name)


def load_plugin(module_name: str) -> bool:
    """Import a plugin module and let it register its mappers; report and skip it on failure.

    A plugin registers all or nothing: if it fails half way, what it registered is removed.
    """
    before = dict(_MAPPERS)
    try:
        module = importlib.import_module(module_name)
        hook = getattr(module, "register_dataset_mappers", None)
        if hook is None:
            raise PluginError("it has no register_dataset_mappers(register) function")
        hook(register_mapper)
        return True
    except Exception as exc:
        _MAPPERS.clear()
        _MAPPERS.update(before)
        _PLUGIN_ERRORS.append(f"mapper plugin '{module_name}' skipped: {exc}")
        return False


def plugin_errors() -> list[str]:
    _ensure_loaded()
    return list(_PLUGIN_ERRORS)


def list_mappers() -> list[Mapper]:
    _ensure_loaded()
    return [_MAPPERS[k] for k in sorted(_MAPPERS)]


def get_mapper(mapper_id: str) -> Mapper:
    _ensure_loaded()
    try:
        return _MAPPERS[mapper_id]
    except KeyError:
        raise MapperError(
            f"unknown mapper '{mapper_id}'; known mappers: {', '.join(sorted(_MAPPERS))}"
        ) from None


__all__ = [
    "FieldSpec",
    "Mapper",
    "Proposal",
    "Rejection",
    "get_mapper",
    "list_mappers",
    "load_plugin",
    "plugin_errors",
    "register_mapper",
]
