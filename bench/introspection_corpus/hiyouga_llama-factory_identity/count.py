"""Expected records for LLaMA-Factory's identity.json (plain python3, no BrewSLM code).

One JSON array of Alpaca-style objects {instruction, input, output}. A record a correct import
must accept: non-empty instruction and non-empty output. Projection (qa): question = instruction
(plus "\n\n" + input when input is non-empty: none is here), answers = [output] exactly as written
(the {{name}} / {{author}} placeholders are part of the text, never filled in), context = null
(Alpaca's `input` is an addition to the instruction, not retrieved context; it is empty everywhere).
"""

import json
import os

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "identity.json"), encoding="utf-8") as f:
    data = json.load(f)
out = []
for rec in data:
    ins, inp, outp = rec.get("instruction"), rec.get("input") or "", rec.get("output")
    if not (isinstance(ins, str) and ins.strip() and isinstance(outp, str) and outp.strip()):
        continue
    q = ins + ("\n\n" + inp if inp.strip() else "")
    out.append({"question": q, "answers": [outp], "context": None})
with open(os.path.join(here, "expected.jsonl"), "w", encoding="utf-8") as f:
    for r in out:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(len(out))
