"""Plumbing shared by the file connectors (jsonl, csv, json, conll, text, parquet).

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
  goes on after it;
- text encodings (``detect_encoding``, every text connector: jsonl, csv, json, conll, text): a
  byte-order mark decides first (UTF-32, UTF-16, UTF-8); then UTF-16/32 without a BOM from the NUL
  byte pattern (ASCII characters of UTF-16-LE have a NUL at every odd offset) or, for text with
  few ASCII characters (CJK), from its line breaks (``0A 00`` code units); then UTF-8 when the
  head (first 1 MiB) is valid UTF-8, or holds at least twice as many valid multi-byte UTF-8
  characters as invalid bytes (a UTF-8 file with a few bad bytes: those rows are rejected); else a
  legacy encoding named by charset-normalizer from up to 64 KiB around the first invalid byte
  (cp1252 when it names none, or when cp1252 is a near tie with its best guess). ``?encoding=<codec>`` overrides. The connectors then read UTF-8:
  ``open_stream`` transcodes any other encoding (the BOM removed), and a byte the chosen encoding
  cannot decode becomes an invalid UTF-8 sequence, so only its row is rejected. The choice and its
  reason are a note of the source (``notes``), which the introspector shows as evidence.
"""

from __future__ import annotations

import bz2
import codecs
import contextlib
import datetime as _dt
import decimal
import errno
import gzip
import hashlib
import io
import lzma
import os
import re
import zlib
from dataclasses import dataclass
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
ENCODING_PROBE_BYTES = 1024 * 1024  # head read to choose a text encoding (strict UTF-8 check)
DETECTOR_BYTES = 64 * 1024  # bytes given to charset-normalizer (it is slower)
ENCODING_OPTION_DOC = "text encoding, e.g. cp1252, latin-1, utf-16 (default: detected: BOM, UTF-8, charset-normalizer)"

_MAGIC: tuple[tuple[bytes, Callable[[Path], BinaryIO]], ...] = (  # each opener owns (and closes) the file
    (b"\x1f\x8b", lambda p: gzip.GzipFile(p, mode="rb")),  # type: ignore[misc]
    (b"BZh", lambda p: bz2.BZ2File(p, mode="rb")),  # type: ignore[misc]
    (b"\xfd7zXZ\x00", lambda p: lzma.LZMAFile(p, mode="rb")),  # type: ignore[misc]
)
COMPRESSED_SUFFIXES = (".gz", ".bz2", ".xz")

# a file named train.csv / dev-v2.0.json says little on its own: prefix the folder name
_GENERIC_STEMS = {
    "train",
    "training",
    "dev",
    "valid",
    "validation",
    "val",
    "test",
    "testing",
    "eval",
    "data",
    "dataset",
    "all",
    "full",
    "sample",
    "part",
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
        raise SourceError(
            f"{path} is not a regular file (a pipe or device); write the stream to a file and "
            f"import that (locator '{locator}')"
        )
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
                raw.close()
                return opener(path)
    except BaseException:
        raw.close()
        raise
    return raw


def read_up_to(stream: BinaryIO, size: int) -> bytes:
    """Up to ``size`` bytes from ``stream`` (fewer only at its end)."""
    chunks, got = [], 0
    while got < size:
        chunk = stream.read(size - got)
        if not chunk:
            break
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)


def read_probe(path: Path, size: int = PROBE_BYTES) -> bytes:
    """Up to ``size`` bytes from the start of the (decompressed) file."""
    with open_binary(path) as stream:
        return read_up_to(stream, size)


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


# --- text encodings -----------------------------------------------------------------------------

RAW_BYTE_ERRORS = "brewslm-rawbyte"


def _raw_byte_handler(exc: UnicodeError) -> tuple[str, int]:
    """Undecodable bytes become lone surrogates U+DC00+byte: encoded back with ``surrogatepass``
    they are invalid UTF-8, so the row holding them is rejected downstream, never misread."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "".join(chr(0xDC00 + b) for b in exc.object[exc.start : exc.end]), exc.end


codecs.register_error(RAW_BYTE_ERRORS, _raw_byte_handler)


@dataclass(frozen=True)
class EncodingChoice:
    """How a text file is decoded: the Python codec, the byte-order mark to skip, and why."""

    codec: str  # codecs.lookup(...).name: "utf-8", "cp1252", "utf-16-le"...
    bom: int = 0  # bytes of byte-order mark at the start (skipped, never text)
    why: str = ""

    @property
    def is_utf8(self) -> bool:
        return self.codec == "utf-8"

    def note(self) -> str:
        return f"encoding: {self.codec} ({self.why})"


_BOMS = (  # longest first: the UTF-32-LE mark starts with the UTF-16-LE one
    (b"\xff\xfe\x00\x00", "utf-32-le", "a UTF-32-LE byte-order mark"),
    (b"\x00\x00\xfe\xff", "utf-32-be", "a UTF-32-BE byte-order mark"),
    (b"\xef\xbb\xbf", "utf-8", "a UTF-8 byte-order mark"),
    (b"\xff\xfe", "utf-16-le", "a UTF-16-LE byte-order mark"),
    (b"\xfe\xff", "utf-16-be", "a UTF-16-BE byte-order mark"),
)


def codec_name(name: str) -> str | None:
    """The canonical Python codec name for ``name``, or None when Python has no such codec."""
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _decodes(data: bytes, codec: str, complete: bool) -> bool:
    try:
        codecs.getincrementaldecoder(codec)("strict").decode(data, final=complete)
    except UnicodeDecodeError:
        return False
    return True


def _nul_pattern(head: bytes) -> str | None:
    """UTF-16/32 without a BOM, from where the NUL bytes fall (ASCII text in UTF-16-LE is
    ``T\\0h\\0...``): for code units of ``width`` bytes, the position that is almost never NUL
    while every other position mostly is. None when no pattern fits."""
    sample = head[:4096]
    if sample.count(0) < 4:
        return None
    for width, names in ((4, ("utf-32-le", None, None, "utf-32-be")), (2, ("utf-16-le", "utf-16-be"))):
        units = len(sample) // width
        if units < 2:
            continue
        nul_share = [sample[pos : units * width : width].count(0) / units for pos in range(width)]
        for pos, name in enumerate(names):
            if name is None:
                continue
            others = [share for i, share in enumerate(nul_share) if i != pos]
            if nul_share[pos] <= 0.02 and min(others) >= 0.3:
                return name
    return None


def _utf16_line_breaks(head: bytes) -> str | None:
    """UTF-16 without a BOM and with few ASCII characters (CJK text): its line breaks are the code
    unit ``0A 00`` (LE) or ``00 0A`` (BE) at even offsets. A codec when the head has 2+ line-feed
    bytes and 90%+ of them sit so (a single-byte file has ``0A`` followed by text, never a NUL)."""
    sample = head[: len(head) - len(head) % 2]
    total = sample.count(b"\n")
    if total < 2:
        return None
    le = sum(1 for i in range(0, len(sample), 2) if sample[i] == 10 and sample[i + 1] == 0)
    be = sum(1 for i in range(0, len(sample), 2) if sample[i] == 0 and sample[i + 1] == 10)
    if le >= 0.9 * total:
        return "utf-16-le"
    if be >= 0.9 * total:
        return "utf-16-be"
    return None


def _utf8_balance(head: bytes) -> tuple[int, int, int]:
    """(valid multi-byte UTF-8 characters, invalid bytes, offset of the first invalid byte)."""
    valid = invalid = 0
    first = -1
    offset = 0
    for ch in head.decode("utf-8", "surrogateescape"):
        code = ord(ch)
        if code < 128:
            offset += 1
        elif 0xDC80 <= code <= 0xDCFF:
            invalid += 1
            if first < 0:
                first = offset
            offset += 1
        else:
            valid += 1
            offset += len(ch.encode("utf-8"))
    return valid, invalid, first


def detect_encoding(head: bytes, complete: bool = False) -> EncodingChoice:
    """The encoding of a text file from its first bytes (see the module docstring for the rule).
    ``complete``: ``head`` is the whole file (a multi-byte character cut at its end is an error)."""
    for bom, codec, why in _BOMS:
        if head.startswith(bom):
            return EncodingChoice(codec, len(bom), why)
    nul_codec = _nul_pattern(head)
    if nul_codec and _decodes(head[: len(head) - len(head) % 4], nul_codec, False):
        return EncodingChoice(nul_codec, 0, f"no byte-order mark; NUL bytes fall as in {nul_codec.upper()} text")
    if b"\x00" in head[:PROBE_BYTES]:
        wide = _utf16_line_breaks(head[:PROBE_BYTES])
        if wide and _decodes(head[: len(head) - len(head) % 2], wide, False):
            return EncodingChoice(wide, 0, f"no byte-order mark; line breaks are {wide.upper()} code units")
    if head.isascii():
        return EncodingChoice("utf-8", 0, "ASCII only in the first bytes read")
    if _decodes(head, "utf-8", complete):
        return EncodingChoice("utf-8", 0, "valid UTF-8")
    valid, invalid, first = _utf8_balance(head)
    if first < 0:  # only a character cut at the end of a truncated head
        return EncodingChoice("utf-8", 0, "valid UTF-8")
    if valid >= 2 * invalid:
        return EncodingChoice(
            "utf-8", 0, f"UTF-8: {valid} valid multi-byte characters, {invalid} invalid bytes (their rows are rejected)"
        )
    start = max(0, first - DETECTOR_BYTES // 2)
    window = head[start : start + DETECTOR_BYTES]
    where = f"byte 0x{head[first]:02x} at offset {first} is not UTF-8"
    guess = _charset_normalizer_guess(window)
    if guess and not guess.startswith("utf"):
        return EncodingChoice(guess, 0, f"{where}; charset-normalizer says {guess}")
    codec = "cp1252" if _decodes(window, "cp1252", True) else "iso8859-1"
    return EncodingChoice(codec, 0, f"{where}; no detector verdict, {codec} assumed")


def _charset_normalizer_guess(window: bytes) -> str | None:
    """charset-normalizer's best encoding for ``window``; Windows-1252 (the commonest legacy
    encoding) wins a near tie (chaos within 0.05, coherence within 0.05 of the best), which short
    samples of Western text often are (cp1250, iso8859-10 and cp1252 then score alike). Text of
    another script (Cyrillic in cp1251, say) never lists cp1252 among its candidates."""
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - a declared dependency
        return None
    results = list(from_bytes(window))
    if not results:
        return None
    best = results[0]
    for match in results:
        if (
            codec_name(match.encoding) == "cp1252"
            and match.chaos <= best.chaos + 0.05
            and match.coherence >= best.coherence - 0.05
        ):
            return "cp1252"
    return codec_name(best.encoding)


class Utf8Transcoder(io.RawIOBase):
    """A binary stream of UTF-8 bytes read from ``raw`` in another encoding (streamed, chunk by
    chunk). Undecodable bytes come out as invalid UTF-8 (see ``RAW_BYTE_ERRORS``)."""

    def __init__(self, raw: BinaryIO, codec: str):
        super().__init__()
        self.raw = raw
        self.decoder = codecs.getincrementaldecoder(codec)(RAW_BYTE_ERRORS)
        self.pending = memoryview(b"")
        self.eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not len(self.pending) and not self.eof:
            chunk = self.raw.read(SKIP_CHUNK)
            if not chunk:
                self.eof = True
                text = self.decoder.decode(b"", final=True)
            else:
                text = self.decoder.decode(chunk)
            self.pending = memoryview(text.encode("utf-8", "surrogatepass"))
        n = min(len(buffer), len(self.pending))
        buffer[:n] = self.pending[:n]
        self.pending = self.pending[n:]
        return n

    def close(self) -> None:
        try:
            self.raw.close()
        finally:
            super().close()


def open_text_utf8(path: Path, choice: EncodingChoice) -> BinaryIO:
    """The file's (decompressed) text as UTF-8 bytes without a byte-order mark."""
    raw = open_binary(path)
    try:
        if choice.bom:
            raw.read(choice.bom)
        if choice.is_utf8:
            return raw
        return io.BufferedReader(Utf8Transcoder(raw, choice.codec), buffer_size=SKIP_CHUNK)  # type: ignore[arg-type,return-value]
    except BaseException:
        raw.close()
        raise


class FileSource(Source):
    """Base of the file connectors: the path checks, name and fingerprint."""

    options_doc: ClassVar[dict[str, str]] = {}
    text_format: ClassVar[bool] = True  # decoded text (?encoding= accepted); False for binary formats

    def __init__(self, locator: Locator):
        super().__init__(locator)
        allowed = {"encoding": ENCODING_OPTION_DOC, **self.options_doc} if self.text_format else self.options_doc
        check_options(locator, allowed)
        self.path = resolve_file(locator)
        self.is_empty = self.path.stat().st_size == 0
        self.notes: list[str] = []  # what the source decided from the data (encoding...), for the evidence
        self._encoding: EncodingChoice | None = None
        self._given_codec: str | None = None
        given = locator.options.get("encoding") if self.text_format else None
        if given is not None:
            self._given_codec = codec_name(given.strip()) if given.strip() else None
            if self._given_codec is None:
                raise self.error(f"unknown encoding '{given}'; use e.g. utf-8, cp1252, latin-1, utf-16")

    @property
    def encoding(self) -> EncodingChoice:
        """How the file's text is decoded: ``?encoding=`` or detected from its head (once)."""
        if self._encoding is None:
            head = b"" if self.is_empty else self._encoding_probe()
            given = self._given_codec
            if given is not None:
                # utf-16/utf-32 read their own BOM; a BOM of the named codec is skipped, never text
                bom = next((len(m) for m, codec, _ in _BOMS if head.startswith(m) and codec == given), 0)
                self._encoding = EncodingChoice(given, bom, "given with ?encoding=")
            else:
                self._encoding = detect_encoding(head, complete=len(head) < ENCODING_PROBE_BYTES)
            note = self._encoding.note()
            if note not in self.notes:
                self.notes.insert(0, note)
        return self._encoding

    @property
    def name(self) -> str:
        return dataset_name_for(self.path)

    def fingerprint(self) -> str | None:
        return file_fingerprint(self.path)

    def error(self, what: str) -> SourceError:
        return SourceError(f"{self.path}: {what} (locator '{self.locator}')")

    def open_stream(self) -> BinaryIO:
        """The file's (decompressed) text as UTF-8 bytes, whatever its encoding (no byte-order
        mark); binary formats (``text_format`` False) get the bytes as they are. Use inside
        ``reading()``."""
        if not self.text_format:
            return open_binary(self.path)
        return open_text_utf8(self.path, self.encoding)

    def probe_utf8(self, size: int = PROBE_BYTES) -> bytes:
        """The head of ``open_stream``: up to ``size`` UTF-8 bytes."""
        with self.reading(), self.open_stream() as stream:
            return read_up_to(stream, size)

    def _encoding_probe(self) -> bytes:
        """Up to ``ENCODING_PROBE_BYTES`` of the head; a read failure past ``PROBE_BYTES`` (a
        truncated archive) ends the probe there and is reported where the rows are read."""
        buffer = bytearray(ENCODING_PROBE_BYTES)
        view = memoryview(buffer)
        got = 0
        try:
            with open_binary(self.path) as stream:
                while got < ENCODING_PROBE_BYTES:
                    n = stream.readinto(view[got : got + SKIP_CHUNK])
                    if not n:
                        break
                    got += n
        except _READ_ERRORS as exc:
            if got < PROBE_BYTES:
                raise self.error(describe_read_error(exc)) from None
        view.release()
        del buffer[got:]
        return buffer  # type: ignore[return-value]

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
