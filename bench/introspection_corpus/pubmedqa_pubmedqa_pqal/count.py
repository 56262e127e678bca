"""Expected records for the PubMedQA PQA-L sample (plain python3, no BrewSLM code).

The file is ONE JSON object keyed by PubMed id; each value is a record.
A record a correct import must accept: non-empty QUESTION, a non-empty CONTEXTS list
and a final_decision (yes/no/maybe). Projection (rag_qa): question, passages = CONTEXTS
in order, answers = [final_decision], is_refusal = false.
"""

import json
import os

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "ori_pqal.json"), encoding="utf-8") as f:
    data = json.load(f)
out = []
for pmid, rec in data.items():
    q = rec.get("QUESTION")
    ctx = [c for c in rec.get("CONTEXTS") or [] if isinstance(c, str) and c.strip()]
    ans = rec.get("final_decision")
    if not (isinstance(q, str) and q.strip() and ctx and isinstance(ans, str) and ans.strip()):
        continue
    out.append({"question": q, "passages": ctx, "answers": [ans], "is_refusal": False})
with open(os.path.join(here, "expected.jsonl"), "w", encoding="utf-8") as f:
    for r in out:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(len(out))
