"""Expected records for the chinese-poetry "Three Hundred Tang Poems" sample (plain python3).

The file is ONE nested JSON object: {"title": "唐詩三百首", "content": [{"type": <poetic form>,
"content": [{"chapter": <poem title>, "subchapter": <part title or null>, "author": <poet>,
"paragraphs": [<line>, ...]}, ...]}, ...]}. The records are the poems (the leaves, two levels down);
for language modelling the text of a poem is its lines, joined with "\n" in order (title, author and
form are metadata, not the text). A poem with no non-blank line would be rejected (none); identical
texts collapse (none).
"""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
with open(HERE / "tangshisanbaishou.json", encoding="utf-8") as f:
    doc = json.load(f)
seen, out = set(), []
for group in doc["content"]:
    for poem in group["content"]:
        text = "\n".join(poem["paragraphs"])
        if not text.strip() or text in seen:
            continue
        seen.add(text)
        out.append({"text": text})
with open(HERE / "expected.jsonl", "w", encoding="utf-8") as f:
    for rec in out:
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
print(len(out))
