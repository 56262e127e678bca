"""Settling what a crash left in the workspace: dataset versions, by the commit rule of
``datasets.py`` (``CURRENT`` is the commit point and the catalogue follows the files), and training
runs whose process died while their record said ``running`` (``run_records.settle_runs``).

``settle_workspace()`` runs once per process when the workspace database opens (``db.py``), so
every command sees a consistent store. ``reconcile_workspace()`` only takes a dataset's lock and
rewrites anything when the cheap check finds something to settle (a ``writing`` row, a temporary
folder, a version past ``CURRENT``, a committed version the catalogue does not list as
published). A dataset whose lock is held is being written by a live import and is left alone;
that import settles it itself (``reconcile_dataset`` under its lock) before it picks its parent
version.
"""

from __future__ import annotations

import json
import logging
import shutil
import uuid
from pathlib import Path
from typing import Any

from brewslm.storage import catalog
from brewslm.storage.datasets import (
    _NAME_RE,
    MANIFEST,
    TMP_PREFIX,
    committed,
    complete_versions,
    dataset_dir,
    has_crash_marks,
    read_pointer,
    remove_stale_temporaries,
    try_dataset_lock,
)
from brewslm.storage.events import default_actor
from brewslm.storage.run_records import settle_runs
from brewslm.workspace import datasets_dir

log = logging.getLogger(__name__)


def _uncommitted(directory: Path, pointer: int | None) -> list[int]:
    return [v for v in complete_versions(directory) if not committed(v, pointer)]


def reconcile_dataset(name: str) -> dict[str, list[int]]:
    """Settle one dataset; call while holding its lock. Returns the versions removed (complete
    but never committed), adopted into the catalogue and marked failed."""
    directory = dataset_dir(name)
    removed: list[int] = []
    adopt: dict[int, dict[str, Any]] = {}
    pointer = None
    if directory.is_dir():
        remove_stale_temporaries(name)
        pointer = read_pointer(directory)
        for version in _uncommitted(directory, pointer):
            # out of sight in one rename, then deleted: a crash while deleting leaves only a temporary
            doomed = directory / f"{TMP_PREFIX}uncommitted-v{version}-{uuid.uuid4().hex[:8]}"
            (directory / f"v{version}").rename(doomed)
            shutil.rmtree(doomed, ignore_errors=True)
            removed.append(version)
        for version in complete_versions(directory):
            if committed(version, pointer):
                adopt[version] = _manifest(directory / f"v{version}")
    current = max(adopt) if adopt else None
    settled = catalog.settle_versions(
        name, adopt=adopt, current=current, path_of=lambda v: str(directory / f"v{v}"), actor=default_actor()
    )
    return {"removed": removed, **settled}


def _manifest(folder: Path) -> dict[str, Any]:
    """The folder's manifest; a bare one naming the version when it is unreadable, so the
    version is still adopted (its files are there) rather than dropped."""
    try:
        value = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        value = None
    return value if isinstance(value, dict) else {"version": int(folder.name[1:]), "name": folder.parent.name}


def needs_reconcile(name: str, catalogue: tuple[int | None, dict[int, str]] | None) -> bool:
    """The cheap check: is anything about ``name`` out of step? (a directory listing, a stat per
    version folder and the catalogue rows already read)"""
    current, statuses = catalogue or (None, {})
    if any(status == catalog.WRITING for status in statuses.values()):
        return True
    directory = dataset_dir(name)
    if has_crash_marks(directory):
        return True
    pointer = read_pointer(directory)
    published = [v for v in complete_versions(directory) if committed(v, pointer)]
    if any(statuses.get(v) != catalog.PUBLISHED for v in published):
        return True
    return (max(published) if published else None) != current


def settle_workspace() -> None:
    """Settle crashed imports, then runs whose process is gone. Best effort, each on its own: a
    problem is logged and must neither stop the command that only wanted to read nor keep the
    other half from being settled."""
    for what, settle in (("datasets", reconcile_workspace), ("training runs", settle_runs)):
        try:
            settle()
        except Exception:  # noqa: BLE001
            log.warning("could not settle the workspace's %s after a crash", what, exc_info=True)


def reconcile_workspace() -> dict[str, dict[str, list[int]]]:
    """Settle every dataset that needs it and whose lock is free; returns what was done, by dataset."""
    state = catalog.catalogue_state()
    root = datasets_dir()
    names = set(state) | {child.name for child in root.iterdir() if child.is_dir() and _NAME_RE.match(child.name)}
    done: dict[str, dict[str, list[int]]] = {}
    for name in sorted(names):
        if not _NAME_RE.match(name) or not needs_reconcile(name, state.get(name)):
            continue
        with try_dataset_lock(name) as held:
            if held:
                done[name] = reconcile_dataset(name)
                log.info("settled dataset %s after a crash: %s", name, done[name])
    return done


__all__ = ["needs_reconcile", "reconcile_dataset", "reconcile_workspace", "settle_workspace"]
