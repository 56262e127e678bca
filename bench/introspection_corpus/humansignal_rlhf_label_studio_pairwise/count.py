"""Expected records for HumanSignal/RLHF tutorials/ls_output_data.json (plain python3, no BrewSLM code).

Shape: a Label Studio JSON export (one array of tasks). Each task holds the pair in `data`
({"prompt", "answer1", "answer2"}) and the human verdict deep inside
`annotations[].result[].value.selected`, "left" (= answer1, the left side of the Pairwise tag)
or "right" (= answer2). There are no chosen/rejected fields.
Kept: a task with a non-cancelled annotation whose pairwise result is "left" or "right" (all
annotations of a task must agree), both answers non-empty and different.
prompt = data.prompt (the whole user turn), chosen = the selected answer, rejected = the other.
"""

import json
import os

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "ls_output_data.json"), encoding="utf-8") as f:
    tasks = json.load(f)
out, rejected = [], []
for t in tasks:
    votes = {
        r["value"].get("selected")
        for a in t.get("annotations", [])
        if not a.get("was_cancelled")
        for r in a.get("result", [])
        if r.get("type") == "pairwise"
    }
    data = t["data"]
    a1, a2 = data.get("answer1", ""), data.get("answer2", "")
    if len(votes) != 1 or votes.issubset({None}) or not votes <= {"left", "right"}:
        rejected.append((t["id"], "no single left/right verdict"))
        continue
    if not a1.strip() or not a2.strip() or a1 == a2:
        rejected.append((t["id"], "empty or equal answer"))
        continue
    chosen, other = (a1, a2) if votes == {"left"} else (a2, a1)
    out.append({"prompt": data["prompt"], "chosen": chosen, "rejected": other})
with open(os.path.join(here, "expected.jsonl"), "w", encoding="utf-8") as f:
    for r in out:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(len(out))
