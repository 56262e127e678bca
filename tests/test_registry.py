"""``brewslm.registry.Registry``: built-ins from a package's modules, plugins from entry points and
from an environment variable, all-or-nothing plugin loading, replace protection, multi-entry keys."""

from __future__ import annotations

import importlib
import sys
import textwrap
from pathlib import Path

import pytest

from brewslm.errors import PluginError
from brewslm.registry import Registry


@pytest.fixture
def plugin_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A package ``toyreg`` with two built-in modules and a distribution ``toy-plugins`` whose
    entry points (group ``toyreg.items``) name an item, a list, a hook and a broken module."""
    package = tmp_path / "toyreg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "base.py").write_text("ITEM = 'skipped: base modules are not built-ins'\n")
    (package / "alpha.py").write_text("ITEM = 'alpha'\n")
    (package / "beta.py").write_text("ITEM = ['beta', 'gamma']\n")
    (package / "notes.py").write_text("OTHER = 1\n")
    (tmp_path / "toy_plugins.py").write_text(
        textwrap.dedent("""
        ONE = 'delta'
        SOME = ['epsilon', 'zeta']

        def hook(register):
            register('eta')

        def half_broken(register):
            register('theta')
            raise RuntimeError('boom')

        def register_items(register):
            register('iota')
    """)
    )
    dist = tmp_path / "toy_plugins-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-plugins\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(
        textwrap.dedent("""
        [toyreg.items]
        one = toy_plugins:ONE
        some = toy_plugins:SOME
        hook = toy_plugins:hook
        half = toy_plugins:half_broken
        missing = toy_plugins_gone:ITEM
    """)
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    importlib.invalidate_caches()
    yield tmp_path
    for name in [n for n in sys.modules if n.startswith(("toyreg", "toy_plugins"))]:
        del sys.modules[name]


def _registry(**kwargs) -> Registry[str]:
    return Registry(
        "item", "toyreg", "ITEM", key=lambda item: item, accept=lambda item: isinstance(item, str), **kwargs
    )


def test_built_ins_are_the_package_modules_that_define_the_attribute(plugin_path: Path) -> None:
    registry = _registry()
    assert registry.keys() == ["alpha", "beta", "gamma"]
    assert registry.find("alpha") == "alpha" and registry.find("nope") is None


def test_entry_points_give_items_lists_and_hooks_and_a_broken_one_is_rolled_back(plugin_path: Path) -> None:
    registry = _registry(entry_points="toyreg.items")
    assert registry.keys() == ["alpha", "beta", "delta", "epsilon", "eta", "gamma", "zeta"]  # no 'theta'
    errors = registry.plugin_errors()
    assert len(errors) == 2
    assert errors[0].startswith("item entry point 'half' (toy_plugins:half_broken) skipped: boom")
    assert "entry point 'missing'" in errors[1] and "toy_plugins_gone" in errors[1]


def test_environment_modules_register_through_their_hook(plugin_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOYREG_PLUGINS", "toy_plugins, not_a_module")
    registry = _registry(env_var="TOYREG_PLUGINS", hook="register_items")
    assert "iota" in registry.keys()
    (error,) = registry.plugin_errors()
    assert error.startswith("item plugin 'not_a_module' skipped: No module named 'not_a_module'")


def test_a_taken_key_needs_replace_and_unregister_and_replaced_restore(plugin_path: Path) -> None:
    registry = _registry()
    with pytest.raises(PluginError, match="item 'alpha' is already built-in; pass replace=True"):
        registry.register("alpha-2", key="alpha")
    registry.register("alpha-2", key="alpha", replace=True)
    assert registry.find("alpha") == "alpha-2"
    registry.register("kappa")
    with pytest.raises(PluginError, match="item 'kappa' is already registered"):
        registry.register("kappa-2", key="kappa")
    with registry.replaced({"only": "only"}):
        assert registry.keys() == ["only"]
    assert registry.keys() == ["alpha", "beta", "gamma", "kappa"]
    registry.unregister("kappa")
    assert "kappa" not in registry.keys()


def test_a_multi_registry_keeps_every_entry_of_a_key_once(plugin_path: Path) -> None:
    registry = Registry("item", "toyreg", "ITEM", key=lambda item: item[0], multi=True)
    assert registry.find("g") == ["gamma"]
    registry.register("glow")
    registry.register("glow")
    assert registry.find("g") == ["gamma", "glow"]
    assert registry.entries() == ["alpha", "beta", "gamma", "glow"]
