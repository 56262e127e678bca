"""Mappers: one module per mapper, each declaring its task profile and field map.

Registry (``brewslm.registry.Registry``) behind ``register_mapper`` / ``get_mapper`` / ``list_mappers``.
Plugins: ``brewslm.mappers`` entry points naming a mapper instance (or a list of them), or modules
named in ``DATASET_MAPPER_PLUGIN_MODULES`` (comma-separated) that define
``register_dataset_mappers(register)`` and call ``register(mapper_instance, replace=False)``.
One broken plugin is reported (``plugin_errors()``) and skipped; the rest load.
"""

from __future__ import annotations

from brewslm.errors import MapperError, PluginError
from brewslm.mappers.base import FieldSpec, Mapper, Proposal, Rejection
from brewslm.registry import Registry
from brewslm.tasks import get_task_profile


def _check(mapper: Mapper) -> None:
    if not getattr(mapper, "id", None):
        raise PluginError(f"mapper {mapper!r} has no id")
    get_task_profile(mapper.task_profile)  # raises a clear error for an unknown profile


REGISTRY: Registry[Mapper] = Registry(
    "mapper",
    __name__,
    "MAPPER",
    key=lambda mapper: mapper.id,
    entry_points="brewslm.mappers",
    env_var="DATASET_MAPPER_PLUGIN_MODULES",
    hook="register_dataset_mappers",
    accept=lambda m: isinstance(m, Mapper),
    check=_check,
)


def register_mapper(mapper: Mapper, *, replace: bool = False) -> None:
    """Add a mapper; its task profile must be a registered one. Replacing needs ``replace=True``."""
    REGISTRY.register(mapper, replace=replace)


def plugin_errors() -> list[str]:
    return REGISTRY.plugin_errors()


def list_mappers() -> list[Mapper]:
    return REGISTRY.entries()


def get_mapper(mapper_id: str) -> Mapper:
    mapper = REGISTRY.find(mapper_id)
    if mapper is None:
        raise MapperError(f"unknown mapper '{mapper_id}'; known mappers: {', '.join(map(str, REGISTRY.keys()))}")
    return mapper


__all__ = [
    "FieldSpec",
    "Mapper",
    "Proposal",
    "Rejection",
    "REGISTRY",
    "get_mapper",
    "list_mappers",
    "plugin_errors",
    "register_mapper",
]
