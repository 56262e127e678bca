"""``file:/path`` — pick the connector from the file's extension.

``.jsonl``/``.ndjson`` -> ``jsonl:``, ``.csv``/``.tsv``/``.tab`` -> ``csv:``, ``.json`` -> ``json:``,
``.conll``/``.bio``/``.iob`` -> ``conll:``, ``.parquet``/``.pq`` -> ``parquet:``; text formats may be
compressed (``.gz``, ``.bz2``, ``.xz``). Locator options are passed to that connector. An unknown
extension is an error listing the supported ones (or name the format: ``jsonl:/path``).
"""

from __future__ import annotations

from pathlib import Path

from brewslm.errors import SourceError
from brewslm.sources.base import Locator, Source
from brewslm.sources.filebase import COMPRESSED_SUFFIXES, format_suffix, resolve_file

FORMAT_BY_SUFFIX = {
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".csv": "csv",
    ".tsv": "csv",
    ".tab": "csv",
    ".json": "json",
    ".conll": "conll",
    ".bio": "conll",
    ".iob": "conll",
    ".parquet": "parquet",
    ".pq": "parquet",
}
_UNCOMPRESSIBLE = {"parquet"}  # Parquet compresses inside the file


def format_for(path: Path) -> str | None:
    """The connector scheme for a data file, or None when the extension is not a data format."""
    fmt = FORMAT_BY_SUFFIX.get(format_suffix(path))
    compressed = path.name.lower().endswith(COMPRESSED_SUFFIXES)
    if fmt is None or (compressed and fmt in _UNCOMPRESSIBLE):
        return None
    return fmt


def supported_extensions() -> str:
    return ", ".join(FORMAT_BY_SUFFIX) + f" (text formats also {'/'.join(COMPRESSED_SUFFIXES)}-compressed)"


def open_by_extension(path: Path, locator: Locator) -> Source:
    """Open ``path`` with the connector its extension names; ``locator`` supplies the options
    and the text shown in errors."""
    from brewslm.sources import open_source

    fmt = format_for(path)
    if fmt is None:
        raise SourceError(
            f"cannot tell the format of {path} from its extension (locator '{locator}'); "
            f"supported: {supported_extensions()}; or name the format, e.g. jsonl:{path}"
        )
    return open_source(Locator(scheme=fmt, target=str(path), options=dict(locator.options), raw=str(locator)))


def open_file(locator: Locator) -> Source:
    return open_by_extension(resolve_file(locator), locator)


SOURCES = {"file": open_file}
