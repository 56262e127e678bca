"""Expected records for a ToolBench answer file, data_example/answer/G1_answer/57_ChatGPT_DFS_woFilter_w2.json
(plain python3, no BrewSLM code).

Shape: ONE JSON document per query (CRLF line ends). Besides the search tree (`tree`, `compare_candidates`)
it holds `answer_generation` with the offered functions (`function`: OpenAI legacy function schemas,
including ToolBench's pseudo-tool "Finish") and `train_messages`: a LIST OF PARTIAL CONVERSATIONS, each a
bare list of messages in the legacy OpenAI dialect (assistant `function_call: {name, arguments: JSON
string}`, results as role "function" with a `name`). Each partial conversation is one step of the
episode; ToolBench's own preprocess/preprocess_toolllama_data.py turns each one into a training
instance ("Step k: <query>"), so a record here = one element of answer_generation.train_messages.

Expected record: tools = sorted names of answer_generation.function; calls = every assistant
function_call of that partial conversation in order, as [name, arguments parsed from the JSON string].
A record would be rejected if an arguments string were not a JSON object (none is).
"""

import json
import os

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "57_ChatGPT_DFS_woFilter_w2.json"), encoding="utf-8") as f:
    doc = json.load(f)
ag = doc["answer_generation"]
tools = sorted(fn["name"] for fn in ag["function"])
out = []
for conv in ag["train_messages"]:
    calls, ok = [], True
    for m in conv:
        fc = m.get("function_call") if m.get("role") == "assistant" else None
        if fc:
            try:
                args = json.loads(fc["arguments"]) if isinstance(fc["arguments"], str) else fc["arguments"]
            except ValueError:
                ok = False
                break
            if not isinstance(args, dict):
                ok = False
                break
            calls.append([fc["name"], args])
    if ok and any(m.get("role") == "user" for m in conv):
        out.append({"tools": tools, "calls": calls})
with open(os.path.join(here, "expected.jsonl"), "w", encoding="utf-8") as f:
    for r in out:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(len(out))
