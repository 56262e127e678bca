"""Expected records for the ALCE ASQA prompt file: ONE JSON object whose prompt settings (instruction,
demo_sep, demo_prompt, doc_prompt) sit beside the records, which are nested under "demos". Each demo is
{question, answer (a long-form answer with [n] citations), docs: [{title, text}, ...]}."""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
with open(HERE / "asqa_default.json", encoding="utf-8") as f:
    obj = json.load(f)
seen, out = set(), []
for demo in obj["demos"]:
    question = demo.get("question") or ""
    passages = [d["text"] for d in demo.get("docs") or [] if isinstance(d.get("text"), str) and d["text"].strip()]
    answer = demo.get("answer") or ""
    if not question.strip() or not passages or not answer.strip():
        continue
    rec = {"question": question, "passages": passages, "answers": [answer], "is_refusal": False}
    key = json.dumps(rec, sort_keys=True, ensure_ascii=False)
    if key not in seen:
        seen.add(key)
        out.append(rec)
with open(HERE / "expected.jsonl", "w", encoding="utf-8") as f:
    for rec in out:
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
print(len(out))
