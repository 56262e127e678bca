"""Expected records for MT-bench questions joined with GPT-4 reference answers (plain python3).

question.jsonl: {"question_id", "category", "turns": [user turn 1, user turn 2], "reference"?: [...]}
reference_answer/gpt-4.jsonl: {"question_id", "model_id", "choices": [{"index": 0, "turns": [reply 1, reply 2]}]}
A conversation = user turns interleaved with the joined answer's choices[0].turns (same length).
`reference` in question.jsonl holds short grading hints (often "" for a turn), not replies: not used.
Kept: a question with a joined answer whose turn lists are the same length and all non-empty.
Rejected: the 50 questions that have no GPT-4 answer in the companion file (nothing for the assistant).
"""

import json
import os

here = os.path.dirname(os.path.abspath(__file__))
answers = {}
with open(os.path.join(here, "reference_answer", "gpt-4.jsonl"), encoding="utf-8") as f:
    for line in f:
        if line.strip():
            a = json.loads(line)
            answers[a["question_id"]] = a
out = []
with open(os.path.join(here, "question.jsonl"), encoding="utf-8") as f:
    for line in f:
        if not line.strip():
            continue
        q = json.loads(line)
        a = answers.get(q["question_id"])
        if a is None:
            continue
        replies = a["choices"][0]["turns"]
        if len(replies) != len(q["turns"]) or not all(s.strip() for s in q["turns"] + replies):
            continue
        msgs = []
        for u, r in zip(q["turns"], replies):
            msgs += [["user", u], ["assistant", r]]
        out.append({"messages": msgs})
with open(os.path.join(here, "expected.jsonl"), "w", encoding="utf-8") as f:
    for r in out:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(len(out))
