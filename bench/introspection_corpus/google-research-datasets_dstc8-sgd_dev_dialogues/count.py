"""Expected records for the SGD (Schema-Guided Dialogue) dev sample (plain python3, no BrewSLM code).

The file is a JSON array of dialogues: {dialogue_id, services, turns: [{speaker: "USER"|"SYSTEM",
utterance, frames: [...dialogue-state annotations...]}]}. In SGD "SYSTEM" is the dialogue SYSTEM,
i.e. the virtual assistant answering the user, not a system prompt: chat_sft projection maps
USER -> user, SYSTEM -> assistant, content = utterance exactly; the frames are annotations, not turns.
A dialogue is rejected if it has no user turn, no assistant turn or an empty utterance (none here);
identical message lists collapse (none here).
"""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROLE = {"USER": "user", "SYSTEM": "assistant"}
with open(HERE / "dialogues_001.json", encoding="utf-8") as f:
    dialogues = json.load(f)
seen, out = set(), []
for dlg in dialogues:
    messages = [[ROLE[t["speaker"]], t["utterance"]] for t in dlg["turns"]]
    roles = {r for r, _ in messages}
    if "user" not in roles or "assistant" not in roles or any(not c.strip() for _, c in messages):
        continue
    rec = {"messages": messages}
    key = json.dumps(rec, ensure_ascii=False)
    if key not in seen:
        seen.add(key)
        out.append(rec)
with open(HERE / "expected.jsonl", "w", encoding="utf-8") as f:
    for rec in out:
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
print(len(out))
