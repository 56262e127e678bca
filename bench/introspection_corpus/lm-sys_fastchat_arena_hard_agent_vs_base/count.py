"""Expected records for FastChat's search-agent evaluation, evaluation/eval_results/arena_hard_gpt-4o.jsonl
(plain python3, no BrewSLM code).

Shape: JSON Lines; each line = {question_id, question, base_response, agent_response, do_search, grade,
raw_response}. `grade` is GPT-4o's verdict naming the WINNING FIELD: "agent" (agent_response better),
"base" (base_response better) or "tie". `raw_response` is the judge's text, where the two answers were
shown in a random order as "A" and "B" ("Base: B; Agent: A" ...): its letters are NOT the orientation.
Kept: grade "agent" or "base", both responses non-empty and different.
prompt = question, chosen = the graded winner's response, rejected = the other one.
"""

import json
import os

here = os.path.dirname(os.path.abspath(__file__))
out = []
with open(os.path.join(here, "arena_hard_gpt-4o.jsonl"), encoding="utf-8") as f:
    for line in f:
        if not line.strip():
            continue
        row = json.loads(line)
        base, agent, grade = row["base_response"], row["agent_response"], row["grade"]
        if grade not in ("agent", "base") or not base.strip() or not agent.strip() or base == agent:
            continue
        chosen, rejected = (agent, base) if grade == "agent" else (base, agent)
        out.append({"prompt": row["question"], "chosen": chosen, "rejected": rejected})
with open(os.path.join(here, "expected.jsonl"), "w", encoding="utf-8") as f:
    for r in out:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(len(out))
