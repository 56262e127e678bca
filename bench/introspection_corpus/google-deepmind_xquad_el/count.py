"""Expected records for the XQuAD Greek sample (SQuAD v1.1 JSON document; plain python3, no BrewSLM code).

One record per question: question = qas[].question, answers = the texts of qas[].answers in source
order (XQuAD has exactly one gold answer per question), context = the paragraph's context.
A question with an empty text or no answer text would be rejected (none here); identical
(question, answers, context) records collapse (none here).
"""

import json
import os

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "xquad.el.json"), encoding="utf-8") as f:
    doc = json.load(f)
out, seen = [], set()
for article in doc["data"]:
    for para in article["paragraphs"]:
        for qa in para["qas"]:
            answers = [a["text"] for a in qa["answers"] if a["text"].strip()]
            if not qa["question"].strip() or not answers:
                continue
            rec = {"question": qa["question"], "answers": answers, "context": para["context"]}
            key = json.dumps(rec, sort_keys=True, ensure_ascii=False)
            if key in seen:
                continue
            seen.add(key)
            out.append(rec)
with open(os.path.join(here, "expected.jsonl"), "w", encoding="utf-8") as f:
    for r in out:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(len(out))
