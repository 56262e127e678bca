"""Fixtures for the CLI tests: a private workspace and small classification files we write here."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from brewslm.cli import main
from helpers.workspace import private_workspace

TOPICS = {
    "billing": ["my invoice shows a double charge", "the refund has not arrived", "why was my card charged twice"],
    "shipping": ["the parcel is stuck at the depot", "my delivery came a week late", "the courier lost my box"],
    "account": ["I cannot reset my password", "the login page keeps looping", "please change my email address"],
}


def ticket_rows(n: int = 45) -> list[dict]:
    """``n`` distinct support tickets, labels cycling over three topics."""
    rows = []
    labels = sorted(TOPICS)
    for i in range(n):
        label = labels[i % len(labels)]
        phrase = TOPICS[label][(i // len(labels)) % len(TOPICS[label])]
        rows.append({"id": f"t{i:03d}", "text": f"Ticket {i}: {phrase}, order {1000 + i}.\nThanks.", "label": label})
    return rows


@pytest.fixture(autouse=True)
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return private_workspace(tmp_path, monkeypatch)


@pytest.fixture
def tickets_jsonl(tmp_path: Path) -> Path:
    """45 good rows, then a truncated JSON line and a row without a label."""
    path = tmp_path / "tickets.jsonl"
    lines = [json.dumps(r) for r in ticket_rows()]
    lines.append('{"id": "bad", "text": "cut off in the mid')
    lines.append(json.dumps({"id": "t999", "text": "Ticket with no label at all."}))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def tickets_csv(tmp_path: Path) -> Path:
    path = tmp_path / "tickets.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["message", "topic"])
        for row in ticket_rows(30):
            writer.writerow([row["text"], row["label"]])
    return path


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self):
        return json.loads(self.out)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture):
    """Run ``brewslm ARGS`` in-process; returns exit code, stdout and stderr."""

    def run(*args: str) -> Run:
        capsys.readouterr()
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return Run(code, captured.out, captured.err)

    return run
