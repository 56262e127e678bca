"""Expected records for the SmSA sample: a headerless TSV, one review per line, text<TAB>label."""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
seen, out = set(), []
with open(HERE / "train_preprocess.tsv", encoding="utf-8", newline="") as f:
    for line in f:
        line = line.rstrip("\r\n")
        text, label = line.split("\t")
        if not text.strip() or not label.strip():
            continue
        rec = {"text": text, "label": label}
        key = json.dumps(rec, sort_keys=True, ensure_ascii=False)
        if key not in seen:  # a correct import de-duplicates identical records
            seen.add(key)
            out.append(rec)
with open(HERE / "expected.jsonl", "w", encoding="utf-8") as f:
    for rec in out:
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
print(len(out))
