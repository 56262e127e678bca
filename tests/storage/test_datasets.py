"""The dataset store: atomic versions, the CURRENT pointer, reading back, names, locks."""

from __future__ import annotations

import json

import pytest

from brewslm.errors import ConfigError, ImportFailed
from brewslm.storage.datasets import (
    VersionWriter,
    current_version,
    dataset_dir,
    dataset_lock,
    dataset_name_from,
    list_datasets,
    list_versions,
    next_version,
    open_dataset,
    remove_stale_temporaries,
    validate_dataset_name,
)


def _line(record: dict) -> bytes:
    return (json.dumps(record, separators=(",", ":")) + "\n").encode()


def _publish(name: str, records: dict[str, list[dict]], fmt: str = "jsonl", **manifest) -> object:
    writer = VersionWriter(name, next_version(name), fmt)
    for split, recs in records.items():
        for record in recs:
            writer.write_line(split, _line(record))
    writer.write_rejected({"row": 9, "reason": "parse_error", "detail": "bad", "raw": "{x"})
    return writer.publish(
        {
            "name": name,
            "version": writer.version,
            "task_profile": "classification",
            "format": fmt,
            "content_hash": writer.content_hash(),
            **manifest,
        }
    )


def test_a_published_version_is_complete_and_current(workspace):
    train = [{"_key": "k1", "label": "a", "text": "one"}, {"_key": "k2", "label": "b", "text": "two\nlines"}]
    version = _publish("ds", {"train": train, "test": [{"_key": "k3", "label": "a", "text": "three"}]})
    assert version.path == workspace / "datasets" / "ds" / "v1"
    assert sorted(p.name for p in version.path.iterdir()) == [
        "manifest.json",
        "rejected.jsonl",
        "test.jsonl",
        "train.jsonl",
        "validation.jsonl",
    ]
    assert (workspace / "datasets" / "ds" / "CURRENT").read_text() == "v1\n"
    ds = open_dataset("ds")
    assert ds.version == 1 and ds.task_profile == "classification"
    assert list(ds.iter_records("train")) == train and list(ds.iter_records("validation")) == []
    assert [r["_key"] for r in ds.iter_records()] == ["k1", "k2", "k3"]
    assert list(ds.iter_rejected()) == [{"row": 9, "reason": "parse_error", "detail": "bad", "raw": "{x"}]
    assert ds.to_dict()["version"] == 1


def test_versions_accumulate_and_any_can_be_opened():
    _publish("ds", {"train": [{"_key": "a"}]})
    _publish("ds", {"train": [{"_key": "b"}]})
    assert list_versions("ds") == [1, 2] and current_version("ds") == 2
    assert [r["_key"] for r in open_dataset("ds", 1).iter_records()] == ["a"]
    with pytest.raises(ConfigError, match="no version 7; versions: v1, v2"):
        open_dataset("ds", 7)
    with pytest.raises(ConfigError, match="dataset 'other' not found; known datasets: ds"):
        open_dataset("other")
    with pytest.raises(ConfigError, match="unknown split 'dev'"):
        list(open_dataset("ds").iter_records("dev"))


def test_content_hash_depends_on_records_and_their_splits():
    a = _publish("a", {"train": [{"_key": "x"}], "test": [{"_key": "y"}]})
    b = _publish("b", {"train": [{"_key": "x"}], "test": [{"_key": "y"}]})
    c = _publish("c", {"train": [{"_key": "x"}, {"_key": "y"}]})
    assert a.manifest["content_hash"] == b.manifest["content_hash"] != c.manifest["content_hash"]


def test_discard_leaves_nothing_behind():
    _publish("ds", {"train": [{"_key": "a"}]})
    writer = VersionWriter("ds", next_version("ds"))
    writer.write_line("train", _line({"_key": "half"}))
    writer.discard()
    assert sorted(p.name for p in dataset_dir("ds").iterdir()) == ["CURRENT", "v1"]
    assert current_version("ds") == 1


def test_half_written_and_unpointed_versions_are_handled():
    _publish("ds", {"train": [{"_key": "a"}]})
    stale = dataset_dir("ds") / ".tmp-v2-0badc0de"
    stale.mkdir()
    (stale / "train.jsonl").write_text("half")
    incomplete = dataset_dir("ds") / "v5"  # no manifest: never published
    incomplete.mkdir()
    assert remove_stale_temporaries("ds") == [stale] and not stale.exists()
    stale.mkdir()
    assert list_versions("ds") == [1] and open_dataset("ds").version == 1
    assert not stale.exists()  # the first read of this process found the crash mark and settled the store
    assert [d.name for d in list_datasets()] == ["ds"]
    assert next_version("ds") == 6  # never reuse a number a directory already has

    # a crash between renaming v6 and moving CURRENT: v6 is complete but CURRENT, the commit
    # point, still says v1 - so v6 is not published: not listed, not current, not openable
    _publish("ds", {"train": [{"_key": "b"}]})
    (dataset_dir("ds") / "CURRENT").write_text("v1\n")
    assert current_version("ds") == 1 and list_versions("ds") == [1]
    with pytest.raises(ConfigError, match="no version 6"):
        open_dataset("ds", 6)
    (dataset_dir("ds") / "CURRENT").unlink()
    assert current_version("ds") is None and list_datasets() == []  # no pointer: nothing committed


def test_parquet_versions_share_one_schema_across_splits():
    train = [{"_key": "a", "label": "x", "text": "t1", "meta": {"n": 1}}]
    test = [{"_key": "b", "label": "y", "text": "t2"}]
    version = _publish("pq", {"train": train, "test": test}, fmt="parquet")
    assert sorted(p.name for p in version.path.glob("*.parquet")) == [
        "test.parquet",
        "train.parquet",
        "validation.parquet",
    ]
    assert list(version.iter_records("train")) == train
    assert list(version.iter_records("test")) == [{**test[0], "meta": None}]
    assert list(version.iter_records("validation")) == []


def test_parquet_refuses_records_of_clashing_types_without_publishing():
    with pytest.raises(ImportFailed, match="do not fit one Parquet schema"):
        _publish("pq", {"train": [{"_key": "a", "v": [1, 2]}], "test": [{"_key": "b", "v": {"k": "x"}}]}, fmt="parquet")


def test_names_are_checked_and_derived():
    for bad in ("", "../x", "a/b", ".hidden", "x" * 129, "trailing."):
        with pytest.raises(ConfigError, match="is not allowed"):
            validate_dataset_name(bad)
    assert validate_dataset_name("reviews-2024_v1.2") == "reviews-2024_v1.2"
    assert dataset_name_from("org/data set:train") == "org-data-set-train"
    assert dataset_name_from("///") == "dataset"


def test_the_lock_admits_one_writer_at_a_time():
    with dataset_lock("ds"):
        with pytest.raises(ImportFailed, match="being written by another import"):
            with dataset_lock("ds"):
                pass
    with dataset_lock("ds"):
        pass


def test_rejected_rows_with_odd_values_stay_valid_json(workspace):
    writer = VersionWriter("odd", 1)
    writer.write_rejected(
        {"row": 1, "raw": {"when": __import__("datetime").date(2026, 1, 2), "blob": b"\xff", "s": "\ud800"}}
    )
    version = writer.publish({"name": "odd", "version": 1, "task_profile": "classification"})
    (entry,) = list(version.iter_rejected())
    assert entry["raw"]["when"] == "2026-01-02" and entry["raw"]["s"] == "\ud800"
