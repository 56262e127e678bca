"""Expected records for spaCy's textcat example data cooking.jsonl (plain python3, no BrewSLM code).

spaCy text-classification JSONL: {"cats": {"baking": 0.0|1.0, "not_baking": 1.0|0.0}, "meta": {"id"},
"text"}. The label is not a field: it is the key of `cats` whose score is 1.0 (exclusive classes,
one-hot). classification projection: text = text exactly (each ends with "\n"), label = that key.
A row with no class at 1.0, or several, or an empty text would be rejected (none here).
"""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
seen, out = set(), []
with open(HERE / "cooking.jsonl", encoding="utf-8") as f:
    for line in f:
        if not line.strip():
            continue
        row = json.loads(line)
        on = [k for k, v in row["cats"].items() if v == 1.0]
        if len(on) != 1 or not row["text"].strip():
            continue
        rec = {"text": row["text"], "label": on[0]}
        key = json.dumps(rec, sort_keys=True, ensure_ascii=False)
        if key not in seen:
            seen.add(key)
            out.append(rec)
with open(HERE / "expected.jsonl", "w", encoding="utf-8") as f:
    for rec in out:
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
print(len(out))
