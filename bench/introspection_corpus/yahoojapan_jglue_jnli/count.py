"""Expected records for the JNLI sample: JSON Lines in a file named .json, one sentence pair per line
{sentence_pair_id, yjcaptions_id, sentence1, sentence2, label}; label names in the file."""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
seen, out = set(), []
with open(HERE / "valid-v1.3.json", encoding="utf-8") as f:
    for line in f:
        if not line.strip():
            continue
        row = json.loads(line)
        parts = [row["sentence1"], row["sentence2"]]
        if not all(p.strip() for p in parts) or not row["label"].strip():
            continue
        rec = {"text": "\n\n".join(parts), "label": row["label"]}  # the two free-text columns, in column order
        key = json.dumps(rec, sort_keys=True, ensure_ascii=False)
        if key not in seen:
            seen.add(key)
            out.append(rec)
with open(HERE / "expected.jsonl", "w", encoding="utf-8") as f:
    for rec in out:
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
print(len(out))
