"""Expected records for LLaMA-Factory's v1_dpo_demo.jsonl (plain python3, no BrewSLM code).

Shape: each line holds TWO whole conversations, `chosen_messages` and `rejected_messages`, which share
the prompt turns and differ in the final assistant turn. Every message's `content` is a list of typed
parts ({"type": "text", "value": ...}); messages carry a `loss_weight`.
Expected record: prompt = text of the last user turn, chosen / rejected = text of the final assistant
turn of each conversation (text parts joined with ""). Rejected: the two conversations do not share
their prompt turns, a side has no final assistant turn or an empty one, or the two replies are equal.
"""

import json
import os


def text(msg):
    return "".join(p["value"] for p in msg["content"] if p.get("type") == "text")


here = os.path.dirname(os.path.abspath(__file__))
out = []
with open(os.path.join(here, "v1_dpo_demo.jsonl"), encoding="utf-8") as f:
    for line in f:
        if not line.strip():
            continue
        row = json.loads(line)
        c, r = row["chosen_messages"], row["rejected_messages"]
        if not c or not r or c[-1]["role"] != "assistant" or r[-1]["role"] != "assistant":
            continue
        if [(m["role"], text(m)) for m in c[:-1]] != [(m["role"], text(m)) for m in r[:-1]]:
            continue
        users = [text(m) for m in c[:-1] if m["role"] == "user"]
        chosen, rejected = text(c[-1]), text(r[-1])
        if not users or not chosen.strip() or not rejected.strip() or chosen == rejected:
            continue
        out.append({"prompt": users[-1], "chosen": chosen, "rejected": rejected})
with open(os.path.join(here, "expected.jsonl"), "w", encoding="utf-8") as f:
    for r in out:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(len(out))
