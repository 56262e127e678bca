"""Issue #3 acceptance: every file of every shared dataset, as it lies there, is introspected to the
right mapper and field map at >= 0.8 confidence, and imports the rows a person would accept.

Skipped when ../shared/datasets is absent (set BREWSLM_SHARED_DATASETS to point elsewhere).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from brewslm.ingestion import ImportSpec, run_import
from brewslm.introspection import ACCEPT_THRESHOLD, introspect

SHARED = Path(
    os.environ.get("BREWSLM_SHARED_DATASETS", Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets")
)

pytestmark = [
    pytest.mark.shared_data,
    pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared datasets not found at {SHARED}"),
]


def lines(rel: str) -> int:
    with open(SHARED / rel, encoding="utf-8") as fh:
        return sum(1 for line in fh if line.strip())


def csv_rows(rel: str) -> int:
    import csv

    with open(SHARED / rel, encoding="utf-8", newline="") as fh:
        return sum(1 for _ in csv.DictReader(fh))


# (locator relative to SHARED, expected mapper, field-map entries that must be present)
CASES = [
    ("csv:sentiment_sst2/train.csv", "label_to_classification", {"sentence": "text", "label": "label"}),
    ("csv:sentiment_sst2/dev.csv", "label_to_classification", {"sentence": "text", "label": "label"}),
    ("csv:intent_banking77/train.csv", "label_to_classification", {"text": "text", "category": "label"}),
    ("csv:intent_banking77/dev.csv", "label_to_classification", {"text": "text", "category": "label"}),
    ("jsonl:intent_clinc150/train.jsonl", "label_to_classification", {"text": "text", "intent": "label"}),
    ("jsonl:intent_clinc150/dev.jsonl", "label_to_classification", {"text": "text", "intent": "label"}),
    ("json:intent_clinc150/data_full_sample.json", "label_to_classification", {"col_1": "text", "col_2": "label"}),
    ("jsonl:ner_wnut17/train.jsonl", "bio_to_spans", {"tokens": "tokens", "ner_tags": "tags"}),
    ("jsonl:ner_wnut17/dev.jsonl", "bio_to_spans", {"tokens": "tokens", "ner_tags": "tags"}),
    ("conll:ner_wnut17/train.conll", "bio_to_spans", {"tokens": "tokens", "tags": "tags"}),
    ("conll:ner_wnut17/dev.conll", "bio_to_spans", {"tokens": "tokens", "tags": "tags"}),
    ("jsonl:pii_presidio_synth/train.jsonl", "span_passthrough", {"full_text": "text", "spans": "spans"}),
    ("jsonl:pii_presidio_synth/dev.jsonl", "span_passthrough", {"full_text": "text", "spans": "spans"}),
    ("jsonl:kv_sroie/train.jsonl", "kv_to_structured", {"box": "text"}),
    ("jsonl:kv_sroie/dev.jsonl", "kv_to_structured", {"box": "text"}),
    ("jsonl:qa_squad2/train.jsonl", "rag_passthrough", {"question": "question", "context": "context"}),
    ("jsonl:qa_squad2/dev.jsonl", "rag_passthrough", {"question": "question", "context": "context"}),
    (
        "json:qa_squad2/train-v2.0.json?explode=data.paragraphs.qas",
        "rag_passthrough",
        {"question": "question", "context": "context"},
    ),
    (
        "json:qa_squad2/dev-v2.0.json?explode=data.paragraphs.qas",
        "rag_passthrough",
        {"question": "question", "context": "context"},
    ),
    ("jsonl:chat_sft_taskmaster4/train.jsonl", "chat_messages_passthrough", {"utterances": "messages"}),
    ("jsonl:chat_sft_taskmaster4/dev.jsonl", "chat_messages_passthrough", {"utterances": "messages"}),
    ("jsonl:chat_sft_oasst/train.jsonl", "chat_messages_passthrough", {"prompt": "messages"}),
    ("jsonl:chat_sft_oasst/dev.jsonl", "chat_messages_passthrough", {"prompt": "messages"}),
    ("jsonl:preference_hh_rlhf/train.jsonl", "preference_pair", {"chosen": "chosen", "rejected": "rejected"}),
    ("jsonl:preference_hh_rlhf/dev.jsonl", "preference_pair", {"chosen": "chosen", "rejected": "rejected"}),
    ("jsonl:tool_calling_glaive/train.jsonl", "tool_call_passthrough", {"conversations": "messages", "tools": "tools"}),
    ("jsonl:tool_calling_glaive/dev.jsonl", "tool_call_passthrough", {"conversations": "messages", "tools": "tools"}),
    (
        "jsonl:tool_calling_bfcl/train.jsonl?join=train_possible_answer.jsonl&on=id",
        "tool_call_passthrough",
        {"function": "tools"},
    ),
    (
        "jsonl:tool_calling_bfcl/dev.jsonl?join=dev_possible_answer.jsonl&on=id",
        "tool_call_passthrough",
        {"function": "tools"},
    ),
]


def absolute(locator: str) -> str:
    """Make the relative paths in a case's locator (target and join=) absolute under SHARED."""
    scheme, _, rest = locator.partition(":")
    target, _, query = rest.partition("?")
    query = "&".join(
        f"join={SHARED / Path(target).parent / v.split('=', 1)[1]}" if v.startswith("join=") else v
        for v in query.split("&")
        if v
    )
    return f"{scheme}:{SHARED / target}" + (f"?{query}" if query else "")


@pytest.fixture(autouse=True)
def workspace(tmp_path, monkeypatch):
    monkeypatch.setenv("BREWSLM_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DATASET_IMPORT_LLM_ASSIST_ENABLED", raising=False)


@pytest.mark.parametrize("locator,mapper_id,expected_fields", CASES, ids=[c[0] for c in CASES])
def test_introspect_proposes_the_right_mapper(locator, mapper_id, expected_fields):
    result = introspect(absolute(locator))
    assert result.accepted is not None, json.dumps(result.to_dict()["proposals"][:3], indent=1)[:3000]
    assert result.accepted.mapper_id == mapper_id, json.dumps(result.to_dict()["proposals"][:3], indent=1)[:3000]
    assert result.accepted.confidence >= ACCEPT_THRESHOLD
    for src, dst in expected_fields.items():
        assert result.accepted.field_map.get(src) == dst, result.accepted.field_map


# Records a person would accept, worked out from the raw files without our code:
# one record per row, less exact duplicates (WNUT train repeats 11 sentences, Presidio repeats 44 and
# 10 rows); OpenAssistant trees give 311 / 93 distinct conversations once paths that end on an
# unanswered prompter turn are cut back to their last reply; Glaive gives one record per assistant
# turn (445 replies + 108 calls; 107 + 42); BFCL's irrelevance rows become no-call records.
EXPECTED_RECORDS = {
    "csv:sentiment_sst2/train.csv": 2000,
    "csv:sentiment_sst2/dev.csv": 500,
    "csv:intent_banking77/train.csv": 2000,
    "csv:intent_banking77/dev.csv": 500,
    "jsonl:intent_clinc150/train.jsonl": 1510,
    "jsonl:intent_clinc150/dev.jsonl": 310,
    "json:intent_clinc150/data_full_sample.json": 1820,
    "jsonl:ner_wnut17/train.jsonl": 989,
    "jsonl:ner_wnut17/dev.jsonl": 300,
    "conll:ner_wnut17/train.conll": 989,
    "conll:ner_wnut17/dev.conll": 300,
    "jsonl:pii_presidio_synth/train.jsonl": 656,
    "jsonl:pii_presidio_synth/dev.jsonl": 190,
    "jsonl:kv_sroie/train.jsonl": 300,
    "jsonl:kv_sroie/dev.jsonl": 76,
    "jsonl:qa_squad2/train.jsonl": 700,
    "jsonl:qa_squad2/dev.jsonl": 150,
    "json:qa_squad2/train-v2.0.json?explode=data.paragraphs.qas": 700,
    "json:qa_squad2/dev-v2.0.json?explode=data.paragraphs.qas": 150,
    "jsonl:chat_sft_taskmaster4/train.jsonl": 400,
    "jsonl:chat_sft_taskmaster4/dev.jsonl": 100,
    "jsonl:chat_sft_oasst/train.jsonl": 311,
    "jsonl:chat_sft_oasst/dev.jsonl": 93,
    "jsonl:preference_hh_rlhf/train.jsonl": 500,
    "jsonl:preference_hh_rlhf/dev.jsonl": 151,
    "jsonl:tool_calling_glaive/train.jsonl": 553,
    "jsonl:tool_calling_glaive/dev.jsonl": 149,
    "jsonl:tool_calling_bfcl/train.jsonl?join=train_possible_answer.jsonl&on=id": 240,
    "jsonl:tool_calling_bfcl/dev.jsonl?join=dev_possible_answer.jsonl&on=id": 60,
}


@pytest.mark.parametrize("locator,mapper_id", [(c[0], c[1]) for c in CASES], ids=[c[0] for c in CASES])
def test_import_accepts_the_rows_a_person_would(locator, mapper_id):
    # mapper_id=None: the import asks the introspector, as `brewslm data import --locator L` does
    result = run_import(ImportSpec(locator=absolute(locator), dataset="shared"))
    assert result.manifest["mapper_id"] == mapper_id
    assert sum(result.rejected_counts.values()) == 0, result.rejected_counts
    records = sum(result.split_counts.values())
    if mapper_id in ("chat_messages_passthrough", "tool_call_passthrough"):
        # one row yields several records; identical ones (Glaive repeats dialogs) are de-duplicated
        assert records + result.duplicates == EXPECTED_RECORDS[locator]
    else:
        assert records == EXPECTED_RECORDS[locator]
    assert records == result.accepted


def test_every_case_has_an_expected_count():
    assert set(EXPECTED_RECORDS) == {c[0] for c in CASES}


@pytest.mark.parametrize("name", ["train-v2.0.json", "dev-v2.0.json"])
def test_nested_squad_document_imports_without_an_explode_option(name):
    """A SQuAD document as it lies there: the introspector follows data -> paragraphs -> qas and the
    import reads (and records) the refined locator."""
    result = run_import(ImportSpec(locator=f"json:{SHARED / 'qa_squad2' / name}", dataset="squad"))
    assert result.manifest["mapper_id"] == "rag_passthrough"
    assert result.manifest["source"]["locator"].endswith("?explode=data.paragraphs.qas")
    expected = EXPECTED_RECORDS[f"json:qa_squad2/{name}?explode=data.paragraphs.qas"]
    assert sum(result.split_counts.values()) == expected and sum(result.rejected_counts.values()) == 0
