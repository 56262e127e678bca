"""The dataset catalogue rows: writing -> published / failed, with the event in one transaction."""

from __future__ import annotations

from brewslm.storage import catalog
from brewslm.storage.events import list_events, new_event


def test_a_version_goes_from_writing_to_published_with_its_event():
    catalog.begin_version("ds", 1, task_profile="classification", path="/x/v1", mapper_id="m", actor="ann")
    assert catalog.catalogue_versions("ds")[0]["status"] == "writing"
    event_id = catalog.finish_version(
        "ds",
        1,
        status=catalog.PUBLISHED,
        event=new_event("ingestion", "dataset_import_run", {"n": 1}, actor="ann"),
        task_profile="classification",
        record_count=5,
        split_counts={"train": 5},
    )
    (row,) = catalog.catalogue_versions("ds")
    assert row["status"] == "published" and row["records"] == 5 and row["split_counts"] == {"train": 5}
    assert row["finished_at"] and row["actor"] == "ann"
    assert list_events()[0].id == event_id


def test_a_failed_attempt_is_kept_and_its_number_can_be_retried():
    catalog.begin_version("ds", 1, task_profile="classification", path="/x/v1")
    catalog.finish_version("ds", 1, status=catalog.FAILED, error="disk full")
    assert catalog.catalogue_versions("ds")[0]["error"] == "disk full"
    catalog.begin_version("ds", 1, task_profile="classification", path="/x/v1")
    (row,) = catalog.catalogue_versions("ds")
    assert row["status"] == "writing" and row["error"] is None
    assert catalog.catalogue_versions("unknown") == []


def test_a_settled_version_gets_no_second_outcome():
    """Crash recovery and a late importer must not both record an outcome for one version."""
    catalog.begin_version("ds", 1, task_profile="classification", path="/x/v1")
    first = catalog.finish_version(
        "ds", 1, status=catalog.FAILED, event=new_event("ingestion", "dataset_import_failed"), error="interrupted"
    )
    late = catalog.finish_version("ds", 1, status=catalog.PUBLISHED, event=new_event("ingestion", "dataset_import_run"))
    assert first is not None and late is None
    assert catalog.catalogue_versions("ds")[0]["status"] == "failed"
    assert [e.reason_code for e in list_events()] == ["dataset_import_failed"]
