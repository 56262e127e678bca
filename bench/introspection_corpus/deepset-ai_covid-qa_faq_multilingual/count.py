"""Expected records for the COVID-QA scraped FAQ sample (TSV; plain python3, no BrewSLM code).

faq_200327.tsv: a header row, then one FAQ entry per record, 12 TAB-separated columns: question,
answer (plain text), answer_html (the same answer as scraped HTML), link, name, source, category,
country, region, city, lang, last_update. Fields holding tabs/quotes/newlines use CSV quoting (a field
opened by '"', inner quotes doubled), so a record can span several lines: read with
csv.reader(delimiter="\\t"), as pandas.read_csv(sep="\\t") does.
qa projection: question = question, answers = [answer] (the plain-text answer, not the HTML one),
context = None (an FAQ has no passage). Rejected: an empty question or answer (none); identical
records collapse (none).
"""

import csv
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
seen, out = set(), []
with open(HERE / "faq_200327.tsv", encoding="utf-8", newline="") as f:
    rows = csv.reader(f, delimiter="\t")
    header = next(rows)
    q, a = header.index("question"), header.index("answer")
    for row in rows:
        if not row[q].strip() or not row[a].strip():
            continue
        rec = {"question": row[q], "answers": [row[a]], "context": None}
        key = json.dumps(rec, sort_keys=True, ensure_ascii=False)
        if key not in seen:
            seen.add(key)
            out.append(rec)
with open(HERE / "expected.jsonl", "w", encoding="utf-8") as f:
    for rec in out:
        f.write(json.dumps(rec, ensure_ascii=False) + "\n")
print(len(out))
