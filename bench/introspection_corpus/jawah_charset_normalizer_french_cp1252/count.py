"""Expected records for charset_normalizer's data/sample-french-1.txt (plain python3, no BrewSLM code).

The file is French prose in Windows-1252 (cp1252), NOT UTF-8 and not strictly Latin-1: besides the
accented letters it holds byte 0x9C = "œ" (oeuvres), which ISO-8859-1 maps to a C1 control.
Hard-wrapped at about 72 columns, so a line is a fragment of a sentence; the unit of text is the
paragraph. Record rule: one record per paragraph = a maximal run of non-blank lines (blocks are
separated by one or more blank lines), text = the lines of the block joined with "\n" exactly as
decoded (leading spaces of indented lines kept, no trailing newline). Blank-only blocks are skipped.
"""

import json
import os
import re

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "sample-french-1.txt"), "rb") as f:
    text = f.read().decode("cp1252")
assert "\r" not in text
out = []
for block in re.split(r"\n[ \t]*\n", text):
    block = block.strip("\n")
    if block.strip():
        out.append({"text": block})
with open(os.path.join(here, "expected.jsonl"), "w", encoding="utf-8") as f:
    for r in out:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(len(out))
