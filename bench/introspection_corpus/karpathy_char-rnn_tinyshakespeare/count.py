"""Expected records for the tiny-shakespeare sample (plain text; plain python3, no BrewSLM code).

One record per paragraph = a maximal run of non-blank lines; text = its lines joined with "\n"
exactly as in the file (no trailing newline). In this file a paragraph is one speech: the speaker
line ("First Citizen:") followed by the verse lines. Identical paragraphs collapse (a content-
de-duplicating import keeps one).
"""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
paras, cur = [], []
with open(HERE / "input.txt", encoding="utf-8", newline="") as f:
    for line in f.read().split("\n"):
        if line.strip():
            cur.append(line)
        elif cur:
            paras.append("\n".join(cur))
            cur = []
if cur:
    paras.append("\n".join(cur))
seen, out = set(), []
for p in paras:
    if p not in seen:
        seen.add(p)
        out.append({"text": p})
with open(HERE / "expected.jsonl", "w", encoding="utf-8") as f:
    for rec in out:
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
print(len(out))
