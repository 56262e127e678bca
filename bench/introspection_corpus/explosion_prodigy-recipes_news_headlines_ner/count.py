"""Expected records for the Prodigy ner_manual news-headline sample: JSONL with text, tokens, spans
{"start", "end", "token_start", "token_end", "label"}, answer, _input_hash/_task_hash, meta. Only
"accept" answers are annotations; an accepted task WITHOUT a "spans" key was annotated as having no
entity (Prodigy omits the key), so it is a record with an empty span list."""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
seen, out = set(), []
with open(HERE / "annotated_news_headlines-ORG-PERSON-LOCATION-ner.jsonl", encoding="utf-8") as f:
    for line in f:
        if not line.strip():
            continue
        row = json.loads(line)
        text = row.get("text")
        if not isinstance(text, str) or not text.strip() or row.get("answer") != "accept":
            continue
        spans = []
        for s in row.get("spans") or []:
            start, end = s["start"], s["end"]
            # the import trims whitespace at span edges (annotation tools often include it)
            while start < end and text[start].isspace():
                start += 1
            while end > start and text[end - 1].isspace():
                end -= 1
            spans.append([start, end, s["label"]])
        rec = {"text": text, "spans": sorted({tuple(s) for s in spans})}
        rec["spans"] = [list(s) for s in rec["spans"]]
        key = json.dumps(rec, sort_keys=True, ensure_ascii=False)
        if key not in seen:
            seen.add(key)
            out.append(rec)
with open(HERE / "expected.jsonl", "w", encoding="utf-8") as f:
    for rec in out:
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
print(len(out))
