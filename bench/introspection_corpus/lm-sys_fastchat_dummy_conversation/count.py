"""Expected records for FastChat's dummy_conversation.json sample (plain python3, no BrewSLM code).

Shape: one JSON array of {"id", "conversations": [{"from": "human"|"gpt", "value"}]} (ShareGPT/Vicuna).
Roles: human -> user, gpt -> assistant (system -> system if present).
Kept: a conversation with at least one user and one assistant turn, every turn non-empty,
ending with an assistant turn. Projection: {"messages": [[role, content], ...]}, contents exact.
"""

import json
import os

ROLES = {"human": "user", "gpt": "assistant", "system": "system"}
here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "dummy_conversation.json"), encoding="utf-8") as f:
    data = json.load(f)
out = []
for item in data:
    turns = item.get("conversations") or []
    if any(t.get("from") not in ROLES or not isinstance(t.get("value"), str) or not t["value"].strip() for t in turns):
        continue
    msgs = [[ROLES[t["from"]], t["value"]] for t in turns]
    roles = [m[0] for m in msgs]
    if "user" not in roles or not msgs or msgs[-1][0] != "assistant":
        continue
    out.append({"messages": msgs})
with open(os.path.join(here, "expected.jsonl"), "w", encoding="utf-8") as f:
    for r in out:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(len(out))
