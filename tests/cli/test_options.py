from __future__ import annotations

import argparse
import dataclasses
from dataclasses import dataclass

import pytest

from brewslm.cli.data import ImportOptions
from brewslm.cli.options import add_options, from_namespace, json_flag, option
from brewslm.cli.serve import ServeOptions
from brewslm.ingestion.spec import ImportSpec
from brewslm.serving.settings import ServerSettings


@dataclass(kw_only=True)
class Example:
    name: str = option("A name.", positional=True)
    locator: str = option("Where from.")
    count: int = option("How many.", default=3)
    tag: str | None = option("A tag.", default=None)
    pairs: list[str] = option("Pairs.", default=[], flag="--pair")
    mode: str = option("Mode.", default="a", choices=("a", "b"))
    assist: bool | None = option("Tri-state flag.", default=None)
    json: bool = json_flag()


def parse(*argv: str) -> Example:
    parser = argparse.ArgumentParser(prog="t", exit_on_error=False)
    add_options(parser, Example)
    return from_namespace(Example, parser.parse_args(argv))


def test_fields_become_typed_arguments():
    opts = parse("n1", "--locator", "jsonl:x", "--count", "7", "--pair", "a=b", "c=d", "--pair", "e=f", "--json")
    assert opts == Example(
        name="n1", locator="jsonl:x", count=7, tag=None, pairs=["a=b", "c=d", "e=f"], mode="a", assist=None, json=True
    )


def test_defaults_and_tri_state_flag():
    opts = parse("n1", "--locator", "x", "--assist", "--mode", "b")
    assert (opts.count, opts.pairs, opts.mode, opts.assist, opts.json) == (3, [], "b", True, False)


def test_help_text_comes_from_the_fields():
    parser = argparse.ArgumentParser(prog="t")
    add_options(parser, Example)
    text = parser.format_help()
    for expected in (
        "Where from.",
        "How many. (default: 3)",
        "--pair",
        "Mode. (default: a)",
        "Print one JSON document",
    ):
        assert expected in text
    assert "--locator LOCATOR" in text and "NAME" in text


def test_required_option_and_bad_int_are_usage_errors():
    with pytest.raises(SystemExit):
        parse("n1")
    with pytest.raises((SystemExit, argparse.ArgumentError)):
        parse("n1", "--locator", "x", "--count", "many")


def test_list_defaults_are_not_shared():
    a, b = parse("n", "--locator", "x"), parse("n", "--locator", "y", "--pair", "p=q")
    assert a.pairs == [] and b.pairs == ["p=q"]


@pytest.mark.parametrize(
    ("options_class", "model", "flags_for", "not_flags"),
    [
        # model field -> the options field that sets it (its help is the field's description)
        (ImportOptions, ImportSpec, {"mapper_id": "mapper"}, {"actor", "config_id"}),
        (ServeOptions, ServerSettings, {"batching": "no_batching"}, {"api_key"}),
    ],
)
def test_every_setting_of_a_typed_config_has_its_flag_documented_by_the_model(
    options_class, model, flags_for, not_flags
) -> None:
    """``data import`` and ``serve`` flags come from ImportSpec / ServerSettings (``model_option``):
    a new setting without a flag, or a flag whose help drifts from the model, fails here. The API
    key is read from the environment only; actor and config_id are set by the tool itself."""
    fields = {field.name: field for field in dataclasses.fields(options_class)}
    for name, model_field in model.model_fields.items():
        if name in not_flags:
            continue
        flag = fields[flags_for.get(name, name)]
        if name not in flags_for:
            assert flag.metadata["help"].startswith(model_field.description), name
