"""Expected records for LLMBar Adversarial/Manual (plain python3, no BrewSLM code).

Shape: one JSON array of {"input", "output_1", "output_2", "label"}; label is 1 or 2 = the output that
follows the instruction (README: "label is either 1 or 2, indicating which output is objectively
better"). No chosen/rejected fields: orientation by a 1-based index.
Kept: label 1 or 2, both outputs non-empty and different. prompt = input, chosen = output_<label>,
rejected = the other output.
"""

import json
import os

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "dataset.json"), encoding="utf-8") as f:
    items = json.load(f)
out = []
for it in items:
    o1, o2, lab = it.get("output_1", ""), it.get("output_2", ""), it.get("label")
    if lab not in (1, 2) or not o1.strip() or not o2.strip() or o1 == o2:
        continue
    chosen, rejected = (o1, o2) if lab == 1 else (o2, o1)
    out.append({"prompt": it["input"], "chosen": chosen, "rejected": rejected})
with open(os.path.join(here, "expected.jsonl"), "w", encoding="utf-8") as f:
    for r in out:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(len(out))
