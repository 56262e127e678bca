"""Expected records for CrossNER (AI domain) as shipped in GLiNER's data folder (plain python3).

train.json is ONE JSON array on one line: {"sentence": str, "entities": [{"name": str, "type": str,
"pos": [start, end]}]} with character offsets into the sentence, end exclusive (checked: for all 531
entities sentence[start:end] == name). labels.json beside lists the 14 type names.
span extraction projection: text = sentence, spans = sorted [start, end, type]. A sentence with an
empty text, or a span outside its text, would be rejected (none); identical records collapse (none).
"""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
with open(HERE / "train.json", encoding="utf-8") as f:
    rows = json.load(f)
seen, out = set(), []
for r in rows:
    text = r["sentence"]
    spans = sorted([e["pos"][0], e["pos"][1], e["type"]] for e in r["entities"])
    if not text.strip() or any(not (0 <= s < e <= len(text)) for s, e, _ in spans):
        continue
    rec = {"text": text, "spans": spans}
    key = json.dumps(rec, sort_keys=True, ensure_ascii=False)
    if key not in seen:
        seen.add(key)
        out.append(rec)
with open(HERE / "expected.jsonl", "w", encoding="utf-8") as f:
    for rec in out:
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
print(len(out))
