"""Expected records for the UNER Danish-DDT dev sample (.iob2; plain python3, no BrewSLM code).

Format: sentences separated by a blank line; each starts with two comment lines "# sent_id = ..."
and "# text = ..."; every token line has 5 TAB-separated columns:
  index, token, UNER tag (IOB2: PER/LOC/ORG), xner tag (DaN+ nested 2-level tags merged with "#",
  e.g. "B-ORG#B-LOC", "B-LOCderiv#O"), and a constant "s".
The NER annotation of this dataset is column 3 (the UNER layer); column 4 is the DaN+ source layer
kept beside it. text = tokens joined with single spaces, spans = character offsets of the column-3
entities in that text (a stray I- opens an entity). Sentences without entities are kept (spans []).
"""

import json
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
        if tag.startswith("B-") or tag.startswith("I-"):
            start, label = i, tag[2:]
    return spans


seen, out = set(), []
with open(HERE / "da_ddt-ud-dev.iob2", encoding="utf-8", newline="") as f:
    blocks = f.read().split("\n\n")
for block in blocks:
    tokens, tags, text_comment = [], [], None
    for line in block.split("\n"):
        if line.startswith("#"):
            if line.startswith("# text = "):
                text_comment = line[len("# text = ") :]
            continue
        if not line:
            continue
        cols = line.split("\t")
        assert len(cols) == 5, cols
        tokens.append(cols[1])
        tags.append(cols[2])
    if not tokens:
        continue
    text = " ".join(tokens)
    offsets, pos = [], 0
    for t in tokens:
        offsets.append((pos, pos + len(t)))
        pos += len(t) + 1
    spans = [[offsets[s][0], offsets[e - 1][1], lab] for s, e, lab in spans_of(tags)]
    rec = {"text": text, "spans": sorted(spans)}
    key = json.dumps(rec, sort_keys=True, ensure_ascii=False)
    if key not in seen:
        seen.add(key)
        out.append(rec)
with open(HERE / "expected.jsonl", "w", encoding="utf-8") as f:
    for rec in out:
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
print(len(out))
