"""Fixtures for the export tests, built once for the package: a private workspace holding the
training tests' sentiment rows (train + validation) and a finished 6-step LoRA run on the tiny
model (``tiny_lm_dir``, reused from tests/training/conftest.py) with an eval report on validation."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

from helpers.tiny_model import tiny_model_dir  # noqa: F401  (a fixture)
from helpers.workspace import shared_workspace
from training.conftest import SENTIMENT, tiny_lm_dir  # noqa: F401  (tiny_lm_dir: a fixture)


@pytest.fixture(scope="package", autouse=True)
def export_space(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The private workspace (``BREWSLM_HOME``) of the whole export test package (every test uses it)."""
    with shared_workspace(tmp_path_factory, "export") as root:
        yield root


@pytest.fixture(scope="package")
def lora_run(export_space: Path, tiny_lm_dir: Path) -> Path:
    """A finished LoRA run on 'sentiment' (16 train rows), evaluated on its 4 validation rows."""
    from brewslm.evaluation import evaluate, load_eval_config
    from brewslm.ingestion import ImportSpec, run_import
    from brewslm.training import build_config, train

    for split, rows in (("train", SENTIMENT), ("validation", [(t + "!", label) for t, label in SENTIMENT[::4]])):
        source = export_space / f"sentiment-{split}.jsonl"
        source.write_text(
            "".join(json.dumps({"text": t, "label": label}) + "\n" for t, label in rows), encoding="utf-8"
        )
        run_import(
            ImportSpec(locator=f"jsonl:{source}", mapper_id="label_to_classification", dataset="sentiment", split=split)
        )
    config = build_config(
        {
            "dataset": "sentiment",
            "base_model": str(tiny_lm_dir),
            "batch_size": 4,
            "max_seq_len": 160,
            "learning_rate": 1e-2,
            "max_steps": 6,
            "lora": {"r": 16, "alpha": 32},
            "log_every": 1000,
            "output_dir": str(export_space / "run"),
        }
    )
    run_dir = Path(train(config, progress=lambda event: None).run_dir)
    evaluate(
        load_eval_config(
            model=str(run_dir),
            dataset="sentiment",
            split="validation",
            bootstrap_samples=20,
            max_seq_len=160,
            gates=["accuracy >= 0"],
        )
    )
    return run_dir
