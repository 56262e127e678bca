"""Expected records for LLaMA-Factory's dpo_zh_demo.json sample (plain python3, no BrewSLM code).

Shape: one JSON array; each item has `conversations` (ShareGPT turns {from: system|human|gpt, value})
holding the prompt, and `chosen` / `rejected` as single ShareGPT turn OBJECTS ({from: gpt, value}).
Expected record: prompt = value of the last `human` turn, chosen = chosen.value,
rejected = rejected.value. Rejected: no human turn, an empty chosen/rejected, or chosen == rejected (a tie).
"""

import json
import os

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "dpo_zh_demo.json"), encoding="utf-8") as f:
    data = json.load(f)
out = []
for item in data:
    humans = [t["value"] for t in item.get("conversations", []) if t.get("from") == "human"]
    chosen = (item.get("chosen") or {}).get("value")
    rejected = (item.get("rejected") or {}).get("value")
    if not humans or not humans[-1].strip():
        continue
    if not (isinstance(chosen, str) and chosen.strip() and isinstance(rejected, str) and rejected.strip()):
        continue
    if chosen == rejected:
        continue
    out.append({"prompt": humans[-1], "chosen": chosen, "rejected": rejected})
with open(os.path.join(here, "expected.jsonl"), "w", encoding="utf-8") as f:
    for r in out:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(len(out))
