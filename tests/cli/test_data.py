"""``brewslm data ...`` end to end on small files written by the tests, in a private workspace."""

from __future__ import annotations

import json
import os
import shlex
from pathlib import Path

import pytest

from brewslm.errors import ConfigError
from brewslm.options import parse_field_map, parse_options
from brewslm.storage.datasets import open_dataset
from helpers.hub_server import fake_hub  # noqa: F401  (a fixture)

SHARED = Path(
    os.environ.get("BREWSLM_SHARED_DATASETS", Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets")
)


def one_error_line(run) -> str:
    assert run.code == 2, (run.code, run.out, run.err)
    assert "Traceback" not in run.err
    lines = run.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), run.err
    return lines[0]


# --- argument values -------------------------------------------------------------------------------


def test_parse_field_map():
    assert parse_field_map(["review=text", "meta.stars=label"]) == {"review": "text", "meta.stars": "label"}
    assert parse_field_map([" a = text "]) == {"a": "text"}
    assert parse_field_map(["a=text", "a=text"]) == {"a": "text"}


@pytest.mark.parametrize("bad", ["review", "=text", "review=", "="])
def test_parse_field_map_rejects_bad_syntax(bad):
    with pytest.raises(ConfigError, match="SOURCE=CANONICAL"):
        parse_field_map([bad])


def test_parse_field_map_rejects_a_source_mapped_twice():
    with pytest.raises(ConfigError, match="twice"):
        parse_field_map(["a=text", "a=label"])


def test_parse_options_reads_json_else_text():
    assert parse_options(['labels=["a","b"]', "repair=true", "n=3", "sep=;", "eq=a=b", "empty="]) == {
        "labels": ["a", "b"],
        "repair": True,
        "n": 3,
        "sep": ";",
        "eq": "a=b",
        "empty": "",
    }
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_options(["novalue"])


# --- catalogues ------------------------------------------------------------------------------------


def test_mappers_catalogue(cli):
    run = cli("data", "mappers", "--json")
    assert run.code == 0
    catalogue = {m["id"]: m for m in run.json()}
    expected = {
        "bio_to_spans": "structured_extraction",
        "label_to_classification": "classification",
        "text_only": "language_modeling",
        "qa_pair_passthrough": "qa",
        "chat_messages_passthrough": "chat_sft",
        "preference_pair": "dpo",
        "rag_passthrough": "rag_qa",
        "kv_to_structured": "structured_extraction",
        "span_passthrough": "structured_extraction",
        "tool_call_passthrough": "tool_call",
    }
    for mapper_id, profile in expected.items():
        assert catalogue[mapper_id]["task_profile"] == profile
        assert catalogue[mapper_id]["fields"], mapper_id
    text = cli("data", "mappers")
    assert text.code == 0 and "label_to_classification" in text.out and "classification" in text.out


def test_sources_lists_schemes_and_plugin_errors(cli, monkeypatch):
    run = cli("data", "sources", "--json")
    assert run.code == 0
    assert {"jsonl", "csv", "json", "conll", "parquet", "file", "hf", "kaggle"} <= set(run.json()["sources"])
    text = cli("data", "sources")
    assert "jsonl" in text.out and "kaggle" in text.out


# --- introspect ------------------------------------------------------------------------------------


def test_introspect_accepts_label_to_classification(cli, tickets_jsonl):
    run = cli("data", "introspect", "--locator", f"jsonl:{tickets_jsonl}", "--json")
    assert run.code == 0, run.err
    result = run.json()
    accepted = result["accepted"]
    assert accepted["mapper_id"] == "label_to_classification" and accepted["confidence"] >= 0.8
    assert accepted["field_map"]["text"] == "text" and accepted["field_map"]["label"] == "label"
    assert result["proposals"][0]["mapper_id"] == "label_to_classification"
    assert result["parse_failures"] == 1


def test_introspect_text_output_names_the_next_step(cli, tickets_jsonl):
    run = cli("data", "introspect", "--locator", f"jsonl:{tickets_jsonl}")
    assert run.code == 0, run.err
    assert "1. label_to_classification" in run.out and "accepted" in run.out
    assert "next: brewslm data import --locator" in run.out


def test_introspect_next_step_is_a_runnable_command(cli, tmp_path, tickets_jsonl):
    odd = tmp_path / "support tickets & more.jsonl"  # a path the shell must quote
    odd.write_text(tickets_jsonl.read_text(encoding="utf-8"), encoding="utf-8")
    run = cli("data", "introspect", "--locator", f"jsonl:{odd}")
    next_line = [line for line in run.out.splitlines() if line.startswith("next: ")][0]
    argv = shlex.split(next_line[len("next: ") :])
    assert argv[:3] == ["brewslm", "data", "import"]
    imported = cli(*argv[1:], "--json")
    assert imported.code == 0, imported.err
    assert imported.json()["accepted"] == 45


def test_introspect_csv_with_uncommon_names(cli, tickets_csv):
    run = cli("data", "introspect", "--locator", f"csv:{tickets_csv}", "--sample-size", "100", "--json")
    assert run.code == 0, run.err
    proposals = run.json()["proposals"]
    assert proposals and proposals[0]["mapper_id"] == "label_to_classification"
    assert (
        proposals[0]["field_map"] == {"message": "text", "topic": "label"}
        or {"message": "text", "topic": "label"}.items() <= proposals[0]["field_map"].items()
    )


def test_introspect_with_a_missing_teacher_is_one_line(cli, tmp_path):
    numbers = tmp_path / "numbers.jsonl"
    numbers.write_text('{"a": 1, "b": "2 apples"}\n{"a": 3, "b": "4 pears"}\n', encoding="utf-8")  # one candidate
    plain = cli("data", "introspect", "--locator", f"jsonl:{numbers}", "--json")
    assert plain.code == 0 and plain.json()["accepted"] is None
    assert "no proposal reached 0.8" in cli("data", "introspect", "--locator", f"jsonl:{numbers}").out
    line = one_error_line(
        cli(
            "data",
            "introspect",
            "--locator",
            f"jsonl:{numbers}",
            "--llm-assist",
            "--teacher",
            str(tmp_path / "no-model"),
        )
    )
    assert "no-model" in line


def test_introspect_bad_sample_size(cli, tickets_jsonl):
    assert "--sample-size" in one_error_line(
        cli("data", "introspect", "--locator", f"jsonl:{tickets_jsonl}", "--sample-size", "0")
    )


# --- import ----------------------------------------------------------------------------------------


def import_tickets(cli, path, *extra):
    run = cli("data", "import", "--locator", f"jsonl:{path}", "--json", *extra)
    assert run.code == 0, run.err
    return run.json()


def test_import_json_result(cli, tickets_jsonl, workspace):
    result = import_tickets(cli, tickets_jsonl)
    assert result["dataset"] == "tickets" and result["version"] == 1
    assert result["accepted"] == 45
    assert result["rejected_counts"] == {"parse_error": 1, "missing_label": 1}
    assert sum(result["split_counts"].values()) == 45
    assert str(workspace) in result["path"]


def test_import_text_output(cli, tickets_jsonl):
    run = cli("data", "import", "--locator", f"jsonl:{tickets_jsonl}", "--dataset", "support")
    assert run.code == 0, run.err
    assert "support v1" in run.out and "accepted" in run.out and "missing_label 1" in run.out
    assert "Traceback" not in run.err


def test_import_csv_with_explicit_mapper_and_field_map(cli, tickets_csv):
    run = cli(
        "data",
        "import",
        "--locator",
        f"csv:{tickets_csv}",
        "--mapper",
        "label_to_classification",
        "--field-map",
        "message=text",
        "topic=label",
        "--split",
        "train",
        "--json",
    )
    assert run.code == 0, run.err
    result = run.json()
    assert result["accepted"] == 30 and result["split_counts"].get("train") == 30
    assert result["rejected_counts"] == {}


def test_import_parquet_format_and_expected_reasons(cli, tickets_jsonl):
    result = import_tickets(cli, tickets_jsonl, "--format", "parquet", "--drop-reason", "parse_error", "missing_label")
    assert result["manifest"]["format"] == "parquet" and result["accepted"] == 45
    assert result["rejected_counts"] == {"parse_error": 1, "missing_label": 1} and result["warnings"] == []
    assert (Path(result["path"]) / "train.parquet").is_file()
    rows = cli("data", "preview", "tickets", "--rows", "2", "--json").json()["rows"]
    assert len(rows) == 2 and rows[0]["label"] in {"account", "billing", "shipping"}


def test_import_split_group_keeps_a_field_value_in_one_split(cli, tickets_jsonl):
    result = import_tickets(cli, tickets_jsonl, "--split-group", "label")
    assert result["accepted"] == 45 and result["manifest"]["split"]["group_field"] == "label"
    rows = {split: list(open_dataset("tickets").iter_records(split)) for split in ("train", "validation", "test")}
    labels_in = {split: {r["label"] for r in records} for split, records in rows.items()}
    assert sum(len(labels) for labels in labels_in.values()) == 3  # every label in exactly one split
    assert "split_group" in one_error_line(
        cli("data", "import", "--locator", f"jsonl:{tickets_jsonl}", "--split", "test", "--split-group", "label")
    )


def test_append_deduplicates_and_replace_starts_over(cli, tickets_jsonl):
    first = import_tickets(cli, tickets_jsonl)
    again = import_tickets(cli, tickets_jsonl)
    assert again["version"] == 2
    assert (again["accepted"], again["duplicates"]) == (0, 45)
    assert sum(again["split_counts"].values()) == 45  # the union holds each record once
    replaced = import_tickets(cli, tickets_jsonl, "--mode", "replace")
    assert replaced["version"] == 3 and sum(replaced["split_counts"].values()) == first["accepted"]


def test_import_errors_are_one_line(cli, tmp_path, tickets_jsonl):
    missing = one_error_line(cli("data", "import", "--locator", f"jsonl:{tmp_path / 'nope.jsonl'}"))
    assert "nope.jsonl" in missing
    assert "known sources" in one_error_line(cli("data", "import", "--locator", "ftp:/x"))
    assert "known mappers" in one_error_line(
        cli("data", "import", "--locator", f"jsonl:{tickets_jsonl}", "--mapper", "no_such_mapper")
    )
    assert "SOURCE=CANONICAL" in one_error_line(
        cli("data", "import", "--locator", f"jsonl:{tickets_jsonl}", "--field-map", "text")
    )
    assert "'nonsense' is not a field" in one_error_line(
        cli(
            "data",
            "import",
            "--locator",
            f"jsonl:{tickets_jsonl}",
            "--mapper",
            "label_to_classification",
            "--field-map",
            "text=nonsense",
        )
    )
    assert "has no option" in one_error_line(
        cli(
            "data",
            "import",
            "--locator",
            f"jsonl:{tickets_jsonl}",
            "--mapper",
            "label_to_classification",
            "--option",
            "no_such_option=1",
        )
    )
    assert "--option" in one_error_line(
        cli("data", "import", "--locator", f"jsonl:{tickets_jsonl}", "--option", "flag")
    )


def test_import_of_garbage_fails_cleanly_and_is_logged(cli, tmp_path):
    garbage = tmp_path / "garbage.jsonl"
    garbage.write_bytes(bytes(range(256)) * 8)
    line = one_error_line(cli("data", "import", "--locator", f"jsonl:{garbage}"))
    assert "garbage" in line
    events = cli("data", "events", "--reason", "dataset_import_failed", "--json").json()
    assert len(events) == 1 and events[0]["payload"].get("error")


def test_import_with_mapper_options(cli, tickets_jsonl):
    result = import_tickets(
        cli, tickets_jsonl, "--mapper", "label_to_classification", "--option", 'labels=["billing","shipping"]'
    )
    assert result["accepted"] == 30
    assert result["rejected_counts"]["label_not_allowed"] == 15


# --- saved mappings --------------------------------------------------------------------------------


def test_saved_mapping_lifecycle(cli, tickets_jsonl):
    result = import_tickets(cli, tickets_jsonl, "--save-as", "tickets-daily")
    assert result["saved_mapping"]["name"] == "tickets-daily"

    listed = cli("data", "mappings", "list", "--json").json()
    assert [m["name"] for m in listed] == ["tickets-daily"]
    assert listed[0]["mapper_id"] == "label_to_classification"
    assert "tickets-daily" in cli("data", "mappings", "list").out

    shown = cli("data", "mappings", "show", "tickets-daily", "--json").json()
    assert shown["locator"] == f"jsonl:{tickets_jsonl}" and shown["field_map"]["text"] == "text"
    assert "label_to_classification" in cli("data", "mappings", "show", "tickets-daily").out

    unchanged = cli("data", "mappings", "rerun", "tickets-daily")
    assert unchanged.code == 0, unchanged.err
    assert unchanged.out.strip() == (
        "source unchanged since tickets v1 (same content hash) and mapped the same way; "
        "nothing written; 'brewslm data mappings rerun tickets-daily --force' imports it anyway"
    )
    rerun = cli("data", "mappings", "rerun", "tickets-daily", "--force", "--json")
    assert rerun.code == 0, rerun.err
    assert rerun.json()["dataset"] == "tickets" and rerun.json()["version"] == 2

    history = cli("data", "mappings", "history", "tickets-daily", "--json")
    assert history.code == 0 and len(history.json()) >= 1
    assert cli("data", "mappings", "history", "tickets-daily").code == 0

    events = cli("data", "events", "--mapping", "tickets-daily", "--json").json()
    assert all(e["config_id"] == "tickets-daily" for e in events)
    runs = [e for e in events if e["reason_code"] == "dataset_import_run"]
    assert len(runs) == 2 and all(e["payload"]["config_id"] == "tickets-daily" for e in runs)

    deleted = cli("data", "mappings", "delete", "tickets-daily")
    assert deleted.code == 0 and "tickets-daily" in deleted.out
    assert cli("data", "mappings", "list", "--json").json() == []
    assert "tickets-daily" in one_error_line(cli("data", "mappings", "show", "tickets-daily"))
    assert "tickets-daily" in one_error_line(cli("data", "mappings", "rerun", "tickets-daily"))


def test_editing_a_mapping_is_validated_and_versioned(cli, tickets_jsonl):
    import_tickets(cli, tickets_jsonl, "--save-as", "tickets-daily")
    edited = cli(
        "data",
        "mappings",
        "edit",
        "tickets-daily",
        "--option",
        'labels=["billing","shipping"]',
        "--drop-reason",
        "label_not_allowed",
        "--json",
    )
    assert edited.code == 0, edited.err
    assert edited.json()["options"] == {"labels": ["billing", "shipping"]} and edited.json()["version"] == 2
    history = cli("data", "mappings", "history", "tickets-daily", "--json").json()
    assert [h["version"] for h in history] == [1, 2]

    rerun = cli("data", "mappings", "rerun", "tickets-daily", "--json").json()
    assert rerun["rejected_counts"]["label_not_allowed"] == 15  # the edited definition is what runs

    # an edit that does not fit the source is refused and the mapping stays as it was
    assert "nonsense" in one_error_line(
        cli("data", "mappings", "edit", "tickets-daily", "--field-map", "nonsense=text")
    )
    assert "nothing to change" in one_error_line(cli("data", "mappings", "edit", "tickets-daily"))
    assert cli("data", "mappings", "show", "tickets-daily", "--json").json()["version"] == 2


def test_save_as_keeps_no_mapping_when_the_import_fails(cli, tickets_jsonl):
    line = one_error_line(
        cli(
            "data",
            "import",
            "--locator",
            f"jsonl:{tickets_jsonl}",
            "--mapper",
            "label_to_classification",
            "--option",
            'labels=["refunds"]',
            "--save-as",
            "strict",
        )
    )
    assert "label_not_allowed" in line and "mapping 'strict' was not saved" in line
    assert cli("data", "mappings", "list", "--json").json() == []
    events = cli("data", "events", "--mapping", "strict", "--json").json()
    assert [e["reason_code"] for e in events] == ["mapping_deleted", "dataset_import_failed", "mapping_saved"]


def test_save_as_rejects_a_taken_name_before_importing(cli, tickets_jsonl):
    import_tickets(cli, tickets_jsonl, "--save-as", "daily")
    line = one_error_line(cli("data", "import", "--locator", f"jsonl:{tickets_jsonl}", "--save-as", "daily"))
    assert "already exists" in line
    assert len(cli("data", "datasets", "--json").json()) == 1
    assert cli("data", "datasets", "--json").json()[0]["version"] == 1


def test_empty_listings(cli):
    assert cli("data", "mappings", "list", "--json").json() == []
    assert cli("data", "datasets", "--json").json() == []
    assert cli("data", "events", "--json").json() == []
    assert "no saved mappings" in cli("data", "mappings", "list").out
    assert "no datasets" in cli("data", "datasets").out


# --- events, datasets, preview ---------------------------------------------------------------------


def test_events_after_imports(cli, tickets_jsonl):
    import_tickets(cli, tickets_jsonl)
    import_tickets(cli, tickets_jsonl, "--dataset", "other")
    events = cli("data", "events", "--json").json()
    assert len(events) == 2
    assert {e["reason_code"] for e in events} == {"dataset_import_run"}
    payload = events[0]["payload"]
    assert payload["mapper_id"] == "label_to_classification" and payload["accepted_count"] == 45
    assert payload["rejection_counts"] == {"parse_error": 1, "missing_label": 1}
    assert len(cli("data", "events", "--limit", "1", "--json").json()) == 1
    assert cli("data", "events", "--stage", "training", "--json").json() == []
    text = cli("data", "events")
    assert text.code == 0 and "dataset_import_run" in text.out
    assert "--limit" in one_error_line(cli("data", "events", "--limit", "0"))


def test_datasets_listing(cli, tickets_jsonl):
    import_tickets(cli, tickets_jsonl)
    items = cli("data", "datasets", "--json").json()
    assert [(d["name"], d["version"], d["task_profile"]) for d in items] == [("tickets", 1, "classification")]
    assert "tickets" in cli("data", "datasets").out


def test_preview_records_and_rejected(cli, tickets_jsonl):
    import_tickets(cli, tickets_jsonl)
    run = cli("data", "preview", "tickets", "--rows", "3", "--json")
    assert run.code == 0, run.err
    result = run.json()
    assert result["version"] == 1 and len(result["rows"]) == 3
    assert all(set(r) >= {"text", "label"} for r in result["rows"])
    assert result["rows"][0]["text"].endswith("\nThanks.")  # text keeps its newline

    train = cli("data", "preview", "tickets", "--split", "train", "--rows", "100", "--json").json()
    assert len(train["rows"]) == train["manifest"]["counts"]["splits"]["train"] > 0

    rejected = cli("data", "preview", "tickets", "--rejected", "--json").json()
    assert sorted(r["reason"] for r in rejected["rows"]) == ["missing_label", "parse_error"]

    text = cli("data", "preview", "tickets", "--rows", "2")
    assert text.code == 0 and "tickets v1" in text.out
    body = [line for line in text.out.splitlines() if line.startswith("{")]
    assert len(body) == 2 and all(json.loads(line)["label"] for line in body)


def test_preview_errors(cli, tickets_jsonl):
    assert "nothing" in one_error_line(cli("data", "preview", "nothing"))
    import_tickets(cli, tickets_jsonl)
    assert "version" in one_error_line(cli("data", "preview", "tickets", "--version", "9"))
    assert "split" in one_error_line(cli("data", "preview", "tickets", "--split", "dev"))
    assert "--rows" in one_error_line(cli("data", "preview", "tickets", "--rows", "0"))
    assert "--rejected" in one_error_line(cli("data", "preview", "tickets", "--rejected", "--split", "train"))


# --- real public data (skipped when ../shared/datasets is absent) --------------------------------


@pytest.mark.shared_data
@pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared datasets not found at {SHARED}")
@pytest.mark.parametrize(
    "locator, mapper",
    [
        ("csv:{}/intent_banking77/dev.csv", "label_to_classification"),
        ("conll:{}/ner_wnut17/dev.conll", "bio_to_spans"),
        ("json:{}/qa_squad2/dev-v2.0.json?explode=data.paragraphs.qas", "rag_passthrough"),
        ("jsonl:{}/tool_calling_bfcl/dev.jsonl?join=dev_possible_answer.jsonl&on=id", "tool_call_passthrough"),
        ("jsonl:{}/preference_hh_rlhf/dev.jsonl", "preference_pair"),
    ],
)
def test_shared_data_introspect_then_the_printed_import_command(cli, locator, mapper):
    """On real public data, the ``next:`` command introspect prints, pasted as is (quoting included),
    imports the file."""
    locator = locator.format(SHARED)
    run = cli("data", "introspect", "--locator", locator)
    assert run.code == 0, run.err
    next_line = [line for line in run.out.splitlines() if line.startswith("next: ")]
    assert next_line, run.out
    argv = shlex.split(next_line[0][len("next: ") :])
    assert argv[argv.index("--mapper") + 1] == mapper
    imported = cli(*argv[1:], "--json")
    assert imported.code == 0, imported.err
    result = imported.json()
    assert result["mapper_id"] == mapper and result["accepted"] > 0


def test_push_puts_parquet_splits_and_a_card_on_the_hub(cli, tickets_jsonl, fake_hub, tmp_path):
    import io

    import pyarrow.parquet as pq

    from helpers.hub_server import OWNER

    imported = cli(
        "data",
        "import",
        "--locator",
        f"jsonl:{tickets_jsonl}",
        "--mapper",
        "label_to_classification",
        "--dataset",
        "tickets",
        "--json",
    )
    assert imported.code == 0, imported.err
    run = cli("data", "push", "tickets", "--to-hub", f"{OWNER}/tickets-data", "--json")
    assert run.code == 0, run.err
    result = run.json()
    repo = fake_hub.repos["dataset", f"{OWNER}/tickets-data"]
    assert not repo.private and len(repo.commits) == 1
    assert sorted(repo.files) == sorted(["README.md"] + [f"data/{s}-00000-of-00001.parquet" for s in result["splits"]])
    rows = sum(
        pq.read_table(io.BytesIO(repo.files[f"data/{s}-00000-of-00001.parquet"])).num_rows for s in result["splits"]
    )
    assert rows == sum(result["splits"].values()) == 45  # the fixture's distinct tickets
    assert "`label_to_classification`" in repo.files["README.md"].decode()

    missing = cli("data", "push", "no_such_dataset", "--to-hub", f"{OWNER}/x")
    assert missing.code == 2 and len(missing.err.strip().splitlines()) == 1 and "no_such_dataset" in missing.err
