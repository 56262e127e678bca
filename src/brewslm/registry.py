"""One registry mechanism for everything BrewSLM looks up by name: source connectors, mappers, task
profiles, eval handlers, baselines and recipe twists.

    MAPPERS = Registry("mapper", "brewslm.mappers", "MAPPER", key=lambda mapper: mapper.id,
                       entry_points="brewslm.mappers", env_var="DATASET_MAPPER_PLUGIN_MODULES")

Entries come from three places, loaded on first use:

1. **Built-ins**: every module of the registry's package that defines the registry's attribute
   (``MAPPER``, ``PROFILE``, ``HANDLER``...); the attribute holds one entry, or a list or dict of
   them. Listing the package instead of naming the modules means adding a mapper is adding a file.
2. **Entry points** (the Python packaging convention for plugins): a distribution declares
   ``[project.entry-points."brewslm.mappers"] my_mapper = "my_pkg.mappers:MAPPER"``. The loaded
   object is an entry, a list or dict of entries, or a function ``hook(register)`` that calls
   ``register(entry, replace=False)`` itself.
3. **An environment variable** naming plugin modules (comma-separated), the older mechanism: each
   module is imported and registers through the package's ``register_*`` function or a hook
   function the registry names (``register_dataset_mappers(register)``).

A plugin that fails to load is reported (``plugin_errors()``) and skipped; what it registered before
failing is removed, so the built-ins and the other plugins stay usable. Replacing a registered entry
needs ``replace=True``, so a plugin cannot shadow a built-in by accident.
"""

from __future__ import annotations

import contextlib
import importlib
import importlib.metadata
import os
import pkgutil
from typing import Any, Callable, Generic, Hashable, Iterable, Iterator, Mapping, TypeVar

from brewslm.errors import PluginError

T = TypeVar("T")


def package_members(package: str, path: Iterable[str], attribute: str) -> Iterator[Any]:
    """``attribute`` of each module of ``package`` that has it, modules in name order; ``base`` and
    ``_private`` modules are skipped."""
    for info in sorted(pkgutil.iter_modules(list(path)), key=lambda m: m.name):
        if info.name == "base" or info.name.startswith("_"):
            continue
        member = getattr(importlib.import_module(f"{package}.{info.name}"), attribute, None)
        if member is not None:
            yield member


class Registry(Generic[T]):
    """Entries keyed by ``key(entry)``; see the module docstring for where they come from.

    ``what`` names an entry in messages ("mapper"); ``accept`` filters the built-ins' attribute
    values (a module may define the attribute as something else); ``check`` validates a plugin's
    entry before it is added; ``hook`` is the function name a plugin module named in ``env_var``
    may define instead of registering on import; ``multi`` keeps a list of entries per key
    (baselines: several per task profile)."""

    def __init__(
        self,
        what: str,
        package: str,
        attribute: str,
        *,
        key: Callable[[T], Hashable],
        entry_points: str | None = None,
        env_var: str | None = None,
        hook: str | None = None,
        accept: Callable[[Any], bool] = lambda entry: True,
        check: Callable[[T], None] | None = None,
        multi: bool = False,
    ):
        self.what, self.package, self.attribute = what, package, attribute
        self.key, self.entry_points, self.env_var, self.hook = key, entry_points, env_var, hook
        self.accept, self.check, self.multi = accept, check, multi
        self._items: dict[Hashable, Any] = {}
        self._builtin: set[Hashable] = set()
        self._errors: list[str] = []
        self._loaded = False

    # --- reading ---------------------------------------------------------------------------------

    def find(self, key: Hashable) -> Any:
        """The entry under ``key`` (a list of them for a ``multi`` registry), or None."""
        self.load()
        return self._items.get(key)

    def keys(self) -> list[Hashable]:
        self.load()
        return sorted(self._items, key=_sort_key)

    def entries(self) -> list[Any]:
        """Every entry, in key order (the lists of a ``multi`` registry flattened)."""
        self.load()
        out: list[Any] = []
        for key in sorted(self._items, key=_sort_key):
            value = self._items[key]
            out.extend(value) if self.multi else out.append(value)
        return out

    def plugin_errors(self) -> list[str]:
        self.load()
        return list(self._errors)

    # --- writing ---------------------------------------------------------------------------------

    def register(self, entry: T, *, key: Hashable = None, replace: bool = False) -> T:
        """Add ``entry`` under ``key`` (default: ``key(entry)``); a key already taken is a
        ``PluginError`` unless ``replace`` (a ``multi`` registry adds to the key's list, once)."""
        self.load()
        if self.check is not None:
            self.check(entry)
        key = self.key(entry) if key is None else key
        if self.multi:
            entries = self._items.setdefault(key, [])
            if entry not in entries:
                entries.append(entry)
            return entry
        if key in self._items and not replace and self._items[key] is not entry:
            kind = "built-in" if key in self._builtin else "registered"
            raise PluginError(f"{self.what} '{_key_text(key)}' is already {kind}; pass replace=True to override it")
        self._items[key] = entry
        return entry

    def unregister(self, key: Hashable) -> None:
        """Remove the entry (or a ``multi`` registry's entries) under ``key``; absent is fine."""
        self.load()
        self._items.pop(key, None)
        self._builtin.discard(key)

    @contextlib.contextmanager
    def replaced(self, entries: Mapping[Hashable, Any]) -> Iterator[None]:
        """Only ``entries`` (key -> entry, or -> list for ``multi``) while the block runs, then the
        registry as it was: tests that need a registry of their own stand-ins."""
        self.load()
        saved_items, saved_builtin = dict(self._items), set(self._builtin)
        self._items = {key: list(value) if self.multi else value for key, value in entries.items()}
        self._builtin = {key for key in saved_builtin if key in self._items and self._items[key] is saved_items[key]}
        try:
            yield
        finally:
            self._items, self._builtin = saved_items, saved_builtin

    # --- loading ---------------------------------------------------------------------------------

    def load(self) -> None:
        """Built-ins, then entry points, then the environment variable's modules; once."""
        if self._loaded:
            return
        self._loaded = True
        package = importlib.import_module(self.package)
        for member in package_members(self.package, package.__path__, self.attribute):
            for key, entry in _entries_of(member):
                if self.accept(entry):
                    key = self.key(entry) if key is None else key
                    if self.multi:
                        self._items.setdefault(key, []).append(entry)
                    else:
                        self._items.setdefault(key, entry)
                    self._builtin.add(key)
        if self.entry_points:
            for point in importlib.metadata.entry_points(group=self.entry_points):
                self._load_plugin(f"entry point '{point.name}' ({point.value})", point.load)
        if self.env_var:
            for name in [m.strip() for m in os.environ.get(self.env_var, "").split(",") if m.strip()]:
                self._load_plugin(f"plugin '{name}'", lambda name=name: self._import_plugin(name))

    def _import_plugin(self, module_name: str) -> Any:
        module = importlib.import_module(module_name)
        if self.hook is None:
            return None  # the module registered itself on import
        hook = getattr(module, self.hook, None)
        if hook is None:
            raise PluginError(f"it has no {self.hook}(register) function")
        return hook

    def _load_plugin(self, name: str, load: Callable[[], Any]) -> None:
        before = {key: list(value) if self.multi else value for key, value in self._items.items()}
        try:
            loaded = load()
            if callable(loaded) and not self.accept(loaded):
                loaded(self.register)  # a hook registers its entries itself
            elif loaded is not None:
                for key, entry in _entries_of(loaded):
                    self.register(entry, key=key)
        except Exception as exc:  # noqa: BLE001 - a broken plugin must not take the built-ins down
            self._items.clear()
            self._items.update(before)
            self._errors.append(f"{self.what} {name} skipped: {exc}")


def _entries_of(member: Any) -> list[tuple[Hashable, Any]]:
    """``(key or None, entry)`` pairs: a dict's keys name its entries (``SOURCES = {"csv": ...}``);
    other entries are keyed by the registry's ``key``."""
    if isinstance(member, dict):
        return list(member.items())
    if isinstance(member, (list, tuple)):
        return [(None, entry) for entry in member]
    return [(None, member)]


def _key_text(key: Hashable) -> str:
    if isinstance(key, tuple):
        return " / ".join(str(part) for part in key if part is not None)
    return str(key)


def _sort_key(key: Hashable) -> Any:
    return tuple("" if part is None else str(part) for part in key) if isinstance(key, tuple) else str(key)


__all__ = ["Registry", "package_members"]
