from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from brewslm.errors import SourceError
from brewslm.sources import open_source


def write_table(path: Path, table: pa.Table, **kwargs) -> Path:
    pq.write_table(table, path, **kwargs)
    return path


def test_rows_stream_in_batches_with_plain_values(tmp_path: Path):
    table = pa.table(
        {
            "text": [f"row {i}" for i in range(2500)],
            "score": [i / 2 for i in range(2500)],
            "when": [dt.datetime(2024, 1, 1, 12, 0)] * 2500,
            "tags": [["a", "b"]] * 2500,
            "meta": [{"k": i} for i in range(2500)],
        }
    )
    path = write_table(tmp_path / "data.parquet", table, row_group_size=1000)
    source = open_source(f"parquet:{path}?batch_size=300")
    got = list(source.rows())
    assert len(got) == 2500
    assert got[1] == {
        "text": "row 1",
        "score": 0.5,
        "when": "2024-01-01T12:00:00",
        "tags": ["a", "b"],
        "meta": {"k": 1},
    }
    assert next(iter(open_source(f"parquet:{path}?columns=text").rows())) == {"text": "row 0"}


def test_hf_class_labels_in_parquet_metadata_become_names(tmp_path: Path):
    from datasets import ClassLabel, Dataset, Features, List, Value

    features = Features(
        {
            "text": Value("string"),
            "label": ClassLabel(names=["neg", "pos"]),
            "tags": List(ClassLabel(names=["O", "B-x"])),
        }
    )
    ds = Dataset.from_dict({"text": ["a", "b"], "label": [1, 0], "tags": [[0, 1], []]}, features=features)
    path = tmp_path / "hf.parquet"
    ds.to_parquet(str(path))
    assert list(open_source(f"parquet:{path}").rows()) == [
        {"text": "a", "label": "pos", "tags": ["O", "B-x"]},
        {"text": "b", "label": "neg", "tags": []},
    ]


def test_bad_files(tmp_path: Path):
    fake = tmp_path / "fake.parquet"
    fake.write_bytes(b"PAR1 this is not parquet at all")
    with pytest.raises(SourceError, match=r"fake\.parquet: is not a readable Parquet file \("):
        open_source(f"parquet:{fake}")
    good = write_table(tmp_path / "good.parquet", pa.table({"a": list(range(100))}))
    cut = tmp_path / "cut.parquet"
    cut.write_bytes(good.read_bytes()[:-30])
    with pytest.raises(SourceError, match="is not a readable Parquet file"):
        open_source(f"parquet:{cut}")
    with pytest.raises(SourceError, match="has no column 'b'; its columns: a"):
        open_source(f"parquet:{good}?columns=b")
    empty = tmp_path / "empty.parquet"
    empty.write_bytes(b"")
    assert list(open_source(f"parquet:{empty}").rows()) == []
    with pytest.raises(SourceError, match=r"^file not found: "):
        open_source(f"parquet:{tmp_path}/none.parquet")


def test_name_and_fingerprint(tmp_path: Path):
    path = write_table(tmp_path / "reviews.parquet", pa.table({"a": [1]}))
    source = open_source(f"file:{path}")
    assert source.name == "reviews"
    assert source.fingerprint().startswith("sha256:")


def test_rows_equal_the_table_value_for_value(tmp_path_factory):
    """Fidelity (issue 15): any strings (JSON-looking, whitespace, any script), integers past 32
    bits, floats, nulls and lists come back exactly as written, row for row."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    row = st.fixed_dictionaries(
        {
            "text": st.text(max_size=40),
            "n": st.one_of(st.none(), st.integers(-(2**62), 2**62)),
            "x": st.floats(allow_nan=False, allow_infinity=False, width=64),
            "tags": st.lists(st.text(max_size=8), max_size=3),
        }
    )

    @settings(max_examples=30, deadline=None)
    @given(rows=st.lists(row, min_size=1, max_size=12))
    def check(rows):
        path = tmp_path_factory.mktemp("pq") / "rows.parquet"
        schema = pa.schema(
            [("text", pa.string()), ("n", pa.int64()), ("x", pa.float64()), ("tags", pa.list_(pa.string()))]
        )
        write_table(path, pa.Table.from_pylist(rows, schema=schema), row_group_size=5)
        assert list(open_source(f"parquet:{path}").rows()) == rows

    check()
