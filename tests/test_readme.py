"""The examples in the README and in the docs pages run as written.

Blocks marked ``<!-- readme-test: KIND -->`` are extracted from README.md and from every page
``docs/*.md`` (not the generated ``docs/config/``) and run from the repository root in a private
workspace: ``commands`` (each ``brewslm ...`` line, in-process, must exit 0), ``python``
(executed) and ``plugin FILE`` (saved as FILE; the bash block after it runs in a fresh process).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from brewslm.cli import main

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md"))]
MARKED_BLOCK = re.compile(r"<!-- readme-test: (?P<kind>[^>]*?) -->\s*```\w*\n(?P<body>.*?)```", re.S)
ANY_BLOCK = re.compile(r"```\w*\n(.*?)```", re.S)

# The outputs a page shows for the commands of its ``commands`` block: (command) -> the first line
# of the ``text`` block that shows what it prints.
SHOWN_OUTPUTS = {("data", "introspect"): "source   jsonl:", ("data", "import"): "dataset        reviews v1"}


def page_name(page: Path) -> str:
    return page.relative_to(ROOT).as_posix()


def marked_blocks(kind: str, pages: list[Path] = PAGES) -> list[tuple[Path, str, str]]:
    """(page, marker arguments, block text) for each block marked with ``kind``, in page order."""
    found = []
    for page in pages:
        for match in MARKED_BLOCK.finditer(page.read_text(encoding="utf-8")):
            name, _, args = match["kind"].partition(" ")
            if name == kind:
                found.append((page, args.strip(), match["body"]))
    assert found, f"no page has a block marked readme-test: {kind}"
    return found


def block_after(page: Path, text_block: str) -> str:
    text = page.read_text(encoding="utf-8")
    rest = text[text.index(text_block) + len(text_block) :]
    rest = rest[rest.index("```") + 3 :]  # past the block's closing fence
    return ANY_BLOCK.search(rest).group(1)


def brewslm_lines(block: str) -> list[list[str]]:
    return [shlex.split(line, comments=True) for line in block.splitlines() if line.startswith("brewslm ")]


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BREWSLM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("BREWSLM_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("BREWSLM_DATABASE_URL", raising=False)
    monkeypatch.delenv("DATASET_IMPORT_LLM_ASSIST_ENABLED", raising=False)
    monkeypatch.chdir(ROOT)
    return tmp_path / "home"


def shown_output(page: Path, first_line: str) -> list[str] | None:
    """The lines of the page's ``text`` block that starts with ``first_line``, minus elisions;
    None when the page shows no such block."""
    for block in ANY_BLOCK.findall(page.read_text(encoding="utf-8")):
        if block.startswith(first_line):
            return [line for line in block.splitlines() if line.strip() and "..." not in line]
    return None


COMMAND_BLOCKS = marked_blocks("commands")
KINDS = {"commands", "python", "plugin"}


def test_every_marked_block_is_run():
    # A marker this file does not run, one that is not followed by a block, or one on a page it does not
    # read would be a tested-looking example that nothing tests.
    for page in [README, *sorted((ROOT / "docs").rglob("*.md"))]:
        text = page.read_text(encoding="utf-8")
        marked = list(MARKED_BLOCK.finditer(text))
        markers = re.findall(r"^<!-- readme-test:", text, re.M)  # a marker starts its line; prose may name it
        assert len(marked) == len(markers), f"{page_name(page)}: a marker without its block"
        if marked:
            assert page in PAGES, f"{page_name(page)} has readme-test blocks, but tests/test_readme.py does not read it"
        for match in marked:
            assert match["kind"].partition(" ")[0] in KINDS, f"{page_name(page)}: unknown kind {match['kind']!r}"


def test_the_readme_and_the_import_walkthrough_have_their_commands():
    # The README keeps a block of commands of its own, and one page walks through the whole import
    # (at least ten commands, a mapping re-run) and shows what its commands print.
    assert any(page == README for page, _, _ in COMMAND_BLOCKS)
    walkthroughs = [(page, block) for page, _, block in COMMAND_BLOCKS if len(brewslm_lines(block)) >= 10]
    assert walkthroughs, "no page has the import walk-through (a commands block of 10 or more lines)"
    for page, block in walkthroughs:
        assert any(argv[1:4] == ["data", "mappings", "rerun"] for argv in brewslm_lines(block))
        for first_line in SHOWN_OUTPUTS.values():
            assert shown_output(page, first_line), f"{page_name(page)} shows no output starting with {first_line!r}"


@pytest.mark.parametrize(
    ("page", "block"),
    [(page, block) for page, _, block in COMMAND_BLOCKS],
    ids=[f"{page_name(page)}-{i}" for i, (page, _, _) in enumerate(COMMAND_BLOCKS)],
)
def test_readme_commands_run(page, block, workspace, capsys):
    commands = brewslm_lines(block)
    assert commands
    outputs = {}
    for argv in commands:
        capsys.readouterr()
        code = main(argv[1:])
        out, err = capsys.readouterr()
        assert code == 0, f"{page_name(page)}: {shlex.join(argv)} -> {code}: {err}"
        if "--json" in argv:
            json.loads(out)
        outputs.setdefault(tuple(argv[1:3]), out)
    if any(argv[1:4] == ["data", "mappings", "rerun"] for argv in commands):
        assert (workspace / "datasets" / "reviews" / "v2" / "manifest.json").is_file()  # imported, then re-run

    # The outputs the page shows are what these commands print.
    for command, first_line in SHOWN_OUTPUTS.items():
        shown = shown_output(page, first_line)
        if shown is None:
            continue
        assert command in outputs, f"{page_name(page)} shows the output of {' '.join(command)} but does not run it"
        printed = outputs[command].replace(str(workspace), "/home/me/.brewslm").splitlines()
        for line in shown:
            assert line in printed, line


def test_readme_python_api_runs(workspace, capsys):
    ((page, _, block),) = marked_blocks("python")
    exec(compile(block, page_name(page), "exec"), {"__name__": "readme"})
    out = capsys.readouterr().out
    assert "label_to_classification" in out and "dataset_import_run" in out


def test_readme_plugin_example_runs(tmp_path):
    ((page, filename, block),) = marked_blocks("plugin")
    (tmp_path / filename).write_text(block, encoding="utf-8")
    (tmp_path / "notes.txt").write_text("first note\n\nsecond note\n", encoding="utf-8")
    shell = block_after(page, block)
    env = {**os.environ, "BREWSLM_HOME": str(tmp_path / "home"), "PYTHONPATH": str(tmp_path)}
    env.pop("BREWSLM_DATABASE_URL", None)
    for line in shell.splitlines():
        if line.startswith("export "):
            env.update(dict(pair.split("=", 1) for pair in shlex.split(line)[1:]))
    assert env.get("DATA_ADAPTER_PLUGIN_MODULES") == env.get("DATASET_MAPPER_PLUGIN_MODULES") == "my_plugins"
    commands = brewslm_lines(shell)
    assert commands
    for argv in commands:
        proc = subprocess.run(
            [sys.executable, "-m", "brewslm", *argv[1:], "--json"],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, f"{shlex.join(argv)}: {proc.stderr}"
        result = json.loads(proc.stdout)
        if argv[1:3] == ["data", "sources"]:
            assert "lines" in result["sources"] and result["plugin_errors"] == []
        if argv[1:3] == ["data", "import"]:
            assert result["accepted"] == 2
    mappers = subprocess.run(
        [sys.executable, "-m", "brewslm", "data", "mappers", "--json"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "title_body" in {m["id"] for m in json.loads(mappers.stdout)}
