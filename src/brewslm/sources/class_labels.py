"""Turn Hugging Face ``ClassLabel`` integers into their names.

Works on the serialised form of ``datasets.Features`` (``Features.to_dict()``, also stored in
the ``huggingface`` metadata of Parquet files that ``datasets`` writes), so the Parquet connector
can use it without importing ``datasets``. Nested features are followed: lists/sequences of
labels (``ner_tags``) and structs. The integer ``-1`` (HF's "no label", e.g. in test splits)
becomes ``None`` so mappers reject it as a missing label instead of inventing one.

Also: ``find_label_names`` finds a label-name file beside a data file (``classes.txt``,
``labels.json``, ``*.names``, or any small file of the right shape) for class ids without names.
"""

from __future__ import annotations

import itertools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

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


# --- label-name files beside the data ---------------------------------------------------------
#
# Class ids without names (``1``..``14`` in a headerless CSV) often come with a small file beside
# the data that names them: ``classes.txt`` (one name per line, line n = class n), ``labels.json``
# (a list, an ``id -> name`` object or a ``name -> id`` object), darknet's ``*.names``. Such a
# file is recognised by its name AND its shape (distinct short names, enough of them for every id
# seen), or, under any other name (``emotions.txt``), by its shape alone when its count matches
# the ids exactly (``max id`` names for 1-based ids, ``max id + 1`` for 0-based) or, for 0-based
# ids, exceeds that while the ids seen are at least half of its names (a test split that does not
# use every class). Whether ids are 0- or 1-based is read from the values: an id 0 makes them
# 0-based, otherwise they are 1-based. Multi-label values ("3,10") are no ids: the caller passes
# the ids of the single labels (and of the parts of joined ones).

NAME_FILE_STEMS = (
    "classes",
    "labels",
    "class_names",
    "label_names",
    "classnames",
    "labelnames",
    "names",
    "categories",
    "label_map",
    "id2label",
    "class_list",
    "label_list",
    "class_map",
)
NAME_FILE_SUFFIXES = ("", ".txt", ".json", ".names", ".lst", ".list", ".labels")
MAX_NAME_FILE_BYTES = 64 * 1024
MAX_FILES_LOOKED_AT = 64  # a folder of many files is not scanned beyond this many candidates
MAX_ENTRIES_LISTED = 5000  # nor listed beyond this many entries
MAX_NAME_CHARS = 100
MAX_NAME_WORDS = 8
# a file found by shape alone may name more classes than the ids seen (0-based ids only), when
# the ids seen are at least this share of its names
MIN_SHARE_OF_NAMES_SEEN = 0.5
_ID_AND_NAME = re.compile(r"^(\d+)[ \t]+(\S.*)$")


@dataclass(frozen=True)
class LabelNames:
    """Names for class ids read from a file beside the data."""

    path: Path
    names: dict[str, str]  # id as the mapper reads it ("1") -> name
    base: int | None  # 0 or 1 for a list of names (line n / index n), None when the file names its ids
    by_name: bool  # recognised by its file name (and shape); False: by its shape alone
    # found by shape with more names than the ids need: how many ids were seen (None otherwise)
    seen: int | None = None

    def describe(self) -> str:
        if self.by_name:
            how = "its name and shape"
        elif self.seen is None:
            how = "its shape alone (one distinct name per id)"
        else:
            how = (
                f"its shape alone ({len(self.names)} distinct names, line n = id n; the {self.seen} ids seen "
                "are a subset, as in a split that does not use every class)"
            )
        if self.base is None:
            base = "the file names its ids"
        else:
            why = "an id 0 occurs" if self.base == 0 else "no id 0 occurs"
            base = f"ids read as {self.base}-based ({why}: entry 1 of the file is id {self.base})"
        return f"'{self.path.name}' beside the data, recognised by {how}; {base}"


def class_ids(values: Iterable[Any]) -> set[int] | None:
    """The values as non-negative integer class ids (ints, or digit strings written canonically,
    ``"3"`` not ``"03"``), blanks skipped; None when any value is something else or none is an id."""
    ids: set[int] = set()
    for value in values:
        if isinstance(value, bool):
            return None
        if isinstance(value, int):
            number = value
        elif isinstance(value, str):
            text = value.strip()
            if not text:
                continue
            if not text.isascii() or not text.isdigit() or str(int(text)) != text:
                return None
            number = int(text)
        else:
            return None
        if number < 0:
            return None
        ids.add(number)
    return ids or None


def _is_name(value: Any) -> bool:
    return (
        isinstance(value, str)
        and value.strip() == value
        and 0 < len(value) <= MAX_NAME_CHARS
        and len(value.split()) <= MAX_NAME_WORDS
        and "\t" not in value
    )


def _name_list(names: list[Any]) -> list[str] | None:
    if len(names) < 2 or not all(_is_name(n) for n in names) or len(set(names)) != len(names):
        return None
    return names


def _explicit(pairs: dict[Any, Any]) -> dict[str, str] | None:
    """``{id: name}`` (or ``{name: id}``, HF's label2id) as id string -> name."""
    out: dict[str, str] = {}
    for key, value in pairs.items():
        if isinstance(value, int) and not isinstance(value, bool) and _is_name(key):
            key, value = value, key
        ids = class_ids([key])
        if ids is None or not _is_name(value):
            return None
        out[str(next(iter(ids)))] = value
    if len(out) < 2 or len(set(out.values())) != len(out):
        return None
    return out


def _parse_names(text: str, is_json: bool) -> list[str] | dict[str, str] | None:
    """A list of names (by position) or explicit ``id -> name`` pairs, or None for any other shape."""
    stripped = text.strip()
    if is_json or stripped[:1] in ("[", "{"):
        try:
            data = json.loads(stripped)
        except ValueError:
            # a .json file must be JSON; a text file may just start with a name like "[UNK]"
            return None if is_json else _name_lines(stripped)
        if isinstance(data, dict) and len(data) == 1:
            inner = next(iter(data.values()))
            if isinstance(inner, (list, dict)):
                data = inner
        if isinstance(data, list):
            return _name_list(data)
        if isinstance(data, dict):
            return _explicit(data)
        return None
    return _name_lines(stripped)


def _name_lines(stripped: str) -> list[str] | dict[str, str] | None:
    """One name per line (or ``<id> <name>`` per line); a blank line in between is no names file."""
    lines = stripped.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if not all(line.strip() for line in lines):
        return None
    numbered = [_ID_AND_NAME.match(line.strip()) for line in lines]
    if all(numbered):  # "<id> <name>" per line (MMOCR's class_list.txt, label maps)
        explicit = _explicit({m.group(1): m.group(2).strip() for m in numbered if m})
        if explicit is not None and len(explicit) == len(lines):
            return explicit
    return _name_list([line.strip() for line in lines])


def _read_small_text(path: Path) -> str | None:
    try:
        if not path.is_file() or path.stat().st_size > MAX_NAME_FILE_BYTES:
            return None
        return path.read_bytes().decode("utf-8-sig")
    except (OSError, UnicodeDecodeError):
        return None


def _fit(path: Path, parsed: list[str] | dict[str, str], ids: set[int], by_name: bool) -> LabelNames | None:
    """The names for these ids, or None when the file cannot name every id (or, found by shape
    alone, when its count does not match the ids exactly and ``_covers`` does not hold)."""
    if isinstance(parsed, dict):
        if not all(str(i) in parsed for i in ids):
            return None
        if not by_name and len(parsed) != len(ids):
            return None
        return LabelNames(path, dict(parsed), None, by_name)
    base = 0 if 0 in ids else 1
    top = max(ids)
    needed = top + 1 - base
    if len(parsed) < needed or (not by_name and len(parsed) != needed and not _covers(parsed, ids, base)):
        return None
    return LabelNames(
        path,
        {str(i + base): name for i, name in enumerate(parsed)},
        base,
        by_name,
        None if by_name or len(parsed) == needed else len(ids),
    )


def _covers(parsed: list[str], ids: set[int], base: int) -> bool:
    """A file found by shape alone with more names than the highest id seen needs: a split that
    does not use every class (a test set without the last few). Taken only for 0-based ids (an id
    0 is seen, so line n = id n is certain; without one, "line 1 = id 0, id 0 unseen" and "line 1
    = id 1, last id unseen" read the same ids and nothing tells them apart) and when the ids seen
    are at least half of the names (a long word list is not the names of three classes)."""
    return base == 0 and len(ids) >= MIN_SHARE_OF_NAMES_SEEN * len(parsed)


def _named_like_names_file(path: Path) -> bool:
    name = path.name.lower()
    stem, suffix = (name.rsplit(".", 1)[0], "." + name.rsplit(".", 1)[1]) if "." in name else (name, "")
    return suffix == ".names" or (stem in NAME_FILE_STEMS and suffix in NAME_FILE_SUFFIXES)


def find_label_names(data_path: Path | str | None, ids: Iterable[int]) -> LabelNames | None:
    """A label-name file in the folder of ``data_path`` that names every id in ``ids``, or None.

    Files named like one (``classes.txt``, ``labels.json``, ``*.names``...) come first, in name
    order; any other small text file counts only when its shape alone fits the ids (exactly, or
    see ``_covers``), and only when exactly one such file does (two would be a guess; one that
    fits exactly is taken before those with more names)."""
    ids = set(ids)
    if data_path is None or not ids:
        return None
    data_path = Path(data_path)
    folder = data_path.parent
    try:
        listed = itertools.islice(folder.iterdir(), MAX_ENTRIES_LISTED)  # a folder of 100k images stays cheap
        entries = sorted(p for p in listed if p.name != data_path.name and not p.name.startswith("."))
    except OSError:
        return None
    named = [p for p in entries if _named_like_names_file(p)]
    others = [p for p in entries if p not in named and p.suffix.lower() in NAME_FILE_SUFFIXES]
    for path in named[:MAX_FILES_LOOKED_AT]:
        text = _read_small_text(path)
        parsed = _parse_names(text, path.suffix.lower() == ".json") if text else None
        found = _fit(path, parsed, ids, True) if parsed else None
        if found is not None:
            return found
    by_shape = []
    for path in others[:MAX_FILES_LOOKED_AT]:
        text = _read_small_text(path)
        parsed = _parse_names(text, path.suffix.lower() == ".json") if text else None
        found = _fit(path, parsed, ids, False) if parsed else None
        if found is not None:
            by_shape.append(found)
    exact = [found for found in by_shape if found.seen is None]
    if exact:  # a file whose count matches the ids exactly comes before one with more names
        by_shape = exact
    return by_shape[0] if len(by_shape) == 1 else None
