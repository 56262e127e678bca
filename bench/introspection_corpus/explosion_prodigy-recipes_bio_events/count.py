"""Expected records for the bio_events sample: JSONL {"text", "spans": [{"start", "end", "label"}], "meta"};
end-exclusive character offsets; spans are trimmed of edge whitespace as the import does."""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
seen, out = set(), []
with open(HERE / "bio_events.jsonl", encoding="utf-8") as f:
    for line in f:
        if not line.strip():
            continue
        row = json.loads(line)
        text = row.get("text")
        if not isinstance(text, str) or not text.strip() or row.get("spans") is None:
            continue
        spans = []
        for s in row["spans"]:
            start, end = s["start"], s["end"]
            # the import trims whitespace at span edges (annotation tools often include it)
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            spans.append([start, end, s["label"]])
        rec = {"text": text, "spans": sorted({tuple(s) for s in spans})}
        rec["spans"] = [list(s) for s in rec["spans"]]
        key = json.dumps(rec, sort_keys=True, ensure_ascii=False)
        if key not in seen:
            seen.add(key)
            out.append(rec)
with open(HERE / "expected.jsonl", "w", encoding="utf-8") as f:
    for rec in out:
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
print(len(out))
