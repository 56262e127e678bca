"""Plumbing shared by the file connectors (jsonl, csv, json, conll, parquet).

One place for: checking the path a locator names, transparent decompression (gzip, bz2, xz,
recognised by their magic bytes, so ``data.jsonl.gz`` and a gzip file without the suffix both
work), reading lines with a hard cap so a 1 GB line never lands in memory, the binary-data
check, locator options, default dataset names and fingerprints.

Decisions shared by every file connector:
- a missing path, a directory or an unreadable file raise a one-line ``SourceError`` when the
  source is opened;
- an empty (0-byte) file yields zero rows; the import layer reports "no rows";
- a record (a line, or a CSV record spanning quoted newlines) longer than ``max_record_bytes``
  (default 64 MiB, locator option ``?max_record_bytes=N``) becomes a ``ParseFailure`` and reading
  goes on after it.
"""

from __future__ import annotations

import bz2
import contextlib
import datetime as _dt
import decimal
import errno
import gzip
import hashlib
import lzma
import os
import re
import zlib
from pathlib import Path
from typing import Any, BinaryIO, Callable, ClassVar, Iterator, Mapping

from brewslm.errors import SourceError
from brewslm.sources.base import Locator, Source

MAX_RECORD_BYTES = 64 * 1024 * 1024
PROBE_BYTES = 64 * 1024  # head of a file used for sniffing (dialect, encoding, binary data)
SKIP_CHUNK = 64 * 1024  # read size while skipping the rest of an over-long line

UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
UTF32_BOMS = (b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")

_MAGIC: tuple[tuple[bytes, Callable[[BinaryIO], BinaryIO]], ...] = (
    (b"\x1f\x8b", lambda f: gzip.GzipFile(fileobj=f, mode="rb")),  # type: ignore[misc]
    (b"BZh", lambda f: bz2.BZ2File(f, mode="rb")),  # type: ignore[misc]
    (b"\xfd7zXZ\x00", lambda f: lzma.LZMAFile(f, mode="rb")),  # type: ignore[misc]
)
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz")

# a file named train.csv / dev-v2.0.json says little on its own: prefix the folder name
_GENERIC_STEMS = {
    "train", "training", "dev", "valid", "validation", "val", "test", "testing", "eval",
    "data", "dataset", "all", "full", "sample", "part",
}

_READ_ERRORS = (OSError, EOFError, zlib.error, lzma.LZMAError)


# --- locator options ----------------------------------------------------------------------------

def check_options(locator: Locator, allowed: Mapping[str, str]) -> None:
    """Reject an option the connector does not know, listing those it does."""
    unknown = sorted(set(locator.options) - set(allowed))
    if unknown:
        known = ", ".join(sorted(allowed)) or "none"
        raise SourceError(
            f"unknown option '{unknown[0]}' in locator '{locator}'; {locator.scheme}: sources accept: {known}"
        )


def int_option(locator: Locator, name: str, default: int, minimum: int = 1) -> int:
    raw = locator.options.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SourceError(f"option '{name}={raw}' in locator '{locator}' is not a whole number") from None
    if value < minimum:
        raise SourceError(f"option '{name}={raw}' in locator '{locator}' must be at least {minimum}")
    return value


def bool_option(locator: Locator, name: str, default: bool | None) -> bool | None:
    raw = locator.options.get(name)
    if raw is None:
        return default
    text = raw.strip().lower()
    if text in ("1", "true", "yes", "on", ""):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    if text == "auto":
        return None
    raise SourceError(f"option '{name}={raw}' in locator '{locator}' must be true, false or auto")


# --- paths --------------------------------------------------------------------------------------

def resolve_file(locator: Locator) -> Path:
    """The locator's target as an absolute path to a readable file, or a one-line SourceError."""
    if not locator.target.strip():
        raise SourceError(f"locator '{locator}' names no file; write e.g. {locator.scheme}:/path/to/file")
    path = Path(os.path.abspath(locator.path()))
    try:
        os.stat(path)
    except OSError as exc:
        raise SourceError(f"{_stat_problem(path, exc)} (locator '{locator}')") from None
    if path.is_dir():
        raise SourceError(f"{path} is a directory, not a file (locator '{locator}'); name one file inside it")
    if not path.is_file():
        # a pipe or device reads once and has no size; an import reads its source more than once
        raise SourceError(f"{path} is not a regular file (a pipe or device); write the stream to a file and "
                          f"import that (locator '{locator}')")
    if not os.access(path, os.R_OK):
        raise SourceError(f"cannot read {path}: permission denied (locator '{locator}')")
    return path


def _stat_problem(path: Path, exc: OSError) -> str:
    """What is actually wrong when a path cannot be looked at: "not found" only when it is so."""
    if exc.errno == errno.ELOOP:
        return f"{path} is a symbolic link loop (its links point back at each other); point it at a real file"
    if exc.errno == errno.ENOENT and os.path.islink(path):
        return f"{path} is a symbolic link to {os.readlink(path)}, which does not exist"
    if exc.errno == errno.ENOENT:
        return f"file not found: {path}"
    if exc.errno == errno.ENOTDIR:
        return f"{path} goes through a file as if it were a folder; check the path"
    if exc.errno == errno.EACCES:
        return f"cannot read {path}: permission denied on a folder of its path"
    return f"cannot open {path}: {exc.strerror or type(exc).__name__}"


def strip_compression_suffix(name: str) -> str:
    lower = name.lower()
    for suffix in COMPRESSED_SUFFIXES:
        if lower.endswith(suffix):
            return name[: -len(suffix)]
    return name


def format_suffix(path: Path) -> str:
    """The data-format extension, lower-case, compression suffix removed: ``.jsonl`` for ``x.jsonl.gz``."""
    return Path(strip_compression_suffix(path.name)).suffix.lower()


def dataset_name_for(path: Path) -> str:
    """A default dataset name: the file stem, prefixed by its folder when the stem is a generic
    split name (``intent_banking77/train.csv`` -> ``intent_banking77_train``)."""
    stem = Path(strip_compression_suffix(path.name)).stem or path.name
    first_word = re.split(r"[-_. ]", stem.lower(), maxsplit=1)[0]
    if first_word in _GENERIC_STEMS and path.parent.name:
        stem = f"{path.parent.name}_{stem}"
    return re.sub(r"[^A-Za-z0-9._-]+", "_", stem).strip("._-") or "dataset"


def file_fingerprint(path: Path) -> str:
    """The sha256 of the file's bytes: a re-run of an unchanged file (touched, copied, moved) is
    recognised as unchanged, and a changed one never passes for the old (size + mtime could)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return f"sha256:{digest.hexdigest()}"


# --- reading ------------------------------------------------------------------------------------

def open_binary(path: Path) -> BinaryIO:
    """The file's bytes, decompressed when its magic bytes say gzip, bz2 or xz."""
    raw = open(path, "rb")
    try:
        head = raw.peek(8)[:8]
        for magic, opener in _MAGIC:
            if head.startswith(magic):
                return opener(raw)
    except BaseException:
        raw.close()
        raise
    return raw


def read_probe(path: Path, size: int = PROBE_BYTES) -> bytes:
    """Up to ``size`` bytes from the start of the (decompressed) file."""
    with open_binary(path) as stream:
        chunks, got = [], 0
        while got < size:
            chunk = stream.read(size - got)
            if not chunk:
                break
            chunks.append(chunk)
            got += len(chunk)
        return b"".join(chunks)


def looks_binary(head: bytes) -> bool:
    """True for data that is not text: NUL bytes together with many control bytes or invalid
    UTF-8. A text file with one stray NUL is still text (that line becomes a ParseFailure)."""
    if b"\x00" not in head:
        return False
    controls = sum(1 for b in head if b < 32 and b not in (9, 10, 12, 13))
    if controls > max(2, len(head) // 20):
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(head) - 4  # a multi-byte character cut at the end of the probe is fine
    return False


def read_lines_capped(stream: BinaryIO, max_bytes: int) -> Iterator[tuple[int, bytes, int | None]]:
    """Yield ``(line_number, line_without_eol, overlong_size)`` for each line (1-based numbers).

    A line longer than ``max_bytes`` is never held whole: its first ``max_bytes`` bytes are
    yielded with ``overlong_size`` set to its full length, and the rest is skipped in chunks.
    """
    lineno = 0
    while True:
        line = stream.readline(max_bytes + 1)
        if not line:
            return
        lineno += 1
        if len(line) > max_bytes and not line.endswith(b"\n"):
            total = len(line)
            head = line[:max_bytes]
            del line
            while True:
                chunk = stream.readline(SKIP_CHUNK)
                if not chunk:
                    break
                total += len(chunk)
                if chunk.endswith(b"\n"):
                    total -= 1
                    break
            yield lineno, head, total
            continue
        if line.endswith(b"\n"):
            line = line[:-2] if line.endswith(b"\r\n") else line[:-1]
        yield lineno, line, None


def describe_read_error(exc: BaseException) -> str:
    if isinstance(exc, EOFError):
        return "the compressed data ends early (truncated file?)"
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"read failed ({text})"


class FileSource(Source):
    """Base of the file connectors: the path checks, name and fingerprint."""

    options_doc: ClassVar[dict[str, str]] = {}

    def __init__(self, locator: Locator):
        super().__init__(locator)
        check_options(locator, self.options_doc)
        self.path = resolve_file(locator)
        self.is_empty = self.path.stat().st_size == 0

    @property
    def name(self) -> str:
        return dataset_name_for(self.path)

    def fingerprint(self) -> str | None:
        return file_fingerprint(self.path)

    def error(self, what: str) -> SourceError:
        return SourceError(f"{self.path}: {what} (locator '{self.locator}')")

    def open_stream(self) -> BinaryIO:
        """The file's (decompressed) bytes; use inside ``reading()``."""
        return open_binary(self.path)

    def probe(self, size: int = PROBE_BYTES) -> bytes:
        try:
            return read_probe(self.path, size)
        except _READ_ERRORS as exc:
            raise self.error(describe_read_error(exc)) from None

    @contextlib.contextmanager
    def reading(self, where: Callable[[], str] = lambda: "") -> Iterator[None]:
        """Turn low-level read failures (truncated gzip, I/O errors) into one-line SourceErrors."""
        try:
            yield
        except SourceError:
            raise
        except _READ_ERRORS as exc:
            at = where()
            raise self.error(describe_read_error(exc) + (f" {at}" if at else "")) from None


# --- values from typed formats (Parquet, HF) ------------------------------------------------------

def jsonable(value: Any) -> Any:
    """Plain JSON-like Python values from Arrow/HF scalars: dates and times become ISO strings,
    decimals become numbers, tuples become lists, numpy values become Python values. Bytes that
    are UTF-8 text become strings; other bytes are left as bytes (mappers reject them as
    ``wrong_type``)."""
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (_dt.datetime, _dt.date, _dt.time)):
        return value.isoformat()
    if isinstance(value, _dt.timedelta):
        return value.total_seconds()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return data
    tolist = getattr(value, "tolist", None)  # numpy scalars and arrays
    if callable(tolist):
        return jsonable(tolist())
    return value
