"""Expected records for the ARCD sample: SQuAD v1.1 layout, ONE JSON object
{"data": [{title, paragraphs: [{context, qas: [{question, id, answers: [{text, answer_start}]}]}]}],
 "version": "1.1"}; one record per question. Arabic written as \\uXXXX escapes (plain ASCII file)."""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
with open(HERE / "arcd-test.json", encoding="utf-8") as f:
    obj = json.load(f)
seen, out = set(), []
for article in obj["data"]:
    for paragraph in article["paragraphs"]:
        context = paragraph["context"]
        for qa in paragraph["qas"]:
            answers = []
            for a in qa["answers"]:
                if a["text"].strip() and a["text"] not in answers:  # distinct gold answers, source order
                    answers.append(a["text"])
            if not qa["question"].strip() or not answers:
                continue
            rec = {"question": qa["question"], "answers": answers, "context": context}
            key = json.dumps(rec, sort_keys=True, ensure_ascii=False)
            if key not in seen:
                seen.add(key)
                out.append(rec)
with open(HERE / "expected.jsonl", "w", encoding="utf-8") as f:
    for rec in out:
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
print(len(out))
