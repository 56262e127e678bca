"""Record keys and JSON lines: ``_key`` is the first 128 bits (hex) of the sha256 of the record's
canonical JSON (sorted keys, compact, UTF-8) without its provenance fields ``id`` and ``meta``, so
two rows with the same content are the same training example whatever their source ids. The key
decides de-duplication and, with the seed, the split. Each line is ``{"_key": ..., <content fields,
sorted>, "id": ..., "meta": ...}``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Callable, Mapping

from brewslm.storage.datasets import (
    KEY_FIELD,
)

KEY_BYTES = 16


PROVENANCE_FIELDS = ("id", "meta")  # kept in the record, left out of its key


KEY_EXCLUDED = frozenset({KEY_FIELD, *PROVENANCE_FIELDS})


def _not_json(value: Any) -> Any:
    raise TypeError(f"a {type(value).__name__} value is not JSON")


def _canonical_encoder() -> Callable[[Any], str]:
    """Compact, key-sorted, UTF-8-preserving JSON; NaN/Infinity and non-JSON objects raise.

    The C encoder is called directly when available: ``JSONEncoder.encode`` rebuilds it on every
    call, which is most of the cost for small records (it runs once per record).
    """
    c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
    if c_make_encoder is None:  # pragma: no cover - CPython always has the accelerator
        return json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False).encode
    encoder = c_make_encoder(None, _not_json, json.encoder.encode_basestring, None, ":", ",", True, False, False)
    join = "".join

    def encode(value: Any) -> str:
        return join(encoder(value, 0))

    return encode


canonical_json = _canonical_encoder()


def record_key(record: Mapping[str, Any]) -> str:
    """The content-hash key of a canonical record (what ``_key`` holds)."""
    content = {k: v for k, v in record.items() if k not in KEY_EXCLUDED}
    return hashlib.sha256(canonical_json(content).encode("utf-8")).digest()[:KEY_BYTES].hex()


def serialise_record(record: dict[str, Any]) -> tuple[bytes, bytes]:
    """(key digest, the record's JSON without ``_key``): the content fields sorted, then the
    provenance fields. Raises ValueError/TypeError/RecursionError when the record is not JSON
    (NaN, a Python object, a cycle) and UnicodeEncodeError for unpaired surrogates."""
    if KEY_EXCLUDED.isdisjoint(record):
        body = canonical_json(record).encode("utf-8")
        return hashlib.sha256(body).digest()[:KEY_BYTES], body
    content = dict(record)
    content.pop(KEY_FIELD, None)
    provenance = [(name, content.pop(name)) for name in PROVENANCE_FIELDS if name in content]
    content_json = canonical_json(content)
    digest = hashlib.sha256(content_json.encode("utf-8")).digest()[:KEY_BYTES]
    parts = [content_json[1:-1]] if content_json != "{}" else []
    parts.extend(f'"{name}":{canonical_json(value)}' for name, value in provenance)
    return digest, ("{" + ",".join(parts) + "}").encode("utf-8")


def json_line(digest: bytes, body: bytes) -> bytes:
    head = b'{"' + KEY_FIELD.encode() + b'":"' + digest.hex().encode() + b'"'
    return head + (b"}\n" if body == b"{}" else b"," + body[1:] + b"\n")


def digest_from_hex(key_hex: Any) -> bytes | None:
    if not isinstance(key_hex, str) or len(key_hex) != 2 * KEY_BYTES:
        return None
    try:
        return bytes.fromhex(key_hex)
    except ValueError:
        return None


__all__ = [
    "KEY_BYTES",
    "KEY_EXCLUDED",
    "PROVENANCE_FIELDS",
    "canonical_json",
    "digest_from_hex",
    "json_line",
    "record_key",
    "serialise_record",
]
