"""JSON-object metrics (structured_extraction field_match): schema validity, per-field matching.

A reply is read as JSON by ``tasks.replies.parse_json_completion`` (the field_match reader's
``parse``); what is scored here is the parsed value.

- ``model_from_schema(schema)`` -> a pydantic model class equivalent to a JSON schema, for the
  schema-valid rate: ``type`` (unions included), object ``properties`` / ``required`` /
  ``additionalProperties: false``, nested objects, arrays and their ``items``, ``enum``, ``const``,
  ``anyOf`` / ``oneOf`` (both read as a union). Types are strict, as JSON Schema is: ``"3"`` is not
  an integer, ``true`` is not a number (nor ``1`` in an enum), an integer is a number; one
  difference: ``3.0`` is not an integer here. Optional properties may be absent but, when present,
  must have their type (``null`` only where the schema allows it). Keywords outside that list
  (``format``, ranges, ``pattern``, ``$ref``) are not checked.
- ``compare_fields(gold, predicted, normalization)`` -> ``FieldComparison``: which of the gold
  object's top-level fields the prediction got right, with the normalisation options of
  ``FieldNormalization`` (case, whitespace, numbers, dates; each on or off). A field the prediction
  lacks is compared as ``null``, so a gold ``null`` is matched by leaving the field out.

Everything here is pure; the field_match handler turns the results into additive statistics.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from datetime import datetime
from typing import Annotated, Any, Mapping, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    RootModel,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    create_model,
)
from pydantic_core import PydanticCustomError

from brewslm.errors import ConfigError

# --- JSON schema -> pydantic model --------------------------------------------------------------

_SCALARS: dict[str, Any] = {
    "string": StrictStr,
    "integer": StrictInt,
    "number": StrictFloat,  # strict floats take integers (and return them as floats), never booleans
    "boolean": StrictBool,
    "null": None,
}


def model_from_schema(schema: Mapping[str, Any], name: str = "Target") -> type[BaseModel]:
    """A pydantic model that accepts exactly the JSON documents the schema accepts (within the
    keywords listed in the module docstring). Validate with ``schema_errors``."""
    return RootModel[_annotation(schema, name)]  # type: ignore[misc]


def _annotation(schema: Mapping[str, Any], name: str) -> Any:
    if not isinstance(schema, Mapping):
        raise ConfigError(
            f"JSON schema '{name}' is a {type(schema).__name__}, not an object; fix the dataset "
            "manifest's output_schema.json_schema"
        )
    if "const" in schema:
        return _one_of_values([schema["const"]])
    if "enum" in schema:
        values = schema["enum"]
        if not isinstance(values, list) or not values:
            raise ConfigError(f"JSON schema '{name}' has an 'enum' that is not a non-empty list")
        return _one_of_values(values)
    for keyword in ("anyOf", "oneOf"):
        if keyword in schema:
            options = schema[keyword]
            if not isinstance(options, list) or not options:
                raise ConfigError(f"JSON schema '{name}' has a '{keyword}' that is not a non-empty list")
            rest = {k: v for k, v in schema.items() if k != keyword}
            # sibling keywords (e.g. a shared "type") apply to every branch
            return Union[tuple(_annotation({**rest, **branch}, f"{name}{i}") for i, branch in enumerate(options))]
    kinds = schema.get("type")
    if kinds is None:
        if "properties" in schema:
            kinds = "object"
        elif "items" in schema:
            kinds = "array"
        else:
            return Any
    if isinstance(kinds, list):
        if not kinds:
            raise ConfigError(f"JSON schema '{name}' has an empty 'type' list")
        return Union[tuple(_annotation({**schema, "type": kind}, name) for kind in kinds)]
    if kinds in _SCALARS:
        return _SCALARS[kinds]
    if kinds == "array":
        items = schema.get("items")
        return list[_annotation(items, f"{name}Item") if isinstance(items, Mapping) else Any]  # type: ignore[misc]
    if kinds == "object":
        return _object_model(schema, name)
    raise ConfigError(
        f"JSON schema '{name}' has an unknown type {kinds!r}; use string, integer, number, boolean, "
        "null, array or object"
    )


def _one_of_values(values: list[Any]) -> Any:
    """``enum`` / ``const``: JSON equality, so ``true`` is not ``1`` (as it is to ``Literal``) while
    ``1`` is ``1.0``; objects and arrays compare deeply."""
    allowed = [canonical_value(value, EXACT) for value in values]
    listed = " or ".join(json.dumps(value, ensure_ascii=False) for value in values)

    def check(value: Any) -> Any:
        if canonical_value(value, EXACT) not in allowed:
            raise PydanticCustomError("enum", "Input should be {listed}", {"listed": listed})
        return value

    return Annotated[Any, PlainValidator(check)]


def _object_model(schema: Mapping[str, Any], name: str) -> Any:
    properties = schema.get("properties")
    extra = "forbid" if schema.get("additionalProperties") is False else "allow"
    if not properties:
        return dict[str, Any] if extra == "allow" else _empty_model(name)
    required = set(schema.get("required") or ())
    definitions: dict[str, Any] = {}
    for index, (key, sub) in enumerate(properties.items()):
        annotation = _annotation(sub, f"{name}_{_identifier(key)}")
        # python-safe attribute names with the JSON key as alias: keys like "class", "model_x" or
        # "total amount" cannot clash with pydantic's own attributes
        default = ... if key in required else None
        definitions[f"field_{index}"] = (annotation, Field(default, alias=key))
    return create_model(name, __config__=ConfigDict(strict=True, extra=extra), **definitions)


def _empty_model(name: str) -> type[BaseModel]:
    return create_model(name, __config__=ConfigDict(strict=True, extra="forbid"))


def _identifier(key: str) -> str:
    return re.sub(r"\W", "_", str(key)) or "field"


def schema_errors(model: type[BaseModel], value: Any) -> str | None:
    """None when ``value`` is valid for the model from ``model_from_schema``; else the first problem
    as one short line: where in the document, what was expected (all union branches' expectations
    joined with " | "), and how many other places fail."""
    try:
        model.model_validate(value)
    except ValidationError as exc:
        problems: dict[str, list[str]] = {}
        for error in exc.errors():
            messages = problems.setdefault(_document_path(error["loc"], value, error["type"]), [])
            if error["msg"] not in messages:
                messages.append(error["msg"])
        where, messages = next(iter(problems.items()))
        more = f" (+{len(problems) - 1} more)" if len(problems) > 1 else ""
        return f"{where}: {' | '.join(messages)}{more}"
    return None


def _document_path(loc: tuple[Any, ...], value: Any, error_type: str) -> str:
    """The error's place in the JSON document. pydantic's locations also name the union member that
    failed ('int', 'str', a model name); walking the value tells those tags from real keys."""
    path, current = [], value
    for index, part in enumerate(loc):
        last = index == len(loc) - 1
        if (
            isinstance(current, Mapping)
            and isinstance(part, str)
            and (part in current or (last and error_type == "missing"))
        ):
            path.append(part)
            current = current.get(part)
        elif isinstance(current, list) and isinstance(part, int) and 0 <= part < len(current):
            path.append(str(part))
            current = current[part]
    return ".".join(path) or "<root>"


# --- per-field comparison -----------------------------------------------------------------------


@dataclass(frozen=True)
class FieldNormalization:
    """How values are made comparable before they are matched; every option can be switched off.

    - ``ignore_case`` (off): text compared case-insensitively (Unicode case folding).
    - ``normalize_whitespace`` (on): text stripped and inner whitespace runs read as one space.
    - ``normalize_numbers`` (on): numbers and numeric text compare by value: ``"3" == 3 == 3.0``,
      ``"1,234.50" == 1234.5`` (comma thousands groups only). Booleans never equal numbers.
    - ``normalize_dates`` (off): text that reads as a date (ISO ``2018-12-25``, ``25/12/2018``,
      ``25.12.18``, ``25 Dec 2018``, ``December 25, 2018``...) compares as the calendar date.
    - ``dayfirst`` (on): ``01/02/2018`` is 1 February (most of the world); off: 2 January (US).
    """

    ignore_case: bool = False
    normalize_whitespace: bool = True
    normalize_numbers: bool = True
    normalize_dates: bool = False
    dayfirst: bool = True

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> "FieldNormalization":
        """Build from handler options; only this class's option names are read, each a boolean."""
        values = {}
        for item in dataclass_fields(cls):
            if item.name in options:
                value = options[item.name]
                if not isinstance(value, bool):
                    raise ConfigError(f"handler option '{item.name}' must be true or false, not {value!r}")
                values[item.name] = value
        return cls(**values)

    @classmethod
    def option_names(cls) -> tuple[str, ...]:
        return tuple(item.name for item in dataclass_fields(cls))


EXACT = FieldNormalization(normalize_whitespace=False, normalize_numbers=False)
"""No normalisation: JSON equality (``1 == 1.0``, ``true != 1``, ``"1" != 1``; an absent key and a
null value are still the same fact)."""

_NUMBER = re.compile(r"[+-]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][+-]?\d+)?")
_DATE_FORMATS_DAYFIRST = ("%d/%m/%Y", "%d-%m-%Y", "%d.%m.%Y", "%d/%m/%y", "%d-%m-%y", "%d.%m.%y")
_DATE_FORMATS_MONTHFIRST = ("%m/%d/%Y", "%m-%d-%Y", "%m.%d.%Y", "%m/%d/%y", "%m-%d-%y", "%m.%d.%y")
_DATE_FORMATS_NAMED = (
    "%Y/%m/%d",
    "%Y.%m.%d",
    "%d %b %Y",
    "%d %B %Y",
    "%d-%b-%Y",
    "%d-%B-%Y",
    "%d %b, %Y",
    "%d %B, %Y",
    "%d-%b-%y",
    "%d %b %y",
    "%b %d, %Y",
    "%B %d, %Y",
    "%b %d %Y",
    "%B %d %Y",
)


def _as_number(text: str) -> float | None:
    candidate = text.strip()
    if not candidate or not _NUMBER.fullmatch(candidate) or not any(ch.isdigit() for ch in candidate):
        return None
    value = float(candidate.replace(",", ""))
    return value if math.isfinite(value) else None


def _as_date(text: str, dayfirst: bool) -> str | None:
    candidate = " ".join(text.strip().split())
    if not candidate or not any(ch.isdigit() for ch in candidate):
        return None
    try:
        parsed = datetime.fromisoformat(candidate)
    except ValueError:
        parsed = None
    if parsed is not None:
        if parsed.tzinfo is None and (parsed.hour, parsed.minute, parsed.second, parsed.microsecond) == (0, 0, 0, 0):
            return parsed.date().isoformat()
        return parsed.isoformat()
    numeric = _DATE_FORMATS_DAYFIRST + _DATE_FORMATS_MONTHFIRST
    if not dayfirst:
        numeric = _DATE_FORMATS_MONTHFIRST + _DATE_FORMATS_DAYFIRST
    for form in numeric + _DATE_FORMATS_NAMED:  # a day > 12 falls through to the other order
        try:
            return datetime.strptime(candidate, form).date().isoformat()
        except ValueError:
            continue
    return None


def canonical_value(value: Any, normalization: FieldNormalization = FieldNormalization()) -> Any:
    """A hashable, comparable form of a JSON value under ``normalization`` (equal forms = a match)."""
    if isinstance(value, bool) or value is None:
        return ("literal", value)
    if isinstance(value, (int, float)):
        return ("number", float(value)) if normalization.normalize_numbers else ("number", value)
    if isinstance(value, str):
        if normalization.normalize_numbers:
            number = _as_number(value)
            if number is not None:
                return ("number", number)
        if normalization.normalize_dates:
            date = _as_date(value, normalization.dayfirst)
            if date is not None:
                return ("date", date)
        text = " ".join(value.split()) if normalization.normalize_whitespace else value
        return ("text", text.casefold() if normalization.ignore_case else text)
    if isinstance(value, (list, tuple)):
        return ("list", tuple(canonical_value(item, normalization) for item in value))
    if isinstance(value, Mapping):
        # a missing key and an explicit null are the same fact
        present = {str(k): canonical_value(v, normalization) for k, v in value.items() if v is not None}
        return ("object", tuple(sorted(present.items())))
    return ("other", repr(value))


def values_equal(gold: Any, predicted: Any, normalization: FieldNormalization = FieldNormalization()) -> bool:
    """Whether two JSON values match under ``normalization`` (objects and lists compared deeply)."""
    return canonical_value(gold, normalization) == canonical_value(predicted, normalization)


@dataclass(frozen=True)
class FieldComparison:
    """The gold object's top-level fields split by how the prediction did on them."""

    correct: tuple[str, ...]
    wrong: tuple[str, ...]  # present in the prediction with another value
    missing: tuple[str, ...]  # absent from the prediction (and not null in the gold)
    extra: tuple[str, ...]  # non-null fields the gold does not have

    @property
    def exact(self) -> bool:
        """The whole record matches: every gold field right and nothing extra."""
        return not (self.wrong or self.missing or self.extra)


def compare_fields(
    gold: Mapping[str, Any], predicted: Any, normalization: FieldNormalization = FieldNormalization()
) -> FieldComparison:
    """Match ``predicted`` (any parsed JSON value) against the gold object field by field. A
    prediction that is not an object gets every non-null gold field ``missing``."""
    candidate: Mapping[str, Any] = predicted if isinstance(predicted, Mapping) else {}
    correct, wrong, missing = [], [], []
    for key, gold_value in gold.items():
        value = candidate.get(key)
        if values_equal(gold_value, value, normalization):
            correct.append(key)
        elif value is None:
            missing.append(key)
        else:
            wrong.append(key)
    extra = [key for key, value in candidate.items() if key not in gold and value is not None]
    return FieldComparison(tuple(correct), tuple(wrong), tuple(missing), tuple(extra))


__all__ = [
    "FieldComparison",
    "FieldNormalization",
    "canonical_value",
    "compare_fields",
    "model_from_schema",
    "schema_errors",
    "values_equal",
]
