"""Expected records for the Europeana Newspapers French NER sample: one "<token> <tag>" pair per line,
space-separated, IOB1 tags (I-PER, I-LOC, I-ORG; an entity starts with I-, B- would only separate two
adjacent entities of one type), and NO blank lines: the file has no sentence or document separator,
so the whole sample is one token sequence, i.e. one record.

text = tokens joined with single spaces; spans = IOB1 entities as [start, end, type] offsets."""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
sequences, tokens, tags = [], [], []
with open(HERE / "enp_FR.bnf.bio", encoding="utf-8", newline="") as f:
    for line in f:
        line = line.rstrip("\r\n")
        if not line.strip():
            if tokens:
                sequences.append((tokens, tags))
            tokens, tags = [], []
            continue
        token, tag = line.rsplit(" ", 1)
        tokens.append(token)
        tags.append(tag)
if tokens:
    sequences.append((tokens, tags))

out = []
for tokens, tags in sequences:
    starts, pos = [], 0
    for t in tokens:
        starts.append(pos)
        pos += len(t) + 1
    text = " ".join(tokens)
    spans, cur = [], None  # cur = [first token, last token, type]
    for i, tag in enumerate(tags):
        kind = tag[2:] if tag != "O" else None
        if kind is not None and cur is not None and cur[2] == kind and not tag.startswith("B-"):
            cur[1] = i
            continue
        if cur is not None:
            spans.append(cur)
            cur = None
        if kind is not None:
            cur = [i, i, kind]
    if cur is not None:
        spans.append(cur)
    spans = [[starts[a], starts[b] + len(tokens[b]), kind] for a, b, kind in spans]
    if text.strip():
        out.append({"text": text, "spans": sorted(spans)})
with open(HERE / "expected.jsonl", "w", encoding="utf-8") as f:
    for rec in out:
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
print(len(out))
