"""Introspection accuracy: does `brewslm data import` (no mapper, no field map) import real public
datasets right?

    python bench/introspection_accuracy.py                 # every folder of bench/introspection_corpus/
    python bench/introspection_accuracy.py --only nq_open  # folders whose name contains a string
    python bench/introspection_accuracy.py --readme        # the table as markdown (for docs/data.md)

Each folder of bench/introspection_corpus/ holds a small sample of a public dataset, its
expected.json (locator, expected mapper, expected rows) and expected.jsonl (the records a correct
import accepts, projected onto a few fields by the folder's own count.py; the format is described in
bench/introspection_corpus/README.md when present). For each folder, in a fresh temporary
BREWSLM_HOME, this script

1. introspects the locator exactly as `brewslm data introspect` does (`brewslm.introspection.introspect`,
   sample of 2000 rows, LLM assist off) and takes the ACCEPTED proposal (confidence >= 0.8), or none;
2. when one was accepted, imports the locator exactly as `brewslm data import --locator ...` does with no
   --mapper and no --field-map (`run_import(ImportSpec(locator=...))`: it introspects again and uses
   the accepted proposal), and reads back every record of every split;
3. projects each record onto the folder's task fields (same rules as count.py) and compares them with
   expected.jsonl as multisets. tool_call records (one per assistant decision) are first grouped back
   into one per source row (``tool_call_rows``), the unit count.py counts.

Scores per dataset: right mapper = a proposal was accepted, at >= 0.8, and it is the expected mapper;
right rows = accepted records == expected rows; silent corruptions = accepted records whose projection
is not in expected.jsonl (a record that the import kept but changed, invented or mis-mapped), with the
first differing field of one of them. A BrewError (or any other exception) is a row with its message,
never a crash. The table is printed and written to bench/out/introspection_accuracy.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import traceback
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from measure import report_result  # noqa: E402

CORPUS = Path(__file__).resolve().parent / "introspection_corpus"
GATE = 0.8
SAMPLE_SIZE = 2000  # `brewslm data introspect`'s default


# --- projection of an imported record (the rules of corpus_spec / count.py) ----------------------


def _answers(record: dict[str, Any]) -> list[Any]:
    answer = record.get("answer")
    answers = [answer] if isinstance(answer, str) and answer != "" else []
    return answers + list(record.get("alternatives") or [])


def _last_user_text(prompt: Any) -> Any:
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, list):
        for message in reversed(prompt):
            if isinstance(message, dict) and message.get("role") == "user":
                return message.get("content")
    return prompt


def _span(span: Any) -> list[Any]:
    if isinstance(span, dict):
        return [span.get("start"), span.get("end"), span.get("label")]
    return list(span)


def project(record: dict[str, Any], task: str) -> dict[str, Any]:
    """The fields expected.jsonl holds for ``task``, read from a canonical record."""
    if task == "classification":
        return {"text": record.get("text"), "label": record.get("label")}
    if task == "language_modeling":
        return {"text": record.get("text")}
    if task == "qa":
        return {"question": record.get("question"), "answers": _answers(record), "context": record.get("context")}
    if task == "rag_qa":
        return {
            "question": record.get("question"),
            "passages": record.get("passages"),
            "answers": _answers(record),
            "is_refusal": record.get("is_refusal"),
        }
    if task == "chat_sft":
        return {"messages": [[m.get("role"), m.get("content")] for m in record.get("messages") or []]}
    if task == "dpo":
        return {
            "prompt": _last_user_text(record.get("prompt")),
            "chosen": record.get("chosen"),
            "rejected": record.get("rejected"),
        }
    if task == "tool_call":
        tools = sorted(str(t.get("name")) for t in record.get("tools") or [] if isinstance(t, dict))
        calls = [[c.get("tool"), c.get("arguments")] for c in record.get("calls") or [] if isinstance(c, dict)]
        return {"tools": tools, "calls": calls}
    if task == "structured_extraction":
        if "spans" in record:
            return {"text": record.get("text"), "spans": sorted((_span(s) for s in record["spans"]), key=repr)}
        return {"target": record.get("target")}
    return {k: v for k, v in record.items() if not k.startswith("_") and k not in ("id", "meta")}


def tool_call_rows(records: list[dict[str, Any]], locator: str, proposal: Any) -> list[dict[str, Any]]:
    """Imported tool_call records grouped back per source row, the unit of expected.jsonl.

    BrewSLM writes one tool_call record per assistant DECISION (a conversation with three calls and
    a final answer gives four records), while the corpus counts one line per source row with all
    of that row's calls in order. Records carry no source-row id, so the source is read again and
    every row mapped with the accepted proposal (the mapper, field map and options the import
    used); a row is one pseudo-record ``{tools, calls: the calls of all its records, in order}``
    when every record it yields is among the imported ones (by content key: a record the import
    de-duplicated counts through its identical twin). Imported records that no row accounts for
    are kept as they are, so they still show as corruptions, never vanish."""
    from brewslm.ingestion.keys import record_key
    from brewslm.mappers import get_mapper
    from brewslm.sources import open_source

    imported = Counter(r.get("_key") for r in records)
    mapper = get_mapper(proposal.mapper_id)
    fields = mapper.canonical_map(proposal.field_map)
    rows: list[dict[str, Any]] = []
    used: set[str] = set()
    for source_row in open_source(locator).records():
        outcome = mapper.apply(source_row, fields, proposal.options)
        if not isinstance(outcome, list) or not outcome:
            continue
        keys = [record_key(r) for r in outcome]
        if not all(imported[k] for k in keys):
            continue  # the import rejected (part of) this row
        used.update(keys)
        rows.append({"tools": outcome[0].get("tools"), "calls": [c for r in outcome for c in r.get("calls") or []]})
    return rows + [r for r in records if r.get("_key") not in used]


def _key(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _sort_spans(record: dict[str, Any]) -> dict[str, Any]:
    if isinstance(record.get("spans"), list):
        record = {**record, "spans": sorted((list(s) for s in record["spans"]), key=repr)}
    return record


def _short(value: Any, width: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= width else text[: width - 3] + "..."


def first_difference(got: Any, want: Any, path: str = "") -> str:
    """The first field where ``got`` and ``want`` differ, as 'path: got != want'."""
    if isinstance(got, dict) and isinstance(want, dict):
        for key in list(want) + [k for k in got if k not in want]:
            if key not in got:
                return f"{path}{key}: missing (want {_short(want[key])})"
            if key not in want:
                return f"{path}{key}: unexpected {_short(got[key])}"
            if got[key] != want[key]:
                return first_difference(got[key], want[key], f"{path}{key}.")
        return ""
    if isinstance(got, list) and isinstance(want, list):
        for i, (g, w) in enumerate(zip(got, want)):
            if g != w:
                return first_difference(g, w, f"{path}{i}.")
        if len(got) != len(want):
            return f"{path.rstrip('.')}: {len(got)} items != {len(want)}"
        return ""
    return f"{path.rstrip('.')}: {_short(got)} != {_short(want)}"


def _closest(got: dict[str, Any], pool: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The expected record that shares the most field values with ``got`` (ties: the first)."""
    best, best_score = None, -1
    for want in pool:
        score = sum(1 for k, v in want.items() if got.get(k) == v)
        if score > best_score:
            best, best_score = want, score
    return best


# --- one dataset ---------------------------------------------------------------------------------


def absolute_locator(locator: str, folder: Path) -> str:
    """``scheme:relative/path?opts`` -> ``scheme:/abs/folder/relative/path?opts``."""
    scheme, _, rest = locator.partition(":")
    path, sep, query = rest.partition("?")
    if not Path(path).is_absolute():
        path = str(folder / path)
    return f"{scheme}:{path}{sep}{query}"


def read_expected(folder: Path) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    spec = json.loads((folder / "expected.json").read_text(encoding="utf-8"))
    rows = [
        json.loads(line)
        for line in (folder / "expected.jsonl").read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]
    return spec, rows


def evaluate(folder: Path) -> dict[str, Any]:
    """Introspect, import and compare one corpus folder in a fresh BREWSLM_HOME."""
    from brewslm.errors import BrewError

    row: dict[str, Any] = {"dataset": folder.name}
    try:
        spec, expected = read_expected(folder)
    except (OSError, ValueError) as exc:
        return {
            **row,
            "error": f"bad corpus folder: {exc}",
            "expected_rows": 0,
            "shapes": [],
            "expected_mapper": "?",
            "accepted_mapper": None,
            "confidence": None,
            "accepted_rows": 0,
            "corruptions": 0,
            "right_mapper": False,
            "right_rows": False,
        }
    row.update(
        shapes=spec.get("shapes", []),
        expected_mapper=spec.get("mapper"),
        task=spec.get("task"),
        expected_rows=spec.get("rows", len(expected)),
        accepted_mapper=None,
        confidence=None,
        best_mapper=None,
        best_confidence=None,
        accepted_rows=0,
        corruptions=0,
        missing=0,
        example=None,
        error=None,
    )
    if spec.get("rows") is not None and spec["rows"] != len(expected):
        row["warning"] = f"expected.json says {spec['rows']} rows, expected.jsonl holds {len(expected)}"
    locator = absolute_locator(spec["locator"], folder)
    previous_home = os.environ.get("BREWSLM_HOME")
    with tempfile.TemporaryDirectory(prefix="brewslm-introspect-bench-") as home:
        os.environ["BREWSLM_HOME"] = home
        try:
            from brewslm.ingestion import ImportSpec, run_import
            from brewslm.introspection import introspect
            from brewslm.storage.datasets import SPLITS, open_dataset

            result = introspect(locator, sample_size=SAMPLE_SIZE, llm_assist=False)
            if result.proposals:
                row["best_mapper"] = result.proposals[0].mapper_id
                row["best_confidence"] = round(result.proposals[0].confidence, 3)
            if result.accepted is not None:
                row["accepted_mapper"] = result.accepted.mapper_id
                row["confidence"] = round(result.accepted.confidence, 3)
                if result.refined_from:
                    row["refined_locator"] = result.locator
                imported = run_import(ImportSpec(locator=locator))
                version = open_dataset(imported.dataset, imported.version)
                task = version.task_profile
                records = [record for split in SPLITS for record in version.iter_records(split)]
                if task == "tool_call":
                    row["records"] = len(records)
                    records = tool_call_rows(records, result.locator, result.accepted)
                row["accepted_rows"] = len(records)
                row["rejected"] = dict(imported.rejected_counts)
                row["duplicates"] = imported.duplicates
                _compare(row, records, task, expected)
            else:
                row["missing"] = len(expected)
        except BrewError as exc:
            row["error"] = f"{type(exc).__name__}: {exc}"
        except Exception as exc:  # noqa: BLE001 - a crash is a result to report, not a reason to stop
            row["error"] = f"crash {type(exc).__name__}: {exc}"
            row["traceback"] = traceback.format_exc(limit=4)
        finally:
            if previous_home is None:
                os.environ.pop("BREWSLM_HOME", None)
            else:
                os.environ["BREWSLM_HOME"] = previous_home
    confidence = row["confidence"]
    row["right_mapper"] = bool(
        row["accepted_mapper"] == row["expected_mapper"] and confidence is not None and confidence >= GATE
    )
    row["right_rows"] = row["accepted_rows"] == row["expected_rows"] and row["error"] is None
    row["reason"] = _reason(row)
    return row


def _compare(row: dict[str, Any], records: list[dict[str, Any]], task: str, expected: list[dict[str, Any]]) -> None:
    pool = Counter(_key(_sort_spans(want)) for want in expected)
    corrupted: list[dict[str, Any]] = []
    for record in records:
        try:
            got = _sort_spans(project(record, task))
        except Exception as exc:  # noqa: BLE001 - a record of an unexpected shape is a corruption
            got = {"unprojectable": f"{type(exc).__name__}: {exc}"}
        key = _key(got)
        if pool[key] > 0:
            pool[key] -= 1
        else:
            corrupted.append(got)
    row["corruptions"] = len(corrupted)
    row["missing"] = sum(pool.values())
    if corrupted:
        unmatched = [json.loads(k) for k, n in pool.items() for _ in range(n)] or expected
        got = corrupted[0]
        want = _closest(got, unmatched)
        row["example"] = first_difference(got, want) if want is not None else f"no expected record: {_short(got)}"


def _reason(row: dict[str, Any]) -> str:
    """One line on what went wrong, empty when the dataset is right on all three counts."""
    if row.get("error"):
        return row["error"].splitlines()[0][:160]
    parts = []
    if row["accepted_mapper"] is None:
        best = row.get("best_mapper")
        parts.append(
            f"nothing accepted (best: {best} {row['best_confidence']:.2f})"
            if best
            else "nothing accepted (no proposal)"
        )
    elif row["accepted_mapper"] != row["expected_mapper"]:
        parts.append(f"accepted {row['accepted_mapper']}, not {row['expected_mapper']}")
    if row["accepted_mapper"] is not None and row["accepted_rows"] != row["expected_rows"]:
        rejected = ", ".join(f"{k} {v}" for k, v in (row.get("rejected") or {}).items())
        parts.append(
            f"{row['accepted_rows']} rows, want {row['expected_rows']}"
            + (f" (rejected: {rejected})" if rejected else "")
        )
    if row["corruptions"]:
        parts.append(f"{row['corruptions']} changed: {row['example']}")
    return "; ".join(parts)[:200]


# --- table ---------------------------------------------------------------------------------------


def _mapper_cell(row: dict[str, Any]) -> str:
    if row["accepted_mapper"] is None:
        return "-"
    return f"{row['accepted_mapper']} {row['confidence']:.2f}"


def totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(rows)
    return {
        "datasets": n,
        "right_mapper": sum(r["right_mapper"] for r in rows),
        "right_rows": sum(r["right_rows"] for r in rows),
        "corruptions": sum(r["corruptions"] for r in rows),
        "datasets_with_corruptions": sum(1 for r in rows if r["corruptions"]),
        "errors": sum(1 for r in rows if r.get("error")),
    }


def text_table(rows: list[dict[str, Any]], tot: dict[str, Any]) -> str:
    header = ("dataset", "shapes", "expected mapper", "accepted (conf)", "rows acc/exp", "corrupt", "why wrong")
    body = [
        (
            r["dataset"],
            ",".join(r["shapes"]),
            r["expected_mapper"],
            _mapper_cell(r),
            f"{r['accepted_rows']}/{r['expected_rows']}",
            str(r["corruptions"]),
            r["reason"],
        )
        for r in rows
    ]
    widths = [max(len(header[i]), *(len(b[i]) for b in body)) if body else len(header[i]) for i in range(6)]
    widths = [min(w, 48) for w in widths]

    def line(cells: tuple[str, ...]) -> str:
        fixed = [c if len(c) <= widths[i] else c[: widths[i] - 1] + "~" for i, c in enumerate(cells[:6])]
        return "  ".join(c.ljust(widths[i]) for i, c in enumerate(fixed)) + "  " + cells[6]

    lines = [line(header), line(tuple("-" * w for w in widths) + ("-" * 9,))]
    lines += [line(b) for b in body]
    n = tot["datasets"]
    lines += [
        "",
        f"right mapper (accepted at >= {GATE}): {tot['right_mapper']}/{n}   "
        f"right rows: {tot['right_rows']}/{n}   silent corruptions: {tot['corruptions']} "
        f"(in {tot['datasets_with_corruptions']} datasets)   errors: {tot['errors']}",
    ]
    return "\n".join(lines)


def _md(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_table(rows: list[dict[str, Any]], tot: dict[str, Any]) -> str:
    lines = [
        "| dataset | shapes | expected mapper | accepted (confidence) | rows accepted / expected | "
        "corruptions | why wrong |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            "| "
            + " | ".join(
                _md(c)
                for c in (
                    r["dataset"],
                    ", ".join(r["shapes"]),
                    r["expected_mapper"],
                    _mapper_cell(r),
                    f"{r['accepted_rows']} / {r['expected_rows']}",
                    str(r["corruptions"]),
                    r["reason"],
                )
            )
            + " |"
        )
    n = tot["datasets"]
    lines += [
        "",
        f"Right mapper accepted at >= {GATE}: **{tot['right_mapper']}/{n}**; right row count: "
        f"**{tot['right_rows']}/{n}**; silent corruptions: **{tot['corruptions']}** "
        f"(in {tot['datasets_with_corruptions']} datasets); errors: {tot['errors']}.",
    ]
    return "\n".join(lines)


def corpus_folders(only: list[str]) -> list[Path]:
    folders = sorted(p for p in CORPUS.iterdir() if p.is_dir() and (p / "expected.json").exists())
    if only:
        folders = [p for p in folders if any(s in p.name for s in only)]
    return folders


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="TEXT",
        help="only the corpus folders whose name contains TEXT (repeatable)",
    )
    parser.add_argument("--readme", action="store_true", help="print the table as markdown")
    args = parser.parse_args(argv)

    folders = corpus_folders(args.only)
    if not folders:
        print(f"no corpus folder with an expected.json under {CORPUS}", file=sys.stderr)
        return 1
    rows = []
    for folder in folders:
        print(f"{folder.name} ...", file=sys.stderr, flush=True)
        rows.append(evaluate(folder))
    tot = totals(rows)
    table = markdown_table(rows, tot) if args.readme else text_table(rows, tot)
    report_result("introspection_accuracy", {"totals": tot, "gate": GATE, "datasets": rows}, table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
