"""Expected records for the KLUE-NER sample: character-level BIO in a .tsv. Lines starting with "##"
are comments (5 file-header lines, then one "## <id>\\t<sentence with <entity:TAG> markup>" line per
sentence); every other line is "<char>\\t<tag>" (the space character is a token of its own, " \\tO");
sentences are separated by a blank line.

The tokens are characters, so the text is the tokens joined with NO separator (bio_to_spans with
joiner ""): that rebuilds the sentence of the ## line without its markup (checked below)."""

import json
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent


def spans_of(tags):
    spans, start, label = [], None, None
    for i, tag in enumerate(tags + ["O"]):
        if tag.startswith("I-") and start is not None and tag[2:] == label:
            continue
        if start is not None:
            spans.append([start, i, label])
            start = label = None
        if tag.startswith("B-") or tag.startswith("I-"):  # IOB2; a stray I- would open an entity
            start, label = i, tag[2:]
    return spans


seen, out = set(), []
with open(HERE / "klue-ner-v1.1_dev.tsv", encoding="utf-8", newline="") as f:
    blocks = f.read().split("\n\n")
for block in blocks:
    chars, tags, marked = [], [], None
    for line in block.split("\n"):
        if line.startswith("##"):
            if "\t" in line:
                marked = line.split("\t", 1)[1]
            continue
        if not line:
            continue
        char, tag = line.split("\t")
        chars.append(char)
        tags.append(tag)
    if not chars:
        continue
    text = "".join(chars)
    assert marked is None or re.sub(r"<([^<>]+?):[A-Z]{2}>", r"\1", marked) == text, (text, marked)
    # offsets: one character per token, so token index == character offset
    rec = {"text": text, "spans": sorted(spans_of(tags))}
    if not text.strip():
        continue
    key = json.dumps(rec, sort_keys=True, ensure_ascii=False)
    if key not in seen:
        seen.add(key)
        out.append(rec)
with open(HERE / "expected.jsonl", "w", encoding="utf-8") as f:
    for rec in out:
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
print(len(out))
