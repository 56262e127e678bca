"""Saved mappings: validated when saved, editable with history, re-runnable with audit events."""

from __future__ import annotations

import pytest

from brewslm.errors import ConfigError, MapperError, SourceError
from brewslm.ingestion import (
    ImportResult,
    ImportSpec,
    delete_mapping,
    get_mapping,
    list_events,
    list_mappings,
    list_versions,
    mapping_history,
    open_dataset,
    rerun_mapping,
    run_import,
    save_mapping,
    update_mapping,
)
from brewslm.ingestion.mappings import UnchangedSource

from .conftest import review_rows, write_jsonl

CLS = "ingest_test_cls"


@pytest.fixture
def tickets(tmp_path):
    path = write_jsonl(tmp_path / "tickets.jsonl", [{"body": r["text"], "topic": r["label"]} for r in review_rows(30)])
    return f"jsonl:{path}"


def test_a_saved_mapping_is_stored_resolved(tickets):
    saved = save_mapping(
        "tickets",
        tickets,
        mapper_id=CLS,
        field_map={"body": "text", "topic": "label"},
        drop_reasons=["missing_label"],
        actor="dana",
    )
    assert saved.version == 1 and saved.created_by == "dana"
    assert saved.field_map == {"body": "text", "topic": "label"}
    assert saved.dataset == "tickets" and saved.mode == "append" and saved.split == "auto" and saved.format == "jsonl"
    assert saved.last_run_at is None and saved.last_run_accepted is None
    assert get_mapping("tickets") == saved
    assert [m.name for m in list_mappings()] == ["tickets"]
    assert saved.to_dict()["created_at"].endswith("+00:00")
    spec = saved.to_spec(actor="erin")
    assert spec.config_id == "tickets" and spec.actor == "erin" and spec.locator == tickets
    event = list_events(reason_code="mapping_saved")[0]
    assert event.config_id == "tickets" and event.actor == "dana"


def test_the_field_map_is_guessed_and_stored_when_not_given(tmp_path):
    path = write_jsonl(tmp_path / "plain.jsonl", review_rows(5))
    saved = save_mapping("plain", f"jsonl:{path}", mapper_id=CLS)
    assert saved.field_map == {"text": "text", "label": "label"}


def test_a_whole_import_spec_can_be_saved(tickets):
    spec = ImportSpec(
        locator=tickets,
        mapper_id=CLS,
        field_map={"body": "text", "topic": "label"},
        dataset="support",
        seed=3,
        split="train",
    )
    saved = save_mapping("from-spec", spec)
    assert (saved.dataset, saved.seed, saved.split) == ("support", 3, "train")
    grouped = save_mapping("grouped", spec.model_copy(update={"split": "auto", "split_group": "topic"}))
    assert grouped.split_group == "topic" and grouped.to_spec().split_group == "topic"
    assert get_mapping("from-spec").split_group is None


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"locator": "nope:/x"}, SourceError, "unknown source 'nope'"),
        ({"locator": "no prefix"}, SourceError, "no '<scheme>:' prefix"),
        ({"mapper_id": "no_such_mapper"}, MapperError, "unknown mapper 'no_such_mapper'"),
        ({"field_map": {"bodyy": "text", "topic": "label"}}, MapperError, "no field 'bodyy'"),
        ({"field_map": {"body": "txt"}}, MapperError, "'txt' is not a field"),
        ({"options": {"colour": "red"}}, MapperError, "no option 'colour'"),
        ({"mode": "merge"}, ConfigError, "import setting 'mode'"),
        ({"dataset": "bad/name"}, ConfigError, "dataset name"),
    ],
)
def test_a_mapping_is_validated_when_saved(tickets, kwargs, error, match):
    args = {"locator": tickets, "mapper_id": CLS, "field_map": {"body": "text", "topic": "label"}, **kwargs}
    with pytest.raises(error, match=match):
        save_mapping("tickets", **args)
    assert list_mappings() == []


def test_a_missing_file_is_refused_when_saving(tmp_path):
    with pytest.raises(SourceError):
        save_mapping("gone", f"jsonl:{tmp_path / 'missing.jsonl'}", mapper_id=CLS)


def test_names_must_be_unique_and_well_formed(tickets):
    save_mapping("tickets", tickets, mapper_id=CLS, field_map={"body": "text", "topic": "label"})
    with pytest.raises(ConfigError, match="already exists"):
        save_mapping("tickets", tickets, mapper_id=CLS, field_map={"body": "text", "topic": "label"})
    with pytest.raises(ConfigError, match="mapping name"):
        save_mapping("no spaces please", tickets, mapper_id=CLS)


def test_edits_are_validated_and_every_definition_is_kept(tickets, tmp_path):
    save_mapping("tickets", tickets, mapper_id=CLS, field_map={"body": "text", "topic": "label"}, actor="dana")
    edited = update_mapping("tickets", options={"lowercase_label": True}, drop_reasons=["wrong_type"], actor="erin")
    assert edited.version == 2 and edited.options == {"lowercase_label": True}

    assert update_mapping("tickets", options={"lowercase_label": True}).version == 2  # nothing changed
    with pytest.raises(MapperError, match="no field 'nope'"):
        update_mapping("tickets", field_map={"nope": "text", "topic": "label"})
    with pytest.raises(ConfigError, match="no setting 'colour'"):
        update_mapping("tickets", colour="red")
    assert get_mapping("tickets").version == 2

    other = write_jsonl(tmp_path / "other.jsonl", review_rows(4))
    moved = update_mapping("tickets", locator=f"jsonl:{other}", field_map={"text": "text", "label": "label"})
    assert moved.version == 3 and moved.dataset == "tickets"  # keeps feeding the same dataset

    history = mapping_history("tickets")
    assert [(h.version, h.change) for h in history] == [(1, "created"), (2, "updated"), (3, "updated")]
    assert history[0].definition["options"] == {} and history[0].saved_by == "dana"
    assert history[1].definition["options"] == {"lowercase_label": True} and history[1].saved_by == "erin"
    assert history[2].definition["locator"] == f"jsonl:{other}"
    assert list_events(reason_code="mapping_updated")[1].payload["changed"] == ["drop_reasons", "options"]


def test_rerun_imports_with_config_id_and_records_the_last_run(tickets):
    save_mapping("tickets", tickets, mapper_id=CLS, field_map={"body": "text", "topic": "label"})
    first = rerun_mapping("tickets", actor="frank")
    assert first.accepted == 30 and first.dataset == "tickets"
    event = list_events(mapping="tickets", reason_code="dataset_import_run")[0]
    assert event.config_id == "tickets" and event.payload["config_id"] == "tickets" and event.actor == "frank"
    assert open_dataset("tickets").manifest["config_id"] == "tickets"
    mapping = get_mapping("tickets")
    assert mapping.last_run_accepted == 30 and mapping.last_run_status == "ok" and mapping.last_run_at is not None

    second = rerun_mapping("tickets", force=True)  # the source is unchanged: only force imports it again
    assert second.accepted == 0 and second.duplicates == 30 and second.version == 2
    assert get_mapping("tickets").last_run_accepted == 0
    assert len(list_events(mapping="tickets", reason_code="dataset_import_run")) == 2


# --- re-running an unchanged source ---------------------------------------------------------------


def test_rerunning_an_unchanged_source_writes_nothing_and_says_so(tickets):
    save_mapping("tickets", tickets, mapper_id=CLS, field_map={"body": "text", "topic": "label"})
    first = rerun_mapping("tickets")
    again = rerun_mapping("tickets")
    assert isinstance(again, UnchangedSource) and (again.dataset, again.version) == ("tickets", first.version)
    assert (
        again.message
        == "source unchanged since tickets v1 (same content hash) and mapped the same way; nothing written"
    )
    assert list_versions("tickets") == [1]
    assert len(list_events(mapping="tickets", reason_code="dataset_import_run")) == 1
    mapping = get_mapping("tickets")
    assert mapping.last_run_status == "ok" and mapping.last_run_accepted == 0
    shown = again.to_dict()  # reads like an import result: nothing read, nothing added
    assert shown["unchanged"] is True and shown["accepted"] == 0 and shown["records"] == first.records
    assert shown["split_counts"] == first.split_counts and shown["warnings"] == [again.message]


def test_a_touched_or_copied_source_with_the_same_bytes_is_unchanged(tickets, tmp_path):
    """The content hash decides, not size + modification time: a touched file is the same source."""
    import os

    save_mapping("tickets", tickets, mapper_id=CLS, field_map={"body": "text", "topic": "label"})
    rerun_mapping("tickets")
    path = tmp_path / "tickets.jsonl"
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert isinstance(rerun_mapping("tickets"), UnchangedSource)
    assert list_versions("tickets") == [1]


def test_a_changed_source_or_mapping_is_imported_again(tickets, tmp_path):
    save_mapping("tickets", tickets, mapper_id=CLS, field_map={"body": "text", "topic": "label"})
    rerun_mapping("tickets")
    path = tmp_path / "tickets.jsonl"
    write_jsonl(path, [{"body": r["text"], "topic": r["label"]} for r in review_rows(32)])  # two rows more
    grown = rerun_mapping("tickets")
    assert isinstance(grown, ImportResult) and grown.version == 2 and grown.accepted == 2
    assert isinstance(rerun_mapping("tickets"), UnchangedSource)
    update_mapping("tickets", drop_reasons=["wrong_type"])  # the new version's manifest says so
    assert rerun_mapping("tickets").version == 3
    update_mapping("tickets", options={"lowercase_label": True})
    assert rerun_mapping("tickets").version == 4


def test_an_import_replacing_the_mappings_records_means_a_rerun_imports(tickets, tmp_path):
    save_mapping("tickets", tickets, mapper_id=CLS, field_map={"body": "text", "topic": "label"})
    rerun_mapping("tickets")
    other = write_jsonl(
        tmp_path / "other.jsonl", [{"body": r["text"], "topic": r["label"]} for r in review_rows(3, 100)]
    )
    spec = dict(
        locator=f"jsonl:{other}", mapper_id=CLS, field_map={"body": "text", "topic": "label"}, dataset="tickets"
    )
    run_import(ImportSpec(**spec))  # appended: the mapping's records are still there
    assert isinstance(rerun_mapping("tickets"), UnchangedSource)
    run_import(ImportSpec(**spec, mode="replace"))  # replaced: they are gone
    restored = rerun_mapping("tickets")
    assert isinstance(restored, ImportResult) and restored.version == 4 and restored.accepted == 30


def test_a_mapping_that_never_wrote_its_dataset_imports(tickets):
    run_import(ImportSpec(locator=tickets, mapper_id=CLS, field_map={"body": "text", "topic": "label"}))
    save_mapping("tickets", tickets, mapper_id=CLS, field_map={"body": "text", "topic": "label"})
    assert rerun_mapping("tickets").version == 2  # v1 has the same content but no mapping wrote it


def test_a_failed_rerun_is_recorded_on_the_mapping_and_in_the_log(tmp_path):
    path = write_jsonl(tmp_path / "soon-gone.jsonl", review_rows(5))
    save_mapping("fragile", f"jsonl:{path}", mapper_id=CLS)
    path.unlink()
    with pytest.raises(SourceError):
        rerun_mapping("fragile")
    mapping = get_mapping("fragile")
    assert mapping.last_run_status == "failed" and mapping.last_run_accepted == 0
    event = list_events(mapping="fragile", reason_code="dataset_import_failed")[0]
    assert event.payload["config_id"] == "fragile" and event.payload["error"]


def test_delete_removes_the_mapping_but_not_its_audit_trail(tickets):
    save_mapping("tickets", tickets, mapper_id=CLS, field_map={"body": "text", "topic": "label"})
    rerun_mapping("tickets")
    delete_mapping("tickets", actor="gina")
    assert list_mappings() == []
    with pytest.raises(ConfigError, match="no saved mapping named 'tickets'"):
        get_mapping("tickets")
    with pytest.raises(ConfigError, match="no saved mapping"):
        mapping_history("tickets")
    codes = [e.reason_code for e in list_events(mapping="tickets")]
    assert codes == ["mapping_deleted", "dataset_import_run", "mapping_saved"]
    assert list_events(mapping="tickets")[0].actor == "gina"
    # the name can be used again, starting a fresh history
    assert save_mapping("tickets", tickets, mapper_id=CLS, field_map={"body": "text", "topic": "label"}).version == 1
    assert len(mapping_history("tickets")) == 1


def test_a_mapping_saved_without_a_mapper_stores_the_introspected_one(tmp_path):
    pytest.importorskip("brewslm.mappers.label_to_classification")
    path = write_jsonl(tmp_path / "auto.jsonl", review_rows(60))
    saved = save_mapping("auto", f"jsonl:{path}")
    assert saved.mapper_id == "label_to_classification"
    assert {"text": "text", "label": "label"}.items() <= saved.field_map.items()
