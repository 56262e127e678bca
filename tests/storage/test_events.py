"""The audit log: append, filter, newest first."""

from __future__ import annotations

import getpass

from brewslm.storage.events import default_actor, list_events, record_event


def test_events_are_listed_newest_first_and_filtered():
    first = record_event(
        "ingestion", "dataset_import_run", {"accepted_count": 3}, actor="ann", dataset="a", config_id="m1"
    )
    record_event("ingestion", "dataset_import_failed", {"error": "x"}, actor="bob", dataset="a")
    record_event("training", "run_started", {}, actor="ann", dataset="b", config_id="m1")

    events = list_events()
    assert [e.reason_code for e in events] == ["run_started", "dataset_import_failed", "dataset_import_run"]
    assert events[-1].id == first and events[-1].payload == {"accepted_count": 3}
    assert [e.reason_code for e in list_events(stage="ingestion")] == ["dataset_import_failed", "dataset_import_run"]
    assert [e.actor for e in list_events(reason_code="dataset_import_failed")] == ["bob"]
    assert [e.stage for e in list_events(mapping="m1")] == ["training", "ingestion"]
    assert [e.reason_code for e in list_events(dataset="b")] == ["run_started"]
    assert len(list_events(limit=2)) == 2 and list_events(limit=0) == []
    as_dict = events[0].to_dict()
    assert as_dict["created_at"].endswith("+00:00") and as_dict["config_id"] == "m1"


def test_the_actor_defaults_to_the_os_user(monkeypatch):
    monkeypatch.setattr(getpass, "getuser", lambda: "osuser")
    record_event("ingestion", "x")
    assert list_events()[0].actor == "osuser" and default_actor() == "osuser"


def test_the_actor_survives_a_missing_passwd_entry(monkeypatch):
    def unknown():
        raise KeyError("getpwuid(): uid not found: 12345")

    monkeypatch.setattr(getpass, "getuser", unknown)
    actor = default_actor()
    assert actor.startswith("uid:") or actor == "unknown"
