"""Expected records for the plot_summaries sample: JSONL {"text": str, "meta": {"source": ...}}; every
non-blank text is one language-modeling record, kept exactly as written (trailing space included)."""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
seen, out = set(), []
with open(HERE / "plot_summaries.jsonl", encoding="utf-8") as f:
    for line in f:
        if not line.strip():
            continue
        text = json.loads(line).get("text")
        if not isinstance(text, str) or not text.strip():
            continue
        rec = {"text": text}
        key = json.dumps(rec, sort_keys=True, ensure_ascii=False)
        if key not in seen:
            seen.add(key)
            out.append(rec)
with open(HERE / "expected.jsonl", "w", encoding="utf-8") as f:
    for rec in out:
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
print(len(out))
