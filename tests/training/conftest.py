"""Fixtures for training tests: a private workspace, the tiny random Llama, and small datasets
imported through the real pipeline from files written here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Iterable

import pytest

from helpers.tiny_model import build_tiny_model, build_tiny_tokenizer, tiny_model_dir  # noqa: F401  (a fixture)
from helpers.workspace import private_workspace

SENTIMENT = [
    ("a wonderful, moving film", "positive"),
    ("I loved every minute of it", "positive"),
    ("brilliant acting and a great story", "positive"),
    ("the best movie this year", "positive"),
    ("charming, funny and warm", "positive"),
    ("a delight from start to finish", "positive"),
    ("fresh and clever", "positive"),
    ("beautifully shot", "positive"),
    ("a dull, lifeless mess", "negative"),
    ("I want my two hours back", "negative"),
    ("boring and far too long", "negative"),
    ("the worst script I have read", "negative"),
    ("flat jokes and wooden acting", "negative"),
    ("a tedious, empty film", "negative"),
    ("painfully slow", "negative"),
    ("nothing works here", "negative"),
]


@pytest.fixture(autouse=True)
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return private_workspace(tmp_path, monkeypatch)


@pytest.fixture
def import_rows(tmp_path: Path) -> Callable[..., Any]:
    """Write rows to a JSONL file and import them with ``mapper_id`` into ``dataset`` (split fixed)."""
    from brewslm.ingestion import ImportSpec, run_import

    counter = iter(range(10_000))

    def run(
        dataset: str,
        rows: Iterable[dict[str, Any]],
        *,
        mapper_id: str = "label_to_classification",
        split: str = "train",
        options: dict[str, Any] | None = None,
    ):
        path = tmp_path / f"{dataset}-{next(counter)}.jsonl"
        path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
        return run_import(
            ImportSpec(
                locator=f"jsonl:{path}", mapper_id=mapper_id, dataset=dataset, split=split, options=options or {}
            )
        )

    return run


@pytest.fixture
def sentiment(import_rows: Callable[..., Any]) -> str:
    """'sentiment': the 16 rows above in train, 4 of them again (re-worded) in validation."""
    import_rows("sentiment", [{"text": t, "label": label} for t, label in SENTIMENT])
    import_rows("sentiment", [{"text": t + "!", "label": label} for t, label in SENTIMENT[::4]], split="validation")
    return "sentiment"


@pytest.fixture(scope="session")
def tiny_lm_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny random Llama with unit-variance embeddings. With the usual 0.02 init, the tied output
    head of a 32-wide model caps logits at about +-0.6 after the final RMSNorm, so LoRA (which
    leaves embeddings and norms frozen) could never bring a loss below ~5.4; at unit scale it can
    memorise a small dataset like a real model does."""
    import torch

    path = tmp_path_factory.mktemp("tiny-lm")
    tokenizer = build_tiny_tokenizer()
    model = build_tiny_model(tokenizer, seed=0)
    with torch.no_grad():
        model.get_input_embeddings().weight.normal_(0.0, 1.0)
    model.save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    return path


@pytest.fixture
def config_for(tiny_lm_dir: Path, tmp_path: Path) -> Callable[..., Any]:
    """A TrainConfig on the tiny model with small, fast defaults; keyword arguments override."""
    from brewslm.training import build_config

    counter = iter(range(10_000))

    def make(dataset: str, **fields: Any):
        data = {
            "dataset": dataset,
            "base_model": str(tiny_lm_dir),
            "batch_size": 4,
            "max_seq_len": 160,
            "learning_rate": 5e-3,
            "lora": {"r": 16, "alpha": 32},
            "epochs": 1,
            "log_every": 1000,
            "output_dir": str(tmp_path / f"run-{next(counter)}"),
        }
        data.update(fields)
        return build_config(data)

    return make


@pytest.fixture
def quiet() -> Callable[[dict], None]:
    """A progress callable that keeps the events (for assertions) and prints nothing."""
    events: list[dict] = []

    def progress(event: dict) -> None:
        events.append(event)

    progress.events = events  # type: ignore[attr-defined]
    return progress
