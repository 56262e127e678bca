"""Expected records for golang.org/x/text's encoding/testdata/candide-utf-16le.txt (plain python3,
no BrewSLM code).

The file is French prose (the opening chapters of Voltaire's Candide) encoded as UTF-16 little-endian
WITHOUT a byte-order mark: every ASCII character is followed by a NUL byte, the first bytes are
"T\x00h\x00i\x00s\x00". Hard-wrapped at ~65 columns, so the unit of text is the paragraph.
Record rule: decode as utf-16-le; one record per paragraph = a maximal run of non-blank lines
(blocks separated by one or more blank lines), text = the block's lines joined with "\n" exactly
as decoded (indentation of the centred title lines kept, no trailing newline).
"""

import json
import os
import re

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "candide-utf-16le.txt"), "rb") as f:
    raw = f.read()
assert not raw.startswith((b"\xff\xfe", b"\xfe\xff"))
text = raw.decode("utf-16-le")
assert "\r" not in text and "\ufeff" not in text
out = []
for block in re.split(r"\n[ \t]*\n", text):
    block = block.strip("\n")
    if block.strip():
        out.append({"text": block})
with open(os.path.join(here, "expected.jsonl"), "w", encoding="utf-8") as f:
    for r in out:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(len(out))
