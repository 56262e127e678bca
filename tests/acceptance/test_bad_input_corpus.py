"""Issue 14 acceptance: a corpus of malformed inputs across jsonl/csv/json/conll/parquet/file, each
run through the real CLI (``python -m brewslm``, one import per subprocess) into a dataset that
already has a good version. Every case ends either with exit 0 and the bad rows counted by reason
(``rejected.jsonl`` strict JSON, one line per rejected row), or exit 2 with one ``error:`` line;
never a traceback; and every version written before is byte-identical afterwards."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

DATASET = "corpus"
REVIEWS = [
    ("The battery lasts all week and charging is quick.", "positive"),
    ("It stopped working after two days; support never answered.", "negative"),
    ("Great screen, sharp colours, and a keyboard I enjoy typing on.", "positive"),
    ("The strap broke on the first walk and the buckle is flimsy.", "negative"),
]
TOKENS = [("John", "B-PER"), ("lives", "O"), ("in", "O"), ("New", "B-LOC"), ("York", "I-LOC"), (".", "O")]


def reviews(n: int = 40) -> list[dict]:
    return [{"text": f"{REVIEWS[i % 4][0]} (order {i})", "label": REVIEWS[i % 4][1]} for i in range(n)]


def jsonl(rows: list[dict]) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in rows)


def csv_text(rows: list[dict], delimiter: str = ",") -> str:
    return "text,label\n".replace(",", delimiter) + "".join(f'"{r["text"]}"{delimiter}{r["label"]}\n' for r in rows)


def conll_text(sentences: int = 20) -> str:
    out = ["-DOCSTART- -X- O O", ""]
    for i in range(sentences):
        out += [f"{tok}{i if tok == 'John' else ''}\t{tag}" for tok, tag in TOKENS] + [""]
    return "\n".join(out) + "\n"


def parquet_bytes(table: pa.Table) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    return sink.getvalue()


GOOD_JSONL = jsonl(reviews())
GOOD_PARQUET = parquet_bytes(pa.Table.from_pylist(reviews()))
DEEP = '{"a":' * 10_000 + "1" + "}" * 10_000
HUGE = "9" * 5000


@dataclass
class Case:
    id: str
    name: str  # file written into the case folder (may be empty: no file)
    data: bytes | Callable[[Path], None] | None
    locator: str  # {p} is the file's path, {d} the case folder
    code: int
    expect: tuple[str, ...] = ()  # exit 2: words in the error line; exit 0: rejection reasons present
    command: str = "import"
    extra: tuple[str, ...] = field(default=())


def symlink_loop(d: Path) -> None:
    os.symlink(d / "b.jsonl", d / "a.jsonl")
    os.symlink(d / "a.jsonl", d / "b.jsonl")


def dangling(d: Path) -> None:
    os.symlink(d / "gone.jsonl", d / "link.jsonl")


def directory(d: Path) -> None:
    (d / "folder.jsonl").mkdir()


def cut(data: bytes, keep: float) -> bytes:
    return data[: int(len(data) * keep)]


J = "jsonl:{p}"
CASES = [
    # --- JSON lines: bad rows are rejected alone -------------------------------------------------
    Case("jsonl-truncated-last-line", "a.jsonl", GOOD_JSONL + b'{"text": "half a rev', J, 0, ("parse_error",)),
    Case(
        "jsonl-huge-int",
        "a.jsonl",
        GOOD_JSONL + f'{{"text": "big", "label": "positive", "n": {HUGE}}}\n'.encode(),
        J,
        0,
        ("parse_error",),
    ),
    Case(
        "jsonl-huge-int-first-line",
        "a.jsonl",
        f'{{"text": "x", "label": "positive", "n": {HUGE}}}\n'.encode() + GOOD_JSONL,
        J,
        0,
        ("parse_error",),
    ),
    Case("jsonl-deep-10000", "a.jsonl", GOOD_JSONL + DEEP.encode() + b"\n", J, 0, ("too_deep",)),
    Case(
        "jsonl-deep-field-500",
        "a.jsonl",
        GOOD_JSONL + b'{"text": "t", "label": "positive", "m": ' + b"[" * 500 + b"]" * 500 + b"}\n",
        J,
        0,
        ("too_deep",),
    ),
    Case("jsonl-nan-in-text", "a.jsonl", GOOD_JSONL + b'{"text": NaN, "label": "positive"}\n', J, 0, ("wrong_type",)),
    Case(
        "jsonl-infinity-in-label",
        "a.jsonl",
        GOOD_JSONL + b'{"text": "inf", "label": Infinity}\n',
        J,
        0,
        (),
        "import",
        ("--mapper", "label_to_classification", "--field-map", "text=text", "label=label"),
    ),
    Case(
        "jsonl-nan-in-extra-field",
        "a.jsonl",
        GOOD_JSONL + b'{"text": "x y z", "label": "positive", "score": NaN}\n',
        J,
        0,
        (),
    ),
    Case(
        "jsonl-invalid-utf8",
        "a.jsonl",
        GOOD_JSONL
        + '{"text": "déjà vu", "label": "positive"}\n'.encode()
        + b'{"text": "caf\xe9", "label": "positive"}\n',
        J,
        0,
        ("parse_error",),
    ),
    Case(
        "jsonl-cp1252", "a.jsonl", GOOD_JSONL.decode().replace("quick", "rápido, très bien").encode("cp1252"), J, 0, ()
    ),
    Case("jsonl-bom", "a.jsonl", b"\xef\xbb\xbf" + GOOD_JSONL, J, 0, ()),
    Case(
        "jsonl-nul-in-line",
        "a.jsonl",
        GOOD_JSONL + b'{"text": "a\x00b", "label": "positive"}\n',
        J,
        0,
        ("parse_error",),
    ),
    Case("jsonl-crlf", "a.jsonl", GOOD_JSONL.replace(b"\n", b"\r\n"), J, 0, ()),
    Case("jsonl-non-object-lines", "a.jsonl", GOOD_JSONL + b'[1, 2]\n"text"\n42\nnull\n', J, 0, ("parse_error",)),
    Case(
        "jsonl-mixed-types",
        "a.jsonl",
        GOOD_JSONL + b'{"text": ["a"], "label": "positive"}\n{"text": "ok then", "label": {"x": 1}}\n',
        J,
        0,
        ("wrong_type",),
    ),
    Case(
        "jsonl-duplicate-keys",
        "a.jsonl",
        GOOD_JSONL + b'{"text": "first", "text": "second one", "label": "positive"}\n',
        J,
        0,
        (),
    ),
    Case(
        "jsonl-overlong-line",
        "a.jsonl",
        GOOD_JSONL + b'{"text": "' + b"x" * 5000 + b'", "label": "positive"}\n',
        J + "?max_record_bytes=1000",
        0,
        ("parse_error",),
    ),
    Case("jsonl-empty-file", "a.jsonl", b"", J, 2, ("no rows",)),
    Case("jsonl-only-blank-lines", "a.jsonl", b"\n\n  \n", J, 2, ("no rows",)),
    Case("jsonl-only-scalars", "a.jsonl", b"1\n2\n3\n", J, 2, ("could be parsed",)),
    Case("jsonl-all-garbage-lines", "a.jsonl", b"{oops\n{also bad\n", J, 2, ("could be parsed",)),
    Case("jsonl-pretty-printed", "a.jsonl", json.dumps(reviews(), indent=2).encode(), J, 2, ("json:",)),
    Case("jsonl-utf16", "a.jsonl", GOOD_JSONL.decode().encode("utf-16"), J, 0, ()),
    Case("jsonl-binary", "a.jsonl", bytes(range(256)) * 64, J, 2, ("binary",)),
    Case("jsonl-gzip-truncated", "a.jsonl.gz", cut(gzip.compress(GOOD_JSONL * 20), 0.6), J, 2, ("truncated",)),
    Case("jsonl-bz2-corrupt", "a.jsonl.bz2", bz2.compress(GOOD_JSONL)[:20] + b"\x00" * 200, J, 2, ("a.jsonl.bz2",)),
    Case("jsonl-empty-locator", "", None, "jsonl:", 2, ("names nothing after 'jsonl:'",)),
    Case("jsonl-missing-file", "", None, "jsonl:{d}/nowhere.jsonl", 2, ("file not found", "nowhere.jsonl")),
    Case("jsonl-directory", "", directory, "jsonl:{d}/folder.jsonl", 2, ("is a directory",)),
    Case("jsonl-symlink-loop", "", symlink_loop, "jsonl:{d}/a.jsonl", 2, ("symbolic link loop",)),
    Case("jsonl-dangling-symlink", "", dangling, "jsonl:{d}/link.jsonl", 2, ("which does not exist",)),
    Case("jsonl-unknown-option", "a.jsonl", GOOD_JSONL, J + "?colour=red", 2, ("unknown option 'colour'",)),
    Case("jsonl-bad-option-value", "a.jsonl", GOOD_JSONL, J + "?max_record_bytes=lots", 2, ("not a whole number",)),
    Case(
        "introspect-jsonl-huge-int",
        "a.jsonl",
        GOOD_JSONL + f'{{"text": "big", "n": {HUGE}}}\n'.encode(),
        J,
        0,
        (),
        "introspect",
    ),
    Case("introspect-jsonl-deep", "a.jsonl", GOOD_JSONL + DEEP.encode() + b"\n", J, 0, (), "introspect"),
    # --- CSV ------------------------------------------------------------------------------------
    Case(
        "csv-ragged-rows",
        "a.csv",
        (csv_text(reviews()) + 'only one cell\n"x",positive,extra\n').encode(),
        "csv:{p}",
        0,
        ("parse_error",),
    ),
    Case(
        "csv-unterminated-quote",
        "a.csv",
        (csv_text(reviews()) + '"never closed,positive\n').encode(),
        "csv:{p}",
        0,
        ("parse_error",),
    ),
    Case(
        "csv-quote-inside-field",
        "a.csv",
        (csv_text(reviews()) + '"quoted" then more,positive\n').encode(),
        "csv:{p}",
        0,
        ("parse_error",),
    ),
    Case("csv-only-header", "a.csv", b"text,label\n", "csv:{p}", 2, ("no rows",)),
    Case("csv-only-header-and-blank-lines", "a.csv", b"text,label\n\n\n", "csv:{p}", 2, ("no rows",)),
    Case("csv-empty", "a.csv", b"", "csv:{p}", 2, ("no rows",)),
    Case("csv-latin1", "a.csv", csv_text(reviews()).replace("quick", "rápido").encode("latin-1"), "csv:{p}", 0, ()),
    Case(
        "csv-late-invalid-byte",
        "a.csv",
        csv_text(reviews(900)).replace("quick", "quick à").encode() + b'"caf\xe9 au lait",positive\n',
        "csv:{p}",
        0,
        ("parse_error",),
    ),
    Case("csv-utf8-bom", "a.csv", b"\xef\xbb\xbf" + csv_text(reviews()).encode(), "csv:{p}", 0, ()),
    Case("csv-utf16-bom", "a.csv", csv_text(reviews()).encode("utf-16"), "csv:{p}", 0, ()),
    Case("csv-nul-in-cell", "a.csv", (csv_text(reviews()) + '"nul\x00here",positive\n').encode(), "csv:{p}", 0, ()),
    Case("csv-binary", "a.csv", bytes(range(256)) * 64, "csv:{p}", 2, ("binary",)),
    Case("csv-wrong-delimiter", "a.csv", csv_text(reviews()).encode(), "csv:{p}?delimiter=;", 2, ()),
    Case(
        "csv-bad-delimiter-option", "a.csv", csv_text(reviews()).encode(), "csv:{p}?delimiter=ab", 2, ("one character",)
    ),
    Case(
        "csv-unknown-encoding",
        "a.csv",
        csv_text(reviews()).encode(),
        "csv:{p}?encoding=martian",
        2,
        ("unknown encoding",),
    ),
    Case("csv-huge-number-cell", "a.csv", (csv_text(reviews()) + f'"{HUGE}",positive\n').encode(), "csv:{p}", 0, ()),
    Case(
        "csv-duplicate-header",
        "a.csv",
        csv_text(reviews())
        .replace("text,label", "text,label,label")
        .replace("\n", ",x\n")
        .replace("text,label,label,x", "text,label,label")
        .encode(),
        "csv:{p}",
        0,
        (),
    ),
    Case(
        "tsv-missing-tabs",
        "a.tsv",
        csv_text(reviews(), "\t").encode() + b"no tab on this line\n",
        "csv:{p}",
        0,
        ("parse_error",),
    ),
    # --- JSON documents -------------------------------------------------------------------------
    Case("json-truncated", "a.json", cut(json.dumps(reviews()).encode(), 0.7), "json:{p}", 2, ("not valid JSON",)),
    Case(
        "json-trailing-garbage",
        "a.json",
        json.dumps(reviews()).encode() + b" trailing",
        "json:{p}",
        2,
        ("not valid JSON",),
    ),
    Case("json-top-level-number", "a.json", b"42", "json:{p}", 2, ("holds a number",)),
    Case("json-top-level-string", "a.json", b'"just text"', "json:{p}", 2, ("holds a string",)),
    Case("json-empty", "a.json", b"", "json:{p}", 2, ("no rows",)),
    Case("json-empty-array", "a.json", b"[]", "json:{p}", 2, ("no rows",)),
    Case(
        "json-deep-record",
        "a.json",
        ("[" + json.dumps(reviews())[1:-1] + ', {"text": "t", "label": "positive", "m": ' + DEEP + "}]").encode(),
        "json:{p}",
        0,
        ("too_deep",),
    ),
    Case(
        "json-deep-first-record",
        "a.json",
        ('[{"text": "t", "label": "positive", "m": ' + DEEP + "}, " + json.dumps(reviews())[1:]).encode(),
        "json:{p}",
        0,
        ("too_deep",),
    ),
    Case(
        "json-int-past-64-bits",
        "a.json",
        (
            "[" + json.dumps(reviews())[1:-1] + ', {"text": "big id", "label": "positive", "id": ' + "9" * 30 + "}]"
        ).encode(),
        "json:{p}",
        0,
        (),
    ),
    Case(
        "json-huge-int",
        "a.json",
        ("[" + json.dumps(reviews())[1:-1] + ', {"text": "t", "label": "positive", "n": ' + HUGE + "}]").encode(),
        "json:{p}",
        2,
        ("more than 4300 digits",),
    ),
    Case(
        "json-nan-token",
        "a.json",
        ("[" + json.dumps(reviews())[1:-1] + ', {"text": NaN, "label": "positive"}]').encode(),
        "json:{p}",
        2,
        ("not valid JSON",),
    ),
    Case(
        "json-missing-path",
        "a.json",
        json.dumps({"data": reviews()}).encode(),
        "json:{p}?path=rows",
        2,
        ("no value at path 'rows'",),
    ),
    Case(
        "json-object-without-arrays", "a.json", b'{"version": "1", "count": 2}', "json:{p}", 2, ("without any array",)
    ),
    Case("json-mixed-items", "a.json", json.dumps(reviews() + [42, ["a", "b"], None]).encode(), "json:{p}", 0, ()),
    Case("json-bom", "a.json", b"\xef\xbb\xbf" + json.dumps(reviews()).encode(), "json:{p}", 0, ()),
    Case(
        "json-duplicate-keys",
        "a.json",
        b'[{"text": "first", "text": "second one", "label": "positive"}, ' + json.dumps(reviews())[1:].encode(),
        "json:{p}",
        0,
        (),
    ),
    Case(
        "json-explode-missing-field",
        "a.json",
        json.dumps(reviews()).encode(),
        "json:{p}?explode=items",
        2,
        ("could be parsed",),
    ),
    # --- CoNLL ----------------------------------------------------------------------------------
    Case(
        "conll-missing-tag-column", "a.conll", (conll_text() + "Paris\n\n").encode(), "conll:{p}", 0, ("parse_error",)
    ),
    Case(
        "conll-empty-tag", "a.conll", (conll_text() + "Paris\t\nis\tO\n\n").encode(), "conll:{p}", 0, ("parse_error",)
    ),
    Case(
        "conll-invalid-utf8",
        "a.conll",
        conll_text().replace("lives", "vit à").encode() + b"caf\xe9\tO\n\n",
        "conll:{p}",
        0,
        ("parse_error",),
    ),
    Case(
        "conll-blank-docs-only",
        "a.conll",
        b"-DOCSTART- -X- O O\n\n\n-DOCSTART- -X- O O\n\n",
        "conll:{p}",
        2,
        ("no rows",),
    ),
    Case("conll-empty", "a.conll", b"", "conll:{p}", 2, ("no rows",)),
    Case("conll-binary", "a.conll", bytes(range(256)) * 64, "conll:{p}", 2, ("binary",)),
    Case(
        "conll-overlong-sentence",
        "a.conll",
        (conll_text() + "word\tO\n" * 400).encode(),
        "conll:{p}?max_record_bytes=1000",
        0,
        ("parse_error",),
    ),
    # --- Parquet --------------------------------------------------------------------------------
    Case(
        "parquet-corrupt",
        "a.parquet",
        b"PAR1" + os.urandom(2000) + b"PAR1",
        "parquet:{p}",
        2,
        ("not a readable Parquet file",),
    ),
    Case("parquet-truncated", "a.parquet", cut(GOOD_PARQUET, 0.5), "parquet:{p}", 2, ("not a readable Parquet file",)),
    Case("parquet-empty-file", "a.parquet", b"", "parquet:{p}", 2, ("no rows",)),
    Case(
        "parquet-zero-rows",
        "a.parquet",
        parquet_bytes(pa.table({"text": pa.array([], pa.string()), "label": pa.array([], pa.string())})),
        "parquet:{p}",
        2,
        ("no rows",),
    ),
    Case(
        "parquet-wrong-schema",
        "a.parquet",
        parquet_bytes(pa.table({"a": list(range(40)), "b": [1.5] * 40})),
        "parquet:{p}",
        2,
        ("no mapper fits",),
    ),
    Case(
        "parquet-missing-column",
        "a.parquet",
        GOOD_PARQUET,
        "parquet:{p}?columns=text,nope",
        2,
        ("has no column 'nope'",),
    ),
    Case(
        "parquet-nan-and-null-cells",
        "a.parquet",
        parquet_bytes(
            pa.Table.from_pylist(
                reviews() + [{"text": None, "label": "positive"}],
            ).append_column("score", pa.array([float("nan")] * 41))
        ),
        "parquet:{p}",
        0,
        (),
    ),
    Case("parquet-is-actually-jsonl", "a.parquet", GOOD_JSONL, "parquet:{p}", 2, ("not a readable Parquet file",)),
    # --- file: and locators ---------------------------------------------------------------------
    Case("file-jsonl-in-txt", "a.txt", GOOD_JSONL, "file:{p}", 0, ()),
    Case("file-unknown-binary", "a.dat", bytes(range(256)) * 64, "file:{p}", 2, ("cannot tell the format",)),
    Case(
        "file-compressed-parquet",
        "a.parquet.gz",
        gzip.compress(GOOD_PARQUET),
        "file:{p}",
        2,
        ("cannot tell the format",),
    ),
    Case("file-missing", "", None, "file:{d}/nowhere.csv", 2, ("file not found",)),
    Case("file-symlink-loop", "", symlink_loop, "file:{d}/a.jsonl", 2, ("symbolic link loop",)),
    Case("file-directory", "", directory, "file:{d}/folder.jsonl", 2, ("is a directory",)),
    Case(
        "file-jsonl-with-bad-rows",
        "a.jsonl",
        GOOD_JSONL + DEEP.encode() + b"\n{bad\n",
        "file:{p}",
        0,
        ("too_deep", "parse_error"),
    ),
    Case("unknown-scheme", "", None, "ftp:{d}/a.jsonl", 2, ("unknown source 'ftp'",)),
    Case("no-scheme", "", None, "{d}/a.jsonl", 2, ("no '<scheme>:' prefix",)),
]


def test_the_corpus_is_large_and_covers_every_connector():
    assert len(CASES) >= 60 and len({c.id for c in CASES}) == len(CASES)
    for family in ("jsonl", "csv", "json", "conll", "parquet", "file"):
        assert sum(c.id.startswith(family + "-") for c in CASES) >= 5 or family == "file"


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    root = tmp_path_factory.mktemp("corpus")
    env = {**os.environ, "BREWSLM_HOME": str(root / "home"), "BREWSLM_CACHE_DIR": str(root / "cache")}
    env.pop("BREWSLM_DATABASE_URL", None)
    env.pop("DATASET_IMPORT_LLM_ASSIST_ENABLED", None)

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "brewslm", *args], env=env, capture_output=True, text=True, timeout=180
        )

    good = root / "good.jsonl"
    good.write_bytes(GOOD_JSONL)
    first = run("data", "import", "--locator", f"jsonl:{good}", "--dataset", DATASET, "--json")
    assert first.returncode == 0, first.stderr
    run.root = root  # type: ignore[attr-defined]
    run.datasets = root / "home" / "datasets" / DATASET  # type: ignore[attr-defined]
    return run


def version_files(folder: Path) -> dict[str, str]:
    """sha256 of every file of every published version (and of CURRENT)."""
    out = {}
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if path.is_file() and (rel.parts[0].startswith("v") or rel.name == "CURRENT"):
            out[str(rel)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def strict_json(line: str):
    def refuse(token: str):
        raise AssertionError(f"non-standard JSON token {token} in rejected.jsonl")

    return json.loads(line, parse_constant=refuse)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_malformed_input(cli, case: Case):
    folder = cli.root / "cases" / case.id
    folder.mkdir(parents=True)
    path = folder / case.name if case.name else folder
    if callable(case.data):
        case.data(folder)
    elif case.data is not None:
        path.write_bytes(case.data)
    locator = case.locator.format(p=path, d=folder)
    before = version_files(cli.datasets)
    assert any(name.startswith("v1") for name in before)

    if case.command == "introspect":
        proc = cli("data", "introspect", "--locator", locator)
    else:
        proc = cli(
            "data", "import", "--locator", locator, "--dataset", DATASET, "--mode", "replace", "--json", *case.extra
        )
    output = proc.stdout + proc.stderr
    assert "Traceback" not in output, output[-3000:]
    assert proc.returncode == case.code, (proc.returncode, proc.stdout[-2000:], proc.stderr[-2000:])

    after = version_files(cli.datasets)
    changed = [name for name, digest in before.items() if after.get(name) != digest and name != "CURRENT"]
    assert not changed, f"earlier versions changed: {changed}"

    if case.code == 2:
        lines = [line for line in proc.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
        for words in case.expect:
            assert words in lines[0], lines[0]
        assert after.get("CURRENT") == before.get("CURRENT")
        return
    if case.command == "introspect":
        assert "unparseable" in proc.stdout or case.expect == (), proc.stdout
        return
    result = json.loads(proc.stdout)
    assert result["accepted"] > 0
    for reason in case.expect:
        assert result["rejected_counts"].get(reason), result["rejected_counts"]
    rejected = Path(result["path"]) / "rejected.jsonl"
    entries = [strict_json(line) for line in rejected.read_text(encoding="utf-8").splitlines()]
    assert len(entries) == sum(result["rejected_counts"].values())
    assert all(entry["reason"] in result["rejected_counts"] for entry in entries)
