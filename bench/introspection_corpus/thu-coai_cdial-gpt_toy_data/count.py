"""Expected records for CDial-GPT's data/toy_data.json sample (plain python3, no BrewSLM code).

Shape: one JSON object keyed by SPLIT ("valid", "train", "test"), each a list of dialogues; a dialogue
is a bare list of utterance strings (no roles, no speaker field), Chinese tokenised with a space
between every character / token (kept exactly: never normalised). Speakers alternate, the first
utterance is the user's (the post), the next the reply, and so on.
Record: messages = [["user", u0], ["assistant", u1], ["user", u2], ...]; a trailing user utterance
(a turn nobody answered: dialogues with an odd number of utterances) is dropped, which is what
BrewSLM's chat mapper documents for trailing user turns. A dialogue left without an assistant reply
(fewer than 2 utterances) or with an empty utterance would be rejected (none here).
Splits are read in file order: valid, train, test.
"""

import json
import os

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "toy_data.json"), encoding="utf-8") as f:
    data = json.load(f)
out = []
for split, dialogues in data.items():
    for dialogue in dialogues:
        if any(not isinstance(u, str) or not u.strip() for u in dialogue):
            continue
        turns = dialogue[: len(dialogue) - len(dialogue) % 2]
        if len(turns) < 2:
            continue
        msgs = [["user" if i % 2 == 0 else "assistant", u] for i, u in enumerate(turns)]
        out.append({"messages": msgs})
with open(os.path.join(here, "expected.jsonl"), "w", encoding="utf-8") as f:
    for r in out:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(len(out))
