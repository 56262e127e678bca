"""Expected records for one NSMC raw crawl file (a JSON array of Naver movie reviews; plain python3).

Each element: review_id, movie_id, author (masked id), review (the Korean review text), rating
("1".."10" as a string), date ("yy.mm.dd"). Classification: text = review, label = rating as the raw
string (no label-name file ships with the crawl). Rows with an empty review or rating are rejected
(none here); identical (text, label) records collapse (none here).
"""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
with open(HERE / "100015.json", encoding="utf-8") as f:
    rows = json.load(f)
seen, out = set(), []
for r in rows:
    if not r["review"].strip() or not r["rating"].strip():
        continue
    rec = {"text": r["review"], "label": r["rating"]}
    key = json.dumps(rec, sort_keys=True, ensure_ascii=False)
    if key not in seen:
        seen.add(key)
        out.append(rec)
with open(HERE / "expected.jsonl", "w", encoding="utf-8") as f:
    for rec in out:
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
print(len(out))
