"""Command options declared once, as dataclasses: each field's help text is its ``--help`` line.

    @dataclass(kw_only=True)
    class PreviewOptions:
        dataset: str = option("Dataset name.", positional=True)
        rows: int = option("Records to show.", default=10)

``add_options(parser, PreviewOptions)`` turns the fields into arguments (the type picks the
argparse action: ``bool`` -> a flag, ``int`` -> a number, ``list[str]`` -> a repeatable option
taking one or more values) and ``from_namespace`` builds the dataclass back from the parse.
"""

from __future__ import annotations

import argparse
import dataclasses
import textwrap
import typing
from typing import Any, Sequence

_REQUIRED: Any = dataclasses.MISSING
_UNSET: Any = object()


def option(
    help: str,
    default: Any = _REQUIRED,
    *,
    positional: bool = False,
    choices: Sequence[str] | None = None,
    metavar: str | None = None,
    flag: str | None = None,
    one_per_flag: bool = False,
) -> Any:
    """A documented command option; without ``default`` it is required. The flag is
    ``--field-name`` unless ``flag`` names another. A list option takes one or more values per
    flag; with ``one_per_flag`` exactly one (repeat the flag for more), so values that follow it
    (e.g. trailing KEY=VALUE words) are not swallowed."""
    metadata = {
        "help": help,
        "positional": positional,
        "choices": choices,
        "metavar": metavar,
        "flag": flag,
        "one_per_flag": one_per_flag,
    }
    if isinstance(default, list):
        return dataclasses.field(default_factory=lambda: list(default), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def model_option(model: Any, name: str, *, default: Any = _UNSET, **kwargs: Any) -> Any:
    """A flag documented by a typed config's field (``OptionsModel``, ``ImportSpec``...): the field's
    description is the help, a ``Literal``'s values are the choices, and the model's default is the
    flag's default unless ``default`` gives the flag its own (``None``: unset, the model's default
    applies, and the help says which it is). So the help of a setting is written once, on its model."""
    field = model.model_fields[name]
    help = field.description or ""
    if "choices" not in kwargs and typing.get_origin(field.annotation) is typing.Literal:
        kwargs["choices"] = [str(value) for value in typing.get_args(field.annotation)]
    if field.is_required():
        return option(help, **kwargs)
    model_default = field.get_default(call_default_factory=True)
    if default is _UNSET:
        default = model_default
    elif default is None and model_default not in (None, [], {}):
        help += f" (default: {model_default})"
    return option(help, default=default, **kwargs)


def json_flag() -> Any:
    return option("Print one JSON document on stdout (progress and errors go to stderr).", default=False)


def add_options(parser: argparse.ArgumentParser, options_class: type) -> None:
    hints = typing.get_type_hints(options_class)
    for f in dataclasses.fields(options_class):
        meta = f.metadata
        kind = _kind(hints[f.name])
        kwargs: dict[str, Any] = {"help": meta["help"]}
        if meta.get("choices"):
            kwargs["choices"] = list(meta["choices"])
        if meta.get("metavar"):
            kwargs["metavar"] = meta["metavar"]
        if meta.get("positional"):
            kwargs.setdefault("metavar", f.name.upper())
            if kind is int:
                kwargs["type"] = int
            elif kind is list:  # any number of trailing words, e.g. KEY=VALUE overrides
                kwargs["nargs"] = "*"
            parser.add_argument(f.name, **kwargs)
            continue
        required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        flag = meta.get("flag") or "--" + f.name.replace("_", "-")
        if kind is bool:
            kwargs.update(action="store_true", default=None if f.default is None else False)
        elif kind is list:
            kwargs.update(action="append" if meta.get("one_per_flag") else "extend", default=[])
            if not meta.get("one_per_flag"):
                kwargs["nargs"] = "+"
        else:
            if kind is int:
                kwargs["type"] = int
            if required:
                kwargs["required"] = True
            else:
                kwargs["default"] = f.default
                if f.default is not None:
                    kwargs["help"] += " (default: %(default)s)"
        parser.add_argument(flag, dest=f.name, **kwargs)


def from_namespace(options_class: type, namespace: argparse.Namespace) -> Any:
    return options_class(**{f.name: getattr(namespace, f.name) for f in dataclasses.fields(options_class)})


def options_help(described: Sequence[dict[str, Any]], title: str) -> str:
    """The ``KEY=VALUE`` options of a config model (``describe_options(Model)``) as an indented
    block for a command's ``--help``."""
    lines = [title]
    for entry in described:
        default = "required" if entry["required"] else f"default: {entry['default']}"
        text = f"{entry['help']} ({default})"
        lines.append(f"  {entry['name']}")
        lines.extend(textwrap.wrap(text, width=88, initial_indent="      ", subsequent_indent="      "))
    return "\n".join(lines)


def _kind(annotation: Any) -> type:
    """The argparse-relevant type of a field annotation (``int | None`` -> ``int``)."""
    origin = typing.get_origin(annotation)
    if origin in (list, Sequence):
        return list
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if args and origin is not None:
        return _kind(args[0])
    return annotation if isinstance(annotation, type) else str
