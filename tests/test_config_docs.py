"""docs/config/ is current: every page equals what scripts/config_docs.py generates from the option
models, so a new option or a changed default or description shows up in the reference."""

from __future__ import annotations

import importlib.util
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "config_docs.py"


def _script():
    spec = importlib.util.spec_from_file_location("config_docs", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_reference_pages_are_current(capsys) -> None:
    assert _script().main(["--check"]) == 0, capsys.readouterr().err


def test_every_training_option_is_on_its_page() -> None:
    from brewslm.options import describe_options
    from brewslm.training.config import TrainConfig

    page = _script().pages()["train.md"]
    for option in describe_options(TrainConfig):
        assert f"| `{option['name']}` |" in page
