"""Constrained decoding on llguidance: the grammars of JSON schemas (one compact spelling), regular
expressions and choices, checked on text and decoded token by token.

Properties checked with random schemas (hypothesis), now with ``pattern``, ``format``, ``oneOf``
and number bounds among them:
- every valid document of the schema, written in the one spelling constrained decoding uses
  (separators ", " and ": ", keys in the schema's order, no needless escapes), is accepted at
  every prefix (byte by byte) and is complete at its end; spaced any other way it is refused;
- decoding under the constraint from arbitrary logits never gets stuck, and every reply it ends is
  compact JSON that ``json.loads`` parses and ``jsonschema`` validates (formats checked).
Then the real thing: the tiny model decoding under constraints, batched and one at a time, and a
sampled reply (temperature 1.0) that fits a 40-token budget.
"""

from __future__ import annotations

import json
import math
import re

import jsonschema
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from brewslm.errors import ConfigError
from brewslm.evaluation.handlers.tool_call import ToolCallHandler
from brewslm.inference.constrained import (
    JSON_SEPARATORS,
    ChoiceConstraint,
    ConstrainedReply,
    JsonConstraint,
    JsonPrefixChecker,
    PrefixChecker,
    RegexConstraint,
    check_prefix,
    compile_grammar,
    model_vocabulary,
)
from brewslm.inference.generation import ReplyConstraints, generate, generate_one_by_one
from brewslm.inference.prompts import end_of_turn_ids
from brewslm.tasks import get_task_profile
from brewslm.tasks.rendering import NotRenderable, single_turn, to_json
from helpers.mapping import needs_shared, run_mapper, shared_rows, sniff

from .scoring_models import taught_model, tiny_model, tiny_tokenizer
from .test_generation import lively

LABEL_SCHEMA = {
    "type": "object",
    "properties": {
        "label": {"enum": ["positive", "negative"]},
        "score": {"type": "integer"},
        "tags": {"type": "array", "items": {"type": "string"}, "maxItems": 2},
    },
    "required": ["label"],
}
FORMATS = jsonschema.Draft202012Validator.FORMAT_CHECKER


def canonical(document) -> str:
    """The one spelling constrained decoding writes: ``to_json``'s, as training targets are written
    (llguidance also escapes DEL, which only stands in strings)."""
    return json.dumps(document, ensure_ascii=False, separators=JSON_SEPARATORS).replace("\x7f", "\\u007f")


_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')


def assert_compact(text: str) -> None:
    """No whitespace but the separators ", " and ": ", no escape where a plain character would do -
    except a ``\\uXXXX`` escape in an object key, which llguidance 1.9 allows in the extra keys of an
    object with properties (``test_known_gap_escapes_in_the_keys_of_open_objects``)."""
    for match in _STRING.finditer(text):
        is_key = text.startswith(": ", match.end())
        for escape in re.findall(r"\\(u[0-9a-fA-F]{4}|.)", match.group()):
            if escape.startswith("u"):
                assert is_key or int(escape[1:], 16) < 0x20 or int(escape[1:], 16) == 0x7F, (
                    f"needless escape in {text!r}"
                )
            else:
                assert escape in '"\\nrtbf', f"needless escape in {text!r}"
    skeleton = _STRING.sub('""', text)
    assert not re.search(r"[,:](?! )", skeleton), f"a separator without its space in {text!r}"
    assert not re.search(r"\s", re.sub(r"(?<=[,:]) ", "", skeleton)), f"free whitespace in {text!r}"


@pytest.fixture(scope="module")
def tokenizer():
    return tiny_tokenizer()


@pytest.fixture(scope="module")
def stop(tokenizer) -> int:
    return end_of_turn_ids(tokenizer)[-1]


@pytest.fixture(scope="module")
def replies(tokenizer, stop) -> ReplyConstraints:
    return ReplyConstraints(tokenizer, [stop])


# --- the checker, case by case ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, viable, complete",
    [
        ("", True, False),
        ("{", True, False),
        ('{"la', True, False),
        ('{"label": "neg', True, False),
        ('{"label": "negative"}', True, True),
        ('{"label": "negative", "score": -12}', True, True),
        ('{"label": "positive", "tags": ["a\\"b\\u0001é\\n", "😀"]}', True, True),
        ('{"label": "p\\u006fsitive"}', False, False),  # no escape where the plain character will do
        ('{"label": "negative", "tags": ["a\\/b"]}', False, False),
        ('{"label": "negative", "tags": ["\\u00e9"]}', False, False),
        ('{"label": "neutral"', False, False),  # not in the enum
        ('{"x"', False, False),  # listed properties come first, in the schema's order
        ('{"score": 3}', False, False),  # "label" is required (and first)
        ('{"label": "negative", "label"', False, False),  # a key appears once
        ('{"label": "negative", "score": 1.5', False, False),  # an integer has no fraction
        ('{"label": "negative", "score": 01', False, False),  # no leading zeros
        ('{"label": "negative", "tags": ["a", "b", ', False, False),  # maxItems
        ('{"label": "negative", "tags": ["a\tb"]}', False, False),  # raw control character in a string
        ('{"label": "negative"} ', False, False),  # after the document only the end of the turn
        ('{"label": "negative",}', False, False),  # trailing comma
        ("  {", False, False),  # no whitespace but the separators
        ('{ "label"', False, False),
        ('{"label":"negative"}', False, False),  # the separators are ", " and ": "
        ('{"label": "negative" , "score": 1}', False, False),
        ("[", False, False),
    ],
)
def test_prefix_cases(text, viable, complete):
    assert check_prefix(LABEL_SCHEMA, text) == (viable, complete)


@pytest.mark.parametrize(
    "schema, text, viable, complete",
    [
        ({"type": "string", "maxLength": 3}, '"abc"', True, True),
        ({"type": "string", "maxLength": 3}, '"abcd', False, False),
        ({"type": "string", "maxLength": 1}, '"😀"', True, True),  # one character, four bytes
        ({"type": "string", "minLength": 2}, '"a"', False, False),
        ({"type": "string", "minLength": 2}, '"a\\n"', True, True),
        ({"type": "string", "pattern": "^[A-Z]{2}[0-9]+$"}, '"AB12"', True, True),
        ({"type": "string", "pattern": "^[A-Z]{2}[0-9]+$"}, '"AB', True, False),
        ({"type": "string", "pattern": "^[A-Z]{2}[0-9]+$"}, '"AB"', False, False),
        ({"type": "string", "pattern": "^[A-Z]{2}[0-9]+$"}, '"Ab', False, False),
        ({"type": "string", "pattern": "[0-9]{3}"}, '"ab123cd"', True, True),  # unanchored: a match anywhere
        ({"type": "string", "pattern": "[0-9]{3}"}, '"ab12cd', True, False),
        ({"type": "string", "format": "date"}, '"2025-06-14"', True, True),
        ({"type": "string", "format": "date"}, '"2025-13', False, False),
        ({"type": "string", "format": "date"}, '"hello', False, False),
        ({"type": "string", "format": "email"}, '"ada@example.com"', True, True),
        ({"type": "string", "format": "uuid"}, '"123e4567-e89b-12d3-a456-426614174000"', True, True),
        ({"type": "string", "format": "ipv4"}, '"256.', False, False),
        ({"type": "string", "format": "date-time"}, '"2025-06-14T10:00:00Z"', True, True),
        ({"type": "string", "format": "uri"}, '"https://example.com/a"', True, True),
        ({"type": "string", "format": "uri"}, '"no uri"', False, False),
        ({"type": "string", "format": "color-hex"}, '"anything"', True, True),  # an unknown format is ignored
        ({"type": "integer", "minimum": 10, "maximum": 20}, "2", True, False),  # 20 is still ahead
        ({"type": "integer", "minimum": 10, "maximum": 20}, "3", False, False),
        ({"type": "integer", "minimum": 10, "maximum": 20}, "21", False, False),
        ({"type": "integer", "minimum": 10, "maximum": 20}, "-", False, False),
        ({"type": "integer", "maximum": -5}, "-4", True, False),  # -40 and below are ahead
        ({"type": "integer", "maximum": -5}, "-0", False, False),
        ({"type": "integer", "exclusiveMaximum": 0}, "-1", True, True),
        ({"type": "integer", "exclusiveMaximum": 0}, "0", False, False),
        ({"type": "integer", "minimum": 5, "exclusiveMinimum": True}, "5", True, False),  # draft 4: 5 is out, 50 in
        ({"type": "integer", "minimum": 5, "exclusiveMinimum": True}, "6", True, True),
        ({"type": "number", "minimum": 0.5, "maximum": 2.5}, "2.49", True, True),  # number bounds hold
        ({"type": "number", "minimum": 0.5, "maximum": 2.5}, "2.51", False, False),
        ({"type": "number", "minimum": 0.5, "maximum": 2.5}, "7", False, False),
        ({"type": "number", "exclusiveMinimum": 0}, "0", True, False),  # 0.1 is ahead
        ({"type": "number", "exclusiveMinimum": 0}, "-", False, False),
        ({"type": "integer", "multipleOf": 5}, "15", True, True),
        ({"type": "integer", "multipleOf": 5}, "16", True, False),  # 160 is ahead
        ({"type": ["integer", "null"]}, "nul", True, False),
        ({"type": ["integer", "null"]}, "-0", True, True),
        ({"type": "number"}, "-0.5e+3", True, True),
        ({"type": "number"}, "1.", True, False),
        ({"type": "number"}, "1.e", False, False),
        ({"type": "boolean"}, "tru", True, False),
        ({"type": "boolean"}, "truth", False, False),
        ({"enum": [3, 30, "x", None]}, "3", True, True),
        ({"enum": [3, 30, "x", None]}, "30", True, True),
        ({"enum": [3, 30, "x", None]}, "31", False, False),
        ({"const": {"a": [1, True]}}, '{"a": [1, true]}', True, True),
        ({"const": {"a": [1, True]}}, '{"a": [1]', False, False),
        ({"oneOf": [{"type": "string"}, {"type": "integer"}]}, "7", True, True),  # exclusive branches
        ({"oneOf": [{"type": "string"}, {"type": "integer"}]}, "true", False, False),
        (
            {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "integer"}, "minItems": 1}]},
            "[]",
            False,
            False,
        ),
        (
            {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "integer"}, "minItems": 1}]},
            "[7, 8]",
            True,
            True,
        ),
        ({"type": "object", "additionalProperties": {"type": "integer"}}, '{"any key": 1, "b": 2}', True, True),
        ({"type": "object", "additionalProperties": {"type": "integer"}}, '{"any key": "1"', False, False),
        (
            {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": False},
            '{"a": "x", "b"',
            False,
            False,
        ),
        (
            {"type": "object", "properties": {"a": {"type": "string"}}},  # listed properties close the object
            '{"a": "x", "b"',
            False,
            False,
        ),
        (
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["z"]},
            '{"a": "x", "z": [1]}',  # a required key the properties do not list takes any value
            True,
            True,
        ),
        (
            {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": True},
            '{"a": "x", "b": [null]}',  # open when the schema says so: other keys after the listed ones
            True,
            True,
        ),
        (
            {"allOf": [{"properties": {"a": {"type": "integer"}}}, {"properties": {"b": {"type": "integer"}}}]},
            '{"a": 1, "b": 2}',  # allOf branches stay open: each one's keys are the other's extras
            True,
            True,
        ),
        (
            {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "items": False},
            '["x", 2]',
            True,
            True,
        ),
        (
            {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "items": False},
            '["x", 2,',
            False,
            False,
        ),
        (
            {
                "$defs": {
                    "node": {
                        "type": "object",
                        "properties": {"v": {"type": "integer"}, "next": {"$ref": "#/$defs/node"}},
                        "required": ["v"],
                    }
                },
                "$ref": "#/$defs/node",
            },
            '{"v": 1, "next": {"v": 2, "next": {"v": 3}}}',
            True,
            True,
        ),
        ({"allOf": [{"properties": {"a": {"type": "integer"}}}, {"required": ["a"]}]}, "{}", False, False),
        ({"allOf": [{"properties": {"a": {"type": "integer"}}}, {"required": ["a"]}]}, '{"a": 1}', True, True),
        (True, '[1, {"k": [true, null, "x\\"y"]}, -0.5e+3]', True, True),
        ({"type": "string"}, '"' + " " * 40 + '"', True, True),  # whitespace inside a string is content
    ],
)
def test_prefix_schema_features(schema, text, viable, complete):
    assert check_prefix(schema, text) == (viable, complete)


@pytest.mark.xfail(
    strict=True, reason="llguidance 1.9: an integer exclusiveMinimum with the maximum below the next integer"
)
def test_known_gap_exclusive_minimum_close_to_the_maximum():
    # 0 < x <= 0.25, yet "0" is accepted; exclusiveMinimum 0 with maximum 1 (or none) refuses it
    assert not check_prefix({"type": "number", "exclusiveMinimum": 0, "maximum": 0.25}, "0").complete


@pytest.mark.xfail(
    strict=True, reason="llguidance 1.9: the extra keys of an object with properties take any \\u escape"
)
def test_known_gap_escapes_in_the_keys_of_open_objects():
    # values refuse a needless escape, and so do the keys of an object without properties; the
    # extra keys of an object with properties (any key but those) take one
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": True}
    assert not check_prefix(schema, '{"x\\u0041y": true}').viable


def test_allow_text_constrains_only_json_replies():
    call = {
        "type": "object",
        "properties": {"tool": {"const": "get_weather"}, "arguments": {"type": "object"}},
        "required": ["tool", "arguments"],
    }
    assert check_prefix(call, "", allow_text=True) == (True, True)
    assert check_prefix(call, "It is sunny {today}", allow_text=True) == (True, True)
    assert check_prefix(call, " It is sunny", allow_text=True) == (True, True)
    assert check_prefix(call, '{"tool": "get_w', allow_text=True) == (True, False)
    assert check_prefix(call, '{"tool": "get_weather", "arguments": {"city": "Paris"}}', allow_text=True) == (
        True,
        True,
    )
    assert check_prefix(call, ' {"tool"', allow_text=True).viable is False  # a document starts the reply
    assert check_prefix(call, '{"tool": "search"', allow_text=True).viable is False
    assert check_prefix(call, "[", allow_text=True).viable is False  # the schema has no array form
    assert check_prefix(call, "It is sunny").viable is False  # without allow_text the reply is JSON


TOOLS = {
    "oneOf": [
        {
            "type": "object",
            "properties": {
                "tool": {"const": "add"},
                "arguments": {
                    "type": "object",
                    "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
                    "required": ["a", "b"],
                },
            },
            "required": ["tool", "arguments"],
        },
        {
            "type": "object",
            "properties": {
                "tool": {"const": "echo"},
                "arguments": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
            },
            "required": ["tool", "arguments"],
        },
    ]
}


def test_one_of_tool_calls_narrow_by_tool_name():
    checker = JsonPrefixChecker(TOOLS)
    assert checker.check('{"tool": "').viable  # both tools still possible
    assert checker.check('{"tool": "add", "arguments": {"a": 1, "b": 2}}') == (True, True)
    assert not checker.check('{"tool": "add", "arguments": {"text"').viable
    assert checker.check('{"tool": "echo", "arguments": {"text": "hi"}}') == (True, True)


def test_overlapping_one_of_is_refused_not_weakened():
    # a grammar cannot make sure exactly one branch matches "ab": refusing beats treating it as anyOf
    with pytest.raises(ConfigError, match="oneOf whose branches may overlap.*use anyOf"):
        check_prefix({"oneOf": [{"type": "string"}, {"type": "string", "maxLength": 3}]}, '"ab"')
    assert check_prefix({"anyOf": [{"type": "string"}, {"type": "string", "maxLength": 3}]}, '"ab"').complete


def test_keywords_not_enforced_are_listed():
    schema = {"type": "array", "uniqueItems": True, "items": {"type": "string", "format": "color-hex"}}
    grammar = compile_grammar(JsonConstraint(schema))
    assert any("uniqueItems" in note for note in grammar.ignored)
    assert any("color-hex" in note for note in grammar.ignored)
    assert compile_grammar(JsonConstraint(LABEL_SCHEMA)).ignored == ()


@pytest.mark.parametrize(
    "schema, fragment",
    [
        ({"type": "strnig"}, "Invalid type: strnig"),
        ({"$ref": "https://example.com/s.json"}, "https://example.com/s.json"),
        ({"$ref": "#/$defs/missing"}, "/\\$defs/missing' does not exist"),
        ({"type": "string", "maxLength": -1}, "maxLength"),
        ({"type": "integer", "minimum": "3"}, "minimum"),
        ({"type": "object", "properties": {"a": False}, "required": ["a"]}, "unsatisfiable"),
        (False, "no document is valid"),
        ([1], "must be an object or a boolean"),
    ],
)
def test_schema_errors_name_the_problem(schema, fragment):
    with pytest.raises(ConfigError, match=fragment):
        check_prefix(schema, "{")


def test_schema_errors_surface_before_decoding(replies):
    nested = {"type": "object", "properties": {"a": {"type": "array", "items": {"type": "strnig"}}}}
    with pytest.raises(ConfigError, match="strnig"):
        JsonPrefixChecker(nested)
    with pytest.raises(ConfigError, match="strnig"):
        replies.reply(JsonConstraint(nested))


def test_regex_and_choice_constraints():
    date = PrefixChecker(RegexConstraint(r"[0-9]{4}-[0-9]{2}"))
    assert date.check("2025-0") == (True, False)
    assert date.check("2025-06") == (True, True)
    assert not date.check("2025-061").viable and not date.check("x").viable
    choice = PrefixChecker(ChoiceConstraint(("yes", "no", 'say "é"\n')))
    assert choice.check("ye") == (True, False)
    assert choice.check("no") == (True, True)
    assert choice.check('say "é"\n') == (True, True)
    assert not choice.check("maybe").viable
    with pytest.raises(ConfigError, match="regular expression"):
        PrefixChecker(RegexConstraint("[a-"))
    with pytest.raises(ConfigError, match="non-empty list"):
        ChoiceConstraint(())


@needs_shared
@pytest.mark.parametrize(
    "spec",
    ["jsonl:tool_calling_bfcl/dev.jsonl?join=dev_possible_answer.jsonl&on=id", "jsonl:tool_calling_glaive/dev.jsonl"],
)
def test_real_tool_schemas_compile_and_take_their_gold_calls(spec):
    """Every real tool schema compiles, exactly (nothing ignored); a gold reply, as training renders
    it, is accepted by the tool_call constraint (free text or a valid call) unless it breaks its
    schema: BFCL has an argument outside its enum, glaive a "10:00" where format: time asks more."""
    data = shared_rows(spec)
    records = run_mapper("tool_call_passthrough", data, sniff("tool_call_passthrough", data).field_map).records
    handler, profile = ToolCallHandler(), get_task_profile("tool_call")
    accepted = refused = 0
    for record in records:
        schema = handler.json_schema(record)
        if schema is None:
            continue
        assert compile_grammar(JsonConstraint(schema, allow_text=True)).ignored == ()
        try:
            reply = profile.render(record).completion
        except NotRenderable:  # BFCL irrelevance: no call and no known answer
            continue
        if check_prefix(schema, reply, allow_text=True).complete:
            accepted += 1
            if reply[:1] in "{[":
                jsonschema.Draft202012Validator(schema, format_checker=FORMATS).validate(json.loads(reply))
        else:
            refused += 1
    assert accepted >= 40 and refused <= 1
    assert not check_prefix({"type": "string", "format": "time"}, '"10:00"').viable  # RFC 3339: 10:00:00Z


def test_canonical_spelling_is_the_training_spelling():
    document = {"label": "negative", "score": 3, "tags": ["a b", "é"]}
    assert canonical(document) == to_json(document)
    assert check_prefix(LABEL_SCHEMA, to_json(document)) == (True, True)


# --- random schemas ----------------------------------------------------------------------------

KEYS = ["a", "b", "name", 'q"uote', "sp ace", "b\\s"]
STRINGS = ["", "x", "positive", 'say "hi"', "back\\slash", "tab\tnew\nline", "é", "日本"]
PATTERNS = ["^[a-z]{1,4}$", "^[A-Z][0-9]{2}$", "[0-9]+"]
FORMAT_VALUES = {
    "email": ["ada@example.com", "a.b-c@mail.example.org"],
    "uuid": ["123e4567-e89b-12d3-a456-426614174000"],
    "ipv4": ["10.0.0.1", "192.168.255.7"],
    "date": ["2025-06-14", "1999-12-31"],  # llguidance's date is a pattern (2023-02-29 passes): kept out of decoding
}


def _leaf(decoding: bool) -> st.SearchStrategy[dict]:
    formats = [f for f in FORMAT_VALUES if not (decoding and f == "date")]
    return st.one_of(
        st.sampled_from([{"type": t} for t in ("string", "integer", "number", "boolean", "null")]),
        st.lists(st.sampled_from(STRINGS), min_size=1, max_size=3, unique=True).map(lambda v: {"enum": v}),
        st.lists(
            st.one_of(st.integers(-50, 50), st.sampled_from([0.5, -2.25, True, None])),
            min_size=1,
            max_size=3,
            unique_by=json.dumps,
        ).map(lambda v: {"enum": v}),
        st.sampled_from(STRINGS + [7, False]).map(lambda v: {"const": v}),
        st.just({"type": ["string", "null"]}),
        _bounded_string(),
        _bounded_integer(),
        _bounded_number(),
        st.sampled_from(PATTERNS).map(lambda p: {"type": "string", "pattern": p}),
        st.sampled_from(formats).map(lambda f: {"type": "string", "format": f}),
        _exclusive_types(),
    )


@st.composite
def _bounded_string(draw):
    low = draw(st.integers(0, 3))
    schema = {"type": "string", "minLength": low}
    if draw(st.booleans()):
        schema["maxLength"] = draw(st.integers(low, low + 3))
    return schema


@st.composite
def _bounded_integer(draw):
    """An integer range in one of the spellings (inclusive, exclusive, fractional bounds), never empty."""
    low = draw(st.integers(-120, 120))
    high = draw(st.integers(low, low + draw(st.sampled_from([0, 3, 40, 5000]))))
    schema = {"type": "integer"}
    spell = draw(st.sampled_from(["inclusive", "exclusive", "fraction", "low only", "high only"]))
    if spell in ("inclusive", "low only"):
        schema["minimum"] = low
    if spell in ("inclusive", "high only"):
        schema["maximum"] = high
    if spell == "exclusive":
        schema.update(exclusiveMinimum=low - 1, exclusiveMaximum=high + 1)
    if spell == "fraction":
        schema.update(minimum=low - 0.5, maximum=high + 0.5)
    return schema


@st.composite
def _bounded_number(draw):
    low = draw(st.sampled_from([-2.5, 0, 0.5, 10]))
    if draw(st.booleans()):
        return {"type": "number", "minimum": low, "maximum": low + draw(st.sampled_from([0.25, 1, 100]))}
    # an exclusive bound with less than 1 up to the maximum hits a known llguidance gap (below)
    return {"type": "number", "exclusiveMinimum": low, "maximum": low + draw(st.sampled_from([1, 100]))}


def _exclusive_types() -> st.SearchStrategy[dict]:
    """A oneOf of branches of different types: exactly one matches any value."""
    kinds = ["string", "integer", "boolean", "null"]
    return st.lists(st.sampled_from(kinds), min_size=2, max_size=3, unique=True).map(
        lambda types: {"oneOf": [{"type": t} for t in types]}
    )


def _object(children: st.SearchStrategy[dict]) -> st.SearchStrategy[dict]:
    @st.composite
    def build(draw):
        properties = draw(st.dictionaries(st.sampled_from(KEYS), children, max_size=3))
        required = [key for key in properties if draw(st.booleans())]
        schema = {"type": "object", "properties": properties, "required": required}
        extra = draw(st.sampled_from(["absent", "false", "true", "schema"]))
        if extra == "false":
            schema["additionalProperties"] = False
        elif extra == "true":
            schema["additionalProperties"] = True
        elif extra == "schema":
            schema["additionalProperties"] = draw(children)
        return schema

    return build()


def _tagged(children: st.SearchStrategy[dict]) -> st.SearchStrategy[dict]:
    """A oneOf of objects told apart by a const ``kind`` (a tool call's shape)."""

    @st.composite
    def build(draw):
        branches = []
        for index in range(draw(st.integers(2, 3))):
            properties = {"kind": {"const": f"k{index}"}}
            properties.update(draw(st.dictionaries(st.sampled_from(KEYS), children, max_size=2)))
            required = ["kind"] + [key for key in properties if key != "kind" and draw(st.booleans())]
            branches.append(
                {"type": "object", "properties": properties, "required": required, "additionalProperties": False}
            )
        return {"oneOf": branches}

    return build()


def _array(children: st.SearchStrategy[dict]) -> st.SearchStrategy[dict]:
    @st.composite
    def build(draw):
        schema = {"type": "array", "items": draw(children)}
        low = draw(st.integers(0, 2))
        schema["minItems"] = low
        if draw(st.booleans()):
            schema["maxItems"] = draw(st.integers(low, 3))
        return schema

    return build()


def _schemas(decoding: bool) -> st.SearchStrategy[dict]:
    return st.recursive(
        _leaf(decoding),
        lambda children: st.one_of(
            _object(children),
            _array(children),
            _tagged(children),
            st.lists(children, min_size=1, max_size=3).map(lambda branches: {"anyOf": branches}),
        ),
        max_leaves=6,
    )


def _spelled(value: float) -> bool:
    """A bounded number written without an exponent (how llguidance writes bounded numbers)."""
    return "e" not in json.dumps(value) and "E" not in json.dumps(value)


@st.composite
def _instance(draw, schema):
    """A document valid against ``schema``, keys in the schema's order (as decoding writes them)."""
    for key in ("anyOf", "oneOf"):
        if key in schema:
            return draw(_instance(draw(st.sampled_from(schema[key]))))
    if "enum" in schema:
        return draw(st.sampled_from(schema["enum"]))
    if "const" in schema:
        return schema["const"]
    kind = schema["type"]
    if isinstance(kind, list):
        kind = draw(st.sampled_from(kind))
    if kind == "object":
        keys = [k for k in schema["properties"] if k in schema["required"] or draw(st.booleans())]
        out = {key: draw(_instance(schema["properties"][key])) for key in keys}
        extra = schema.get("additionalProperties")
        if extra not in (None, False) and draw(st.booleans()):
            key = draw(st.text(min_size=1, max_size=4).filter(lambda k: k not in schema["properties"]))
            out[key] = draw(_instance({"type": "null"} if extra is True else extra))
        return out
    if kind == "array":
        size = draw(st.integers(schema["minItems"], schema.get("maxItems", schema["minItems"] + 2)))
        return [draw(_instance(schema["items"])) for _ in range(size)]
    if kind == "string" and "pattern" in schema:
        return draw(st.from_regex(schema["pattern"], fullmatch=schema["pattern"].startswith("^")))
    if kind == "string" and "format" in schema:
        return draw(st.sampled_from(FORMAT_VALUES[schema["format"]]))
    if kind == "string" and "minLength" in schema:
        return draw(st.text(min_size=schema["minLength"], max_size=schema.get("maxLength", schema["minLength"] + 8)))
    if kind == "integer" and schema.keys() & {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}:
        low = schema.get("minimum", schema.get("exclusiveMinimum", -(10**6) - 1) + 1)
        high = schema.get("maximum", schema.get("exclusiveMaximum", 10**6 + 1) - 1)
        return draw(st.integers(math.ceil(low), math.floor(high)))
    if kind == "number" and "maximum" in schema:
        low = schema.get("minimum", schema.get("exclusiveMinimum"))
        numbers = st.floats(low, schema["maximum"], exclude_min="exclusiveMinimum" in schema)
        if math.floor(low) + 1 <= schema["maximum"]:
            numbers |= st.integers(math.floor(low) + 1, math.floor(schema["maximum"]))
        return draw(numbers.filter(_spelled))
    return draw(
        {
            "string": st.text(max_size=8),
            "integer": st.integers(-(10**6), 10**6),
            "number": st.one_of(st.integers(-1000, 1000), st.floats(allow_nan=False, allow_infinity=False)),
            "boolean": st.booleans(),
            "null": st.none(),
        }[kind]
    )


@st.composite
def _schema_and_document(draw):
    schema = draw(_schemas(decoding=False))
    document = draw(_instance(schema))
    return schema, document


@settings(max_examples=300, deadline=None)
@given(_schema_and_document())
def test_every_valid_document_is_accepted_at_every_prefix(case):
    schema, document = case
    jsonschema.Draft202012Validator(schema, format_checker=FORMATS).validate(document)  # the generator is right
    text = canonical(document)
    checker = JsonPrefixChecker(schema)
    data = text.encode()
    for end in range(len(data) + 1):  # every byte prefix (llguidance reads bytes: a prefix may split a character)
        assert checker.check(data[:end]).viable, f"{text!r} rejected at byte {end}"
    assert checker.check(text) == (True, True)
    spaced = json.dumps(document, ensure_ascii=False, indent=1)
    if spaced != text:  # spaced another way, the same document is refused
        assert not checker.check(spaced).viable


CLOSERS = {'"', "}", "]", "0", "1", "n", "t", "f"}


def _schema_strings(schema) -> set[str]:
    """Every key and string value a schema names, as JSON spells them."""
    found: set[str] = set()
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "properties":
                found |= {json.dumps(name, ensure_ascii=False)[1:-1] for name in value}
            found |= _schema_strings(value)
    elif isinstance(schema, list):
        for value in schema:
            found |= _schema_strings(value)
    elif isinstance(schema, str):
        found.add(json.dumps(schema, ensure_ascii=False)[1:-1])
    return found


@pytest.fixture(scope="module")
def pieces(tokenizer) -> list[str]:
    return [tokenizer.decode([i]) for i in range(len(tokenizer))]


def _decode_with_logits(
    reply: ConstrainedReply, schema, pieces, stop: int, generator: torch.Generator, steps: int
) -> tuple[list[int], bool]:
    """Greedy constrained decoding from random logits that favour the schema's own words and
    closing tokens (so documents end): the tokens, and whether the reply ended at end-of-turn."""
    words = _schema_strings(schema)
    bias = torch.zeros(len(pieces))
    for token_id, piece in enumerate(pieces):
        if piece and any(piece in word for word in words):
            bias[token_id] = 3.0
        elif piece.strip()[:1] in CLOSERS:
            bias[token_id] = 2.5
    bias[stop] = 4.0
    ids: list[int] = []
    for _ in range(steps):
        masked = reply.mask(torch.randn(len(pieces), generator=generator) + bias)
        assert torch.isfinite(masked).any(), f"stuck after {''.join(pieces[i] for i in ids)!r}"
        token = int(masked.argmax())
        assert reply.allows(token)
        if token == stop:
            assert reply.complete
            return ids, True
        reply.advance(token)
        ids.append(token)
    return ids, False


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(schema=_schemas(decoding=True), seed=st.integers(0, 2**31 - 1), allow_text=st.booleans())
def test_constrained_decoding_always_validates(tokenizer, replies, pieces, stop, schema, seed, allow_text):
    constraint = JsonConstraint(schema, allow_text=allow_text)
    reply = replies.reply(constraint)
    generator = torch.Generator().manual_seed(seed)
    ids, finished = _decode_with_logits(reply, schema, pieces, stop, generator, steps=400)
    text = tokenizer.decode(ids)
    if not finished:  # random keys can keep an open object going for a long time
        event("unfinished")
        assert PrefixChecker(constraint).check(text).viable
        return
    if allow_text and text.lstrip()[:1] not in ("{", "["):
        return  # a free-text reply
    assert_compact(text)
    jsonschema.Draft202012Validator(schema, format_checker=FORMATS).validate(json.loads(text))


def test_a_slow_tokenizer_is_a_config_error():
    with pytest.raises(ConfigError, match="needs a fast"):
        model_vocabulary(object(), [0])


def test_mask_covers_the_whole_vocabulary(tokenizer, replies, pieces, stop):
    reply = replies.reply(JsonConstraint({"type": "boolean"}))
    allowed = reply.allowed()
    assert allowed.shape == (len(tokenizer),)
    assert {pieces[i] for i in allowed.nonzero().flatten().tolist()} <= {"t", "f", "tr", "true", "fa", "false"}
    assert allowed.any()
    logits = torch.randn(len(tokenizer) + 5)  # a model's vocabulary may be wider than its tokenizer's
    masked = reply.mask(logits)
    assert torch.isinf(masked[len(tokenizer) :]).all()
    assert torch.equal(torch.isfinite(masked[: len(tokenizer)]), allowed)


def test_special_tokens_are_never_taken_and_end_of_turn_only_when_complete(tokenizer, replies, stop):
    reply = replies.reply(JsonConstraint({"type": "string"}))
    for piece in ('"', "a"):
        reply.advance(tokenizer.convert_tokens_to_ids(piece))
    assert not reply.allows(stop) and not reply.complete
    assert not any(reply.allows(i) for i in tokenizer.all_special_ids)
    reply.advance(tokenizer.convert_tokens_to_ids('"'))
    assert reply.complete and reply.allows(stop)
    assert reply.allowed().nonzero().flatten().tolist() == [stop]  # after the document only the end of the turn


def test_tokens_splitting_a_character_are_taken_byte_by_byte(tokenizer, replies):
    reply = replies.reply(JsonConstraint({"enum": ["é"]}))
    ids = tokenizer('"é"', add_special_tokens=False)["input_ids"]
    assert len(ids) > 3  # the tiny tokenizer splits "é" into its bytes
    for token in ids:
        assert reply.allows(token)
        reply.advance(token)
    assert reply.complete


# --- with the tiny model -----------------------------------------------------------------------

FINITE = {  # a schema with finitely many documents, so every reply ends
    "type": "object",
    "properties": {"label": {"enum": ["positive", "negative"]}, "ok": {"type": "boolean"}},
    "required": ["label", "ok"],
}
PROMPTS = [
    "Classify: a fine film",
    "hi",
    "Extract the fields from: My parcel arrived late and the box was damaged",
    "tokens, tags, text",
]


@pytest.fixture(scope="module")
def model(tokenizer):
    return lively(tiny_model(tokenizer, seed=7), seed=7)


def test_tiny_model_constrained_replies_validate(model, tokenizer):
    rendered = [single_turn(p, "x") for p in PROMPTS]
    constraint = JsonConstraint(FINITE)
    batched = generate(
        model, tokenizer, rendered, max_new_tokens=200, batch_size=3, constraints=[constraint] * len(rendered)
    )
    for reply in batched:
        assert reply.finished
        jsonschema.validate(json.loads(reply.text), FINITE)
        assert_compact(reply.text)
    # the naive baseline masks transformers' own generate the same way
    assert (
        generate_one_by_one(model, tokenizer, rendered, max_new_tokens=200, constraints=[constraint] * len(rendered))
        == batched
    )
    for generations in (
        generate(model, tokenizer, rendered, max_new_tokens=200, temperature=1.0, seed=3, constraints=[constraint] * 4),
        generate_one_by_one(
            model, tokenizer, rendered, max_new_tokens=200, temperature=1.0, seed=3, constraints=[constraint] * 4
        ),
    ):
        for reply in generations:
            assert reply.finished
            jsonschema.validate(json.loads(reply.text), FINITE)


def test_tiny_model_regex_choice_and_tool_calls(model, tokenizer):
    rendered = [single_turn(p, "x") for p in PROMPTS[:3]]
    constraints = [
        RegexConstraint(r"[0-9]{3}-[a-z]{2}"),
        ChoiceConstraint(("positive", "negative", "neutral")),
        JsonConstraint(TOOLS, allow_text=True),
    ]
    for temperature in (0.0, 1.0):
        code, label, call = generate(
            model, tokenizer, rendered, max_new_tokens=60, temperature=temperature, constraints=constraints
        )
        assert code.finished and re.fullmatch(r"[0-9]{3}-[a-z]{2}", code.text)
        assert label.finished and label.text in ("positive", "negative", "neutral")
        assert PrefixChecker(constraints[2]).check(call.text).viable


def test_tiny_model_mixed_constraints_and_budget(model, tokenizer):
    rendered = [single_turn(p, "x") for p in PROMPTS[:3]]
    replies = generate(
        model,
        tokenizer,
        rendered,
        max_new_tokens=6,
        constraints=[JsonConstraint({"type": "string"}), None, JsonConstraint(TOOLS)],
    )
    assert replies[1] == generate(model, tokenizer, rendered[1:2], max_new_tokens=6)[0]  # unconstrained row
    for reply in (replies[0], replies[2]):  # cut by the budget: unfinished, but a viable prefix
        assert not reply.finished and reply.tokens == 6
    assert check_prefix({"type": "string"}, replies[0].text).viable
    assert check_prefix(TOOLS, replies[2].text).viable


# --- the bug: sampled schema-constrained replies ran out of budget --------------------------------

PERSON = {  # the issue's case: an object with a string and a bounded integer
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0, "maximum": 120}},
    "required": ["name", "age"],
}
PEOPLE = [("Ada Lovelace, 36", "Ada Lovelace", 36), ("Alan Turing, 41", "Alan Turing", 41), ("Grace, 85", "Grace", 85)]


def assert_sampled_replies_fit(model, tokenizer, rendered, schema, *, seeds: int) -> None:
    """Sampled at temperature 1.0 under ``schema`` with 40 tokens, every reply ends by itself, is
    compact, and is a valid document - for each seed in ``range(seeds)``."""
    for seed in range(seeds):
        for reply in generate(
            model,
            tokenizer,
            rendered,
            max_new_tokens=40,
            temperature=1.0,
            seed=seed,
            constraints=[JsonConstraint(schema)] * len(rendered),
        ):
            assert reply.finished, f"cut by the budget: {reply.text!r}"
            assert_compact(reply.text)
            jsonschema.validate(json.loads(reply.text), schema)


def test_sampled_schema_replies_fit_a_40_token_budget(model, tokenizer):
    # The former decoder allowed every escape and whitespace runs of 16 between tokens, and sampled
    # among the viable tokens of the top 50: on this case its replies were 0 of 12 valid, all cut by
    # the budget ('\n \n\r{\r\r\t\t\t\n\n...', '"ag\\u006...'). With one compact spelling and a
    # bounded string, no model can make a reply outgrow 40 tokens.
    schema = {**PERSON, "properties": {**PERSON["properties"], "name": {"type": "string", "maxLength": 8}}}
    assert_sampled_replies_fit(model, tokenizer, [single_turn(p, "x") for p in PROMPTS], schema, seeds=3)


@pytest.fixture(scope="module")
def extractor(tokenizer):
    """The tiny model trained (a few steps) to answer with the person's JSON, as a fine-tune would."""
    return taught_model(tokenizer, [(q, to_json({"name": n, "age": a})) for q, n, a in PEOPLE], seed=5)


def test_a_fine_tune_samples_valid_replies_within_the_budget(extractor, tokenizer):
    # the issue's schema as is (a free string): a model trained on the replies ends them itself
    assert_sampled_replies_fit(extractor, tokenizer, [single_turn(q, "x") for q, _, _ in PEOPLE], PERSON, seeds=4)
