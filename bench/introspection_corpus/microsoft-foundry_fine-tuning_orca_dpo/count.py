"""Expected records for the Azure AI Foundry orca_dpo_pairs sample (plain python3, no BrewSLM code).

Dialect: OpenAI DPO fine-tuning format: {"input": {"messages": [system, user]}, "preferred_output":
[{"role": "assistant", "content": ...}], "non_preferred_output": [{...}]}.
prompt = the last user message's content; chosen / rejected = the content of the (single) assistant
message of preferred_output / non_preferred_output. A row is rejected when a side is empty or both sides
are equal (a tie); identical records are one.
"""

import json
import os

here = os.path.dirname(os.path.abspath(__file__))
out, seen = [], set()
with open(os.path.join(here, "validation.jsonl"), encoding="utf-8") as f:
    for line in f:
        if not line.strip():
            continue
        row = json.loads(line)
        users = [m["content"] for m in row["input"]["messages"] if m["role"] == "user"]
        chosen = "".join(m["content"] for m in row["preferred_output"] if m["role"] == "assistant")
        rejected = "".join(m["content"] for m in row["non_preferred_output"] if m["role"] == "assistant")
        if not users or not users[-1].strip() or not chosen.strip() or not rejected.strip() or chosen == rejected:
            continue
        rec = {"prompt": users[-1], "chosen": chosen, "rejected": rejected}
        key = json.dumps(row, sort_keys=True, ensure_ascii=False)
        if key in seen:
            continue
        seen.add(key)
        out.append(rec)
with open(os.path.join(here, "expected.jsonl"), "w", encoding="utf-8") as f:
    for r in out:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(len(out))
