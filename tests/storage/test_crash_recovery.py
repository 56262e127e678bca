"""Publish atomicity: an import killed (SIGKILL, i.e. ``kill -9``) at each named step of publishing
leaves a workspace that the next command settles by the commit rule of ``storage/datasets.py``
(``CURRENT`` is the commit point; the catalogue follows the files): catalogue = folders = pointer,
and every version in the catalogue has its RunEvent."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from brewslm.ingestion import ImportSpec, run_import
from brewslm.storage import catalog
from brewslm.storage.datasets import TMP_PREFIX, complete_versions, dataset_dir, read_pointer
from brewslm.storage.db import reset_engines, session_scope
from brewslm.storage.events import list_events
from brewslm.storage.recovery import reconcile_workspace
from brewslm.storage.tables import DatasetRow
from brewslm.workspace import CRASH_ENV

NAME = "tickets"
LABELS = ("billing", "shipping", "account")


def _rows(path: Path, start: int, n: int) -> Path:
    lines = [
        json.dumps({"id": f"t{i}", "text": f"ticket number {i} about {LABELS[i % 3]}", "label": LABELS[i % 3]})
        for i in range(start, start + n)
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _spec(path: Path) -> ImportSpec:
    return ImportSpec(locator=f"jsonl:{path}", mapper_id="label_to_classification", dataset=NAME)


def _cli(*args: str, crash_at: str | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != CRASH_ENV}
    if crash_at:
        env[CRASH_ENV] = crash_at
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run(
        [sys.executable, "-m", "brewslm", *args], env=env, capture_output=True, text=True, timeout=120
    )


def _cli_import(path: Path, crash_at: str | None = None) -> subprocess.CompletedProcess:
    return _cli(
        "data",
        "import",
        "--locator",
        f"jsonl:{path}",
        "--mapper",
        "label_to_classification",
        "--dataset",
        NAME,
        "--json",
        crash_at=crash_at,
    )


def _rows_by_version() -> tuple[int | None, dict[int, str]]:
    with session_scope() as session:
        dataset = session.scalar(select(DatasetRow).where(DatasetRow.name == NAME))
        return dataset.current_version, {row.version: row.status for row in dataset.versions}


def assert_consistent() -> dict[int, str]:
    """catalogue = folders = pointer; a RunEvent for every catalogued version; returns {version: status}."""
    directory = dataset_dir(NAME)
    assert not [p.name for p in directory.iterdir() if p.name.startswith(TMP_PREFIX)]
    folders, pointer = complete_versions(directory), read_pointer(directory)
    assert folders and pointer == max(folders)
    current, statuses = _rows_by_version()
    assert current == pointer
    assert sorted(v for v, s in statuses.items() if s == catalog.PUBLISHED) == folders
    assert catalog.WRITING not in statuses.values()
    events = list_events(dataset=NAME, limit=None)
    for version, status in statuses.items():
        reason = catalog.IMPORT_RUN if status == catalog.PUBLISHED else catalog.IMPORT_FAILED
        assert [e for e in events if e.reason_code == reason and e.payload.get("version") == version], (version, status)
    return statuses


def _events(reason: str, version: int) -> list:
    return [e for e in list_events(dataset=NAME, reason_code=reason, limit=None) if e.payload.get("version") == version]


# step -> (is v2 committed?, the command that settles the workspace next)
STEPS = {
    "after_rows_written": (False, "datasets"),
    "before_rename": (False, "import"),
    "after_rename": (False, "import"),
    "after_current": (True, "datasets"),
    "after_catalogue": (True, "import"),
}


@pytest.mark.parametrize("step", list(STEPS))
def test_an_import_killed_at_each_step_is_settled_by_the_next_command(step, tmp_path):
    run_import(_spec(_rows(tmp_path / "a.jsonl", 0, 30)))  # v1, in-process: this test's engine is open from here
    killed = _cli_import(_rows(tmp_path / "b.jsonl", 100, 30), crash_at=step)
    assert killed.returncode == -signal.SIGKILL, (killed.returncode, killed.stderr)

    committed, next_command = STEPS[step]
    directory = dataset_dir(NAME)
    assert read_pointer(directory) == (2 if committed else 1)  # the state the kill left, before anyone settles it
    if step in ("after_rename", "after_current"):
        assert _rows_by_version()[1][2] == catalog.WRITING and (directory / "v2").is_dir()

    if next_command == "datasets":
        settled = _cli("data", "datasets", "--json")
        assert settled.returncode == 0, settled.stderr
    else:
        follow = _cli_import(_rows(tmp_path / "c.jsonl", 200, 30))
        assert follow.returncode == 0, follow.stderr
        result = json.loads(follow.stdout)
        # the next import builds on the committed version, never on an uncommitted folder
        assert result["manifest"]["parent_version"] == (2 if committed else 1)
        assert result["version"] == (3 if committed else 2)

    statuses = assert_consistent()
    if committed:
        assert statuses[2] == catalog.PUBLISHED
        recovered = [e for e in _events(catalog.IMPORT_RUN, 2) if e.payload.get("recovered")]
        assert len(_events(catalog.IMPORT_RUN, 2)) == 1 and bool(recovered) == (step == "after_current")
        if recovered:
            assert recovered[0].payload["records"] > 0 and recovered[0].payload["content_hash"].startswith("sha256:")
    else:
        failed = _events(catalog.IMPORT_FAILED, 2)
        assert len(failed) == 1 and failed[0].payload["reason"] == catalog.INTERRUPTED
        assert "interrupted" in failed[0].payload["error"]
        if next_command == "datasets":
            assert statuses[2] == catalog.FAILED and not (directory / "v2").exists()


def test_reconcile_is_idempotent_and_skips_a_dataset_being_written(tmp_path):
    from brewslm.storage.datasets import try_dataset_lock

    run_import(_spec(_rows(tmp_path / "a.jsonl", 0, 30)))
    # a live import's state: the lock is held, a writing row and a temporary folder exist
    catalog.begin_version(NAME, 2, task_profile="classification", path=str(dataset_dir(NAME) / "v2"))
    (dataset_dir(NAME) / f"{TMP_PREFIX}v2-live").mkdir()
    with try_dataset_lock(NAME) as held:
        assert held
        assert reconcile_workspace() == {}  # busy: left alone
        assert _rows_by_version()[1][2] == catalog.WRITING
    done = reconcile_workspace()  # the writer is gone
    assert done[NAME]["failed"] == [2]
    assert reconcile_workspace() == {}
    assert_consistent()


def test_the_catalogue_is_rebuilt_from_the_files_for_a_fresh_database(tmp_path, monkeypatch):
    """A workspace whose database was lost: the committed versions are adopted, with events."""
    run_import(_spec(_rows(tmp_path / "a.jsonl", 0, 30)))
    run_import(_spec(_rows(tmp_path / "b.jsonl", 100, 30)))
    reset_engines()
    monkeypatch.setenv("BREWSLM_DATABASE_URL", f"sqlite:///{tmp_path / 'other.db'}")
    statuses = assert_consistent()  # opening the new database settled the store
    assert statuses == {1: catalog.PUBLISHED, 2: catalog.PUBLISHED}
    assert all(e.payload.get("recovered") for e in list_events(dataset=NAME, limit=None))
