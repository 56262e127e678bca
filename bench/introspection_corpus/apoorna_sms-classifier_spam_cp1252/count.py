"""Expected records for the SMS spam sample in Windows-1252 (plain python3, no BrewSLM code).

The file is NOT UTF-8: it is the Kaggle copy of the SMS Spam Collection, single-byte encoded.
Bytes 0x80-0x9F occur (0x89 in row 22), which are printable only in Windows-1252 ('‰'), so the file
is decoded as cp1252 (latin-1 would turn them into C1 control characters). The pound sign appears
as the historical mojibake "å£" (bytes E5 A3) and is kept exactly as decoded.
Header: label,Text,lable_num ; lable_num is a 0/1 copy of label (not a second label, not text).
Kept: a row with a non-empty Text and a label. Projection: {"text": Text, "label": label}.
"""

import csv
import json
import os

here = os.path.dirname(os.path.abspath(__file__))
out = []
with open(os.path.join(here, "spam.csv"), encoding="cp1252", newline="") as f:
    for row in csv.DictReader(f):
        text, label = row.get("Text"), row.get("label")
        if text and text.strip() and label and label.strip():
            out.append({"text": text, "label": label})
with open(os.path.join(here, "expected.jsonl"), "w", encoding="utf-8") as f:
    for r in out:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(len(out))
