"""The ``brewslm`` command line: a table of plain functions, one options dataclass each.

    brewslm data introspect --locator jsonl:reviews.jsonl
    brewslm data import --locator jsonl:reviews.jsonl --save-as reviews
    python -m brewslm data mappings list --json

A command function takes its options and returns a result; ``main`` prints it (text, or one
JSON document with ``--json``). A ``BrewError`` (or an ``OSError`` such as an unwritable
``BREWSLM_HOME``) becomes ``error: <one line>`` on stderr and exit status 2, a usage error the
same; Ctrl-C exits 130 without a traceback. A command may decide its own exit status from its
result after it is printed (``brewslm eval`` exits 1 when a gate fails).
"""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Mapping, Sequence

from brewslm import __version__
from brewslm.cli import data, quickstart, train, ui
from brewslm.cli import run as run_commands
from brewslm.cli import eval as eval_commands  # the module is cli/eval.py; keep the builtin eval unshadowed
from brewslm.cli import export as export_command
from brewslm.cli import serve as serve_command
from brewslm.cli.command import Command
from brewslm.cli.options import add_options, from_namespace
from brewslm.output import write_json
from brewslm.errors import BrewError

COMMANDS: dict[str, Any] = {
    "quickstart": quickstart.COMMAND,
    "data": {"help": "Import, inspect and audit datasets.", **data.COMMANDS},
    "train": {"help": "Fine-tune a base model on a dataset; export the result.", **train.COMMANDS},
    "eval": {"help": "Score a fine-tune against its base on held-out gold rows; gates, reports.", **eval_commands.COMMANDS},
    "export": export_command.COMMAND,
    "run": run_commands.RUN,
    "recipes": {"help": "The built-in use-case recipes: list, show, twists.", **run_commands.COMMANDS},
    "ui": ui.COMMAND,
    "serve": serve_command.COMMAND,
}
GROUP_KEYS = ("help", "default")  # a group's "default" names the command run when none is given


class _Parser(argparse.ArgumentParser):
    """Usage errors as one line that points at ``--help``, like every other error."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="brewslm",
        description="BrewSLM: from messy domain data to a small language model you can trust and ship.",
    )
    parser.add_argument("--version", action="version", version=f"brewslm {__version__}")
    _add_commands(parser, COMMANDS)
    return parser


def _add_commands(parser: argparse.ArgumentParser, table: Mapping[str, Any]) -> None:
    names = [k for k in table if k not in GROUP_KEYS]
    sub = parser.add_subparsers(title="commands", metavar="{" + ",".join(names) + "}", required=True)
    for name in names:
        entry = table[name]
        if isinstance(entry, Command):
            child = sub.add_parser(
                name,
                help=entry.summary,
                description=entry.description,
                formatter_class=argparse.RawDescriptionHelpFormatter,
            )
            add_options(child, entry.options)
            child.set_defaults(_command=entry)
        else:
            child = sub.add_parser(name, help=entry.get("help"), description=entry.get("help"))
            _add_commands(child, entry)


def _with_default_command(argv: list[str], table: Mapping[str, Any]) -> list[str]:
    """``brewslm train --dataset x`` runs ``brewslm train run --dataset x``: a group with a
    ``default`` command runs it when the next word is not one of its commands (or --help)."""
    if not argv or not isinstance(table.get(argv[0]), dict):
        return argv
    group, rest = table[argv[0]], argv[1:]
    default = group.get("default")
    if not default or (rest and (rest[0] in group or rest[0] in ("-h", "--help"))):
        return [argv[0], *_with_default_command(rest, group)]
    return [argv[0], default, *rest]


def _parse(parser: argparse.ArgumentParser, argv: list[str]) -> argparse.Namespace:
    """Parse, letting KEY=VALUE overrides come after flags too (``brewslm run sentiment --base X
    train.epochs=1``): argparse stops collecting a positional list at the first flag, and its
    intermixed parser does not support sub-commands, so the words left over are added to the
    command's ``overrides`` when they all look like overrides."""
    namespace, extras = parser.parse_known_args(argv)
    if extras:
        if isinstance(getattr(namespace, "overrides", None), list) and all(
                "=" in word and not word.startswith("-") for word in extras):
            namespace.overrides.extend(extras)
        else:
            parser.error(f"unrecognized arguments: {' '.join(extras)}")
    return namespace


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        namespace = _parse(parser, _with_default_command(args, COMMANDS))
    except SystemExit as exc:  # --help, --version, or a usage error argparse already printed
        return exc.code if isinstance(exc.code, int) else 0
    command: Command = namespace._command
    options = from_namespace(command.options, namespace)
    try:
        result = command.run(options)
        if getattr(options, "json", False):
            write_json(result)
        else:
            text = command.render(result)
            if text:
                print(text)
        sys.stdout.flush()
        if command.exit_status is not None:
            return command.exit_status(result)
    except BrewError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader (e.g. `| head`) went away: stop quietly, and keep Python from
        # complaining again when it flushes stdout at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except OSError as exc:  # the machine said no (permissions, disk full, a bad BREWSLM_HOME)
        where = f": {exc.filename}" if exc.filename else ""
        print(f"error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    return 0


__all__ = ["COMMANDS", "Command", "build_parser", "main"]
