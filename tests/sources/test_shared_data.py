"""Every file of ../shared/datasets opens with the connector its extension names and yields the
rows a person would count; the nested cases (SQuAD explode, clinc150 object of arrays, BFCL
answers join) agree with the flat copies that ship beside them. Skipped when the folder is absent."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pytest

from brewslm.sources import open_source
from brewslm.sources.base import ParseFailure
from brewslm.sources.file import format_for

pytestmark = pytest.mark.shared_data

# row counts documented in shared/datasets/README.md and the SOURCE.md files
DOCUMENTED = {
    "sentiment_sst2/train.csv": 2000,
    "sentiment_sst2/dev.csv": 500,
    "intent_banking77/train.csv": 2000,
    "intent_banking77/dev.csv": 500,
    "intent_clinc150/train.jsonl": 1510,
    "intent_clinc150/dev.jsonl": 310,
    "ner_wnut17/train.conll": 1000,
    "ner_wnut17/dev.conll": 300,
    "ner_wnut17/train.jsonl": 1000,
    "ner_wnut17/dev.jsonl": 300,
    "pii_presidio_synth/train.jsonl": 700,
    "pii_presidio_synth/dev.jsonl": 200,
    "kv_sroie/train.jsonl": 300,
    "kv_sroie/dev.jsonl": 76,
    "qa_squad2/train.jsonl": 700,
    "qa_squad2/dev.jsonl": 150,
    "chat_sft_taskmaster4/train.jsonl": 400,
    "chat_sft_taskmaster4/dev.jsonl": 100,
    "chat_sft_oasst/train.jsonl": 55,
    "chat_sft_oasst/dev.jsonl": 15,
    "preference_hh_rlhf/train.jsonl": 500,
    "preference_hh_rlhf/dev.jsonl": 151,
    "tool_calling_glaive/train.jsonl": 180,
    "tool_calling_glaive/dev.jsonl": 40,
    "tool_calling_bfcl/train.jsonl": 240,
    "tool_calling_bfcl/dev.jsonl": 60,
    "intent_banking77/categories.json": 77,
}


def independent_count(path: Path) -> int:
    """Rows counted without our connectors."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    if suffix == ".csv":
        with open(path, newline="", encoding="utf-8") as f:
            return sum(1 for _ in csv.DictReader(f))
    if suffix == ".conll":
        blocks = path.read_text(encoding="utf-8").split("\n\n")
        return sum(1 for block in blocks if block.strip())
    if suffix == ".json":
        doc = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(doc, list):
            return len(doc)
        return sum(len(v) for v in doc.values() if isinstance(v, list))
    raise AssertionError(f"no independent count for {path}")


def data_files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*") if p.is_file() and format_for(p) is not None)


def test_every_shared_file_opens_and_yields_every_row(shared_datasets: Path):
    files = data_files(shared_datasets)
    assert len(files) >= 30
    for path in files:
        source = open_source(f"file:{path}")
        rows = list(source.rows())
        relative = path.relative_to(shared_datasets).as_posix()
        failures = [r for r in rows if isinstance(r, ParseFailure)]
        assert not failures, f"{relative}: {failures[:2]}"
        assert len(rows) == independent_count(path), relative
        if relative in DOCUMENTED:
            assert len(rows) == DOCUMENTED[relative], relative
        if path.suffix == ".csv":
            assert all(isinstance(v, str) for row in rows for v in row.values())
            assert list(rows[0]) in (["sentence", "label"], ["text", "category"])
        assert source.name and source.fingerprint()


def test_squad_explode_matches_the_flat_copy(shared_datasets: Path):
    folder = shared_datasets / "qa_squad2"
    for split, expected in (("train", 700), ("dev", 150)):
        exploded = list(open_source(f"json:{folder / f'{split}-v2.0.json'}?explode=data.paragraphs.qas").rows())
        assert len(exploded) == expected
        flat = [json.loads(line) for line in (folder / f"{split}.jsonl").read_text().splitlines() if line.strip()]
        assert {r["id"]: r for r in exploded} == {r["id"]: r for r in flat}
        assert {"title", "context", "question", "id", "answers", "is_impossible"} <= set(exploded[0])


def test_clinc_object_of_arrays_matches_the_flat_copies(shared_datasets: Path):
    folder = shared_datasets / "intent_clinc150"
    rows = list(open_source(f"json:{folder / 'data_full_sample.json'}").rows())
    assert Counter(r["split"] for r in rows) == {"train": 1500, "oos_train": 10, "val": 300, "oos_val": 10}
    assert all(set(r) == {"col_1", "col_2", "split"} for r in rows)

    def pairs(splits: set[str]) -> Counter:
        return Counter((r["col_1"], r["col_2"]) for r in rows if r["split"] in splits)

    def flat(name: str) -> Counter:
        return Counter((r["text"], r["intent"]) for r in open_source(f"jsonl:{folder / name}").rows())

    assert pairs({"train", "oos_train"}) == flat("train.jsonl")
    assert pairs({"val", "oos_val"}) == flat("dev.jsonl")
    only_val = list(open_source(f"json:{folder / 'data_full_sample.json'}?path=val").rows())
    assert len(only_val) == 300 and "split" not in only_val[0]


def test_bfcl_answers_join(shared_datasets: Path):
    folder = shared_datasets / "tool_calling_bfcl"
    for split, total, no_call in (("train", 240, 50), ("dev", 60, 14)):
        rows = list(open_source(f"jsonl:{folder / f'{split}.jsonl'}?join={split}_possible_answer.jsonl&on=id").rows())
        assert len(rows) == total
        without = [r for r in rows if "ground_truth" not in r]
        assert len(without) == no_call
        assert all("irrelevance" in r["id"] for r in without)
        assert all(isinstance(r["ground_truth"], list) and r["ground_truth"] for r in rows if "ground_truth" in r)


def test_wnut_conll_matches_the_jsonl_copy(shared_datasets: Path):
    folder = shared_datasets / "ner_wnut17"
    for split in ("train", "dev"):
        conll = list(open_source(f"conll:{folder / f'{split}.conll'}").rows())
        flat = list(open_source(f"jsonl:{folder / f'{split}.jsonl'}").rows())
        assert [(r["tokens"], r["tags"]) for r in conll] == [(r["tokens"], r["ner_tags"]) for r in flat]
