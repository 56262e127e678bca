"""``main``: help, usage errors, error lines and exit codes; ``python -m brewslm``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import brewslm
from brewslm import cli
from brewslm.cli.command import Command
from brewslm.cli.data import ListOptions
from brewslm.errors import SourceError
from helpers.tiny_model import tiny_model_dir  # noqa: F401  (a fixture)

DATA_COMMANDS = ["introspect", "import", "mappings", "events", "preview", "datasets", "mappers", "sources"]


def test_top_level_help_lists_the_command_groups(cli):
    run = cli("--help")
    assert run.code == 0 and "data" in run.out and "Import, inspect and audit datasets." in run.out


def test_data_help_lists_every_subcommand(cli):
    run = cli("data", "--help")
    assert run.code == 0
    for name in DATA_COMMANDS:
        assert name in run.out


@pytest.mark.parametrize(
    "argv, expected",
    [
        (
            ["data", "import", "--help"],
            [
                "--locator",
                "--mapper",
                "--field-map SRC=DST",
                "--option KEY=VALUE",
                "--dataset",
                "--mode {append,replace}",
                "--split {auto,train,validation,test}",
                "--save-as",
                "--json",
                "--drop-reason CODE",
                "--format {jsonl,parquet}",
                "de-duplicated by content",
            ],
        ),
        (
            ["data", "introspect", "--help"],
            ["--locator", "--llm-assist", "--teacher PATH", "--sample-size N", "(default: 2000)"],
        ),
        (["data", "mappings", "--help"], ["list", "show", "history", "rerun", "delete"]),
        (["data", "mappings", "rerun", "--help"], ["NAME", "Re-run a saved mapping"]),
        (["data", "events", "--help"], ["--stage", "--reason CODE", "--mapping NAME", "--limit N"]),
        (["data", "preview", "--help"], ["DATASET", "--split", "--rows N", "--rejected", "--version N"]),
    ],
)
def test_subcommand_help_documents_every_option(cli, argv, expected):
    run = cli(*argv)
    assert run.code == 0
    for text in expected:
        assert text in run.out, text


def test_version(cli):
    run = cli("--version")
    assert run.code == 0 and run.out.strip() == f"brewslm {brewslm.__version__}"


@pytest.mark.parametrize(
    "argv, fragment",
    [
        ([], "required"),
        (["data"], "required"),
        (["nonsense"], "invalid choice"),
        (["data", "import"], "--locator"),
        (["data", "import", "--locator", "jsonl:x", "--mode", "merge"], "invalid choice: 'merge'"),
        (["data", "events", "--limit", "many"], "invalid int value: 'many'"),
        (["data", "preview"], "DATASET"),
        (["data", "mappings", "show"], "NAME"),
        (["data", "datasets", "--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_usage_errors_are_one_line_with_exit_2(cli, argv, fragment):
    run = cli(*argv)
    assert run.code == 2
    assert run.out == ""
    lines = run.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0]
    assert "--help" in lines[0]


def _install(monkeypatch, name, run_fn):
    monkeypatch.setitem(cli.COMMANDS["data"], name, Command(run_fn, ListOptions, lambda r: str(r)))


def test_brew_error_is_one_line_and_exit_2(cli, monkeypatch):
    def fail(opts):
        raise SourceError("file '/nope.jsonl' does not exist;\ncheck the path")

    _install(monkeypatch, "fails", fail)
    run = cli("data", "fails", "--json")
    assert (run.code, run.out) == (2, "")
    assert run.err == "error: file '/nope.jsonl' does not exist; check the path\n"


def test_ctrl_c_exits_130_without_a_traceback(cli, monkeypatch):
    def interrupted(opts):
        raise KeyboardInterrupt

    _install(monkeypatch, "slow", interrupted)
    run = cli("data", "slow")
    assert run.code == 130 and "Traceback" not in run.err and run.out == ""


def test_an_unusable_workspace_is_one_line(cli, monkeypatch, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("BREWSLM_HOME", str(blocker / "home"))
    run = cli("data", "datasets")
    assert run.code == 2 and run.err.count("\n") == 1 and run.err.startswith("error: ")
    assert str(blocker / "home") in run.err and "Traceback" not in run.err


def test_json_output_is_exactly_one_document(cli, monkeypatch):
    _install(monkeypatch, "answer", lambda opts: {"path": Path("/x"), "n": 1})
    run = cli("data", "answer", "--json")
    assert run.code == 0 and run.json() == {"path": "/x", "n": 1}
    text = cli("data", "answer")
    assert text.out == "{'path': PosixPath('/x'), 'n': 1}\n"


def test_python_dash_m_brewslm(tmp_path):
    env = {**os.environ, "BREWSLM_HOME": str(tmp_path / "home")}
    proc = subprocess.run(
        [sys.executable, "-m", "brewslm", "--help"], capture_output=True, text=True, env=env, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert "usage: brewslm" in proc.stdout and "data" in proc.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "brewslm", "data", "import"], capture_output=True, text=True, env=env, timeout=120
    )
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


def test_overrides_may_follow_flags() -> None:
    parser = cli.build_parser()
    namespace = cli._parse(parser, ["train", "run", "--dataset", "reviews", "epochs=2", "--quiet", "lora.r=8"])
    assert namespace.overrides == ["epochs=2", "lora.r=8"] and namespace.quiet


def test_a_stray_word_after_flags_is_still_a_usage_error(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        cli._parse(cli.build_parser(), ["quickstart", "--quiet", "stray"])
    assert exc.value.code == 2
    assert "unrecognized arguments: stray" in capsys.readouterr().err


# A command that warns the ways third-party libraries do - a Python warning raised inside a
# transformers module, its logger, mlflow's logger, a library logging through the root logger -
# and the ways BrewSLM itself does; run through ``main`` in a fresh interpreter, where Python's
# own warning display and the libraries' own stderr handlers are in place (pytest swaps both).
NOISY_COMMAND = """
import logging, sys, warnings
from brewslm import cli
from brewslm.cli.command import Command
from brewslm.cli.data import ListOptions

def noisy(opts):
    exec(compile("import warnings; warnings.warn('FutureWarning: past_key_values is deprecated', FutureWarning)",
                 "transformers/modeling_utils.py", "exec"), {"__name__": "transformers.modeling_utils"})
    import transformers  # its own stderr handler, level from TRANSFORMERS_VERBOSITY
    logging.getLogger("transformers.generation").warning("Warning: transformers logger")
    import mlflow  # its own handler too, INFO by default
    logging.getLogger("mlflow.tracking").info("Warning: mlflow logger")
    logging.getLogger("torch.distributed").warning("Warning: a root-propagating logger")
    exec(compile("import warnings; warnings.warn('brewslm own warning')", "brewslm/x.py", "exec"),
         {"__name__": "brewslm.x"})
    logging.getLogger("brewslm.storage").warning("brewslm own log line")
    return "done"

cli.COMMANDS["data"]["noisy"] = Command(noisy, ListOptions, str)
sys.exit(cli.main(sys.argv[1:]))
"""


@pytest.mark.parametrize(
    "argv, shown",
    [
        (["data", "noisy"], False),
        (["--verbose", "data", "noisy"], True),
        (["data", "noisy", "--verbose"], True),  # the switch works anywhere on the line
    ],
)
def test_third_party_warnings_show_only_with_verbose(tmp_path, argv, shown):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONWARNINGS", "TRANSFORMERS_VERBOSITY", "MLFLOW_LOGGING_LEVEL")
    }
    proc = subprocess.run(
        [sys.executable, "-c", NOISY_COMMAND, *argv],
        capture_output=True,
        text=True,
        env={**env, "BREWSLM_HOME": str(tmp_path / "home")},
        timeout=240,
    )
    assert proc.returncode == 0 and proc.stdout == "done\n", proc.stderr
    for line in ("FutureWarning", "transformers logger", "mlflow logger", "root-propagating"):
        assert (line in proc.stderr) is shown, (line, proc.stderr)
    assert "brewslm own warning" in proc.stderr and "brewslm own log line" in proc.stderr


def test_quiet_settings_are_put_back_after_an_in_process_run(cli, monkeypatch):
    import logging
    import warnings

    _install(monkeypatch, "answer", lambda opts: os.environ.get("TRANSFORMERS_VERBOSITY"))
    monkeypatch.delenv("TRANSFORMERS_VERBOSITY", raising=False)
    filters, level = list(warnings.filters), logging.getLogger("transformers").level
    assert cli("data", "answer").out == "error\n"  # set for the run...
    assert "TRANSFORMERS_VERBOSITY" not in os.environ  # ...and only for it
    assert warnings.filters == filters and logging.getLogger("transformers").level == level
    assert cli("data", "answer", "--verbose").out == "None\n"


def test_a_tiny_train_and_eval_print_no_third_party_lines(cli, tickets_jsonl, tiny_model_dir, tmp_path, workspace):
    """The real thing, in fresh interpreters: training (shared-prefix batches, MLflow on, its first
    SQLite migration included) and evaluation (label scoring from a cached prefix) print only
    BrewSLM's own lines."""
    assert (
        cli(
            "data",
            "import",
            "--locator",
            f"jsonl:{tickets_jsonl}",
            "--mapper",
            "label_to_classification",
            "--dataset",
            "tickets",
        ).code
        == 0
    )
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONWARNINGS", "TRANSFORMERS_VERBOSITY", "MLFLOW_LOGGING_LEVEL", "MLFLOW_TRACKING_URI")
    }
    runs = [
        [
            "train",
            "--dataset",
            "tickets",
            "--base",
            str(tiny_model_dir),
            "max_steps=1",
            "max_seq_len=128",
            "lora.r=4",
            f"output_dir={tmp_path / 'run'}",
            "mlflow=true",
        ],
        ["eval", "--model", str(tmp_path / "run"), "--dataset", "tickets", "--quiet"],
    ]
    for argv in runs:
        proc = subprocess.run(
            [sys.executable, "-m", "brewslm", *argv], capture_output=True, text=True, env=env, timeout=280
        )
        assert proc.returncode in (0, 1), proc.stderr  # eval: 1 when a gate fails
        assert "warning" not in proc.stderr.lower() and " INFO " not in proc.stderr, proc.stderr
    assert (workspace / "mlflow.db").is_file()
