"""Expected records for a Textract AnalyzeDocument (FORMS + TABLES) response,
src-python/tests/data/multi-page-forms-samples-2-page.json (plain python3, no BrewSLM code).

Shape: one JSON object, minified on one line; `Blocks` is a FLAT list of OCR blocks of all pages
(PAGE, LINE, WORD, SELECTION_ELEMENT, TABLE, CELL, MERGED_CELL, KEY_VALUE_SET), each with a `Page`, a
`Geometry` (BoundingBox + Polygon, page-relative floats) and `Relationships` that link blocks BY ID:
a KEY_VALUE_SET block with EntityTypes ["KEY"] has CHILD ids (its WORDs) and VALUE ids (the
KEY_VALUE_SET block(s) with EntityTypes ["VALUE"]), whose CHILD ids are WORDs or a
SELECTION_ELEMENT (a checkbox with SelectionStatus SELECTED / NOT_SELECTED).

A record = one page (a form page is one document to extract fields from).
target = {key text: [value texts, in Blocks order]} where key text = the key's WORD texts joined
with " " and value text = the value's children in order, a WORD as its Text and a checkbox as its
SelectionStatus, joined with " ". Keys whose value is empty are left out of the target (nothing was
filled in); a key seen several times on a page collects several values (First Name x3, Yes x5...).
Geometry is not part of the target. A page without any non-empty key/value pair would be no record.
"""

import json
import os

here = os.path.dirname(os.path.abspath(__file__))
with open(os.path.join(here, "multi-page-forms-samples-2-page.json"), encoding="utf-8") as f:
    doc = json.load(f)
blocks = doc["Blocks"]
by_id = {b["Id"]: b for b in blocks}


def ids(block, kind):
    return [i for r in block.get("Relationships", []) if r["Type"] == kind for i in r["Ids"]]


def text(block):
    parts = []
    for i in ids(block, "CHILD"):
        child = by_id[i]
        if child["BlockType"] == "WORD":
            parts.append(child["Text"])
        elif child["BlockType"] == "SELECTION_ELEMENT":
            parts.append(child["SelectionStatus"])
    return " ".join(parts)


pages = [b["Page"] for b in blocks if b["BlockType"] == "PAGE"]
targets = {p: {} for p in pages}
for b in blocks:
    if b["BlockType"] != "KEY_VALUE_SET" or "KEY" not in b.get("EntityTypes", []):
        continue
    key = text(b)
    for vid in ids(b, "VALUE"):
        value = text(by_id[vid])
        if key.strip() and value.strip():
            targets[b.get("Page", 1)].setdefault(key, []).append(value)
out = [{"target": targets[p]} for p in pages if targets[p]]
with open(os.path.join(here, "expected.jsonl"), "w", encoding="utf-8") as f:
    for r in out:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(len(out))
