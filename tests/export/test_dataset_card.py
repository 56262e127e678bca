"""A dataset version as Hub files: Parquet splits that read back as the records, and a card whose
YAML the Hub's own parser reads (splits -> files) with the mapping and the rejection counts."""

from __future__ import annotations

import json

import pyarrow.parquet as pq
import pytest

from brewslm.errors import ConfigError
from brewslm.export.dataset_card import render_dataset_card, split_file, table_of, write_dataset_folder
from brewslm.ingestion import ImportSpec, open_dataset, run_import


@pytest.fixture
def imported(tmp_path, export_space) -> str:
    rows = [
        {"review": f"review number {i} was {'great' if i % 2 else 'awful'}", "stars": "pos" if i % 2 else "neg"}
        for i in range(40)
    ]
    rows += [{"review": "", "stars": "pos"}, {"stars": "neg"}]  # rejected: empty / missing text
    path = tmp_path / "reviews.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    run_import(
        ImportSpec(
            locator=f"jsonl:{path}",
            mapper_id="label_to_classification",
            dataset="card_reviews",
            field_map={"review": "text", "stars": "label"},
        )
    )
    return "card_reviews"


def test_splits_read_back_as_the_records_and_the_card_names_mapping_and_rejects(imported, tmp_path) -> None:
    from huggingface_hub import DatasetCard

    version = open_dataset(imported)
    written = write_dataset_folder(version, tmp_path / "hub")
    for split, count in written["splits"].items():
        rows = pq.read_table(tmp_path / "hub" / split_file(split)).to_pylist()
        assert rows == list(version.iter_records(split)) and len(rows) == count
    assert sum(written["splits"].values()) == version.counts["records"] == 40

    card = DatasetCard((tmp_path / "hub" / "README.md").read_text(encoding="utf-8"))
    configs = card.data.to_dict()["configs"]
    assert configs == [
        {"config_name": "default", "data_files": [{"split": s, "path": split_file(s)} for s in written["splits"]]}
    ]
    assert card.data.to_dict()["task_categories"] == ["text-classification"]
    text = card.text
    assert "`label_to_classification`" in text and "| review | text |" in text and "| stars | label |" in text
    rejected = version.counts["rejected"]
    assert sum(rejected.values()) == 2
    for reason, count in rejected.items():
        assert f"| {reason} | {count} |" in text
    assert str(tmp_path) not in card.content  # the source is named by name and fingerprint, not a local path


def test_a_column_of_mixed_types_is_json_text_and_the_card_says_so() -> None:
    rows = [{"id": 1, "meta": {"n": 1}}, {"id": 2, "meta": "free text"}]
    table, as_json = table_of(rows)
    assert as_json == ["meta"] and table.column("meta").to_pylist() == ['{"n": 1}', '"free text"']
    assert table.column("id").to_pylist() == [1, 2]
    card = render_dataset_card(
        {"name": "d", "version": 1, "task_profile": "classification"}, {"train": 2}, {"train": as_json}
    )
    assert "## Columns stored as JSON text" in card and "- train: `meta`" in card


def test_a_busy_folder_is_refused(imported, tmp_path) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "keep.txt").write_text("x", encoding="utf-8")
    with pytest.raises(ConfigError, match="is not empty"):
        write_dataset_folder(open_dataset(imported), tmp_path / "busy")
