"""Expected records for the GoEmotions test sample (plain python3, no BrewSLM code).

test.tsv: headerless, 3 TAB-separated columns: text, emotion ids (one id, or several joined with ","
for multi-label comments), Reddit comment id. Text fields that contain quotes use CSV quoting inside
the TSV (a field opened by '"', inner quotes doubled), as pandas.read_csv(sep="\\t") - the reader of
the GoEmotions code - expects; csv.reader(delimiter="\\t") with default quoting reads them the same way.
emotions.txt ships beside it: the 28 class names, one per line, line index = id (no final newline).

classification projection: text = column 1 (unquoted), label = the class NAME of the id in column 2.
A comment with SEVERAL ids (22 of 100) has no single class: a single-label classification import cannot
map it faithfully, so it is rejected here (not in expected.jsonl). Identical records collapse (none).
"""

import csv
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
names = (HERE / "emotions.txt").read_text(encoding="utf-8").split("\n")
assert len(names) == 28, len(names)
seen, out, multi = set(), [], 0
with open(HERE / "test.tsv", encoding="utf-8", newline="") as f:
    for text, ids, _cid in csv.reader(f, delimiter="\t"):
        if "," in ids:
            multi += 1
            continue
        if not text.strip():
            continue
        rec = {"text": text, "label": names[int(ids)]}
        key = json.dumps(rec, sort_keys=True, ensure_ascii=False)
        if key not in seen:
            seen.add(key)
            out.append(rec)
with open(HERE / "expected.jsonl", "w", encoding="utf-8") as f:
    for rec in out:
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
print(len(out))
