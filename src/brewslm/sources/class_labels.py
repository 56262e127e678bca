"""Turn Hugging Face ``ClassLabel`` integers into their names.

Works on the serialised form of ``datasets.Features`` (``Features.to_dict()``, also stored in
the ``huggingface`` metadata of Parquet files that ``datasets`` writes), so the Parquet connector
can use it without importing ``datasets``. Nested features are followed: lists/sequences of
labels (``ner_tags``) and structs. The integer ``-1`` (HF's "no label", e.g. in test splits)
becomes ``None`` so mappers reject it as a missing label instead of inventing one.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Mapping

Decoder = Callable[[Any], Any]
_LIST_TYPES = ("Sequence", "List", "LargeList")


def _class_label(names: list[str]) -> Decoder:
    def decode(value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            if 0 <= value < len(names):
                return names[value]
            if value < 0:
                return None
        return value

    return decode


def _struct(fields: Mapping[str, Any]) -> Decoder | None:
    decoders = {k: d for k, d in ((k, feature_decoder(f)) for k, f in fields.items()) if d is not None}
    if not decoders:
        return None

    def decode(value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        return {k: (decoders[k](v) if k in decoders else v) for k, v in value.items()}

    return decode


def _list_of(inner_feature: Any) -> Decoder | None:
    inner = feature_decoder(inner_feature)
    if inner is None:
        return None
    is_struct = isinstance(inner_feature, dict) and "_type" not in inner_feature
    if is_struct:
        # HF stores a sequence of structs as a struct of lists ({"a": [...], "b": [...]})
        per_field = {k: feature_decoder(f) for k, f in inner_feature.items()}

    def decode(value: Any) -> Any:
        if isinstance(value, list):
            return [inner(v) for v in value]
        if is_struct and isinstance(value, dict):
            return {
                k: ([per_field[k](x) for x in v] if per_field.get(k) and isinstance(v, list) else v)
                for k, v in value.items()
            }
        return value

    return decode


def feature_decoder(feature: Any) -> Decoder | None:
    """A function mapping a value of this feature to its names, or None if no labels inside."""
    if isinstance(feature, list):
        return _list_of(feature[0]) if len(feature) == 1 else None
    if not isinstance(feature, dict):
        return None
    kind = feature.get("_type")
    if kind == "ClassLabel":
        names = feature.get("names")
        return _class_label(list(names)) if names else None
    if kind in _LIST_TYPES:
        return _list_of(feature.get("feature"))
    if kind is None:
        return _struct(feature)
    return None


def row_decoder(features: Mapping[str, Any] | None) -> Decoder | None:
    """A decoder for whole rows given the serialised features, or None if there are no labels."""
    return _struct(features) if features else None


def features_from_parquet_metadata(metadata: Mapping[bytes, bytes] | None) -> dict[str, Any] | None:
    """The serialised features ``datasets`` stores in a Parquet schema, if any."""
    if not metadata or b"huggingface" not in metadata:
        return None
    try:
        info = json.loads(metadata[b"huggingface"])
    except (ValueError, UnicodeDecodeError):
        return None
    features = (info.get("info") or {}).get("features") if isinstance(info, dict) else None
    return features if isinstance(features, dict) else None
