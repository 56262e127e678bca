"""The README's examples run as written.

Blocks marked ``<!-- readme-test: KIND -->`` are extracted and run from the repository root in a
private workspace: ``commands`` (each ``brewslm ...`` line, in-process, must exit 0), ``python``
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
MARKED_BLOCK = re.compile(r"<!-- readme-test: (?P<kind>[^>]*?) -->\s*```\w*\n(?P<body>.*?)```", re.S)
ANY_BLOCK = re.compile(r"```\w*\n(.*?)```", re.S)


def marked_blocks(kind: str) -> list[tuple[str, str]]:
    """(marker arguments, block text) for each block marked with ``kind``."""
    found = []
    for match in MARKED_BLOCK.finditer(README.read_text(encoding="utf-8")):
        name, _, args = match["kind"].partition(" ")
        if name == kind:
            found.append((args.strip(), match["body"]))
    assert found, f"README has no block marked readme-test: {kind}"
    return found


def block_after(text_block: str) -> str:
    readme = README.read_text(encoding="utf-8")
    rest = readme[readme.index(text_block) + len(text_block):]
    rest = rest[rest.index("```") + 3:]  # past the block's closing fence
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


def shown_output(first_line: str) -> list[str]:
    """The lines of the README's ``text`` block that starts with ``first_line``, minus elisions."""
    for block in ANY_BLOCK.findall(README.read_text(encoding="utf-8")):
        if block.startswith(first_line):
            return [line for line in block.splitlines() if line.strip() and "..." not in line]
    raise AssertionError(f"README shows no output starting with {first_line!r}")


def test_readme_commands_run(workspace, capsys):
    (_, block), = marked_blocks("commands")
    commands = brewslm_lines(block)
    assert len(commands) >= 10
    outputs = {}
    for argv in commands:
        capsys.readouterr()
        code = main(argv[1:])
        out, err = capsys.readouterr()
        assert code == 0, f"{shlex.join(argv)} -> {code}: {err}"
        if "--json" in argv:
            json.loads(out)
        outputs.setdefault(tuple(argv[1:3]), out)
    assert (workspace / "datasets" / "reviews" / "v2" / "manifest.json").is_file()  # imported, then re-run

    # The outputs the README shows are what these commands print.
    introspected = outputs[("data", "introspect")].splitlines()
    for line in shown_output("source   jsonl:"):
        assert line in introspected, line
    imported = outputs[("data", "import")].replace(str(workspace), "/home/me/.brewslm").splitlines()
    for line in shown_output("dataset        reviews v1"):
        assert line in imported, line


def test_readme_python_api_runs(workspace, capsys):
    (_, block), = marked_blocks("python")
    exec(compile(block, "README.md", "exec"), {"__name__": "readme"})
    out = capsys.readouterr().out
    assert "label_to_classification" in out and "dataset_import_run" in out


def test_readme_plugin_example_runs(tmp_path):
    (filename, block), = marked_blocks("plugin")
    (tmp_path / filename).write_text(block, encoding="utf-8")
    (tmp_path / "notes.txt").write_text("first note\n\nsecond note\n", encoding="utf-8")
    shell = block_after(block)
    env = {**os.environ, "BREWSLM_HOME": str(tmp_path / "home"), "PYTHONPATH": str(tmp_path)}
    env.pop("BREWSLM_DATABASE_URL", None)
    for line in shell.splitlines():
        if line.startswith("export "):
            env.update(dict(pair.split("=", 1) for pair in shlex.split(line)[1:]))
    assert env.get("DATA_ADAPTER_PLUGIN_MODULES") == env.get("DATASET_MAPPER_PLUGIN_MODULES") == "my_plugins"
    commands = brewslm_lines(shell)
    assert commands
    for argv in commands:
        proc = subprocess.run([sys.executable, "-m", "brewslm", *argv[1:], "--json"], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, f"{shlex.join(argv)}: {proc.stderr}"
        result = json.loads(proc.stdout)
        if argv[1:3] == ["data", "sources"]:
            assert "lines" in result["sources"] and result["plugin_errors"] == []
        if argv[1:3] == ["data", "import"]:
            assert result["accepted"] == 2
    mappers = subprocess.run([sys.executable, "-m", "brewslm", "data", "mappers", "--json"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=300)
    assert "title_body" in {m["id"] for m in json.loads(mappers.stdout)}
