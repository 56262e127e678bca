"""A small review file of our own for the Data tab's tests: 40 clean rows (two labels), one row
whose review is empty (``missing_text``), one row that is not JSON (``parse_error``) and one row
whose text is markup, which every page must show as text.

    locator = write_reviews(tmp_path / "reviews.jsonl")   # "jsonl:/.../reviews.jsonl"
"""

from __future__ import annotations

import json
from pathlib import Path

MARKUP_REVIEW = '<script>document.title="pwned"</script><b>bold</b> beans'
CLEAN_ROWS = 40
GOOD = ("great coffee, would brew again", "lovely aroma", "the best beans I have bought", "fresh and fruity")
BAD = ("bitter and stale", "arrived broken", "tastes like cardboard", "too sour for me")


def review_rows() -> list[dict]:
    rows = []
    for i in range(CLEAN_ROWS):
        positive = i % 2 == 0
        text = (GOOD if positive else BAD)[i % 4]
        rows.append(
            {"review": f"{text} (order {i})", "sentiment": "positive" if positive else "negative", "stars": 1 + i % 5}
        )
    rows.append({"review": MARKUP_REVIEW, "sentiment": "negative", "stars": 1})
    rows.append({"review": "", "sentiment": "positive", "stars": 3})
    return rows


def write_reviews(path: Path) -> str:
    """Write the review rows (and one broken line) to ``path``; returns its ``jsonl:`` locator."""
    lines = [json.dumps(row) for row in review_rows()] + ['{"review": "no closing brace"']
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return f"jsonl:{path}"
