"""Expected records for the HotpotQA dev (distractor setting) sample (plain python3, no BrewSLM code).

The file is one JSON array; each element: _id, answer, question, supporting_facts ([[title, sentence
index], ...]), context ([[title, [sentence, ...]], ...]: the 2 gold paragraphs + 8 distractors, in the
order given to the reader), type (bridge / comparison), level.
rag_qa projection: question; passages = one string per context paragraph in order, the paragraph's
sentences concatenated exactly as stored ("".join: HotpotQA keeps each sentence's leading space, so
this rebuilds the paragraph; the title is not part of the passage text); answers = [answer] (yes/no
answers of comparison questions included); is_refusal = False (every question has an answer in the
context). Rejected: an empty question/answer or no non-blank passage (none here); identical records
collapse (none here).
"""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
with open(HERE / "hotpot_dev_distractor_v1.json", encoding="utf-8") as f:
    rows = json.load(f)
seen, out = set(), []
for r in rows:
    passages = ["".join(sentences) for _title, sentences in r["context"]]
    if not r["question"].strip() or not r["answer"].strip() or not any(p.strip() for p in passages):
        continue
    rec = {"question": r["question"], "passages": passages, "answers": [r["answer"]], "is_refusal": False}
    key = json.dumps(rec, sort_keys=True, ensure_ascii=False)
    if key not in seen:
        seen.add(key)
        out.append(rec)
with open(HERE / "expected.jsonl", "w", encoding="utf-8") as f:
    for rec in out:
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
print(len(out))
