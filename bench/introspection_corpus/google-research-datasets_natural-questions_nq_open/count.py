"""Expected records for the NQ-open sample: JSONL, {"question": str, "answer": [alias, ...]}, no
context. answers = all gold aliases in source order."""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
seen, out = set(), []
with open(HERE / "NQ-open.dev.jsonl", encoding="utf-8") as f:
    for line in f:
        if not line.strip():
            continue
        row = json.loads(line)
        question = row.get("question")
        answers = [a for a in row.get("answer") or [] if isinstance(a, str) and a.strip()]
        if not isinstance(question, str) or not question.strip() or not answers:
            continue
        rec = {"question": question, "answers": answers, "context": None}
        key = json.dumps(rec, sort_keys=True, ensure_ascii=False)
        if key not in seen:
            seen.add(key)
            out.append(rec)
with open(HERE / "expected.jsonl", "w", encoding="utf-8") as f:
    for rec in out:
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
print(len(out))
