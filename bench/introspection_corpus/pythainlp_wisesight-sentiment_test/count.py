"""Expected records for the Wisesight Sentiment test sample (JSONL; plain python3, no BrewSLM code).

Each line: {"category": "pos"|"neu"|"neg"|"q", "texts": "<Thai social-media message>"} (texts written
with \\uXXXX escapes). classification projection: text = texts, label = category ("q" = question, a
class of its own in this corpus). Rows with an empty text or category are rejected (none here);
identical records collapse (none here).
"""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
seen, out = set(), []
with open(HERE / "test.jsonl", encoding="utf-8") as f:
    for line in f:
        if not line.strip():
            continue
        row = json.loads(line)
        if not row["texts"].strip() or not row["category"].strip():
            continue
        rec = {"text": row["texts"], "label": row["category"]}
        key = json.dumps(rec, sort_keys=True, ensure_ascii=False)
        if key not in seen:
            seen.add(key)
            out.append(rec)
with open(HERE / "expected.jsonl", "w", encoding="utf-8") as f:
    for rec in out:
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
print(len(out))
