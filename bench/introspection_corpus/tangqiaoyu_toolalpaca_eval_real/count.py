"""Expected records for ToolAlpaca's data/eval_real.json sample (plain python3, no BrewSLM code).

Shape: one JSON array of API objects (Name, Description, Category, Authentication, external_tools,
Documentation = an OpenAPI spec as a JSON STRING, NLDocumentation, Function_Description,
Function_Projection, Instructions, Golden_Answers). The examples are two PARALLEL lists inside each
API object: Instructions[i] (a user request) and Golden_Answers[i] (the calls that answer it: a list of
{"Action": name, "Action_Input": "<JSON string>"}). A record = one (instruction, golden answer) pair.
Offered tools = the API's functions = the keys of Function_Projection (function -> [HTTP path,
method]); Function_Description has the same keys plus "components" (the OpenAPI schema section, not
a function); external_tools ["retrieval"] is the agent's own helper, not an API function.
Expected record: tools = sorted Function_Projection keys of its API, calls = the golden actions in
order as [Action, Action_Input parsed]. Rejected: an empty instruction, a missing answer, an
Action_Input that is not a JSON object (none in this sample), or a call to a function the API does
not offer (6 AviationAPI rows call preferred-routes_search_get, vatsim_*_get, weather_*_get, which
are in neither its documentation nor its Function_Projection: an example that teaches calling an
undeclared tool is rejected, as BrewSLM's tool-call validation documents with "invalid_tool_call").
"""

import json
import os

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "eval_real.json"), encoding="utf-8") as f:
    apis = json.load(f)
out = []
for api in apis:
    tools = sorted(api["Function_Projection"])
    for instruction, answer in zip(api["Instructions"], api["Golden_Answers"]):
        if not instruction.strip() or not answer:
            continue
        calls, ok = [], True
        for step in answer:
            try:
                args = json.loads(step["Action_Input"])
            except ValueError:
                ok = False
                break
            if not isinstance(args, dict) or step["Action"] not in tools:
                ok = False
                break
            calls.append([step["Action"], args])
        if ok:
            out.append({"tools": tools, "calls": calls})
with open(os.path.join(here, "expected.jsonl"), "w", encoding="utf-8") as f:
    for r in out:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(len(out))
