"""The hf: connector runs the real ``datasets`` code on local dataset folders (no hub here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from brewslm.errors import SourceError
from brewslm.sources import open_source

datasets = pytest.importorskip("datasets")


@pytest.fixture(autouse=True)
def hf_offline(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No network, and no writes to the real Hugging Face cache."""
    cache = tmp_path_factory.mktemp("hf-cache")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(cache))
    monkeypatch.setenv("HF_DATASETS_CACHE", str(cache / "datasets"))
    import huggingface_hub.constants

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", cache / "datasets")


def labelled(rows: int, offset: int = 0):
    from datasets import ClassLabel, Dataset, Features, List, Value

    features = Features(
        {
            "text": Value("string"),
            "label": ClassLabel(names=["negative", "positive"]),
            "ner_tags": List(ClassLabel(names=["O", "B-PER", "I-PER"])),
        }
    )
    return Dataset.from_dict(
        {
            "text": [f"review {offset + i}" for i in range(rows)],
            "label": [i % 2 for i in range(rows)],
            "ner_tags": [[0, 1, 2][: i % 4] for i in range(rows)],
        },
        features=features,
    )


@pytest.fixture(scope="module")
def parquet_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A hub-style dataset folder: data/<split>-*.parquet written by datasets (features kept)."""
    root = tmp_path_factory.mktemp("hfrepo") / "tiny_reviews"
    (root / "data").mkdir(parents=True)
    labelled(6).to_parquet(str(root / "data" / "train-00000-of-00001.parquet"))
    labelled(3, offset=100).to_parquet(str(root / "data" / "test-00000-of-00001.parquet"))
    return root


def test_local_dataset_streams_with_class_label_names(parquet_repo: Path):
    source = open_source(f"hf:{parquet_repo}")
    got = list(source.rows())
    assert len(got) == 6
    assert got[0] == {"text": "review 0", "label": "negative", "ner_tags": []}
    assert got[3] == {"text": "review 3", "label": "positive", "ner_tags": ["O", "B-PER", "I-PER"]}
    assert source.name == "tiny_reviews"
    assert source.fingerprint()


def test_split_and_bad_split(parquet_repo: Path):
    got = list(open_source(f"hf:{parquet_repo}:test").rows())
    assert [r["text"] for r in got] == ["review 100", "review 101", "review 102"]
    with pytest.raises(SourceError) as info:
        open_source(f"hf:{parquet_repo}:validation")
    message = str(info.value)
    assert "has no split 'validation'; available splits: train, test" in message and "\n" not in message


def test_configs_from_the_dataset_card(tmp_path: Path):
    root = tmp_path / "multi"
    (root / "plain").mkdir(parents=True)
    (root / "fancy").mkdir()
    labelled(2).to_parquet(str(root / "plain" / "train.parquet"))
    labelled(4, offset=50).to_parquet(str(root / "fancy" / "train.parquet"))
    (root / "README.md").write_text(
        "---\nconfigs:\n"
        "- config_name: plain\n  data_files:\n  - split: train\n    path: plain/train.parquet\n"
        "- config_name: fancy\n  data_files:\n  - split: train\n    path: fancy/train.parquet\n"
        "---\n# multi\n"
    )
    fancy = open_source(f"hf:{root}?config=fancy")
    assert [r["text"] for r in fancy.rows()] == ["review 50", "review 51", "review 52", "review 53"]
    assert fancy.name == "multi_fancy"
    with pytest.raises(SourceError, match="has no config 'nope'; available configs: plain, fancy"):
        open_source(f"hf:{root}?config=nope")


def test_save_to_disk_folder(tmp_path: Path):
    from datasets import DatasetDict

    root = tmp_path / "saved"
    DatasetDict({"train": labelled(2), "validation": labelled(1, offset=9)}).save_to_disk(str(root))
    assert list(open_source(f"hf:{root}:validation").rows()) == [
        {"text": "review 9", "label": "negative", "ner_tags": []}
    ]
    with pytest.raises(SourceError, match="has no split 'test'; available splits: train, validation"):
        open_source(f"hf:{root}:test")


def test_missing_directory_hub_offline_and_bad_locators(tmp_path: Path):
    with pytest.raises(SourceError, match=r"^dataset directory not found: .*nowhere \(locator 'hf:"):
        open_source(f"hf:{tmp_path}/nowhere")
    with pytest.raises(SourceError) as info:
        open_source("hf:someone/not-a-real-dataset-xyz")
    message = str(info.value)
    assert message.startswith("cannot load hf dataset 'someone/not-a-real-dataset-xyz'") and "\n" not in message
    assert "HF_HUB_OFFLINE is set" in message
    with pytest.raises(SourceError, match="is not hf:<id>"):
        open_source("hf:a:b:c:d")
    with pytest.raises(SourceError, match="unknown option 'split'"):
        open_source("hf:x?split=train")
