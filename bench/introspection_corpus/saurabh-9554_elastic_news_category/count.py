"""Expected records for the News Category Dataset sample (plain python3, no BrewSLM code).

The file is named .json but holds JSON Lines (one object per line, CRLF line ends).
A record a correct import must accept: a non-empty headline or short_description and a
non-empty category. Projection (classification): text = headline and short_description
joined with "\n\n" (column order; an empty one is left out), label = category.
"""

import json
import os

here = os.path.dirname(os.path.abspath(__file__))
out = []
with open(os.path.join(here, "News_Category_Dataset_v2.json"), encoding="utf-8") as f:
    for line in f:
        if not line.strip():
            continue
        row = json.loads(line)
        parts = [row.get(k) for k in ("headline", "short_description")]
        parts = [p for p in parts if isinstance(p, str) and p.strip()]
        label = row.get("category")
        if not parts or not (isinstance(label, str) and label.strip()):
            continue
        out.append({"text": "\n\n".join(parts), "label": label})
with open(os.path.join(here, "expected.jsonl"), "w", encoding="utf-8") as f:
    for r in out:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(len(out))
