"""Issue #3 acceptance, bad input: every kind of broken file gets a clear one-line error or sentinel
rows counted by reason (never a traceback), and a failed import leaves the previous version intact
and logs ``dataset_import_failed``. Everything runs through the real CLI in a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REVIEWS = [
    ("The battery lasts all week and charging is quick.", "positive"),
    ("It stopped working after two days; support never answered.", "negative"),
    ("Great screen, sharp colours, and a keyboard I enjoy typing on.", "positive"),
    ("The strap broke on the first walk and the buckle is flimsy.", "negative"),
    ("Setup took a minute and it has worked flawlessly since.", "positive"),
    ("Loud fan, slow start-up and the lid creaks when opened.", "negative"),
]


def reviews(n: int = 60) -> list[dict]:
    return [{"text": f"{REVIEWS[i % 6][0]} (order {i})", "label": REVIEWS[i % 6][1]} for i in range(n)]


@pytest.fixture
def brewslm(tmp_path):
    env = {**os.environ, "BREWSLM_HOME": str(tmp_path / "home"), "BREWSLM_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("BREWSLM_DATABASE_URL", None)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "brewslm", *args], env=env, capture_output=True, text=True, timeout=120
        )

    return run


def one_line_error(proc: subprocess.CompletedProcess) -> str:
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


def imported(proc: subprocess.CompletedProcess) -> dict:
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    return json.loads(proc.stdout)


def write_jsonl(path: Path, rows: list[dict], tail: bytes = b"") -> Path:
    path.write_bytes(b"".join(json.dumps(r).encode() + b"\n" for r in rows) + tail)
    return path


def test_binary_garbage(brewslm, tmp_path):
    garbage = tmp_path / "garbage.bin"
    garbage.write_bytes(bytes(range(256)) * 64)
    for scheme in ("jsonl", "csv", "json"):
        assert "garbage.bin" in one_line_error(brewslm("data", "import", "--locator", f"{scheme}:{garbage}"))


def test_truncated_files_keep_every_good_row(brewslm, tmp_path):
    cut_jsonl = write_jsonl(tmp_path / "cut.jsonl", reviews(), tail=b'{"text": "half a rev')
    result = imported(brewslm("data", "import", "--locator", f"jsonl:{cut_jsonl}", "--json"))
    assert result["accepted"] == 60 and result["rejected_counts"] == {"parse_error": 1}

    cut_csv = tmp_path / "cut.csv"
    lines = ["text,label"] + [f'"{t}",{label}' for t, label in (tuple(r.values()) for r in reviews())]
    cut_csv.write_text("\n".join(lines) + '\n"an unterminated quote, and the file ends', encoding="utf-8")
    result = imported(brewslm("data", "import", "--locator", f"csv:{cut_csv}", "--dataset", "cut-csv", "--json"))
    assert result["accepted"] == 60 and result["rejected_counts"] == {"parse_error": 1}

    cut_json = tmp_path / "cut.json"
    cut_json.write_text(json.dumps(reviews())[:-40], encoding="utf-8")
    assert "cut.json" in one_line_error(brewslm("data", "import", "--locator", f"json:{cut_json}"))


def test_wrong_encoding_names_the_fix(brewslm, tmp_path):
    latin = tmp_path / "latin.csv"
    rows = [
        (f"{t} ({i}): très bon café, déçu par le gâteau", label)
        for i, (t, label) in enumerate((r["text"], r["label"]) for r in reviews())
    ]
    latin.write_bytes(("text,label\n" + "\n".join(f'"{t}",{label}' for t, label in rows) + "\n").encode("latin-1"))
    copy = tmp_path / "detected.csv"
    copy.write_bytes(latin.read_bytes())
    detected = imported(brewslm("data", "import", "--locator", f"csv:{copy}", "--json"))  # issue 15: detected
    assert detected["accepted"] == 60
    assert (
        "très bon café" in imported(brewslm("data", "preview", "detected", "--rows", "1", "--json"))["rows"][0]["text"]
    )
    result = imported(brewslm("data", "import", "--locator", f"csv:{latin}?encoding=latin-1", "--json"))
    assert result["accepted"] == 60
    preview = imported(brewslm("data", "preview", "latin", "--rows", "1", "--json"))
    assert "très bon café" in preview["rows"][0]["text"]


def test_empty_file_and_missing_path(brewslm, tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_bytes(b"")
    assert "no rows" in one_line_error(brewslm("data", "import", "--locator", f"jsonl:{empty}"))
    assert "nowhere.csv" in one_line_error(brewslm("data", "import", "--locator", f"csv:{tmp_path / 'nowhere.csv'}"))
    assert "nowhere.jsonl" in one_line_error(
        brewslm("data", "introspect", "--locator", f"jsonl:{tmp_path / 'nowhere.jsonl'}")
    )


def test_csv_without_a_header(brewslm, tmp_path):
    headless = tmp_path / "headless.csv"
    headless.write_text("\n".join(f'"{r["text"]}",{r["label"]}' for r in reviews()) + "\n", encoding="utf-8")
    result = imported(brewslm("data", "import", "--locator", f"csv:{headless}", "--json"))
    assert result["accepted"] == 60
    assert result["manifest"]["field_map"] == {"col_1": "text", "col_2": "label"}


def test_an_overlong_line_becomes_one_sentinel(brewslm, tmp_path):
    # The same guard stops a 1 GB line at max_record_bytes (64 MiB by default) without holding it.
    huge = write_jsonl(tmp_path / "huge.jsonl", reviews()[:30])
    with open(huge, "ab") as fh:
        fh.write(b'{"text": "' + b"x" * 300_000 + b'", "label": "positive"}\n')
    write_jsonl(tmp_path / "tail.jsonl", reviews()[30:])
    with open(huge, "ab") as fh:
        fh.write((tmp_path / "tail.jsonl").read_bytes())
    result = imported(brewslm("data", "import", "--locator", f"jsonl:{huge}?max_record_bytes=100000", "--json"))
    assert result["accepted"] == 60 and result["rejected_counts"] == {"parse_error": 1}


def test_a_failed_import_leaves_the_previous_version_and_is_logged(brewslm, tmp_path):
    good = write_jsonl(tmp_path / "good.jsonl", reviews())
    first = imported(brewslm("data", "import", "--locator", f"jsonl:{good}", "--dataset", "shop", "--json"))
    assert first["version"] == 1

    garbage = tmp_path / "update.jsonl"
    garbage.write_bytes(b"\x00\xff" * 5000)
    one_line_error(brewslm("data", "import", "--locator", f"jsonl:{garbage}", "--dataset", "shop"))
    no_labels = write_jsonl(tmp_path / "nolabels.jsonl", [{"text": r["text"]} for r in reviews()])
    one_line_error(
        brewslm(
            "data",
            "import",
            "--locator",
            f"jsonl:{no_labels}",
            "--dataset",
            "shop",
            "--mapper",
            "label_to_classification",
            "--field-map",
            "text=text",
            "--mode",
            "replace",
        )
    )

    preview = imported(brewslm("data", "preview", "shop", "--rows", "100", "--json"))
    assert preview["version"] == 1 and len(preview["rows"]) == sum(first["split_counts"].values()) == 60
    events = imported(brewslm("data", "events", "--reason", "dataset_import_failed", "--json"))
    assert len(events) == 2 and all(e["payload"].get("error") for e in events)
    assert {e["actor"] for e in events} and all(e["actor"] for e in events)
