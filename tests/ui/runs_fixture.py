"""Rows and helpers shared by the Train / Evaluate / Playground tests: a small sentiment dataset of
our own (one row whose text is markup, which every page must show as text) imported through the
real pipeline, and job workers kept to one torch thread.

    import_sentiment(tmp_path)          # dataset "sentiment": train, validation and test splits
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

MARKUP = "<script>document.title='pwned'</script> a dull film"
SENTIMENT = [
    ("a wonderful, moving film", "positive"),
    ("I loved every minute of it", "positive"),
    ("brilliant acting and a great story", "positive"),
    ("the best movie this year", "positive"),
    ("a dull, lifeless mess", "negative"),
    ("I want my two hours back", "negative"),
    ("boring and far too long", "negative"),
    (MARKUP, "negative"),
]
TEST_ROWS = len(SENTIMENT)


def import_sentiment(folder: Path, dataset: str = "sentiment") -> str:
    """Import the rows as ``dataset``: all of them to train, a third re-worded to validation, all
    re-worded to test (a row already imported is a duplicate, which would leave its split empty)."""
    from brewslm.ingestion import ImportSpec, run_import

    rows = [{"text": text, "label": label} for text, label in SENTIMENT]
    splits = {
        "train": rows,
        "validation": [{**r, "text": r["text"] + ", indeed"} for r in rows[::3]],
        "test": [{**r, "text": r["text"] + "!"} for r in rows],
    }
    for split, chosen in splits.items():
        path = Path(folder) / f"{dataset}-{split}.jsonl"
        path.write_text("".join(json.dumps(row) + "\n" for row in chosen), encoding="utf-8")
        run_import(
            ImportSpec(locator=f"jsonl:{path}", mapper_id="label_to_classification", dataset=dataset, split=split)
        )
    return dataset


@pytest.fixture(autouse=True)
def one_thread_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """Job workers inherit the environment: one torch thread each, so a tiny model's steps do not
    spin-wait for a second core on a busy machine."""
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("MKL_NUM_THREADS", "1")
