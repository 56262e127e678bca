"""The JSON-schema prefix checker and constrained decoding.

Properties checked with random schemas (hypothesis):
- every valid document of the schema, however it is spaced, is accepted at every prefix and is
  complete at its end;
- decoding under the constraint from arbitrary logits never gets stuck, and every reply it ends is
  a document that ``json.loads`` parses and ``jsonschema`` validates.
Then the real thing: the tiny model decoding under constraints, batched and one at a time.
"""

from __future__ import annotations

import json
import math

import jsonschema
import pytest
import torch
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from brewslm.errors import ConfigError
from brewslm.inference.constrained import (
    MAX_WHITESPACE_RUN,
    ConstrainedReply,
    JsonConstraint,
    JsonPrefixChecker,
    TokenTexts,
    check_prefix,
)
from brewslm.inference.generation import generate, generate_one_by_one
from brewslm.inference.prompts import end_of_turn_ids
from brewslm.tasks.rendering import single_turn

from .scoring_models import tiny_model, tiny_tokenizer
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


@pytest.fixture(scope="module")
def tokenizer():
    return tiny_tokenizer()


@pytest.fixture(scope="module")
def texts(tokenizer) -> TokenTexts:
    return TokenTexts(tokenizer)


# --- the checker, case by case ------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, viable, complete",
    [
        ("", True, False),
        ("  {", True, False),
        ('{"la', True, False),
        ('{"label": "neg', True, False),
        ('{"label": "negative"}', True, True),
        ('{"label": "negative", "score": -12}', True, True),
        ('{"label":"positive","tags":["a\\"b\\u00e9\\n", "\\ud83d\\ude00"]}', True, True),
        ('{"label": "p\\u006fsitive"}', True, True),  # an escape spells an enum value too
        ('{"label": "p\\u0070', False, False),  # no enum value continues with "pp"
        ('{"label": "negative\\', False, False),  # the enum value is spelled out: no escape can follow
        ('{"label": "negative\\u', False, False),
        ('{"label": "neutral"', False, False),  # not in the enum
        ('{"x"', False, False),  # listed properties close the object
        ('{"score": 3}', False, False),  # "label" is required
        ('{"label": "negative", "label"', False, False),  # a key appears once
        ('{"label": "negative", "score": 1.5', False, False),  # an integer has no fraction
        ('{"label": "negative", "score": 01', False, False),  # no leading zeros
        ('{"label": "negative", "tags": ["a", "b", ', False, False),  # maxItems
        ('{"label": "negative", "tags": ["a\tb"]}', False, False),  # raw control character in a string
        ('{"label": "negative"} ', False, False),  # after the document only the end of the turn
        ('{"label": "negative",}', False, False),  # trailing comma
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
        ({"type": "string", "maxLength": 1}, '"\\ud83d\\ude00"', True, True),  # one character, as a surrogate pair
        ({"type": "string", "minLength": 2}, '"a"', False, False),
        ({"type": "string", "minLength": 2}, '"a\\n"', True, True),
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
        ({"type": "number", "maximum": 1}, "7", True, True),  # non-integer bounds are not enforced
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
        (
            {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "integer"}, "minItems": 1}]},
            "[]",
            False,
            False,
        ),
        (
            {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "integer"}, "minItems": 1}]},
            "[7]",
            True,
            True,
        ),
        ({"type": "object", "additionalProperties": {"type": "integer"}}, '{"any key": 1, "b": 2}', True, True),
        ({"type": "object", "additionalProperties": {"type": "integer"}}, '{"any key": "1"', False, False),
        (
            {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": True},
            '{"b": [null]}',
            True,
            True,
        ),
        (
            {"type": "object", "properties": {"a": {"type": "string"}}, "additionalProperties": True},
            '{"a": 1',
            False,
            False,
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
        ({"type": "object", "properties": {"a": False}, "required": ["a"]}, "{", False, False),  # unsatisfiable
        (True, '[1, {"k": [true, null, "x\\"y"]}, -0.5e+3]', True, True),
        ({"type": "string"}, '"' + " " * 40 + '"', True, True),  # whitespace inside a string is content
    ],
)
def test_prefix_schema_features(schema, text, viable, complete):
    assert check_prefix(schema, text) == (viable, complete)


def test_whitespace_runs_are_bounded():
    assert check_prefix(LABEL_SCHEMA, "{" + " " * MAX_WHITESPACE_RUN + '"label"').viable
    assert not check_prefix(LABEL_SCHEMA, "{" + " " * (MAX_WHITESPACE_RUN + 1)).viable


def test_allow_text_constrains_only_json_replies():
    call = {
        "type": "object",
        "properties": {"tool": {"const": "get_weather"}, "arguments": {"type": "object"}},
        "required": ["tool", "arguments"],
    }
    assert check_prefix(call, "", allow_text=True) == (True, True)
    assert check_prefix(call, "It is sunny {today}", allow_text=True) == (True, True)
    assert check_prefix(call, ' {"tool": "get_w', allow_text=True) == (True, False)
    assert check_prefix(call, '{"tool": "search"', allow_text=True).viable is False
    assert check_prefix(call, "[", allow_text=True).viable is False  # the schema has no array form
    assert check_prefix(call, "It is sunny").viable is False  # without allow_text the reply is JSON


def test_one_of_tool_calls_narrow_by_tool_name():
    tools = {
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
    checker = JsonPrefixChecker(tools)
    state = checker.advance(checker.start(), '{"tool": "')
    assert len(state.stacks) == 2  # both tools still possible
    state = checker.advance(state, 'add", "arguments": {')
    assert len(state.stacks) == 1
    assert checker.advance(state, '"text"') is None
    done = checker.advance(state, '"a": 1, "b": 2}}')
    assert checker.is_complete(done)


@pytest.mark.parametrize(
    "schema, fragment",
    [
        ({"type": "strnig"}, "unknown type 'strnig'"),
        ({"$ref": "https://example.com/s.json"}, "not local"),
        ({"$ref": "#/$defs/missing"}, "points at nothing"),
        ({"type": "string", "maxLength": -1}, "maxLength must be a whole number"),
        ({"type": "integer", "minimum": "3"}, "minimum must be a number"),
    ],
)
def test_schema_errors_name_the_problem(schema, fragment):
    with pytest.raises(ConfigError, match=fragment):
        check_prefix(schema, "{")


def test_schema_errors_surface_before_decoding():
    nested = {"type": "object", "properties": {"a": {"type": "array", "items": {"type": "strnig"}}}}
    with pytest.raises(ConfigError, match="strnig"):
        JsonPrefixChecker(nested)


# --- random schemas ----------------------------------------------------------------------------

KEYS = ["a", "b", "name", 'q"uote', "sp ace", "b\\s"]
STRINGS = ["", "x", "positive", 'say "hi"', "back\\slash", "tab\tnew\nline", "é", "日本"]


def _leaf() -> st.SearchStrategy[dict]:
    return st.one_of(
        st.sampled_from([{"type": t} for t in ("string", "integer", "number", "boolean", "null")]),
        st.lists(st.sampled_from(STRINGS), min_size=1, max_size=3, unique=True).map(lambda v: {"enum": v}),
        st.lists(
            st.one_of(st.integers(-50, 50), st.sampled_from([0.5, -2.25, 1e20, True, None])),
            min_size=1,
            max_size=3,
            unique_by=json.dumps,
        ).map(lambda v: {"enum": v}),
        st.sampled_from(STRINGS + [7, False]).map(lambda v: {"const": v}),
        st.just({"type": ["string", "null"]}),
        _bounded_string(),
        _bounded_integer(),
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


SCHEMAS = st.recursive(
    _leaf(),
    lambda children: st.one_of(
        _object(children),
        _array(children),
        st.lists(children, min_size=1, max_size=3).map(lambda branches: {"anyOf": branches}),
    ),
    max_leaves=6,
)


@st.composite
def _instance(draw, schema):
    """A document valid against ``schema`` (within what constrained decoding produces)."""
    if "anyOf" in schema:
        return draw(_instance(draw(st.sampled_from(schema["anyOf"]))))
    if "enum" in schema:
        return draw(st.sampled_from(schema["enum"]))
    if "const" in schema:
        return schema["const"]
    kind = schema["type"]
    if isinstance(kind, list):
        kind = draw(st.sampled_from(kind))
    if kind == "object":
        keys = list(schema["required"]) + [
            k for k in schema["properties"] if k not in schema["required"] and draw(st.booleans())
        ]
        out = {key: draw(_instance(schema["properties"][key])) for key in keys}
        extra = schema.get("additionalProperties")
        if extra not in (None, False) and draw(st.booleans()):
            key = draw(st.text(min_size=1, max_size=4).filter(lambda k: k not in schema["properties"]))
            out[key] = draw(_instance({"type": "null"} if extra is True else extra))
        return out
    if kind == "array":
        size = draw(st.integers(schema["minItems"], schema.get("maxItems", schema["minItems"] + 2)))
        return [draw(_instance(schema["items"])) for _ in range(size)]
    if kind == "string" and "minLength" in schema:
        return draw(st.text(min_size=schema["minLength"], max_size=schema.get("maxLength", schema["minLength"] + 8)))
    if kind == "integer" and schema.keys() & {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}:
        low = schema.get("minimum", schema.get("exclusiveMinimum", -(10**6) - 1) + 1)
        high = schema.get("maximum", schema.get("exclusiveMaximum", 10**6 + 1) - 1)
        return draw(st.integers(math.ceil(low), math.floor(high)))
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
    schema = draw(SCHEMAS)
    document = draw(_instance(schema))
    style = draw(st.sampled_from([(", ", ": "), (",", ":"), None]))
    text = json.dumps(document, ensure_ascii=draw(st.booleans()), separators=style, indent=1 if style is None else None)
    return schema, document, text


@settings(max_examples=300, deadline=None)
@given(_schema_and_document())
def test_every_valid_document_is_accepted_at_every_prefix(case):
    schema, document, text = case
    jsonschema.Draft202012Validator(schema).validate(document)  # the generator is right
    checker = JsonPrefixChecker(schema)
    state = checker.start()
    for ch in text:
        state = checker.advance(state, ch)
        assert state is not None, f"{text!r} rejected at {ch!r}"
    assert checker.is_complete(state)


CLOSERS = {'"', "}", "]", "0", "1", "n", "t", "f"}


def _schema_strings(schema) -> set[str]:
    """Every key and string value a schema names, as JSON spells them."""
    found: set[str] = set()
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "properties":
                found |= {json.dumps(name)[1:-1] for name in value}
            found |= _schema_strings(value)
    elif isinstance(schema, list):
        for value in schema:
            found |= _schema_strings(value)
    elif isinstance(schema, str):
        found.add(json.dumps(schema)[1:-1])
    return found


def _decode_with_logits(
    reply: ConstrainedReply, tokenizer, stop: int, generator: torch.Generator, steps: int
) -> tuple[list[int], bool]:
    """Greedy constrained decoding from random logits that favour the schema's own words and
    closing tokens (so documents end): the tokens, and whether the reply ended at end-of-turn."""
    vocab = len(tokenizer)
    words = _schema_strings(reply.checker.schema)
    bias = torch.zeros(vocab)
    for token_id in range(vocab):
        piece = reply.texts.text(token_id)
        if piece and any(piece in word for word in words):
            bias[token_id] = 3.0
        elif piece.strip()[:1] in CLOSERS:
            bias[token_id] = 2.5
    bias[stop] = 4.0
    ids: list[int] = []
    for _ in range(steps):
        logits = torch.randn(vocab, generator=generator) + bias
        candidates = reply.candidates(logits)
        assert candidates, f"stuck after {tokenizer.decode(ids)!r}"
        token = candidates[0]
        if token == stop:
            return ids, True
        reply.advance(token)
        ids.append(token)
    return ids, False


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(schema=SCHEMAS, seed=st.integers(0, 2**31 - 1), allow_text=st.booleans())
def test_constrained_decoding_always_validates(tokenizer, texts, schema, seed, allow_text):
    stop = end_of_turn_ids(tokenizer)[-1]
    checker = JsonPrefixChecker(schema, allow_text=allow_text)
    reply = ConstrainedReply(checker, texts, [stop])
    ids, finished = _decode_with_logits(reply, tokenizer, stop, torch.Generator().manual_seed(seed), steps=400)
    text = tokenizer.decode(ids)
    if not finished:  # random keys can miss a required key of an open object for a long time
        event("unfinished")
        assert checker.check(text).viable
        return
    if allow_text and text.lstrip()[:1] not in ("{", "["):
        return  # a free-text reply
    jsonschema.Draft202012Validator(schema).validate(json.loads(text))


def test_candidates_sampling_keeps_viable_tokens_among_top_k(tokenizer, texts):
    stop = end_of_turn_ids(tokenizer)[-1]
    reply = ConstrainedReply(JsonPrefixChecker({"type": "boolean"}), texts, [stop])
    logits = torch.randn(len(tokenizer), generator=torch.Generator().manual_seed(0))
    top = set(torch.topk(logits, 50).indices.tolist())
    viable = reply.candidates(logits, top_k=50)
    assert viable and all(reply.allows(t) for t in viable)
    if set(viable) <= top:
        assert viable == [t for t in torch.topk(logits, 50).indices.tolist() if reply.allows(t)]
    else:  # none of the top k was viable: the first viable token in logit order
        assert len(viable) == 1


def test_token_texts_read_as_in_context(tokenizer, texts):
    text = 'say {"a": 1, "b": [true, null]} ok'
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert "".join(texts.text(i) for i in ids) == text
    # a token holding part of a multi-byte character reads as U+FFFD, never as structure
    wide = tokenizer("é", add_special_tokens=False)["input_ids"]
    assert all(set(texts.text(i)) <= {"\ufffd"} for i in wide)


def test_special_tokens_are_never_taken_and_end_of_turn_only_when_complete(tokenizer, texts):
    stop = end_of_turn_ids(tokenizer)[-1]
    reply = ConstrainedReply(JsonPrefixChecker({"type": "string"}), texts, [stop])
    for _ in ('"', "a"):
        reply.advance(tokenizer.convert_tokens_to_ids(_))
    assert not reply.allows(stop)
    assert not any(reply.allows(i) for i in texts.special if i != stop)
    reply.advance(tokenizer.convert_tokens_to_ids('"'))
    assert reply.allows(stop)


# --- with the tiny model -----------------------------------------------------------------------

FINITE = {  # a schema with finitely many documents, so every reply ends (whitespace runs are bounded)
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
    # the naive baseline narrows transformers' own generate to the same tokens
    assert (
        generate_one_by_one(model, tokenizer, rendered, max_new_tokens=200, constraints=[constraint] * len(rendered))
        == batched
    )
    sampled = generate(
        model,
        tokenizer,
        rendered,
        max_new_tokens=200,
        temperature=1.0,
        seed=3,
        constraints=[constraint] * len(rendered),
    )
    for reply in sampled:
        assert reply.finished
        jsonschema.validate(json.loads(reply.text), FINITE)


def test_tiny_model_mixed_constraints_and_budget(model, tokenizer):
    rendered = [single_turn(p, "x") for p in PROMPTS[:3]]
    free_string = JsonPrefixChecker({"type": "string"})
    replies = generate(
        model,
        tokenizer,
        rendered,
        max_new_tokens=6,
        constraints=[JsonConstraint({"type": "string"}), None, JsonConstraint(FINITE)],
    )
    assert replies[1] == generate(model, tokenizer, rendered[1:2], max_new_tokens=6)[0]  # unconstrained row
    for reply in (replies[0], replies[2]):  # cut by the budget: unfinished, but a viable prefix
        assert not reply.finished and reply.tokens == 6
    assert free_string.check(replies[0].text).viable
    assert check_prefix(FINITE, replies[2].text).viable
