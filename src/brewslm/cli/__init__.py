"""The ``brewslm`` command line: a table of plain functions, one options dataclass each.

    brewslm data introspect --locator jsonl:reviews.jsonl
    brewslm data import --locator jsonl:reviews.jsonl --save-as reviews
    python -m brewslm data mappings list --json

A command function takes its options and returns a result; ``main`` prints it (text, or one
JSON document with ``--json``). A ``BrewError`` (or an ``OSError`` such as an unwritable
``BREWSLM_HOME``) becomes ``error: <one line>`` on stderr and exit status 2, a usage error the
same; Ctrl-C exits 130 without a traceback. A command may decide its own exit status from its
result after it is printed (``brewslm eval`` exits 1 when a gate fails).

Third-party libraries (transformers, torch, datasets, mlflow...) stay quiet: their Python warnings
and their log lines below ERROR are dropped for the command's run, unless ``--verbose`` (anywhere
on the line) or the user's own ``-W`` / ``PYTHONWARNINGS`` / ``TRANSFORMERS_VERBOSITY``-style
settings say otherwise. BrewSLM's own warnings and log lines always show.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import warnings
from typing import Any, Iterator, Mapping, Sequence

from brewslm import __version__
from brewslm.cli import data, models, quickstart, train, ui
from brewslm.cli import eval as eval_commands  # the module is cli/eval.py; keep the builtin eval unshadowed
from brewslm.cli import export as export_command
from brewslm.cli import run as run_commands
from brewslm.cli import serve as serve_command
from brewslm.cli.command import Command
from brewslm.cli.options import add_options, from_namespace
from brewslm.errors import BrewError
from brewslm.output import write_json

COMMANDS: dict[str, Any] = {
    "quickstart": quickstart.COMMAND,
    "data": {"help": "Import, inspect and audit datasets.", **data.COMMANDS},
    "train": {"help": "Fine-tune a base model on a dataset; export the result.", **train.COMMANDS},
    "eval": {
        "help": "Score a fine-tune against its base on held-out gold rows; gates, reports.",
        **eval_commands.COMMANDS,
    },
    "export": export_command.COMMAND,
    "models": {
        "help": "The catalog of base models (memory, speed on this machine) and which one to fine-tune.",
        **models.COMMANDS,
    },
    "run": run_commands.RUN,
    "recipes": {"help": "The built-in use-case recipes: list, show, twists.", **run_commands.COMMANDS},
    "ui": ui.COMMAND,
    "serve": serve_command.COMMAND,
}
GROUP_KEYS = ("help", "default")  # a group's "default" names the command run when none is given
VERBOSE = "--verbose"

# Libraries that give their logger its own stderr handler and level when first imported, read from
# these variables - so a level set on the logger before the import would be overwritten.
QUIET_ENV = {
    "TRANSFORMERS_VERBOSITY": "error",
    "DATASETS_VERBOSITY": "error",
    "HF_HUB_VERBOSITY": "error",
    "MLFLOW_LOGGING_LEVEL": "ERROR",
}
# Their loggers and those of libraries that log through the root logger (Python's last-resort
# handler prints WARNING and above): ERROR for the run, whether imported already or later.
QUIET_LOGGERS = (
    "",
    "transformers",
    "datasets",
    "huggingface_hub",
    "mlflow",
    "alembic",
    "torch",
    "accelerate",
    "peft",
    "urllib3",
    "httpx",
    "filelock",
    "matplotlib",
    "py.warnings",
)


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
    parser.add_argument(
        VERBOSE,
        action="store_true",
        help="also show third-party libraries' warnings and log lines (transformers, torch, "
        "datasets, mlflow...); allowed anywhere on the command line",
    )
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
            "=" in word and not word.startswith("-") for word in extras
        ):
            namespace.overrides.extend(extras)
        else:
            parser.error(f"unrecognized arguments: {' '.join(extras)}")
    return namespace


def _split_verbose(args: list[str]) -> tuple[list[str], bool]:
    """``--verbose`` taken out of the words before any ``--``: it is a switch for the whole
    command line, so ``brewslm train ... --verbose`` works as well as ``brewslm --verbose train``."""
    end = args.index("--") if "--" in args else len(args)
    kept = [word for word in args[:end] if word != VERBOSE]
    return kept + args[end:], len(kept) < end


@contextlib.contextmanager
def third_party_quiet(verbose: bool) -> Iterator[None]:
    """Third-party warnings and log lines below ERROR dropped while the command runs (see the
    module notes); everything is put back afterwards, for callers that run ``main`` in-process."""
    if verbose:
        yield
        return
    saved_env = {name: os.environ.get(name) for name in QUIET_ENV}
    saved_levels = {name: logging.getLogger(name).level for name in QUIET_LOGGERS}
    own = logging.getLogger("brewslm")
    own_level = own.level
    with warnings.catch_warnings():
        if not sys.warnoptions:  # -W / PYTHONWARNINGS: the user chose what to see
            warnings.simplefilter("ignore")
            warnings.filterwarnings("default", module=r"brewslm(\..*)?")  # our own still show
        for name, value in QUIET_ENV.items():
            os.environ.setdefault(name, value)
        for name in QUIET_LOGGERS:
            logging.getLogger(name).setLevel(logging.ERROR)
        if own_level == logging.NOTSET:  # ours no longer inherit the root logger's new ERROR
            own.setLevel(logging.WARNING)
        try:
            yield
        finally:
            for name, level in saved_levels.items():
                logging.getLogger(name).setLevel(level)
            own.setLevel(own_level)
            for name, value in saved_env.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def main(argv: Sequence[str] | None = None) -> int:
    args, verbose = _split_verbose(list(sys.argv[1:] if argv is None else argv))
    with third_party_quiet(verbose):
        return _main(args)


def _main(args: list[str]) -> int:
    parser = build_parser()
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


__all__ = ["COMMANDS", "Command", "build_parser", "main", "third_party_quiet"]
