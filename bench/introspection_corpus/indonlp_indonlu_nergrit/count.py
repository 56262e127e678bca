"""Expected records for the NERGrit sample: CoNLL-style token<TAB>tag lines, a blank line between
sentences, in a file with a .txt extension. text = tokens joined with single spaces; spans are
character offsets into that text, decoded from the BIO tags (B-X starts a span, I-X continues a
span of the same type; an I-X with no open span of type X starts one)."""

import json
from pathlib import Path

HERE = Path(__file__).resolve().parent


def sentences(path):
    toks = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.rstrip("\r\n")
            if not line.strip():
                if toks:
                    yield toks
                toks = []
                continue
            token, tag = line.split("\t")
            toks.append((token, tag))
    if toks:
        yield toks


def to_record(toks):
    text, spans, pos = "", [], 0
    open_span = None
    for i, (token, tag) in enumerate(toks):
        if i:
            text += " "
            pos += 1
        start, end = pos, pos + len(token)
        text += token
        pos = end
        if tag == "O":
            open_span = None
            continue
        prefix, label = tag.split("-", 1)
        if prefix == "I" and open_span is not None and open_span[2] == label:
            open_span[1] = end
        else:
            open_span = [start, end, label]
            spans.append(open_span)
    return {"text": text, "spans": sorted(spans)}


seen, out = set(), []
for toks in sentences(HERE / "train_preprocess.txt"):
    rec = to_record(toks)
    key = json.dumps(rec, sort_keys=True, ensure_ascii=False)
    if key not in seen:
        seen.add(key)
        out.append(rec)
with open(HERE / "expected.jsonl", "w", encoding="utf-8") as f:
    for rec in out:
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
print(len(out))
