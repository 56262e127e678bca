"""The import pipeline end to end: versions, manifests, de-dup, splits, failures, audit events."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from brewslm.errors import BrewError, ConfigError, ImportFailed, MapperError, SourceError
from brewslm.ingestion import (
    ImportSpec,
    list_datasets,
    list_events,
    open_dataset,
    planning,
    record_key,
    run_import,
)
from brewslm.storage import catalog
from brewslm.storage.datasets import SPLITS, dataset_dir, dataset_lock
from brewslm.storage.events import default_actor

from .conftest import LABELS, review_rows

CLS = "ingest_test_cls"


def _spec(locator: str, **kw) -> ImportSpec:
    kw.setdefault("mapper_id", CLS)
    kw.setdefault("dataset", "reviews")
    return ImportSpec(locator=locator, **kw)


def _records(dataset: str, version: int | None = None) -> dict[str, list[dict]]:
    ds = open_dataset(dataset, version)
    return {split: list(ds.iter_records(split)) for split in SPLITS}


def _no_temporaries(name: str) -> bool:
    return not [p for p in dataset_dir(name).iterdir() if p.name.startswith(".tmp-")]


# --- a successful import ------------------------------------------------------------------------


def test_import_writes_a_version_with_records_rejections_and_manifest(jsonl_file):
    rows = review_rows(40)
    rows.append({"id": "nolabel", "text": "a row without its label"})
    locator = jsonl_file(rows, extra_lines=('{"id": "cut", "text": "truncated',))

    result = run_import(_spec(locator))

    assert (result.dataset, result.version) == ("reviews", 1)
    assert result.accepted == 40 and result.duplicates == 0 and result.rows_read == 42
    assert result.rejected_counts == {"missing_label": 1, "parse_error": 1}
    assert sum(result.split_counts.values()) == 40 == result.records

    ds = open_dataset("reviews")
    assert ds.version == 1 and ds.path == result.path and ds.path.name == "v1"
    records = [r for split in SPLITS for r in ds.iter_records(split)]
    by_id = {r["id"]: r for r in records}
    assert set(by_id) == {f"r{i}" for i in range(40)}
    # text keeps its newline and inner spaces; the key is the content hash without the source id
    assert by_id["r1"]["text"] == "Message 1:\n  the  shipping issue, case 7."
    assert by_id["r1"]["_key"] == record_key({"text": by_id["r1"]["text"], "label": "shipping"})
    first_line = ds.split_path("train").read_text(encoding="utf-8").splitlines()[0]
    assert first_line.startswith('{"_key":"') and json.loads(first_line)["_key"] == records[0]["_key"]

    manifest = ds.manifest
    assert manifest == result.manifest
    assert manifest["name"] == "reviews" and manifest["version"] == 1 and manifest["parent_version"] is None
    assert manifest["task_profile"] == "classification" and manifest["mapper_id"] == CLS
    assert manifest["field_map"] == {"text": "text", "label": "label"}
    assert manifest["options"] == {} and isinstance(manifest["output_schema"], dict)
    assert manifest["source"]["locator"] == locator and manifest["source"]["fingerprint"]
    counts = manifest["counts"]
    assert counts["accepted"] == 40 and counts["rejected"] == {"missing_label": 1, "parse_error": 1}
    assert counts["duplicates"] == 0 and counts["splits"] == result.split_counts and counts["records"] == 40
    assert manifest["summary"]["records"] == 40
    assert manifest["content_hash"].startswith("sha256:") and len(manifest["content_hash"]) == 71
    assert manifest["split"]["seed"] == 0 and manifest["split"]["ratios"] == {
        "train": 0.8,
        "validation": 0.1,
        "test": 0.1,
    }
    assert manifest["created_at"].endswith("+00:00") and manifest["format"] == "jsonl"
    assert len(result.warnings) == 2 and any("missing_label" in w for w in result.warnings)

    assert [d.name for d in list_datasets()] == ["reviews"]
    assert json.loads(json.dumps(result.to_dict()))["accepted"] == 40


def test_rejected_rows_are_saved_with_row_number_reason_detail_and_raw_row(jsonl_file):
    rows = [*review_rows(3), {"id": "x", "text": 42, "label": "billing"}, {"id": "y", "label": "billing"}]
    locator = jsonl_file(rows, extra_lines=("not json at all",))
    result = run_import(_spec(locator))

    rejected = list(open_dataset("reviews").iter_rejected())
    assert result.rejected_path == open_dataset("reviews").rejected_path
    assert [(r["row"], r["reason"]) for r in rejected] == [(4, "wrong_type"), (5, "missing_text"), (6, "parse_error")]
    assert rejected[0]["raw"] == {"id": "x", "text": 42, "label": "billing"}
    assert "'text'" in rejected[0]["detail"]
    assert rejected[2]["raw"] == "not json at all" and rejected[2]["position"] == 6


def test_drop_reasons_are_counted_and_saved_but_not_warned_about(jsonl_file):
    rows = [*review_rows(10), {"text": "no label here"}, {"text": 5, "label": "billing"}]
    result = run_import(_spec(jsonl_file(rows), drop_reasons=["missing_label"]))
    assert result.rejected_counts == {"missing_label": 1, "wrong_type": 1}
    assert len(result.warnings) == 1 and "wrong_type" in result.warnings[0]
    assert result.manifest["drop_reasons"] == ["missing_label"]
    assert {r["reason"] for r in open_dataset("reviews").iter_rejected()} == {"missing_label", "wrong_type"}


def test_dataset_name_defaults_to_the_source_name(row_source):
    locator = row_source("support tickets/2024", lambda: iter(review_rows(5)))
    result = run_import(ImportSpec(locator=locator, mapper_id=CLS))
    assert result.dataset == "support-tickets-2024"


def test_options_and_field_map_are_applied_and_checked(jsonl_file):
    rows = [{"body": f"text {i}", "topic": "Billing"} for i in range(5)]
    locator = jsonl_file(rows)
    result = run_import(_spec(locator, field_map={"body": "text", "topic": "label"}, options={"lowercase_label": True}))
    assert {r["label"] for r in open_dataset("reviews").iter_records()} == {"billing"}
    assert result.manifest["field_map"] == {"body": "text", "topic": "label"}

    with pytest.raises(MapperError, match="no option 'shout'"):
        run_import(_spec(locator, field_map={"body": "text", "topic": "label"}, options={"shout": True}))
    with pytest.raises(MapperError, match="no field 'bdy'.*body, topic"):
        run_import(_spec(locator, field_map={"bdy": "text", "topic": "label"}))
    with pytest.raises(MapperError, match="needs a source for text"):
        run_import(_spec(locator, field_map={"topic": "label"}))
    failures = list_events(reason_code="dataset_import_failed")
    assert len(failures) == 3 and all(e.payload["mapper_id"] == CLS for e in failures)


def test_bad_settings_are_one_line_config_errors(jsonl_file):
    with pytest.raises(ConfigError, match="import setting 'mode'"):
        ImportSpec(locator="jsonl:x", mode="merge")
    with pytest.raises(ConfigError, match="dataset name '../escape' is not allowed"):
        run_import(_spec(jsonl_file(review_rows(3)), dataset="../escape"))
    with pytest.raises(SourceError, match="unknown source 'nope'"):
        run_import(_spec("nope:/x"))
    assert list_events(reason_code="dataset_import_failed")[0].payload["source_id"] == "nope:/x"


# --- records, keys and splits ---------------------------------------------------------------------


def test_split_assignment_is_deterministic_from_content_and_seed(row_source):
    rows = review_rows(2000)
    locator = row_source("many", lambda: iter(rows))
    reversed_locator = row_source("many-reversed", lambda: iter(list(reversed(rows))))

    def splits_by_key(dataset: str) -> dict[str, str]:
        return {r["_key"]: split for split, recs in _records(dataset).items() for r in recs}

    run_import(_spec(locator, dataset="a"))
    run_import(_spec(reversed_locator, dataset="b"))  # other order, same content -> same splits
    run_import(_spec(locator, dataset="c", seed=7))
    a, b, c = splits_by_key("a"), splits_by_key("b"), splits_by_key("c")
    assert a == b
    assert a != c and a.keys() == c.keys()
    share = {s: list(a.values()).count(s) / len(a) for s in SPLITS}
    assert 0.76 < share["train"] < 0.84 and 0.07 < share["validation"] < 0.13 and 0.07 < share["test"] < 0.13

    fixed = run_import(_spec(locator, dataset="d", split="test"))
    assert fixed.split_counts == {"train": 0, "validation": 0, "test": 2000}
    assert fixed.manifest["split"]["policy"] == "fixed"


def test_all_records_of_one_source_row_share_a_split(jsonl_file):
    """A conversation yields one tool_call record per assistant turn; splitting them apart would
    leak the shared history from train into validation and test."""
    tools = json.dumps(
        [
            {
                "name": "get_time",
                "description": "current time in a city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
            }
        ]
    )
    rows = []
    for i in range(60):
        city = f"City{i}"
        rows.append(
            {
                "tools": tools,
                "conversations": [
                    {"from": "human", "value": f"Hello, I am planning a trip ({i})."},
                    {"from": "gpt", "value": "Happy to help. Where are you going?"},
                    {"from": "human", "value": f"What time is it in {city}?"},
                    {"from": "function_call", "value": json.dumps({"name": "get_time", "arguments": {"city": city}})},
                    {"from": "observation", "value": json.dumps({"time": f"{i % 12 + 1}:00"})},
                    {"from": "gpt", "value": f"It is {i % 12 + 1}:00 in {city}."},
                ],
            }
        )
    result = run_import(ImportSpec(locator=jsonl_file(rows), mapper_id="tool_call_passthrough", dataset="trips"))
    assert result.records == 180  # three decision points per conversation
    split_of_trip: dict[str, set[str]] = {}
    for split, records in _records("trips").items():
        for record in records:
            trip = record["messages"][0]["content"]
            split_of_trip.setdefault(trip, set()).add(split)
    assert len(split_of_trip) == 60
    assert all(len(splits) == 1 for splits in split_of_trip.values())
    assert len({next(iter(s)) for s in split_of_trip.values()}) > 1  # rows still spread over splits


def test_split_group_keeps_the_rows_of_one_group_in_one_split(row_source):
    """Rows made from one template (or by one user) share their wording: a random row split puts the
    same template in train and test and overstates what the model learnt. split_group splits by value."""
    rows = [{**row, "meta": {"template": f"t{i % 40}"}} for i, row in enumerate(review_rows(800))]
    rows[5]["meta"]["template"] = 7  # a number is a value too, other than "7"
    result = run_import(_spec(row_source("templated", lambda: iter(rows)), split_group="meta.template"))
    assert result.records == 800 and result.rejected == 0
    template_of = {row["text"]: row["meta"]["template"] for row in rows}
    splits_of: dict[object, set[str]] = {}
    for split, records in _records("reviews").items():
        for record in records:
            splits_of.setdefault(template_of[record["text"]], set()).add(split)
    assert len(splits_of) == 41 and all(len(splits) == 1 for splits in splits_of.values())
    assert {next(iter(s)) for s in splits_of.values()} == set(SPLITS)  # groups still spread over all splits
    policy = result.manifest["split"]
    assert policy["policy"] == "group_hash" and policy["group_field"] == "meta.template"

    again = run_import(
        _spec(
            row_source("templated-reversed", lambda: iter(list(reversed(rows)))),
            dataset="again",
            split_group="meta.template",
        )
    )
    assert again.split_counts == result.split_counts  # a group's split follows from its value and the seed


def test_split_group_rejects_rows_without_a_value_and_needs_the_auto_split(row_source):
    rows = [{**row, "group": None if i == 3 else f"g{i % 5}"} for i, row in enumerate(review_rows(30))]
    rows[4].pop("group")
    result = run_import(_spec(row_source("grouped", lambda: iter(rows)), split_group="group"))
    assert result.records == 28 and result.rejected_counts == {"split_group_missing": 2}
    rejected = [json.loads(line) for line in result.rejected_path.read_text().splitlines()]
    assert [r["row"] for r in rejected] == [4, 5] and "no value at 'group'" in rejected[0]["detail"]
    with pytest.raises(ConfigError, match="split_group.*every row in 'test'"):
        _spec("jsonl:x.jsonl", split="test", split_group="group")
    with pytest.raises(ConfigError, match="not a field name"):
        _spec("jsonl:x.jsonl", split_group="meta.")


def test_duplicates_inside_one_import_are_counted_not_silently_dropped(row_source):
    rows = review_rows(10)
    # same content, other source ids and meta: the same training example
    copies = [{**row, "id": f"copy-{row['id']}"} for row in rows[:4]]
    result = run_import(_spec(row_source("dups", lambda: iter(rows + copies))))
    assert result.accepted == 10 and result.duplicates == 4
    assert result.manifest["counts"]["duplicates"] == 4
    assert {r["id"] for r in open_dataset("reviews").iter_records()} == {f"r{i}" for i in range(10)}


def test_one_row_may_yield_several_records_and_each_is_checked(row_source):
    rows = [
        {"records": [{"text": "first", "label": "a"}, {"text": "second", "label": "b"}]},
        {"records": [{"text": "third", "label": "a"}, {"text": "no label"}, "not a record"]},
        {"records": [{"text": "nan", "label": "a", "meta": {"score": float("nan")}}]},
        {"records": [{"text": "bad \ud800 surrogate", "label": "a"}]},
    ]
    result = run_import(
        ImportSpec(
            locator=row_source("multi", lambda: iter(rows)), mapper_id="ingest_test_passthrough", dataset="multi"
        )
    )
    assert result.accepted == 3
    assert result.rejected_counts == {"invalid_record": 3, "mapper_error": 1}
    details = {r["detail"] for r in open_dataset("multi").iter_rejected()}
    assert any("not valid JSON" in d for d in details) and any("surrogate" in d for d in details)


def test_a_crashing_plugin_mapper_rejects_the_row_not_the_import(row_source):
    rows = review_rows(20) + [{"text": "boom goes the plugin", "label": "billing"}]
    result = run_import(
        ImportSpec(locator=row_source("crashy", lambda: iter(rows)), mapper_id="ingest_test_crashy", dataset="crashy")
    )
    assert result.accepted == 20 and result.rejected_counts == {"mapper_error": 1}
    (entry,) = open_dataset("crashy").iter_rejected()
    assert entry["detail"] == "ZeroDivisionError: division by zero in plugin" and entry["row"] == 21


def test_a_mapper_that_crashes_on_every_row_stops_early(row_source):
    consumed_per_pass: list[int] = []

    def rows():
        consumed_per_pass.append(0)
        for i in range(5000):
            consumed_per_pass[-1] += 1
            yield {"text": f"boom {i}", "label": "x"}

    with pytest.raises(ImportFailed, match="crashed on each of the first 1000 rows.*ZeroDivisionError"):
        run_import(ImportSpec(locator=row_source("allboom", rows), mapper_id="ingest_test_crashy", dataset="allboom"))
    assert consumed_per_pass[-1] <= 1001  # the import pass (after the sampling pass) stopped early


# --- append, replace and task-profile checks ---------------------------------------------------


def test_reimport_in_append_mode_adds_nothing_and_keeps_splits(jsonl_file):
    locator = jsonl_file(review_rows(50))
    first = run_import(_spec(locator))
    second = run_import(_spec(locator))

    assert second.version == 2 and second.accepted == 0 and second.duplicates == 50
    assert second.carried_over == 50 and second.records == 50
    assert second.split_counts == first.split_counts
    assert second.manifest["content_hash"] == first.manifest["content_hash"]
    assert second.manifest["parent_version"] == 1
    assert _records("reviews", 2) == _records("reviews", 1)

    grown = run_import(_spec(jsonl_file(review_rows(20, start=40), name="more.jsonl")))
    assert grown.version == 3 and grown.accepted == 10 and grown.duplicates == 10 and grown.records == 60
    assert grown.manifest["summary"]["records"] == 60  # the summary covers the whole version
    v3 = {r["_key"]: split for split, recs in _records("reviews", 3).items() for r in recs}
    v1 = {r["_key"]: split for split, recs in _records("reviews", 1).items() for r in recs}
    assert all(v3[key] == split for key, split in v1.items())


def test_replace_mode_starts_the_new_version_empty_and_keeps_old_versions(jsonl_file):
    run_import(_spec(jsonl_file(review_rows(30))))
    replaced = run_import(_spec(jsonl_file(review_rows(5, start=100), name="new.jsonl"), mode="replace"))
    assert replaced.version == 2 and replaced.records == 5 and replaced.carried_over == 0
    assert replaced.manifest["parent_version"] == 1 and replaced.manifest["mode"] == "replace"
    assert sum(len(r) for r in _records("reviews").values()) == 5
    assert sum(len(r) for r in _records("reviews", 1).values()) == 30


def test_appending_records_of_another_task_profile_fails_naming_both(jsonl_file):
    locator = jsonl_file(review_rows(10))
    run_import(_spec(locator))
    with pytest.raises(ImportFailed, match="'classification'.*'ingest_test_lm'.*'language_modeling'"):
        run_import(_spec(locator, mapper_id="ingest_test_lm"))
    assert open_dataset("reviews").version == 1
    event = list_events(reason_code="dataset_import_failed")[0]
    assert event.payload["task_profile"] == "language_modeling" and "classification" in event.payload["error"]

    replaced = run_import(_spec(locator, mapper_id="ingest_test_lm", mode="replace"))
    assert replaced.version == 2 and open_dataset("reviews").task_profile == "language_modeling"


def test_parquet_output_round_trips_and_can_be_appended_to(jsonl_file):
    rows = review_rows(30)
    rows[0].pop("id")  # a record without the optional field: Parquet reads it back as null
    first = run_import(_spec(jsonl_file(rows), format="parquet"))
    ds = open_dataset("reviews")
    assert ds.output_format == "parquet" and ds.split_path("train").name == "train.parquet"
    assert not list(ds.path.glob("*.jsonl")) or [p.name for p in ds.path.glob("*.jsonl")] == ["rejected.jsonl"]
    records = [r for r in ds.iter_records()]
    assert len(records) == 30 and {r["label"] for r in records} == set(LABELS)
    assert sorted(r["_key"] for r in records) == sorted(
        record_key({"text": r["text"], "label": r["label"]}) for r in records
    )

    again = run_import(_spec(jsonl_file(review_rows(35), name="more.jsonl")))
    assert again.accepted == 5 and again.duplicates == 30 and again.records == 35
    assert again.split_counts["train"] >= first.split_counts["train"]


# --- failures leave the previous version intact ------------------------------------------------


def test_a_source_failing_mid_stream_leaves_the_previous_version_and_logs_the_failure(jsonl_file, row_source):
    run_import(_spec(jsonl_file(review_rows(20))))
    before = _records("reviews")

    def failing():  # fails past the rows the up-front sample reads, i.e. while writing
        yield from review_rows(planning.SAMPLE_SCAN + 500, start=100)
        raise SourceError("data.jsonl: read error at byte 123456; the file may be truncated")

    with pytest.raises(SourceError, match="truncated"):
        run_import(_spec(row_source("failing", failing), actor="carol"))

    assert open_dataset("reviews").version == 1 and _records("reviews") == before
    assert _no_temporaries("reviews") and not (dataset_dir("reviews") / "v2").exists()
    event = list_events(stage="ingestion", reason_code="dataset_import_failed")[0]
    assert event.actor == "carol" and event.dataset == "reviews"
    assert event.payload["source_id"] == "ingest-test:failing" and "truncated" in event.payload["error"]
    assert event.payload["version"] == 2 and event.payload["rows_read"] > planning.SAMPLE_SCAN
    statuses = {v["version"]: v["status"] for v in catalog.catalogue_versions("reviews")}
    assert statuses == {1: "published", 2: "failed"}

    # an unexpected exception is turned into one clear line, and the next import reuses the number
    def os_failure():
        yield from review_rows(planning.SAMPLE_SCAN + 100, start=100)
        raise OSError("Input/output error")

    with pytest.raises(
        ImportFailed, match=r"failed at row \d+: OSError: Input/output error; dataset 'reviews' is unchanged"
    ):
        run_import(_spec(row_source("oserror", os_failure)))
    assert run_import(_spec(jsonl_file(review_rows(21), name="next.jsonl"))).version == 2


def test_an_interrupted_import_leaves_no_half_written_version(jsonl_file, row_source):
    run_import(_spec(jsonl_file(review_rows(10))))

    def interrupt(rows_done: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_import(_spec(row_source("long", lambda: iter(review_rows(5000, start=1000)))), progress=interrupt)
    assert open_dataset("reviews").version == 1 and _no_temporaries("reviews")
    assert sorted(p.name for p in dataset_dir("reviews").iterdir()) == [".lock", "CURRENT", "v1"]
    assert "interrupted" in list_events(reason_code="dataset_import_failed")[0].payload["error"]


def test_a_failure_while_publishing_leaves_the_previous_version(jsonl_file, monkeypatch):
    run_import(_spec(jsonl_file(review_rows(10))))

    def broken_rename(src, dst):
        raise OSError("No space left on device")

    with monkeypatch.context() as patch:
        patch.setattr("brewslm.storage.datasets.os.rename", broken_rename)
        with pytest.raises(ImportFailed, match="No space left"):
            run_import(_spec(jsonl_file(review_rows(12), name="more.jsonl")))
    assert open_dataset("reviews").version == 1 and _no_temporaries("reviews")


def test_stale_temporaries_of_a_crashed_import_are_ignored_then_cleaned(jsonl_file):
    run_import(_spec(jsonl_file(review_rows(10))))
    stale = dataset_dir("reviews") / ".tmp-v2-deadbeef"
    stale.mkdir()
    (stale / "train.jsonl").write_text('{"_key": "half"}\n')
    assert open_dataset("reviews").version == 1 and [d.name for d in list_datasets()] == ["reviews"]
    result = run_import(_spec(jsonl_file(review_rows(11), name="more.jsonl")))
    assert result.version == 2 and not stale.exists()


def test_zero_accepted_rows_fail_with_the_top_reasons(jsonl_file):
    rows = [{"text": f"row {i}"} for i in range(8)] + [{"text": 3, "label": "x"}]
    with pytest.raises(
        ImportFailed, match=r"accepted none of the 9 rows.*missing_label x8 \(e\.g\. row 1: .*wrong_type x1"
    ):
        run_import(_spec(jsonl_file(rows)))
    assert not dataset_dir("reviews").joinpath("v1").exists() and _no_temporaries("reviews")
    event = list_events()[0]
    assert event.reason_code == "dataset_import_failed"
    assert event.payload["rejection_counts"] == {"missing_label": 8, "wrong_type": 1}


def test_empty_or_unparseable_sources_fail_clearly(jsonl_file, row_source):
    with pytest.raises(ImportFailed, match="has no rows"):
        run_import(_spec(row_source("empty", lambda: iter(()))))
    with pytest.raises(ImportFailed, match="none of the 2 rows sampled from .* could be parsed"):
        run_import(_spec(jsonl_file([], extra_lines=("garbage", "{more garbage"))))


def test_a_second_writer_is_refused_while_the_dataset_is_locked(jsonl_file):
    locator = jsonl_file(review_rows(5))
    with dataset_lock("reviews"):
        with pytest.raises(ImportFailed, match="being written by another import"):
            run_import(_spec(locator))
    assert run_import(_spec(locator)).version == 1


# --- audit events and progress -----------------------------------------------------------------


def test_every_import_logs_a_run_event_with_actor(jsonl_file):
    locator = jsonl_file(review_rows(12))
    result = run_import(_spec(locator, actor="alice"))
    event = list_events(stage="ingestion")[0]
    assert event.id == result.event_id and event.reason_code == "dataset_import_run"
    assert event.actor == "alice" and event.dataset == "reviews" and event.config_id is None
    payload = event.payload
    assert payload["source_id"] == locator and payload["mapper_id"] == CLS
    assert payload["accepted_count"] == 12 and payload["rejection_counts"] == {} and payload["config_id"] is None
    assert payload["version"] == 1 and payload["duplicates"] == 0
    assert event.created_at.tzinfo is not None

    run_import(_spec(locator))
    assert list_events(limit=1)[0].actor == default_actor()
    assert [e.reason_code for e in list_events()] == ["dataset_import_run", "dataset_import_run"]


def test_actor_falls_back_when_the_os_user_is_unknown(monkeypatch):
    def no_user():
        raise OSError("no passwd entry")

    monkeypatch.setattr("brewslm.storage.events.getpass.getuser", no_user)
    assert default_actor().startswith("uid:") or default_actor() == "unknown"


def test_progress_accepts_a_callable_or_a_tqdm_like_object(row_source):
    totals: list[int] = []
    run_import(_spec(row_source("p1", lambda: iter(review_rows(2500))), dataset="p1"), progress=totals.append)
    assert totals == sorted(totals) and totals[-1] == 2500 and len(totals) >= 3

    class Bar:
        n = 0

        def update(self, delta: int) -> None:
            self.n += delta

    bar = Bar()
    run_import(_spec(row_source("p2", lambda: iter(review_rows(2500))), dataset="p2"), progress=bar)
    assert bar.n == 2500


def test_introspection_picks_the_mapper_when_none_is_given(jsonl_file):
    pytest.importorskip("brewslm.mappers.label_to_classification")
    locator = jsonl_file(review_rows(60))
    result = run_import(ImportSpec(locator=locator, dataset="auto"))
    assert result.manifest["mapper_id"] == "label_to_classification"
    assert result.manifest["introspection"]["confidence"] >= 0.8
    assert result.accepted == 60


def test_brew_errors_are_one_line():
    err = ImportFailed("first\nsecond")
    assert isinstance(err, BrewError) and "\n" not in str(err)


# --- real public samples (skipped when ../shared is absent) ---------------------------------------

SHARED = Path(os.environ.get("BREWSLM_SHARED_DATASETS", Path(__file__).resolve().parents[3] / "shared" / "datasets"))


@pytest.mark.shared_data
@pytest.mark.skipif(not SHARED.is_dir(), reason="shared datasets not present")
def test_shared_banking77_imports_with_its_category_labels():
    pytest.importorskip("brewslm.sources.csv_source")
    path = SHARED / "intent_banking77" / "train.csv"
    if not path.is_file():
        pytest.skip("intent_banking77/train.csv missing")
    result = run_import(
        ImportSpec(locator=f"csv:{path}", mapper_id=CLS, field_map={"category": "label"}, dataset="banking77")
    )
    assert result.rejected_counts == {}
    assert result.accepted + result.duplicates == result.rows_read
    assert result.manifest["summary"]["records"] == result.accepted
    again = run_import(
        ImportSpec(locator=f"csv:{path}", mapper_id=CLS, field_map={"category": "label"}, dataset="banking77")
    )
    assert again.accepted == 0 and again.records == result.records
