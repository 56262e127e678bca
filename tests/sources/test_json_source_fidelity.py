"""Fidelity of the JSON source, as properties (issue 15): random documents whose records sit at a
random path, under ids, by split or as JSON Lines in a ``.json`` file; the rows read are the
records, values equal and of the same type (big integers and floats exact), plus only the
documented fields (the key in ``id``, the array's name in ``split``)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brewslm.sources import open_source

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# text that looks like JSON, numbers as strings, brackets, whitespace, any unicode
tricky_text = st.one_of(
    st.text(max_size=30),
    st.sampled_from(["[0, 1, 3]", '{"a": 1}', "[Verse 1] la la", "  ", "\n", "0", "1e400", "null", "true", "\u202e"]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    tricky_text,
    st.integers(min_value=-(2**100), max_value=2**100),
    st.floats(allow_nan=False, allow_infinity=False),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=6,
)
field_names = st.text(min_size=1, max_size=10).filter(lambda k: k not in ("id", "key", "split", "source_split"))
path_keys = st.lists(st.from_regex(r"[a-z]{1,8}", fullmatch=True), min_size=1, max_size=3, unique=True)


@st.composite
def records(draw, min_size: int = 1, max_size: int = 12):
    """Records sharing most of their fields (as real ones do), with arbitrary values."""
    keys = draw(st.lists(field_names, min_size=1, max_size=5, unique=True))
    n = draw(st.integers(min_size, max_size))
    return [{k: draw(values) for k in keys if draw(st.integers(0, 9)) > 0 or k == keys[0]} for _ in range(n)]


def same(a, b) -> bool:
    """Equal and of the same types all the way down (1 is not 1.0 nor True)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def read(doc_bytes: bytes, name: str = "doc.json") -> list:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(doc_bytes)
        return list(open_source(f"json:{path}").rows())


def nest(path: list[str], value):
    for key in reversed(path):
        value = {key: value}
    return value


@SETTINGS
@given(
    rows=records(),
    path=path_keys,
    meta=st.dictionaries(st.from_regex(r"[A-Z]{1,6}", fullmatch=True), scalars, max_size=3),
)
def test_records_at_a_random_path_are_read_as_they_are(rows, path, meta):
    doc = {"meta": meta, **nest(path, rows)} if path[0] != "meta" else nest(path, rows)
    got = read(json.dumps(doc).encode())
    # records one level under the top are named arrays (their name in 'split'): the documented rule
    expected = rows if len(path) > 1 else [{**r, "split": path[0]} for r in rows]
    assert len(got) == len(expected) and all(same(g, e) for g, e in zip(got, expected))


@SETTINGS
@given(
    rows=records(min_size=2),
    ids=st.lists(st.integers(0, 10**15), min_size=12, max_size=12, unique=True),
    path=st.lists(st.from_regex(r"[a-z]{1,8}", fullmatch=True), max_size=2, unique=True),
)
def test_records_keyed_by_id_get_their_key(rows, ids, path):
    keys = [f"q{i}" for i in ids[: len(rows)]]
    doc = nest(path, dict(zip(keys, rows)))
    if path:
        doc["version"] = "1.0"
    got = read(json.dumps(doc).encode())
    expected = [{"id": k, **r} for k, r in zip(keys, rows)]
    assert len(got) == len(expected) and all(same(g, e) for g, e in zip(got, expected))


@SETTINGS
@given(rows=records(min_size=2), big=st.integers(min_value=2**64, max_value=2**200))
def test_records_with_their_own_id_and_a_huge_integer(rows, big):
    rows = [{"id": i, "big": big, **r} for i, r in enumerate(rows)]
    doc = {str(1000 + i): r for i, r in enumerate(rows)}
    got = read(json.dumps(doc).encode())
    expected = [{"key": str(1000 + i), **r} for i, r in enumerate(rows)]
    assert len(got) == len(expected) and all(same(g, e) for g, e in zip(got, expected))


@SETTINGS
@given(splits=st.dictionaries(st.sampled_from(["train", "valid", "test", "dev"]), records(), min_size=2, max_size=3))
def test_records_keyed_by_split_are_all_read_with_their_split(splits):
    # the same fields in every split, as a dataset's splits have
    keys = list(next(iter(splits.values()))[0])
    splits = {name: [{k: r.get(k) for k in keys} for r in rows] for name, rows in splits.items()}
    got = read(json.dumps(splits).encode())
    expected = [{**r, "split": name} for name, rows in splits.items() for r in rows]
    assert len(got) == len(expected) and all(same(g, e) for g, e in zip(got, expected))


@SETTINGS
@given(rows=records(min_size=2), crlf=st.booleans())
def test_json_lines_in_a_json_file(rows, crlf):
    eol = "\r\n" if crlf else "\n"
    got = read(eol.join(json.dumps(r, ensure_ascii=False) for r in rows).encode())
    assert len(got) == len(rows) and all(same(g, e) for g, e in zip(got, rows))


@SETTINGS
@given(rows=records(), asks=st.lists(tricky_text, min_size=1, max_size=4))
def test_zip_keeps_every_value(rows, asks):
    doc = [{**r, "asks": asks, "answers": [[{"n": i}] for i in range(len(asks))]} for r in rows]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "z.json"
        path.write_text(json.dumps(doc))
        got = list(open_source(f"json:{path}?zip=asks,answers").rows())
    expected = [{**r, "asks": a, "answers": [{"n": i}]} for r in doc for i, a in enumerate(asks)]
    assert len(got) == len(expected) and all(same(g, e) for g, e in zip(got, expected))


@SETTINGS
@given(texts=st.lists(st.text(min_size=24, max_size=60), min_size=2, max_size=10), data=st.data())
def test_parallel_arrays_read_as_columns(texts, data):
    numbers = data.draw(st.lists(st.integers(-9, 9), min_size=len(texts), max_size=len(texts)))
    got = read(json.dumps({"meta": {"v": 1}, "texts": texts, "n": numbers}).encode())
    expected = [{"texts": t, "n": n} for t, n in zip(texts, numbers)]
    assert len(got) == len(expected) and all(same(g, e) for g, e in zip(got, expected))


@SETTINGS
@given(
    names=st.lists(
        st.from_regex(r"[a-z_]{1,10}", fullmatch=True).filter(lambda n: n not in ("id", "key")),
        min_size=2,
        max_size=4,
        unique=True,
    ),
    ids=st.lists(st.integers(0, 10**9), min_size=1, max_size=15, unique=True),
    data=st.data(),
)
def test_columns_keyed_by_row_id(names, ids, data):
    keys = [str(i) for i in ids]
    doc = {name: {k: data.draw(scalars) for k in keys} for name in names}
    got = read(json.dumps(doc).encode())
    expected = [{"id": k, **{name: doc[name][k] for name in names}} for k in keys]
    assert len(got) == len(expected) and all(same(g, e) for g, e in zip(got, expected))
