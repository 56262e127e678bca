"""Expected records for the PandaLM human-annotated test set sample (plain python3, no BrewSLM code).

Shape: one JSON array; each item has instruction, input (may be ""), response1, response2 and the
verdicts of three human annotators, annotator1..3, each 1 (response1 better), 2 (response2 better)
or 0 (tie). Orientation = the majority verdict (at least 2 of 3 annotators agree).
Kept: majority 1 or 2, both responses non-empty and different.
Rejected: majority 0 (a tie), no majority (three different verdicts), or equal/empty responses.
Prompt = instruction, or instruction + "\n\n" + input when input is non-empty (the Alpaca layout:
the user turn holds both).
An exact duplicate of an earlier record (same prompt, chosen and rejected) is counted once: a
correct import de-duplicates records (as the other corpus folders count them).
"""

import json
import os
from collections import Counter

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "testset-v1.json"), encoding="utf-8") as f:
    data = json.load(f)
out = []
for item in data:
    votes = Counter(item[k] for k in ("annotator1", "annotator2", "annotator3"))
    verdict, n = votes.most_common(1)[0]
    r1, r2 = item["response1"], item["response2"]
    if n < 2 or verdict not in (1, 2):
        continue
    if not r1.strip() or not r2.strip() or r1 == r2:
        continue
    prompt = item["instruction"] + ("\n\n" + item["input"] if item["input"].strip() else "")
    chosen, rejected = (r1, r2) if verdict == 1 else (r2, r1)
    record = {"prompt": prompt, "chosen": chosen, "rejected": rejected}
    if record not in out:
        out.append(record)
with open(os.path.join(here, "expected.jsonl"), "w", encoding="utf-8") as f:
    for r in out:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(len(out))
