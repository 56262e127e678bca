"""The dataset store: versioned datasets on disk, written atomically.

Layout under ``$BREWSLM_HOME/datasets/<name>/``::

    CURRENT              "v3" - the published version, replaced atomically
    v1/ v2/ v3/          complete versions, never modified after publication
      train.jsonl validation.jsonl test.jsonl   canonical records, each with a content-hash ``_key``
      rejected.jsonl     rows that were not accepted: row number, reason, detail, raw row
      manifest.json      what was imported, how, and what came out
    .tmp-v4-<random>/    a version being written (or left by a crash; cleaned by the next import)
    .tmp-pending-v4      an import's outcome is not in the catalogue yet (removed once it is)
    .lock                held while an import writes this dataset

A version is written into a temporary directory beside the versions, renamed to ``vN`` and then
committed by the atomic replace of ``CURRENT``.

The commit rule (one rule, for readers and for crash recovery): **``CURRENT`` is the commit
point.** A version exists exactly when its folder is complete (has ``manifest.json``) and its
number is at most the one ``CURRENT`` names; the database catalogue (``catalog.py``) follows the
files, never the other way round. A crash leaves at most one of these, and every command that
opens the workspace settles it (``recovery.py``: once per process when the database opens, or
when a command that reads only files first finds a crash mark - a ``.tmp-*`` entry or a complete
version past ``CURRENT``; and again by the next import under the dataset's lock):

- ``.tmp-*`` folders (killed while writing): removed; the version's ``writing`` row becomes
  ``failed`` with a ``dataset_import_failed`` event saying it was interrupted;
- a complete ``vN`` past ``CURRENT`` (killed between the rename and ``CURRENT``): never
  committed, so removed, its row ``failed`` the same way; the next import builds on ``CURRENT``;
- a committed version whose row is ``writing`` or missing (killed after ``CURRENT``, before the
  catalogue): adopted - the row becomes ``published`` from the manifest, with the
  ``dataset_import_run`` event the import would have logged, marked ``recovered``.

JSONL (the default) stores each record exactly. Parquet (``format="parquet"``) stores all splits
under one schema inferred from every record, so a field some records lack reads back as null.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Mapping

from brewslm.errors import ConfigError, ImportFailed
from brewslm.workspace import crash_point, datasets_dir

SPLITS = ("train", "validation", "test")
OUTPUT_FORMATS = ("jsonl", "parquet")
MANIFEST = "manifest.json"
REJECTED = "rejected.jsonl"
CURRENT = "CURRENT"
TMP_PREFIX = ".tmp-"
KEY_FIELD = "_key"

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_VERSION_DIR_RE = re.compile(r"^v(\d+)$")
_PARQUET_BATCH = 4096

try:  # POSIX advisory locks; released by the OS when the process dies, so a crash never wedges a dataset
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]


# --- names and paths ------------------------------------------------------------------------


def validate_dataset_name(name: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.match(name) or name.endswith("."):
        raise ConfigError(
            f"dataset name {name!r} is not allowed; use letters, digits, '.', '_' or '-' "
            "(up to 128 characters, starting with a letter or digit)"
        )
    return name


def dataset_name_from(text: str) -> str:
    """A valid dataset name derived from free text such as a source name (``org/data set`` -> ``org-data-set``)."""
    slug = re.sub(r"[^A-Za-z0-9._-]+", "-", text or "").strip("-._")[:128].rstrip("-._")
    return slug or "dataset"


def dataset_dir(name: str) -> Path:
    return datasets_dir() / validate_dataset_name(name)


def _version_dirs(directory: Path) -> dict[int, Path]:
    found: dict[int, Path] = {}
    if directory.is_dir():
        for child in directory.iterdir():
            match = _VERSION_DIR_RE.match(child.name)
            if match and child.is_dir():
                found[int(match.group(1))] = child
    return found


def complete_versions(directory: Path) -> list[int]:
    """Version folders that hold a manifest, committed or not, oldest first."""
    return sorted(v for v, path in _version_dirs(directory).items() if (path / MANIFEST).is_file())


def read_pointer(directory: Path) -> int | None:
    """The version number ``CURRENT`` names (None: no pointer, or not a ``vN`` line)."""
    try:
        match = _VERSION_DIR_RE.match((directory / CURRENT).read_text(encoding="utf-8").strip())
    except (OSError, UnicodeDecodeError):
        return None
    return int(match.group(1)) if match else None


def committed(version: int, pointer: int | None) -> bool:
    """The commit rule (module docstring): a complete version is published iff ``CURRENT`` has
    reached it."""
    return pointer is not None and version <= pointer


def has_crash_marks(directory: Path) -> bool:
    """Did an unfinished write leave something here: a ``.tmp-*`` entry (a version being written,
    an outcome not yet catalogued) or a complete version ``CURRENT`` never committed?"""
    if not directory.is_dir():
        return False
    if any(child.name.startswith(TMP_PREFIX) for child in directory.iterdir()):
        return True
    pointer = read_pointer(directory)
    return any(not committed(v, pointer) for v in complete_versions(directory))


def pending_marker(name: str, version: int) -> Path:
    """Written (under the lock) before an import's ``writing`` row, removed once the row holds the
    outcome: while it exists the catalogue may lag the files, so readers of files alone still know
    to settle the workspace after a crash."""
    path = dataset_dir(name) / f"{TMP_PREFIX}pending-v{version}"
    path.touch()
    return path


_CHECKED: set[str] = set()  # dataset roots this process has checked for crash marks


def _settle_crashes_once() -> None:
    """The first dataset read of a process: if a crash left marks, open the database, which settles
    the store (``recovery.py``). Costs a directory listing per dataset; the database (and its
    start-up time) is only touched when there is something to settle."""
    root = datasets_dir()
    if str(root) in _CHECKED:
        return
    _CHECKED.add(str(root))
    if any(has_crash_marks(child) for child in root.iterdir() if child.is_dir() and _NAME_RE.match(child.name)):
        from brewslm.storage.db import get_engine

        try:
            get_engine()
        except ConfigError:  # a broken database URL is reported by the commands that need the database
            pass


def list_versions(name: str) -> list[int]:
    """Published versions of a dataset (complete and committed by ``CURRENT``), oldest first."""
    _settle_crashes_once()
    directory = dataset_dir(name)
    pointer = read_pointer(directory)
    return [v for v in complete_versions(directory) if committed(v, pointer)]


def current_version(name: str) -> int | None:
    """The published version ``CURRENT`` names (the newest published one, should its folder be gone)."""
    versions = list_versions(name)
    return versions[-1] if versions else None


def next_version(name: str) -> int:
    existing = _version_dirs(dataset_dir(name))
    return max(existing, default=0) + 1


# --- reading --------------------------------------------------------------------------------


class DatasetVersion:
    """One published version of a dataset."""

    def __init__(self, name: str, version: int, path: Path):
        self.name = name
        self.version = version
        self.path = path
        self._manifest: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"DatasetVersion({self.name!r}, v{self.version}, {str(self.path)!r})"

    @property
    def manifest(self) -> dict[str, Any]:
        if self._manifest is None:
            try:
                self._manifest = json.loads((self.path / MANIFEST).read_text(encoding="utf-8"))
            except (OSError, json.JSONDecodeError) as exc:
                raise ConfigError(
                    f"dataset '{self.name}' v{self.version}: manifest {self.path / MANIFEST} is unreadable ({exc})"
                ) from exc
        return self._manifest

    @property
    def task_profile(self) -> str:
        return self.manifest["task_profile"]

    @property
    def output_format(self) -> str:
        return self.manifest.get("format", "jsonl")

    @property
    def counts(self) -> dict[str, Any]:
        return self.manifest.get("counts", {})

    @property
    def rejected_path(self) -> Path:
        return self.path / REJECTED

    def split_path(self, split: str) -> Path:
        if split not in SPLITS:
            raise ConfigError(f"unknown split '{split}'; splits are: {', '.join(SPLITS)}")
        return self.path / f"{split}.{self.output_format}"

    def iter_records(self, split: str | None = None) -> Iterator[dict[str, Any]]:
        """Stream the canonical records of one split (all splits, in order, when ``split`` is None)."""
        for name in (split,) if split else SPLITS:
            path = self.split_path(name)
            if self.output_format == "parquet":
                yield from _iter_parquet(path)
            else:
                yield from iter_jsonl(path)

    def iter_rejected(self) -> Iterator[dict[str, Any]]:
        if self.rejected_path.is_file():
            yield from iter_jsonl(self.rejected_path)

    def to_dict(self) -> dict[str, Any]:
        manifest = self.manifest
        counts = manifest.get("counts", {})
        return {
            "name": self.name,
            "version": self.version,
            "task_profile": manifest.get("task_profile"),
            "records": counts.get("records"),
            "splits": counts.get("splits", {}),
            "created_at": manifest.get("created_at"),
            "format": self.output_format,
            "versions": list_versions(self.name),
            "path": str(self.path),
        }


def iter_jsonl(path: Path) -> Iterator[dict[str, Any]]:
    with open(path, "rb") as handle:
        for line in handle:
            if line.strip():
                yield json.loads(line)


def _iter_parquet(path: Path) -> Iterator[dict[str, Any]]:
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(path).iter_batches(batch_size=_PARQUET_BATCH):
        yield from batch.to_pylist()


def open_dataset(name: str, version: int | None = None) -> DatasetVersion:
    """A published dataset version (the current one when ``version`` is None)."""
    directory = dataset_dir(name)
    versions = list_versions(name)
    if not versions:
        known = ", ".join(list_dataset_names()) or "none yet"
        raise ConfigError(f"dataset '{name}' not found; known datasets: {known}")
    if version is None:
        version = current_version(name)
    elif version not in versions:
        raise ConfigError(
            f"dataset '{name}' has no version {version}; versions: {', '.join(f'v{v}' for v in versions)}"
        )
    return DatasetVersion(name, int(version), directory / f"v{version}")


def list_dataset_names() -> list[str]:
    _settle_crashes_once()
    root = datasets_dir()
    return sorted(
        child.name
        for child in root.iterdir()
        if child.is_dir() and _NAME_RE.match(child.name) and list_versions(child.name)
    )


def list_datasets() -> list[DatasetVersion]:
    """The current version of every dataset, by name."""
    return [open_dataset(name) for name in list_dataset_names()]


# --- writing --------------------------------------------------------------------------------


@contextmanager
def try_dataset_lock(name: str) -> Iterator[bool]:
    """Hold the dataset's write lock if it is free; yields False (holding nothing) when another
    process has it."""
    directory = dataset_dir(name)
    directory.mkdir(parents=True, exist_ok=True)
    fd = os.open(directory / ".lock", os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
        yield True
    finally:
        os.close(fd)


@contextmanager
def dataset_lock(name: str) -> Iterator[Path]:
    """Hold the dataset's write lock; a second writer fails at once with a clear message."""
    with try_dataset_lock(name) as held:
        if not held:
            raise ImportFailed(
                f"dataset '{name}' is being written by another import (lock {dataset_dir(name) / '.lock'}); "
                "retry when it finishes"
            )
        yield dataset_dir(name)


def remove_stale_temporaries(name: str) -> list[Path]:
    """Delete temporary version directories left by crashed imports. Call while holding the lock."""
    removed = []
    for child in dataset_dir(name).iterdir():
        if child.name.startswith(TMP_PREFIX):
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
            removed.append(child)
    return removed


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # pragma: no cover - platforms without directory handles
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f"{TMP_PREFIX}{path.name}-{uuid.uuid4().hex[:8]}")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


class VersionWriter:
    """Writes one new version into a temporary directory; ``publish`` makes it visible atomically,
    ``discard`` removes every trace of it. Use while holding ``dataset_lock``."""

    def __init__(self, name: str, version: int, output_format: str = "jsonl"):
        if output_format not in OUTPUT_FORMATS:
            raise ConfigError(f"unknown dataset format '{output_format}'; use one of: {', '.join(OUTPUT_FORMATS)}")
        self.name = validate_dataset_name(name)
        self.version = version
        self.output_format = output_format
        self.directory = dataset_dir(name)
        self.tmp_path = self.directory / f"{TMP_PREFIX}v{version}-{uuid.uuid4().hex[:8]}"
        self.tmp_path.mkdir(parents=True)
        self.scratch_dir = self.tmp_path / ".scratch"
        self.scratch_dir.mkdir()
        self.split_counts = dict.fromkeys(SPLITS, 0)
        self.rejected_count = 0
        self._hashes = {split: hashlib.sha256() for split in SPLITS}
        self._files = {split: open(self.tmp_path / f"{split}.jsonl", "wb", buffering=1 << 20) for split in SPLITS}
        self._rejected = open(self.tmp_path / REJECTED, "wb", buffering=1 << 20)
        self._closed = False

    @property
    def final_path(self) -> Path:
        return self.directory / f"v{self.version}"

    def write_line(self, split: str, line: bytes) -> None:
        """One record, already serialised as a JSON line ending in ``\\n``."""
        self._files[split].write(line)
        self._hashes[split].update(line)
        self.split_counts[split] += 1

    def write_rejected(self, entry: Mapping[str, Any]) -> None:
        self._rejected.write(rejected_line(entry))
        self.rejected_count += 1

    def content_hash(self) -> str:
        """sha256 over every record line of every split, in order."""
        combined = "\n".join(f"{split}:{self._hashes[split].hexdigest()}" for split in SPLITS)
        return "sha256:" + hashlib.sha256(combined.encode()).hexdigest()

    def _close_files(self) -> None:
        if self._closed:
            return
        self._closed = True
        for handle in (*self._files.values(), self._rejected):
            handle.flush()
            os.fsync(handle.fileno())
            handle.close()

    def publish(self, manifest: Mapping[str, Any]) -> DatasetVersion:
        self._close_files()
        if self.output_format == "parquet":
            _convert_splits_to_parquet(self.tmp_path)
        shutil.rmtree(self.scratch_dir, ignore_errors=True)
        with open(self.tmp_path / MANIFEST, "w", encoding="utf-8") as handle:
            json.dump(manifest, handle, ensure_ascii=False, indent=2, default=_jsonable)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        _fsync_dir(self.tmp_path)
        if self.final_path.exists():
            raise ImportFailed(f"dataset '{self.name}' v{self.version} appeared while writing it; nothing was changed")
        crash_point("before_rename")
        os.rename(self.tmp_path, self.final_path)
        _fsync_dir(self.directory)
        crash_point("after_rename")
        _atomic_write_text(self.directory / CURRENT, f"v{self.version}\n")  # the commit point
        _fsync_dir(self.directory)
        crash_point("after_current")
        return DatasetVersion(self.name, self.version, self.final_path)

    def discard(self) -> None:
        try:
            for handle in (*self._files.values(), self._rejected):
                handle.close()
        finally:
            self._closed = True
            shutil.rmtree(self.tmp_path, ignore_errors=True)


NON_FINITE_NOTE = 'NaN/Infinity values are written as the strings "NaN", "Infinity", "-Infinity"'
TOO_DEEP_NOTE = "the raw row is nested too deeply to write; see the reason and detail"


def rejected_line(entry: Mapping[str, Any]) -> bytes:
    """One line of ``rejected.jsonl``: strict JSON that any parser reads. NaN/Infinity (which
    strict parsers refuse) become strings and the entry's ``note`` says so; unpaired surrogates
    in the raw row are kept, escaped."""
    entry = dict(entry)
    try:
        text = json.dumps(entry, ensure_ascii=False, allow_nan=False, default=_jsonable)
    except ValueError:
        entry = {**_finite(entry), "note": NON_FINITE_NOTE}
        text = json.dumps(entry, ensure_ascii=False, allow_nan=False, default=_jsonable)
    except RecursionError:  # sources reject deep rows first (too_deep); this guards direct callers
        entry = {**entry, "raw": None, "note": TOO_DEEP_NOTE}
        text = json.dumps(entry, ensure_ascii=False, allow_nan=False, default=_jsonable)
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # unpaired surrogates in the raw row: keep them, escaped, as valid JSON
        data = json.dumps(json.loads(text), ensure_ascii=True, allow_nan=False).encode("ascii")
    return data + b"\n"


def _finite(value: Any) -> Any:
    """``value`` with NaN/Infinity floats (also inside non-JSON values) as the strings strict JSON allows."""
    if isinstance(value, float):
        if value != value:
            return "NaN"
        if value in (float("inf"), float("-inf")):
            return "Infinity" if value > 0 else "-Infinity"
        return value
    if value is None or isinstance(value, (str, int)):
        return value
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return _finite(_jsonable(value))


def _jsonable(value: Any) -> Any:
    """Fallback for values JSON cannot hold (dates, bytes, numpy scalars) in rejected rows and manifests."""
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8", "replace")
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    return str(value)


def _convert_splits_to_parquet(directory: Path) -> None:
    """Rewrite each split's JSONL as Parquet with one schema shared by all splits, streaming in batches."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    def batches(path: Path) -> Iterator[list[dict[str, Any]]]:
        batch: list[dict[str, Any]] = []
        for record in iter_jsonl(path):
            batch.append(record)
            if len(batch) >= _PARQUET_BATCH:
                yield batch
                batch = []
        if batch:
            yield batch

    sources = {split: directory / f"{split}.jsonl" for split in SPLITS}
    try:
        schemas = [pa.Table.from_pylist(batch).schema for path in sources.values() for batch in batches(path)]
        schema = (
            pa.unify_schemas(schemas, promote_options="permissive")
            if schemas
            else pa.schema([(KEY_FIELD, pa.string())])
        )
        for split, path in sources.items():
            with pq.ParquetWriter(directory / f"{split}.parquet", schema) as writer:
                for batch in batches(path):
                    writer.write_table(pa.Table.from_pylist(batch, schema=schema))
            path.unlink()
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError) as exc:
        first_line = str(exc).strip().splitlines()[0]
        raise ImportFailed(
            f"records do not fit one Parquet schema ({first_line}); import with format 'jsonl' instead"
        ) from exc
