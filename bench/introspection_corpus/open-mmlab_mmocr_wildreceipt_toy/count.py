"""Expected records for the WildReceipt toy sample: one JSON object per line in a .txt file, each a
receipt with OCR boxes {"box": [8 floats], "text": str, "label": class id}; class_list.txt beside it
maps ids to names ("<id> <name>", some names followed by a stray tab).

target = {class name: [texts of the boxes with that class, in source order]} for every class except
0 "Ignore" and 25 "Others" (text that is no field); a receipt with no such box is no record."""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
names = {}
with open(HERE / "class_list.txt", encoding="utf-8") as f:
    for line in f:
        if line.strip():
            idx, name = line.strip().split(None, 1)
            names[int(idx)] = name.strip()
SKIP = {"Ignore", "Others"}
seen, out = set(), []
with open(HERE / "data.txt", encoding="utf-8") as f:
    for line in f:
        if not line.strip():
            continue
        row = json.loads(line)
        target = {}
        for box in row["annotations"]:
            name = names[box["label"]]
            if name in SKIP or not box["text"].strip():
                continue
            target.setdefault(name, []).append(box["text"])
        if not target:
            continue
        rec = {"target": target}
        key = json.dumps(rec, sort_keys=True, ensure_ascii=False)
        if key not in seen:
            seen.add(key)
            out.append(rec)
with open(HERE / "expected.jsonl", "w", encoding="utf-8") as f:
    for rec in out:
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
print(len(out))
