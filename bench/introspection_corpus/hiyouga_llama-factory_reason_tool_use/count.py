"""Expected records for LLaMA-Factory's reason_tool_use_demo_50.jsonl (plain python3, no BrewSLM code).

Dialect: OpenAI-like `messages`, but every message's `content` is a LIST of typed parts
({"type": "text"|"reasoning"|"tool_call", "value": ...}); a tool call is an assistant part of type
"tool_call" whose value is a JSON string {"name", "arguments"}; results are role "tool";
the offered tools are a JSON string in `tools` ([{"type": "function", "function": {...}}]).
One expected record per source row: tools = sorted offered names, calls = every tool_call part
in conversation order as [name, arguments]. A row whose assistant never calls a tool is still a
valid tool-use example (a negative: the assistant answers in text), so it is kept with calls [].
Two rows offer an explicitly empty tool list ("[]"): plain chat inside a tool-use set, kept as
negatives with tools [] and calls []. A row would be rejected only if it had no user turn or a call
that is not valid JSON with a name and an object of arguments (none here).
"""

import json
import os

here = os.path.dirname(os.path.abspath(__file__))
out = []
with open(os.path.join(here, "reason_tool_use_demo_50.jsonl"), encoding="utf-8") as f:
    for line in f:
        if not line.strip():
            continue
        row = json.loads(line)
        tools = json.loads(row["tools"]) if isinstance(row.get("tools"), str) else row.get("tools")
        names = sorted((t.get("function") or t)["name"] for t in tools or [])
        if not any(m["role"] == "user" for m in row["messages"]):
            continue
        calls, ok = [], True
        for m in row["messages"]:
            for part in m["content"]:
                if m["role"] == "assistant" and part["type"] == "tool_call":
                    try:
                        c = json.loads(part["value"])
                    except ValueError:
                        ok = False
                        break
                    if not c.get("name") or not isinstance(c.get("arguments"), dict):
                        ok = False
                        break
                    calls.append([c["name"], c["arguments"]])
        if ok:
            out.append({"tools": names, "calls": calls})
with open(os.path.join(here, "expected.jsonl"), "w", encoding="utf-8") as f:
    for r in out:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(len(out))
