"""``brewslm.options``: option types as help shows them, and the reference page's rows."""

from __future__ import annotations

from typing import Literal, Optional, Union

from pydantic import Field, SecretStr

from brewslm.options import OptionsModel, reference_page, type_text


def test_type_text_names_json_types_unions_literals_and_lists() -> None:
    assert type_text(int) == "integer"
    assert type_text(Optional[float]) == "number | null"
    assert type_text(Literal["lora", "full"]) == "one of lora, full"
    assert type_text(Union[str, list[str]]) == "string | list of string"
    assert type_text(dict[str, int]) == "mapping"
    assert type_text(SecretStr | None) == "string (secret) | null"


class _Section(OptionsModel):
    depth: int = Field(2, description="How deep | how far.")


class _Config(OptionsModel):
    name: str = Field(description="Required name.")
    rate: Optional[float] = Field(None, description="A rate\nover two lines.")
    section: _Section = Field(default_factory=_Section, description="A section.")


def test_reference_page_rows_have_type_default_and_escaped_help() -> None:
    page = reference_page(_Config, "Title", "Intro.")
    assert page.startswith("# Title\n\nIntro.\n")
    assert "| `name` | string | required | Required name. |" in page
    assert "| `rate` | number \\| null | unset | A rate over two lines. |" in page
    assert "| `section.depth` | integer | `2` | How deep \\| how far. |" in page
