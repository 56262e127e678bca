"""Expected records for the DBpedia sample: a headerless CSV (CRLF) of class id, title, content;
classes.txt beside it names the 14 classes, line n = class id n. Rows with an empty class id or text
(the ",," filler rows the file ends with) are no records."""

import csv
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
with open(HERE / "classes.txt", encoding="utf-8") as f:
    names = [line.rstrip("\r\n") for line in f if line.strip()]
seen, out = set(), []
with open(HERE / "test.csv", encoding="utf-8", newline="") as f:
    for row in csv.reader(f):
        class_id, title, content = row
        text = "\n\n".join([title, content])  # title + body joined, in column order, strings kept as written
        if not class_id.strip() or not (title.strip() or content.strip()):
            continue
        rec = {"text": text, "label": names[int(class_id) - 1]}
        key = json.dumps(rec, sort_keys=True, ensure_ascii=False)
        if key not in seen:
            seen.add(key)
            out.append(rec)
with open(HERE / "expected.jsonl", "w", encoding="utf-8") as f:
    for rec in out:
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
print(len(out))
