"""``kaggle:competition:<slug>[?file=<name>][&refresh=1]`` (also ``kaggle:dataset:<owner>/<name>``).

Downloads the files with the official Kaggle API into ``workspace.kaggle_cache_dir()/<slug>/``
(``.../datasets/<owner>/<name>/`` for datasets), extracts the zip archives there (nested ones
too) and reuses that folder on later opens; ``refresh=1`` downloads again. A download goes to a
temporary folder first and replaces the cache only when complete, so a failed refresh keeps
the old copy.

The data files (``.csv``, ``.jsonl``, ``.json``, ``.parquet``... found recursively) are the
candidates: one is read directly; several without ``?file=`` is an error listing them.
``?file=`` names a path relative to the download folder (or a file name that is unique in it);
absolute paths and ``..`` are refused, as are archive members that would land outside the
folder (zip-slip). The file is opened by its extension; other locator options go to that
connector (``kaggle:competition:x?file=train.csv&encoding=latin-1``).

The ``kaggle`` package is imported only when a download is needed (importing it reads the
credentials): without credentials the error says how to set ``KAGGLE_USERNAME``/``KAGGLE_KEY``
(or ``KAGGLE_API_TOKEN``) or ``~/.kaggle/kaggle.json``.
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import uuid
import zipfile
from pathlib import Path, PurePosixPath
from typing import Iterator

from brewslm import workspace
from brewslm.errors import SourceError
from brewslm.sources.base import Locator, Source, SourceRow
from brewslm.sources.file import format_for, open_by_extension
from brewslm.sources.filebase import bool_option, strip_compression_suffix

KAGGLE_OPTIONS = ("file", "refresh")
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_WORK_PREFIX = ".brewslm-"  # temporary download / extraction folders inside the cache
_MAX_NESTING = 5  # rounds of extracting archives found inside archives
_CANDIDATES_SHOWN = 20


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:300]


def _is_work_path(path: Path, root: Path) -> bool:
    return any(part.startswith(_WORK_PREFIX) for part in path.relative_to(root).parts)


def _member_is_unsafe(name: str) -> bool:
    normalized = name.replace("\\", "/")
    pure = PurePosixPath(normalized)
    return normalized.startswith("/") or bool(re.match(r"^[A-Za-z]:", normalized)) or ".." in pure.parts


def extract_archives(root: Path, locator: Locator) -> None:
    """Extract every ``.zip`` under ``root`` in place (then delete it), archives inside archives
    too. A member path that would leave ``root`` refuses the whole archive."""
    root_resolved = root.resolve()
    for _ in range(_MAX_NESTING):
        archives = sorted(p for p in root.rglob("*.zip") if p.is_file() and not _is_work_path(p, root))
        if not archives:
            return
        for archive in archives:
            _extract_one(archive, root_resolved, locator)
    raise SourceError(f"archives in {root} nest more than {_MAX_NESTING} levels deep (locator '{locator}')")


def _extract_one(archive: Path, root: Path, locator: Locator) -> None:
    destination = archive.parent
    staging = destination / f"{_WORK_PREFIX}extract-{uuid.uuid4().hex}"
    try:
        with zipfile.ZipFile(archive) as zf:
            for member in zf.infolist():
                target = (destination / member.filename).resolve()
                if _member_is_unsafe(member.filename) or not target.is_relative_to(root):
                    raise SourceError(
                        f"archive {archive.name} holds an unsafe path '{member.filename}' that would be written "
                        f"outside the cache folder {root}; refusing to extract it (locator '{locator}')"
                    )
            zf.extractall(staging)
        for item in staging.iterdir():
            target = destination / item.name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
            item.rename(target)
        archive.unlink()
    except zipfile.BadZipFile as exc:
        raise SourceError(
            f"cached archive {archive} is damaged ({_one_line(exc)}); download it again with &refresh=1 "
            f"(locator '{locator}')"
        ) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The kaggle package prints help text when it authenticates; keep our stdout clean."""
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        yield


def _kaggle_api(locator: Locator):  # type: ignore[no-untyped-def]
    try:
        with _quiet():
            from kaggle.api.kaggle_api_extended import KaggleApi

            api = KaggleApi()
            api.authenticate()
        return api
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.split(".")[0] == "kaggle":
            raise SourceError(
                f"the kaggle: connector needs the 'kaggle' package: pip install 'brewslm[kaggle]' (locator '{locator}')"
            ) from None
        raise SourceError(
            f"the 'kaggle' package cannot be imported: module '{exc.name}' is missing; pip install {exc.name} "
            f"(locator '{locator}')"
        ) from None
    except (Exception, SystemExit) as exc:  # kaggle calls exit(1) when it finds no credentials
        why = "" if isinstance(exc, SystemExit) else f" ({_one_line(exc)})"
        raise SourceError(
            f"Kaggle credentials are missing or invalid{why}: set KAGGLE_USERNAME and KAGGLE_KEY (or "
            f"KAGGLE_API_TOKEN), or put kaggle.json in ~/.kaggle/ (or $KAGGLE_CONFIG_DIR) (locator '{locator}')"
        ) from None


class KaggleSource(Source):
    def __init__(self, locator: Locator):
        super().__init__(locator)
        self.kind, self.ref = self._parse_target(locator)
        self.folder = self._cache_folder()
        refresh = bool_option(locator, "refresh", False)
        if refresh or not self._cached():
            self._download()
        extract_archives(self.folder, locator)
        self.data_file = self._choose_file(locator.options.get("file"))
        passed = {k: v for k, v in locator.options.items() if k not in KAGGLE_OPTIONS}
        self.inner = open_by_extension(
            self.data_file, Locator(scheme="file", target=str(self.data_file), options=passed, raw=str(locator))
        )

    # --- where ------------------------------------------------------------------------------
    @staticmethod
    def _parse_target(locator: Locator) -> tuple[str, str]:
        kind, sep, ref = locator.target.partition(":")
        kind = kind.strip().lower()
        ref = ref.strip()
        usage = "write kaggle:competition:<slug> or kaggle:dataset:<owner>/<name>"
        if not sep or kind not in ("competition", "dataset") or not ref:
            raise SourceError(f"locator '{locator}' is not a Kaggle locator; {usage}")
        parts = ref.split("/")
        if kind == "competition" and len(parts) != 1 or kind == "dataset" and len(parts) != 2:
            raise SourceError(f"locator '{locator}': '{ref}' is not a {kind} reference; {usage}")
        if not all(_SLUG.match(p) for p in parts):
            raise SourceError(f"locator '{locator}': '{ref}' is not a valid Kaggle {kind} name; {usage}")
        return kind, ref

    def _cache_folder(self) -> Path:
        base = workspace.kaggle_cache_dir()
        if self.kind == "competition":
            return base / self.ref
        owner, name = self.ref.split("/")
        return base / "datasets" / owner / name

    def _cached(self) -> bool:
        if not self.folder.is_dir():
            return False
        return any(p.is_file() and not _is_work_path(p, self.folder) for p in self.folder.rglob("*"))

    # --- download ---------------------------------------------------------------------------
    def _download(self) -> None:
        api = _kaggle_api(self.locator)
        self.folder.parent.mkdir(parents=True, exist_ok=True)
        staging = self.folder.parent / f"{_WORK_PREFIX}download-{self.folder.name}-{uuid.uuid4().hex}"
        staging.mkdir()
        try:
            with _quiet():
                if self.kind == "competition":
                    api.competition_download_files(self.ref, path=str(staging), force=True, quiet=True)
                else:
                    api.dataset_download_files(self.ref, path=str(staging), force=True, quiet=True, unzip=False)
            if not any(staging.iterdir()):
                raise SourceError(
                    f"the Kaggle {self.kind} '{self.ref}' download gave no files (locator '{self.locator}')"
                )
            extract_archives(staging, self.locator)
            old = self.folder.parent / f"{_WORK_PREFIX}old-{self.folder.name}-{uuid.uuid4().hex}"
            if self.folder.exists():
                self.folder.rename(old)
            staging.rename(self.folder)
            shutil.rmtree(old, ignore_errors=True)
        except SourceError:
            raise
        except (Exception, SystemExit) as exc:
            hint = "check the name, that you joined it and accepted its rules on kaggle.com, and your network"
            raise SourceError(
                f"downloading Kaggle {self.kind} '{self.ref}' failed: {_one_line(exc)}; {hint} (locator '{self.locator}')"
            ) from None
        finally:
            shutil.rmtree(staging, ignore_errors=True)

    # --- which file -------------------------------------------------------------------------
    def candidates(self) -> list[Path]:
        files = (p for p in self.folder.rglob("*") if p.is_file() and not _is_work_path(p, self.folder))
        return sorted(
            (p for p in files if format_for(p) is not None), key=lambda p: p.relative_to(self.folder).as_posix()
        )

    def _listing(self, paths: list[Path]) -> str:
        names = [p.relative_to(self.folder).as_posix() for p in paths]
        more = f" (and {len(names) - _CANDIDATES_SHOWN} more)" if len(names) > _CANDIDATES_SHOWN else ""
        return ", ".join(names[:_CANDIDATES_SHOWN]) + more

    def _choose_file(self, wanted: str | None) -> Path:
        found = self.candidates()
        if wanted is None or not wanted.strip():
            if len(found) == 1:
                return found[0]
            if not found:
                others = sorted(p for p in self.folder.rglob("*") if p.is_file() and not _is_work_path(p, self.folder))
                shown = f"; files: {self._listing(others)}" if others else ""
                raise SourceError(
                    f"no data file in Kaggle {self.kind} '{self.ref}' at {self.folder}{shown} (locator '{self.locator}')"
                )
            raise SourceError(
                f"Kaggle {self.kind} '{self.ref}' has {len(found)} data files; pick one with ?file=<name>: "
                f"{self._listing(found)} (locator '{self.locator}')"
            )
        return self._resolve_wanted(wanted.strip(), found)

    def _resolve_wanted(self, wanted: str, found: list[Path]) -> Path:
        if _member_is_unsafe(wanted):
            raise SourceError(
                f"?file={wanted} must be a path inside the download folder (no absolute path, no '..') "
                f"(locator '{self.locator}')"
            )
        root = self.folder.resolve()
        path = (self.folder / wanted).resolve()
        if not path.is_relative_to(root):
            raise SourceError(f"?file={wanted} points outside the download folder {root} (locator '{self.locator}')")
        if path.is_file():
            return path
        by_name = [p for p in found if p.name == wanted]
        if len(by_name) == 1:
            return by_name[0]
        if len(by_name) > 1:
            raise SourceError(
                f"?file={wanted} matches several files; give the path: {self._listing(by_name)} (locator '{self.locator}')"
            )
        raise SourceError(
            f"no file '{wanted}' in Kaggle {self.kind} '{self.ref}'; data files: {self._listing(found) or 'none'} "
            f"(locator '{self.locator}')"
        )

    # --- the Source contract ----------------------------------------------------------------
    @property
    def path(self) -> Path:
        return self.data_file

    def rows(self) -> Iterator[SourceRow]:
        return self.inner.rows()

    @property
    def name(self) -> str:
        base = self.ref.split("/")[-1]
        if len(self.candidates()) > 1:
            base = f"{base}_{Path(strip_compression_suffix(self.data_file.name)).stem}"
        return re.sub(r"[^A-Za-z0-9._-]+", "_", base)

    def fingerprint(self) -> str | None:
        return self.inner.fingerprint()


SOURCES = {"kaggle": KaggleSource}
