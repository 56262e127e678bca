"""Expected records for the CMRC 2018 trial sample (original, non-SQuAD layout): ONE JSON list of
passages {context_id, context_text, qas: [{query_text, query_id, answers: [str, ...]}], title};
one record per question. Chinese text is written as \\uXXXX escapes (plain ASCII file)."""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
with open(HERE / "cmrc2018_trial.json", encoding="utf-8") as f:
    passages = json.load(f)
seen, out = set(), []
for passage in passages:
    context = passage["context_text"]
    for qa in passage["qas"]:
        question = qa["query_text"]
        answers = []
        for a in qa["answers"]:
            if a.strip() and a not in answers:  # distinct gold answers, source order
                answers.append(a)
        if not question.strip() or not answers:
            continue
        rec = {"question": question, "answers": answers, "context": context}
        key = json.dumps(rec, sort_keys=True, ensure_ascii=False)
        if key not in seen:
            seen.add(key)
            out.append(rec)
with open(HERE / "expected.jsonl", "w", encoding="utf-8") as f:
    for rec in out:
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
print(len(out))
