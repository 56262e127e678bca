"""Expected records for one HWU64 (NLU-Evaluation-Data) annotated test file (plain python3).

The file is one JSON object {"test_data_annotation": [{"text", "intent", "entities": [{"start", "end",
"value", "entity"}]}]}: character offsets into text, end exclusive (checked: text[start:end] == value
for every entity). All utterances of the file share one intent (transport_ticket): the informative
annotation is the slots. span extraction projection: text, spans = sorted [start, end, entity].
An empty text or a span outside its text would be rejected (none); identical records collapse (none).
"""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
with open(HERE / "transport_ticket_anno_20180322130133764.json", encoding="utf-8") as f:
    rows = json.load(f)["test_data_annotation"]
seen, out = set(), []
for r in rows:
    text = r["text"]
    for e in r["entities"]:
        assert text[e["start"] : e["end"]] == e["value"], e
    spans = sorted([e["start"], e["end"], e["entity"]] for e in r["entities"])
    if not text.strip() or any(not (0 <= s < e <= len(text)) for s, e, _ in spans):
        continue
    rec = {"text": text, "spans": spans}
    key = json.dumps(rec, sort_keys=True, ensure_ascii=False)
    if key not in seen:
        seen.add(key)
        out.append(rec)
with open(HERE / "expected.jsonl", "w", encoding="utf-8") as f:
    for rec in out:
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
print(len(out))
