"""Expected records for unicode_lipsum's wikipedia_mars/portuguese.utf16.txt sample (plain python3,
no BrewSLM code).

The file is the Portuguese Wikipedia article "Marte (planeta)" converted to Markdown-like text by
html2text, encoded UTF-16 little-endian WITH a byte-order mark (FF FE). Hard-wrapped at ~79 columns,
so the unit of text is the paragraph. Record rule: decode as utf-16 (the BOM is consumed, not
text); one record per paragraph = a maximal run of non-blank lines (a blank line is empty or
whitespace only), text = the block's lines joined with "\n" exactly as decoded (leading spaces of
list items and trailing double spaces of Markdown line breaks kept, no trailing newline).
"""

import json
import os

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "portuguese.utf16.txt"), "rb") as f:
    raw = f.read()
assert raw.startswith(b"\xff\xfe")
text = raw.decode("utf-16")
assert "\ufeff" not in text and "\r" not in text
out, cur = [], []
for line in text.split("\n"):
    if line.strip():
        cur.append(line)
    elif cur:
        out.append({"text": "\n".join(cur)})
        cur = []
if cur:
    out.append({"text": "\n".join(cur)})
with open(os.path.join(here, "expected.jsonl"), "w", encoding="utf-8") as f:
    for r in out:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(len(out))
