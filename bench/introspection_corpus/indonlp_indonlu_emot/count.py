"""Expected records for the EmoT sample: CSV with a header (label,tweet), label column first,
quoted tweets that hold commas and doubled quotes."""

import csv
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
seen, out = set(), []
with open(HERE / "valid_preprocess.csv", encoding="utf-8", newline="") as f:
    for row in csv.DictReader(f):
        text, label = row["tweet"], row["label"]
        if not text.strip() or not label.strip():
            continue
        rec = {"text": text, "label": label}
        key = json.dumps(rec, sort_keys=True, ensure_ascii=False)
        if key not in seen:
            seen.add(key)
            out.append(rec)
with open(HERE / "expected.jsonl", "w", encoding="utf-8") as f:
    for rec in out:
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
print(len(out))
