"""Expected records for the DPR sample (Dense Passage Retrieval training format): ONE JSON list on one
line, each element {dataset, question, answers: [str], positive_ctxs: [{title, text, score,
title_score, passage_id}], negative_ctxs: [...], hard_negative_ctxs: [...]}."""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
with open(HERE / "sample.json", encoding="utf-8") as f:
    rows = json.load(f)
seen, out = set(), []
for row in rows:
    passages = [c["text"] for c in row["positive_ctxs"] if c["text"].strip()]  # gold passages, in order
    answers = []
    for a in row["answers"]:
        if a.strip() and a not in answers:
            answers.append(a)
    if not row["question"].strip() or not passages or not answers:
        continue
    rec = {"question": row["question"], "passages": passages, "answers": answers, "is_refusal": False}
    key = json.dumps(rec, sort_keys=True, ensure_ascii=False)
    if key not in seen:
        seen.add(key)
        out.append(rec)
with open(HERE / "expected.jsonl", "w", encoding="utf-8") as f:
    for rec in out:
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
print(len(out))
