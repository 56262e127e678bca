"""Expected records for the Snips GetWeather validation file: ONE JSON object whose only key is the
intent name ("GetWeather") and whose value is the record list; each record is {"data": [chunk, ...]},
a chunk {"text": str} or {"text": str, "entity": slot name}. The utterance is the chunks' texts
concatenated; every chunk with an entity is a span over that text."""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
with open(HERE / "validate_GetWeather.json", encoding="utf-8") as f:
    obj = json.load(f)
seen, out = set(), []
for intent, records in obj.items():
    for record in records:
        text, spans = "", []
        for chunk in record["data"]:
            start = len(text)
            text += chunk["text"]
            if chunk.get("entity"):
                # trim whitespace inside the chunk so a span never starts or ends with a space
                s, e = start, len(text)
                while s < e and text[s].isspace():
                    s += 1
                while e > s and text[e - 1].isspace():
                    e -= 1
                if s < e:
                    spans.append([s, e, chunk["entity"]])
        if not text.strip():
            continue
        rec = {"text": text, "spans": sorted(spans)}
        key = json.dumps(rec, sort_keys=True, ensure_ascii=False)
        if key not in seen:
            seen.add(key)
            out.append(rec)
with open(HERE / "expected.jsonl", "w", encoding="utf-8") as f:
    for rec in out:
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
print(len(out))
