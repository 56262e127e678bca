"""Expected records for Azure AI Foundry's stock_toolcall_training.jsonl (plain python3, no BrewSLM code).

Dialect: OpenAI fine-tuning chat format with tools: {"messages": [system, user, assistant], "tools":
[{"type": "function", "function": {...}}]}; the assistant either calls a tool (`tool_calls`, arguments
a JSON STRING) or asks for a ticker symbol in text (`content`, no call). One expected record per source
row: tools = sorted offered names, calls = [name, parsed arguments] in order. A row whose assistant
answers in text is a valid negative example (the point of this dataset: "when to fail to make calls")
and is kept with calls []. A row would be rejected only if it had no user turn or a call whose
arguments are not a JSON object; identical source rows would be one record (none here).
"""

import json
import os

here = os.path.dirname(os.path.abspath(__file__))
out, seen = [], set()
with open(os.path.join(here, "stock_toolcall_training.jsonl"), encoding="utf-8") as f:
    for line in f:
        if not line.strip():
            continue
        row = json.loads(line)
        key = json.dumps(row, sort_keys=True)
        if key in seen:
            continue
        seen.add(key)
        if not any(m["role"] == "user" for m in row["messages"]):
            continue
        names = sorted(t["function"]["name"] for t in row.get("tools") or [])
        calls, ok = [], True
        for m in row["messages"]:
            if m["role"] != "assistant":
                continue
            for tc in m.get("tool_calls") or []:
                args = json.loads(tc["function"]["arguments"])
                if not isinstance(args, dict):
                    ok = False
                calls.append([tc["function"]["name"], args])
        if ok:
            out.append({"tools": names, "calls": calls})
with open(os.path.join(here, "expected.jsonl"), "w", encoding="utf-8") as f:
    for r in out:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(len(out))
