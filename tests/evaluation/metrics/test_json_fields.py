"""metrics.json_fields: schema -> pydantic model (checked against jsonschema), per-field comparison
with each normalisation option on and off (parsing a reply as JSON: tests/tasks/test_replies.py)."""

from __future__ import annotations

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brewslm.errors import ConfigError
from brewslm.evaluation.metrics.json_fields import (
    FieldNormalization,
    canonical_value,
    compare_fields,
    model_from_schema,
    schema_errors,
    values_equal,
)
from brewslm.tasks.structured_extraction import SchemaInference

# --- schema -> model --------------------------------------------------------------------------

RECEIPT = {
    "type": "object",
    "properties": {
        "company": {"type": "string"},
        "total": {"type": ["number", "null"]},
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "qty": {"type": "integer"}},
                "required": ["name"],
            },
        },
        "address": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
        "kind": {"enum": ["cash", "card"]},
        "code": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
        "currency": {"const": "MYR"},
        "class": {"type": "boolean"},  # a key that is a Python keyword
        "model_config": {"type": "string"},  # a key pydantic itself uses
    },
    "required": ["company", "total"],
}


@pytest.mark.parametrize(
    "value",
    [
        {"company": "A", "total": 3},
        {"company": "A", "total": None},
        {"company": "A", "total": 3.5, "items": [{"name": "x", "qty": 2}, {"name": "y"}]},
        {
            "company": "A",
            "total": 1,
            "address": {"city": "KL"},
            "kind": "card",
            "code": "x7",
            "currency": "MYR",
            "class": True,
            "model_config": "m",
        },
        {"company": "A", "total": 1, "unknown": [1, 2]},  # additional properties allowed unless false
    ],
)
def test_schema_accepts(value):
    model = model_from_schema(RECEIPT)
    assert schema_errors(model, value) is None
    jsonschema.validate(value, RECEIPT)  # the reference agrees


@pytest.mark.parametrize(
    "value, where",
    [
        ({"company": "A"}, "total: Field required"),
        ({"company": 3, "total": 1}, "company: "),
        ({"company": "A", "total": "3"}, "total: "),  # strict: numeric text is not a number
        ({"company": "A", "total": True}, "total: "),  # a boolean is not a number
        ({"company": "A", "total": 1, "items": [{"name": "x", "qty": 2.5}]}, "items.0.qty: "),
        ({"company": "A", "total": 1, "items": [{"qty": 1}]}, "items.0.name: Field required"),
        ({"company": "A", "total": 1, "address": {"city": "KL", "zip": "1"}}, "address.zip: Extra inputs"),
        ({"company": "A", "total": 1, "kind": "cheque"}, "kind: "),
        ({"company": "A", "total": 1, "code": 1.5}, "code: "),
        ({"company": "A", "total": 1, "currency": "USD"}, "currency: "),
        ({"company": "A", "total": 1, "class": 1}, "class: "),
        ([1], "<root>: "),
    ],
)
def test_schema_rejects_with_a_located_message(value, where):
    problem = schema_errors(model_from_schema(RECEIPT), value)
    assert problem is not None and problem.startswith(where), problem
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(value, RECEIPT)


def test_enum_and_const_use_json_equality():
    model = model_from_schema(
        {"type": "object", "properties": {"k": {"enum": ["a", 1, {"x": [1]}]}, "c": {"const": True}}}
    )
    assert schema_errors(model, {"k": 1.0, "c": True}) is None
    assert schema_errors(model, {"k": {"x": [1]}}) is None  # object members compare deeply
    assert schema_errors(model, {"k": True}) == 'k: Input should be "a" or 1 or {"x": [1]}'
    assert schema_errors(model, {"c": 1}) == "c: Input should be true"


def test_schema_error_counts_other_places():
    problem = schema_errors(model_from_schema(RECEIPT), {"company": 1, "total": "x"})
    assert problem.endswith("(+1 more)")


def test_inferred_schema_from_the_import_is_usable():
    inference = SchemaInference()
    for target in [{"name": "a", "total": 3}, {"name": "b", "total": 2.5, "date": None}, {"name": "c", "total": 1}]:
        inference.add(target)
    schema = inference.schema()
    model = model_from_schema(schema)
    assert schema_errors(model, {"name": "d", "total": 4}) is None
    assert schema_errors(model, {"name": "d"}) is not None  # total is in every record: required
    assert schema_errors(model, {"name": "d", "total": 1, "date": "x"}) is not None  # date was only ever null


def test_bad_schemas_raise_config_errors():
    with pytest.raises(ConfigError, match="unknown type"):
        model_from_schema({"type": "decimal"})
    with pytest.raises(ConfigError, match="enum"):
        model_from_schema({"enum": []})


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 5)
    | st.floats(-5, 5, allow_nan=False)
    | st.sampled_from(["a", "3", ""]),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.sampled_from(["company", "total", "items", "kind", "code", "x"]), inner, max_size=4)
    ),
    max_leaves=8,
)
SCHEMAS = [
    RECEIPT,
    {"type": "array", "items": {"type": ["integer", "string"]}},
    {"type": "object", "properties": {"x": {"type": "array"}}, "additionalProperties": False},
    {"oneOf": [{"type": "null"}, {"type": "object", "properties": {"kind": {"enum": [1, "a", None]}}}]},
]


@settings(max_examples=300, deadline=None)
@given(value=JSON_VALUES, index=st.integers(0, len(SCHEMAS) - 1))
def test_model_agrees_with_jsonschema(value, index):
    schema = SCHEMAS[index]
    expected = jsonschema.Draft202012Validator(schema).is_valid(value)
    # JSON Schema reads 3.0 as an integer; pydantic's strict int does not. Whole floats are what a
    # model writes only when the schema says number, so the difference is left out of the check.
    if _has_whole_float(value):
        return
    assert (schema_errors(model_from_schema(schema), value) is None) == expected


def _has_whole_float(value):
    if isinstance(value, float):
        return value == int(value)
    if isinstance(value, list):
        return any(_has_whole_float(v) for v in value)
    if isinstance(value, dict):
        return any(_has_whole_float(v) for v in value.values())
    return False


# --- comparison -------------------------------------------------------------------------------


def test_numbers_compare_by_value_unless_switched_off():
    on, off = FieldNormalization(), FieldNormalization(normalize_numbers=False)
    assert values_equal(3, "3", on) and values_equal("3.0", 3, on) and values_equal(3, 3.0, on)
    assert values_equal("1,234.50", 1234.5, on) and values_equal(" -2 ", -2, on)
    assert not values_equal(True, 1, on)  # booleans are never numbers
    assert not values_equal("3 apples", 3, on)
    assert not values_equal("3", 3, off) and values_equal("3", "3", off)


def test_case_and_whitespace_options():
    assert not values_equal("Acme  Ltd", "acme ltd")
    assert values_equal("Acme  Ltd ", "Acme Ltd")
    assert values_equal("Acme  Ltd", "acme ltd", FieldNormalization(ignore_case=True))
    assert not values_equal("Acme  Ltd", "Acme Ltd", FieldNormalization(normalize_whitespace=False))
    assert values_equal("STRASSE", "straße", FieldNormalization(ignore_case=True))  # Unicode case folding


@pytest.mark.parametrize(
    "a, b",
    [
        ("2018-12-25", "25/12/2018"),
        ("2018-12-25", "25.12.18"),
        ("2018-12-25", "25 Dec 2018"),
        ("2018-12-25", "December 25, 2018"),
        ("2018-12-25", "2018/12/25"),
        ("2018-12-25", "25-DEC-2018"),
        ("2018-12-25T00:00:00", "2018-12-25"),
    ],
)
def test_dates_compare_as_calendar_dates_when_switched_on(a, b):
    assert values_equal(a, b, FieldNormalization(normalize_dates=True))
    assert not values_equal(a, b)  # off by default


def test_dayfirst_decides_ambiguous_dates():
    day_first, month_first = (
        FieldNormalization(normalize_dates=True),
        FieldNormalization(normalize_dates=True, dayfirst=False),
    )
    assert values_equal("01/02/2018", "2018-02-01", day_first)
    assert values_equal("01/02/2018", "2018-01-02", month_first)
    assert values_equal("13/02/2018", "2018-02-13", month_first)  # no month 13: the other order
    assert not values_equal("2018-12-25", "2018-12-26", day_first)
    assert canonical_value("not a date", day_first) == ("text", "not a date")


def test_nested_values_compare_deeply():
    assert values_equal({"a": [1, "x"], "b": None}, {"a": ["1", "x"]})
    assert not values_equal([1, 2], [2, 1])
    assert not values_equal({"a": 1}, {"a": 1, "b": 2})


def test_from_options():
    assert FieldNormalization.from_options({"ignore_case": True, "other": 1}) == FieldNormalization(ignore_case=True)
    with pytest.raises(ConfigError, match="ignore_case"):
        FieldNormalization.from_options({"ignore_case": "yes"})


def test_compare_fields():
    gold = {"company": "Acme", "total": 9, "date": None, "address": "1 Road"}
    result = compare_fields(gold, {"company": "Acme", "total": "9.00", "address": "2 Road", "tax": 1, "note": None})
    assert result.correct == ("company", "total", "date")  # a gold null is matched by leaving the field out
    assert result.wrong == ("address",) and result.missing == () and result.extra == ("tax",)
    assert not result.exact
    assert compare_fields(gold, {"company": "Acme", "total": 9, "address": "1 Road"}).exact
    missing = compare_fields(gold, {"company": "Acme"})
    assert missing.missing == ("total", "address")
    not_an_object = compare_fields(gold, [1, 2])
    assert not_an_object.correct == ("date",) and not_an_object.missing == ("company", "total", "address")
