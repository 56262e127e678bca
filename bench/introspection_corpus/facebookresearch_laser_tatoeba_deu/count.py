"""Expected records for the Tatoeba German sample: plain text, one sentence per line, no header, in a
file whose extension is a language code (.deu). Every non-blank line is one record."""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
seen, out = set(), []
with open(HERE / "tatoeba.deu-eng.deu", encoding="utf-8", newline="") as f:
    for line in f:
        text = line.rstrip("\r\n")
        if not text.strip():
            continue
        rec = {"text": text}
        key = json.dumps(rec, sort_keys=True, ensure_ascii=False)
        if key not in seen:
            seen.add(key)
            out.append(rec)
with open(HERE / "expected.jsonl", "w", encoding="utf-8") as f:
    for rec in out:
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
print(len(out))
