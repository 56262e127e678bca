"""Expected records for the OpenAI Cookbook drone_training.jsonl sample (plain python3, no BrewSLM code).

OpenAI chat fine-tuning format with tools: `messages` (system, user, one assistant turn holding
`tool_calls`, no content, no tool results), `tools` = [{"type": "function", "function": {...}}],
`parallel_tool_calls`: false. Each call's `arguments` is a JSON STRING that must decode to an object.
One expected record per accepted row: tools = sorted offered names, calls = every assistant tool call
in order as [name, decoded arguments]. A row is rejected when a call's arguments do not decode to a
JSON object: 6 rows (the land_drone ones) hold arguments encoded TWICE ("\"{\\\"location\\\": ...}\""),
which decode to a string, not an object; a correct import reports them, it does not guess a repair.
"""

import json
import os

here = os.path.dirname(os.path.abspath(__file__))
out = []
with open(os.path.join(here, "drone_training.jsonl"), encoding="utf-8") as f:
    for line in f:
        if not line.strip():
            continue
        row = json.loads(line)
        names = sorted((t.get("function") or t)["name"] for t in row.get("tools") or [])
        if not any(m.get("role") == "user" for m in row["messages"]):
            continue
        calls, ok = [], True
        for m in row["messages"]:
            if m.get("role") != "assistant":
                continue
            for c in m.get("tool_calls") or []:
                fn = c.get("function") or {}
                try:
                    args = json.loads(fn.get("arguments"))
                except (TypeError, ValueError):
                    ok = False
                    break
                if not fn.get("name") or not isinstance(args, dict):
                    ok = False
                    break
                calls.append([fn["name"], args])
        if ok:
            out.append({"tools": names, "calls": calls})
with open(os.path.join(here, "expected.jsonl"), "w", encoding="utf-8") as f:
    for r in out:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(len(out))
