"""Expected records for the UCI Sentiment Labelled Sentences (IMDb part) sample (plain python3, no BrewSLM code).

Format (readme.txt): one sentence per line, `sentence \t score \n`, no header, no quoting convention.
Every line is split at its LAST tab: text = everything before it, exactly as in the file (the
sentences end in two spaces, kept), label = the score after it ("0" negative / "1" positive,
kept as the raw id: the dataset ships no class-name file). Double quotes are literal characters:
reading the file with CSV quote rules glues lines together (csv.reader makes 39 rows of these 100).
A line is accepted when its text is not blank and its score is "0" or "1".
"""

import json
import os

here = os.path.dirname(os.path.abspath(__file__))
out = []
with open(os.path.join(here, "imdb_labelled.txt"), encoding="utf-8", newline="") as f:
    for line in f.read().split("\n"):
        if not line.strip():
            continue
        text, sep, label = line.rpartition("\t")
        if not sep or not text.strip() or label not in ("0", "1"):
            continue
        out.append({"text": text, "label": label})
with open(os.path.join(here, "expected.jsonl"), "w", encoding="utf-8") as f:
    for r in out:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print(len(out))
