"""Constrained JSON decoding: a reply that must be a JSON document valid against a schema.

Two layers, both ours (no grammar library):

1. ``JsonPrefixChecker`` - an incremental JSON parser driven by a JSON schema. Fed a text prefix
   character by character, it says whether the prefix can still be completed into a document
   valid against the schema (``advance`` returns ``None`` as soon as it cannot) and whether it
   already is one (``is_complete``). It keeps a small set of parse stacks, one per schema
   alternative still alive (``anyOf``/``oneOf`` branches, type unions, enums), so a union narrows
   as the text disambiguates it. Parse states are immutable and hashable: a reply's state is
   advanced token by token, and the result of feeding a token's text to a state is memoised.
2. ``ConstrainedReply`` - one reply being decoded: at each step it walks the candidate tokens in
   logit order and keeps the first whose text keeps the prefix viable (greedy), or the viable ones
   among the top-k (sampling, renormalised over them by the caller). The end-of-turn token is a
   candidate only when the document is complete, and after a complete top-level value nothing but
   the end of the turn may follow, so a reply stops as soon as its document is done.

Supported schema keywords: ``type`` (one or a list), ``properties``, ``required``,
``additionalProperties`` (a schema or a boolean), ``items`` (and draft-7 tuple ``items`` with
``additionalItems``), ``prefixItems``, ``minItems``/``maxItems``, ``enum``/``const`` (of any JSON
value), ``anyOf``/``oneOf``/``allOf`` and local ``$ref`` (``#/$defs/...``, ``#/definitions/...``).
Strings take every JSON escape, numbers the full JSON number grammar (``integer``: an optional
minus and digits), and whitespace may separate tokens (runs of at most ``MAX_WHITESPACE_RUN``
characters, so a model cannot pad forever).

Decoding deliberately produces a *subset* of what the schema accepts, which keeps every output
valid: an object that lists ``properties`` without saying ``additionalProperties`` gets no other
keys; an untyped schema with object (array) keywords is read as an object (array); a key appears
once; a numeric ``enum``/``const`` value is written as Python's ``json.dumps`` spells it.
String lengths (``minLength``/``maxLength``, counted in characters as JSON Schema counts them; a
multi-byte character split across tokens reads as one U+FFFD per piece, so it may count twice) and
integer bounds (``minimum``/``maximum``/``exclusiveMinimum``/``exclusiveMaximum`` on ``integer``:
a digit is allowed only while some completion of the number can still land in range) are enforced.
Not enforced (the output still has the right shape and types, and the evaluation's schema check
still reports them): bounds of non-integer numbers (an exponent can reach almost any value, so no
prefix is a dead end), ``pattern``, ``format``, ``multipleOf``, ``uniqueItems``, ``minProperties``...,
``not`` and ``if``/``then``/``else``;
``oneOf`` is treated as ``anyOf`` (its branches are exclusive in practice: tool calls differ by
their ``const`` tool name), and ``allOf`` branches are merged key by key (properties and required
lists are unioned).

Tokens are read as the text they add to a reply (``TokenTexts``). A token holding part of a
multi-byte character reads as U+FFFD; such tokens are accepted where any character may stand
(inside free strings) - the final reply is decoded as a whole, and its JSON structure is the same
because every structural character is ASCII.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Iterator, Mapping, NamedTuple, Sequence

from brewslm.errors import ConfigError

MAX_WHITESPACE_RUN = 16
"""Longest run of whitespace allowed between JSON tokens (room for a newline and indentation)."""

SAMPLING_TOP_K = 50
"""Sampling draws from the k most likely tokens (the transformers default); under a constraint,
from the viable ones among them."""

_WHITESPACE = frozenset(" \t\n\r")
_SIMPLE_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}
_HEX = frozenset("0123456789abcdefABCDEF")
_DIGITS = frozenset("0123456789")
_JSON_TYPES = ("object", "array", "string", "number", "integer", "boolean", "null")
_ANY_TYPES = ("object", "array", "string", "number", "boolean", "null")  # integer is within number
_OBJECT_KEYWORDS = ("properties", "required", "additionalProperties")
_ARRAY_KEYWORDS = ("items", "prefixItems", "minItems", "maxItems", "additionalItems")
_MEMO_LIMIT = 200_000


@dataclass(frozen=True)
class JsonConstraint:
    """Generation under a JSON schema. ``allow_text``: free text is allowed too, but once the reply
    starts (after whitespace) with ``{`` or ``[`` it must be a valid document of the schema (tool
    calls: a call must be valid, a direct answer stays possible)."""

    schema: Mapping[str, Any] | bool
    allow_text: bool = False


# --- the schema, compiled ------------------------------------------------------------------------
# A schema compiles into nodes; a node is the tuple of alternatives a value may take (one per
# type, enum value group or anyOf branch). Nodes are built lazily, so recursive schemas ($ref
# cycles) compile into finite graphs.


class _Alternative:
    """One shape a value may take. Compared and hashed by identity (frames hold them)."""

    __slots__ = ("_satisfiable",)

    def __init__(self) -> None:
        self._satisfiable: bool | None = None

    @property
    def satisfiable(self) -> bool:
        """Some document takes this shape (a required property whose schema accepts nothing, or
        ``minItems`` beyond what ``items`` allows, makes a shape impossible)."""
        if self._satisfiable is None:
            self._satisfiable = True  # optimistic on cycles: a recursive schema refers back to itself
            self._satisfiable = self._check()
        return self._satisfiable

    def _check(self) -> bool:
        return True


class _Node:
    __slots__ = ("_compiler", "_schema", "_alternatives", "_satisfiable")

    def __init__(self, compiler: "_Compiler", schema: Any):
        self._compiler = compiler
        self._schema = schema
        self._alternatives: tuple[_Alternative, ...] | None = None
        self._satisfiable: bool | None = None

    @property
    def alternatives(self) -> tuple[_Alternative, ...]:
        if self._alternatives is None:
            self._alternatives = self._compiler.alternatives(self._schema)
        return self._alternatives

    @property
    def satisfiable(self) -> bool:
        if self._satisfiable is None:
            self._satisfiable = True  # optimistic on cycles
            self._satisfiable = any(alt.satisfiable for alt in self.alternatives)
        return self._satisfiable


class _ObjectShape(_Alternative):
    __slots__ = ("properties", "required", "additional", "closed_keys")

    def __init__(self, properties: dict[str, _Node], required: frozenset[str], additional: _Node | None):
        super().__init__()
        self.properties = properties
        self.required = required
        self.additional = additional  # None: no keys beyond ``properties``
        self.closed_keys: frozenset[str] | None = None  # the keys a closed object may use (lazy)

    def _check(self) -> bool:
        return all(self.value_node(key) is not None for key in self.required)

    def value_node(self, key: str) -> _Node | None:
        node = self.properties.get(key, self.additional)
        return node if node is not None and node.satisfiable else None

    def allowed_keys(self) -> frozenset[str] | None:
        """The keys this object may use when it is closed (no additional properties); None: any key."""
        if self.additional is not None:
            return None
        if self.closed_keys is None:
            self.closed_keys = frozenset(key for key in self.properties if self.value_node(key) is not None)
        return self.closed_keys


class _ArrayShape(_Alternative):
    __slots__ = ("prefix", "items", "min_items", "max_items")

    def __init__(self, prefix: tuple[_Node, ...], items: _Node | None, min_items: int, max_items: int | None):
        super().__init__()
        self.prefix = prefix
        self.items = items  # None: no items beyond ``prefix``
        self.min_items = min_items
        self.max_items = max_items

    def item_node(self, index: int) -> _Node | None:
        """The schema of item ``index``, or None when no such item can be added."""
        if self.max_items is not None and index >= self.max_items:
            return None
        node = self.prefix[index] if index < len(self.prefix) else self.items
        return node if node is not None and node.satisfiable else None

    def _check(self) -> bool:
        needed = min(self.min_items, len(self.prefix) + 1)  # items past the prefix share one schema
        return all(self.item_node(i) is not None for i in range(needed)) and (
            self.max_items is None or self.max_items >= self.min_items
        )


class _StringShape(_Alternative):
    __slots__ = ("allowed", "min_length", "max_length")

    def __init__(self, allowed: frozenset[str] | None, min_length: int = 0, max_length: int | None = None):
        super().__init__()
        self.allowed = allowed  # None: any string (enum values come without length bounds)
        self.min_length = min_length
        self.max_length = max_length

    def _check(self) -> bool:
        if self.allowed is not None:
            return bool(self.allowed)
        return self.max_length is None or self.min_length <= self.max_length


class _NumberShape(_Alternative):
    __slots__ = ("integer", "minimum", "maximum")

    def __init__(self, integer: bool, minimum: int | None = None, maximum: int | None = None):
        super().__init__()
        self.integer = integer
        self.minimum = minimum  # inclusive integer bounds; integers only
        self.maximum = maximum

    def _check(self) -> bool:
        return self.minimum is None or self.maximum is None or self.minimum <= self.maximum


class _LiteralShape(_Alternative):
    """Values spelled one way: true, false, null and enum numbers."""

    __slots__ = ("texts",)

    def __init__(self, texts: tuple[str, ...]):
        super().__init__()
        self.texts = texts

    def _check(self) -> bool:
        return bool(self.texts)


def _merge(base: Mapping[str, Any], extra: Any) -> Any:
    """Both schemas at once, key by key (``allOf``, and a branch of ``anyOf`` beside its siblings)."""
    if extra is True:
        return dict(base)
    if extra is False:
        return False
    merged = dict(base)
    for key, value in extra.items():
        if key == "properties" and key in merged:
            merged[key] = {**merged[key], **value}
        elif key == "required" and key in merged:
            merged[key] = list(dict.fromkeys([*merged[key], *value]))
        elif key == "type" and key in merged:
            ours = merged[key] if isinstance(merged[key], list) else [merged[key]]
            theirs = value if isinstance(value, list) else [value]
            both = [t for t in ours if t in theirs or (t == "integer" and "number" in theirs)]
            both += [t for t in theirs if t == "integer" and "number" in ours and t not in both]
            merged[key] = both
        else:
            merged[key] = value
    return merged


class _Compiler:
    def __init__(self, root: Any):
        self.root = root
        self._nodes: dict[int, tuple[Any, _Node]] = {}  # id(schema) -> (schema kept alive, node)

    def node(self, schema: Any) -> _Node:
        found = self._nodes.get(id(schema))
        if found is None:
            found = self._nodes[id(schema)] = (schema, _Node(self, schema))
        return found[1]

    def resolve(self, schema: Any, depth: int = 0) -> Any:
        """The schema with its ``$ref`` (local) replaced by the target, siblings merged in."""
        if isinstance(schema, bool):
            return schema
        if not isinstance(schema, Mapping):
            raise ConfigError(f"a JSON schema must be an object or a boolean, got {schema!r}; fix the schema")
        if "$ref" not in schema:
            return schema
        if depth > 64:
            raise ConfigError(f"the JSON schema's $ref {schema['$ref']!r} refers to itself in a loop; fix the schema")
        target = self._lookup(schema["$ref"])
        rest = {key: value for key, value in schema.items() if key != "$ref"}
        resolved = self.resolve(target, depth + 1)
        if not rest or resolved is False:
            return resolved
        return _merge({} if resolved is True else resolved, rest)

    def _lookup(self, ref: Any) -> Any:
        if not isinstance(ref, str) or not ref.startswith("#"):
            raise ConfigError(
                f"the JSON schema's $ref {ref!r} is not local (only '#/...' references are followed); "
                "inline the referenced schema"
            )
        target = self.root
        for part in [p for p in ref[1:].split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(target, Mapping) and part in target:
                target = target[part]
            else:
                raise ConfigError(f"the JSON schema's $ref {ref!r} points at nothing; fix the reference")
        return target

    def alternatives(self, schema: Any) -> tuple[_Alternative, ...]:
        schema = self.resolve(schema)
        if schema is False:
            return ()
        if schema is True:
            schema = {}
        if "allOf" in schema:
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                merged = _merge(merged, self.resolve(part))
                if merged is False:
                    return ()
            return self.alternatives(merged)
        for key in ("anyOf", "oneOf"):
            if key in schema:
                base = {k: v for k, v in schema.items() if k != key}
                found: list[_Alternative] = []
                for branch in schema[key]:
                    branch = self.resolve(branch)
                    if branch is not False:
                        found.extend(self.alternatives(_merge(base, branch)))
                return tuple(found)
        types = self._types(schema)
        if "const" in schema or "enum" in schema:
            if "const" not in schema and not isinstance(schema["enum"], list):
                raise ConfigError(
                    f"the JSON schema's enum must be a list of values, got {schema['enum']!r}; fix the schema"
                )
            values = [schema["const"]] if "const" in schema else schema["enum"]
            return self._values(values, types)
        out: list[_Alternative] = []
        for kind in types:
            if kind == "object":
                out.append(self._object(schema))
            elif kind == "array":
                out.append(self._array(schema))
            elif kind == "string":
                out.append(_StringShape(None, *_length_bounds(schema)))
            elif kind in ("number", "integer"):
                if not (kind == "integer" and "number" in types):
                    integer = kind == "integer"
                    out.append(_NumberShape(integer, *(_integer_bounds(schema) if integer else (None, None))))
            elif kind == "boolean":
                out.append(_LiteralShape(("true", "false")))
            elif kind == "null":
                out.append(_LiteralShape(("null",)))
        return tuple(out)

    def _types(self, schema: Mapping[str, Any]) -> list[str]:
        declared = schema.get("type")
        if declared is None:
            if any(key in schema for key in _OBJECT_KEYWORDS):
                return ["object"]
            if any(key in schema for key in _ARRAY_KEYWORDS):
                return ["array"]
            return list(_ANY_TYPES)
        types = declared if isinstance(declared, list) else [declared]
        for kind in types:
            if kind not in _JSON_TYPES:
                raise ConfigError(
                    f"the JSON schema names an unknown type {kind!r}; use one of {', '.join(_JSON_TYPES)}"
                )
        return list(dict.fromkeys(types))

    def _values(self, values: Sequence[Any], types: Sequence[str]) -> tuple[_Alternative, ...]:
        """enum / const: each value as a shape of its own (strings share one)."""
        strings: list[str] = []
        literals: list[str] = []
        out: list[_Alternative] = []
        for value in values:
            if isinstance(value, str):
                if "string" in types:
                    strings.append(value)
            elif isinstance(value, bool) or value is None:
                if ("boolean" if value is not None else "null") in types:
                    literals.append(json.dumps(value))
            elif isinstance(value, (int, float)):
                integral = isinstance(value, int) or float(value).is_integer()
                if math.isfinite(value) and ("number" in types or ("integer" in types and integral)):
                    literals.append(json.dumps(value))
            elif isinstance(value, Mapping) and "object" in types:
                properties = {str(k): self.node({"const": v}) for k, v in value.items()}
                out.append(_ObjectShape(properties, frozenset(properties), None))
            elif isinstance(value, list) and "array" in types:
                items = tuple(self.node({"const": v}) for v in value)
                out.append(_ArrayShape(items, None, len(items), len(items)))
        if strings:
            out.insert(0, _StringShape(frozenset(strings)))
        if literals:
            out.insert(0, _LiteralShape(tuple(dict.fromkeys(literals))))
        return tuple(out)

    def _object(self, schema: Mapping[str, Any]) -> _ObjectShape:
        given = schema.get("properties") or {}
        required = [str(key) for key in schema.get("required") or ()]
        properties = {str(key): self.node(sub) for key, sub in given.items()}
        for key in required:  # a required key the properties do not describe takes any value
            properties.setdefault(key, self.node(True))
        additional = schema.get("additionalProperties")
        if additional is None:
            additional = not given  # listed properties close the object under a constraint
        return _ObjectShape(properties, frozenset(required), None if additional is False else self.node(additional))

    def _array(self, schema: Mapping[str, Any]) -> _ArrayShape:
        items = schema.get("items", True)
        if isinstance(items, list):  # draft-7 tuple form
            prefix, rest = items, schema.get("additionalItems", True)
        else:
            prefix, rest = schema.get("prefixItems") or [], items
        max_items = schema.get("maxItems")
        return _ArrayShape(
            tuple(self.node(sub) for sub in prefix),
            None if rest is False else self.node(rest),
            int(schema.get("minItems", 0)),
            None if max_items is None else int(max_items),
        )


# --- parse frames ------------------------------------------------------------------------------
# A parse stack is a tuple of frames, the root first. ``step(ch)`` returns the moves a frame can
# make on one character: replace itself, push a child value (that has consumed the character),
# finish having consumed it (a closing quote or bracket), or finish without consuming it (a number
# or literal ends where the next character cannot continue it; the parent reads that character).

_REPLACE, _PUSH, _DONE, _DONE_BEFORE = range(4)
_Move = tuple  # (kind, frame, child)


def _length_bounds(schema: Mapping[str, Any]) -> tuple[int, int | None]:
    """``minLength`` / ``maxLength`` of a string schema, checked."""
    bounds = []
    for key, default in (("minLength", 0), ("maxLength", None)):
        value = schema.get(key, default)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
            raise ConfigError(f"the JSON schema's {key} must be a whole number >= 0, got {value!r}; fix the schema")
        bounds.append(value)
    return bounds[0], bounds[1]


def _integer_bounds(schema: Mapping[str, Any]) -> tuple[int | None, int | None]:
    """The inclusive integer range of ``minimum`` / ``maximum`` / ``exclusiveMinimum`` /
    ``exclusiveMaximum`` (draft 6+ numbers; draft 4's boolean exclusives modify the plain bound)."""

    def bound(key: str) -> float | None:
        value = schema.get(key)
        if value is None or isinstance(value, bool) and key.startswith("exclusive"):
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f"the JSON schema's {key} must be a number, got {value!r}; fix the schema")
        return value

    low, high = bound("minimum"), bound("maximum")
    lows = (
        [math.ceil(low) + (schema.get("exclusiveMinimum") is True and float(low).is_integer())]
        if low is not None
        else []
    )
    highs = (
        [math.floor(high) - (schema.get("exclusiveMaximum") is True and float(high).is_integer())]
        if high is not None
        else []
    )
    if (value := bound("exclusiveMinimum")) is not None:
        lows.append(math.floor(value) + 1)
    if (value := bound("exclusiveMaximum")) is not None:
        highs.append(math.ceil(value) - 1)
    return (max(lows) if lows else None), (min(highs) if highs else None)


def _integer_reachable(text: str, low: int | None, high: int | None) -> bool:
    """Whether the integer prefix ``text`` (``-``, ``-12``, ``0``...) can still end as a value in
    [low, high]: ``d`` goes on to ``d`` itself or any number in [d * 10^k, (d + 1) * 10^k - 1]."""
    negative = text.startswith("-")
    digits = text[1:] if negative else text
    if negative:  # -x in [low, high] <=> x in [-high, -low]
        low, high = (None if high is None else -high), (None if low is None else -low)
    if digits == "":  # a bare minus: "-0" (x = 0) or any x >= 1, so only an upper bound below 0 shuts it
        return high is None or high >= 0
    value = int(digits)
    if (low is None or low <= value) and (high is None or value <= high):
        return True
    if digits == "0" or (high is not None and value > high):
        return False  # nothing follows a leading zero; longer numbers are only larger
    if high is None:
        return True
    scale = 10
    while value * scale <= high:
        if (value + 1) * scale - 1 >= (low if low is not None else value * scale):
            return True
        scale *= 10
    return False


def _start_value(node: _Node, ch: str) -> list[Any]:
    """Frames for the values of ``node`` that can begin with ``ch`` (having read it)."""
    frames: list[Any] = []
    for alt in node.alternatives:
        if not alt.satisfiable:
            continue
        if isinstance(alt, _ObjectShape):
            if ch == "{":
                frames.append(_ObjectFrame(alt, frozenset(), "first", None, 0))
        elif isinstance(alt, _ArrayShape):
            if ch == "[":
                frames.append(_ArrayFrame(alt, 0, "first", 0))
        elif isinstance(alt, _StringShape):
            if ch == '"':
                bounded = alt.min_length > 0 or alt.max_length is not None
                frames.append(
                    _StringFrame(
                        alt.allowed,
                        "" if alt.allowed is not None or bounded else None,
                        "",
                        alt.min_length,
                        alt.max_length,
                    )
                )
        elif isinstance(alt, _NumberShape):
            state = _NUMBER_START.get(ch)
            if state is not None:
                bounded = alt.minimum is not None or alt.maximum is not None
                frame = _NumberFrame(alt.integer, state, alt.minimum, alt.maximum, ch if bounded else "")
                if frame.reachable():
                    frames.append(frame)
        elif isinstance(alt, _LiteralShape):
            if any(text.startswith(ch) for text in alt.texts):
                frames.append(_LiteralFrame(alt.texts, ch))
    return frames


@dataclass(frozen=True, slots=True)
class _StringFrame:
    allowed: frozenset[str] | None  # the values it may take (enum, object keys); None: any
    content: str | None  # decoded text so far, kept when it matters (allowed values, keys, lengths)
    escape: str  # "" | "\\" | "u" + the hex digits read so far
    min_length: int = 0
    max_length: int | None = None

    def _with(self, content: str | None, escape: str) -> "_StringFrame":
        return _StringFrame(self.allowed, content, escape, self.min_length, self.max_length)

    def step(self, ch: str) -> list[_Move]:
        if not self.escape:
            if ch == '"':
                done = (self.allowed is None or self.content in self.allowed) and len(
                    self.content or ""
                ) >= self.min_length
                return [(_DONE, None, None)] if done else []
            if ch == "\\":
                if not self._escapable_next():
                    return []
                return [(_REPLACE, self._with(self.content, "\\"), None)]
            if ch < " ":  # raw control characters are not JSON
                return []
            return self._add(ch)
        if self.escape == "\\":
            if ch in _SIMPLE_ESCAPES:
                return self._add(_SIMPLE_ESCAPES[ch])
            if ch == "u":
                return [(_REPLACE, self._with(self.content, "u"), None)]
            return []
        if ch not in _HEX:
            return []
        digits = self.escape[1:] + ch
        if len(digits) < 4:
            if self.allowed is not None and not any(self._hex_fits(value, digits) for value in self.allowed):
                return []
            return [(_REPLACE, self._with(self.content, "u" + digits), None)]
        return self._add(chr(int(digits, 16)), escaped=True)

    def _escapable_next(self) -> bool:
        """An escape can follow: the string is free, or an allowed value goes on with a character
        a ``\\uXXXX`` escape can spell (every simple escape is one of those)."""
        if self.allowed is None:
            # a full string has no room, except for the low half of a surrogate pair (it adds no character)
            return self.max_length is None or len(self.content or "") < self.max_length or self._pair_open()
        at = len(self.content or "")
        return any(
            value.startswith(self.content or "")
            and len(value) > at
            and ord(value[at]) <= 0xFFFF
            and not 0xD800 <= ord(value[at]) <= 0xDFFF
            for value in self.allowed
        )

    def _hex_fits(self, value: str, digits: str) -> bool:
        at = len(self.content or "")
        if not value.startswith(self.content or "") or len(value) <= at:
            return False
        code = ord(value[at])
        return code <= 0xFFFF and not 0xD800 <= code <= 0xDFFF and f"{code:04x}".startswith(digits.lower())

    def _pair_open(self) -> bool:
        return bool(self.content) and 0xD800 <= ord(self.content[-1]) <= 0xDBFF

    def _add(self, char: str, escaped: bool = False) -> list[_Move]:
        if self.content is None:
            return [(_REPLACE, self if not self.escape else self._with(None, ""), None)]
        content = self.content
        if escaped and 0xDC00 <= ord(char) <= 0xDFFF and self._pair_open():
            # a \\u surrogate pair reads as one character, as json.loads reads it
            char = chr(0x10000 + ((ord(content[-1]) - 0xD800) << 10) + (ord(char) - 0xDC00))
            content = content[:-1]
        content += char
        if self.allowed is not None:
            if escaped and 0xD800 <= ord(char[-1]) <= 0xDFFF:
                return []  # allowed values are matched by code points; spell them unescaped
            if not any(value.startswith(content) for value in self.allowed):
                return []
        elif self.max_length is not None and len(content) > self.max_length:
            return []
        return [(_REPLACE, self._with(content, ""), None)]

    def accepting(self) -> bool:
        return False


# Number grammar states: the first character's state, then transitions per character class.
_NUMBER_START = {"-": "sign", "0": "zero", **{d: "int" for d in "123456789"}}
_NUMBER_ACCEPTING = frozenset({"zero", "int", "frac", "exp"})


def _number_next(state: str, ch: str, integer: bool) -> str | None:
    digit = ch in _DIGITS
    if state == "sign":
        return "zero" if ch == "0" else "int" if digit else None
    if state in ("zero", "int"):
        if digit:
            return "int" if state == "int" else None
        if integer:
            return None
        return "dot" if ch == "." else "e" if ch in "eE" else None
    if state in ("dot", "frac"):
        if digit:
            return "frac"
        return "e" if state == "frac" and ch in "eE" else None
    if state == "e":
        return "esign" if ch in "+-" else "exp" if digit else None
    if state in ("esign", "exp"):
        return "exp" if digit else None
    return None


@dataclass(frozen=True, slots=True)
class _NumberFrame:
    integer: bool
    state: str
    minimum: int | None = None  # integer bounds (then ``text`` holds what was read)
    maximum: int | None = None
    text: str = ""

    @property
    def bounded(self) -> bool:
        return self.minimum is not None or self.maximum is not None

    def reachable(self) -> bool:
        return not self.bounded or _integer_reachable(self.text, self.minimum, self.maximum)

    def step(self, ch: str) -> list[_Move]:
        nxt = _number_next(self.state, ch, self.integer)
        if nxt is not None:
            frame = _NumberFrame(self.integer, nxt, self.minimum, self.maximum, self.text + ch if self.bounded else "")
            if frame.reachable():
                return [(_REPLACE, frame, None)]
        return [(_DONE_BEFORE, None, None)] if self.accepting() else []

    def accepting(self) -> bool:
        if self.state not in _NUMBER_ACCEPTING:
            return False
        if not self.bounded:
            return True
        value = int(self.text)
        return (self.minimum is None or value >= self.minimum) and (self.maximum is None or value <= self.maximum)


@dataclass(frozen=True, slots=True)
class _LiteralFrame:
    texts: tuple[str, ...]
    typed: str

    def step(self, ch: str) -> list[_Move]:
        typed = self.typed + ch
        moves: list[_Move] = []
        if any(text.startswith(typed) for text in self.texts):
            moves.append((_REPLACE, _LiteralFrame(self.texts, typed), None))
        if self.typed in self.texts:
            moves.append((_DONE_BEFORE, None, None))
        return moves

    def accepting(self) -> bool:
        return self.typed in self.texts


@dataclass(frozen=True, slots=True)
class _ObjectFrame:
    shape: _ObjectShape
    seen: frozenset[str]
    phase: str  # first | key | colon | value | in_key | in_value | after
    pending: _Node | None  # the schema of the value after the key just read
    blank: int  # whitespace characters in the current run

    def step(self, ch: str) -> list[_Move]:
        phase = self.phase
        if ch in _WHITESPACE:
            if self.blank >= MAX_WHITESPACE_RUN:
                return []
            return [(_REPLACE, _ObjectFrame(self.shape, self.seen, phase, self.pending, self.blank + 1), None)]
        if phase in ("first", "key") and ch == '"':
            allowed = self.shape.allowed_keys()
            if allowed is not None:
                allowed = allowed - self.seen
                if not allowed:
                    return []
            return [(_PUSH, self._at("in_key"), _StringFrame(allowed, "", ""))]
        if ch == "}" and phase in ("first", "after"):
            return [(_DONE, None, None)] if self.shape.required <= self.seen else []
        if phase == "colon":
            return [(_REPLACE, self._at("value"), None)] if ch == ":" else []
        if phase == "value":
            return [(_PUSH, self._at("in_value"), child) for child in _start_value(self.pending, ch)]
        if phase == "after" and ch == ",":
            allowed = self.shape.allowed_keys()
            return [(_REPLACE, self._at("key"), None)] if allowed is None or allowed - self.seen else []
        return []

    def _at(self, phase: str) -> "_ObjectFrame":
        return _ObjectFrame(self.shape, self.seen, phase, self.pending, 0)

    def child_done(self, child: Any) -> "_ObjectFrame | None":
        if self.phase == "in_key":
            key = child.content
            node = None if key in self.seen else self.shape.value_node(key)
            return None if node is None else _ObjectFrame(self.shape, self.seen | {key}, "colon", node, 0)
        return _ObjectFrame(self.shape, self.seen, "after", None, 0)

    def accepting(self) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class _ArrayFrame:
    shape: _ArrayShape
    count: int  # items finished
    phase: str  # first | value | in_value | after
    blank: int

    def step(self, ch: str) -> list[_Move]:
        phase = self.phase
        if ch in _WHITESPACE:
            if self.blank >= MAX_WHITESPACE_RUN:
                return []
            return [(_REPLACE, _ArrayFrame(self.shape, self.count, phase, self.blank + 1), None)]
        if ch == "]" and phase in ("first", "after"):
            return [(_DONE, None, None)] if self.count >= self.shape.min_items else []
        if phase == "after":
            if ch == "," and self.shape.item_node(self.count) is not None:
                return [(_REPLACE, _ArrayFrame(self.shape, self.count, "value", 0), None)]
            return []
        if phase in ("first", "value"):
            node = self.shape.item_node(self.count)
            if node is None:
                return []
            in_value = _ArrayFrame(self.shape, self.count, "in_value", 0)
            return [(_PUSH, in_value, child) for child in _start_value(node, ch)]
        return []

    def child_done(self, child: Any) -> "_ArrayFrame":
        return _ArrayFrame(self.shape, self.count + 1, "after", 0)

    def accepting(self) -> bool:
        return False


@dataclass(frozen=True, slots=True)
class _RootFrame:
    node: _Node
    allow_text: bool
    phase: str  # start | in_value | after | text
    blank: int

    def step(self, ch: str) -> list[_Move]:
        if self.phase == "text":
            return [(_REPLACE, self, None)]
        if self.phase != "start":
            return []  # after a complete document only the end of the turn may come
        if ch in _WHITESPACE:
            if self.blank >= MAX_WHITESPACE_RUN:
                return []
            return [(_REPLACE, _RootFrame(self.node, self.allow_text, "start", self.blank + 1), None)]
        if self.allow_text and ch not in "{[":
            return [(_REPLACE, _RootFrame(self.node, True, "text", 0), None)]
        in_value = _RootFrame(self.node, self.allow_text, "in_value", 0)
        return [(_PUSH, in_value, child) for child in _start_value(self.node, ch)]

    def child_done(self, child: Any) -> "_RootFrame":
        return _RootFrame(self.node, self.allow_text, "after", 0)

    def finished(self) -> bool:
        return self.phase in ("after", "text") or (self.allow_text and self.phase == "start")


def _feed(stack: tuple, ch: str) -> Iterator[tuple]:
    for kind, frame, child in stack[-1].step(ch):
        if kind == _REPLACE:
            yield stack[:-1] + (frame,)
        elif kind == _PUSH:
            yield stack[:-1] + (frame, child)
        else:
            parent = stack[-2].child_done(stack[-1])
            if parent is not None:
                popped = stack[:-2] + (parent,)
                if kind == _DONE:
                    yield popped
                else:
                    yield from _feed(popped, ch)


def _complete(stack: tuple) -> bool:
    if len(stack) == 1:
        return stack[0].finished()
    if len(stack) == 2 and stack[1].accepting():  # a bare top-level number or literal
        return stack[0].child_done(stack[1]).finished()
    return False


# --- the checker -------------------------------------------------------------------------------


@dataclass(frozen=True)
class ParseState:
    """Where a prefix stands: the parse stacks still alive (one per schema alternative)."""

    stacks: tuple[tuple, ...]


def _compile_all(root: _Node) -> None:
    """Compile every node reachable from ``root`` (a finite graph, cycles included)."""
    seen: set[int] = set()
    todo = [root]
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for alt in node.alternatives:
            if isinstance(alt, _ObjectShape):
                todo.extend(alt.properties.values())
                todo.extend([alt.additional] if alt.additional is not None else [])
            elif isinstance(alt, _ArrayShape):
                todo.extend(alt.prefix)
                todo.extend([alt.items] if alt.items is not None else [])


class PrefixCheck(NamedTuple):
    viable: bool  # the text can still be completed into a valid document
    complete: bool  # the text is a valid document (the reply may end here)


class JsonPrefixChecker:
    """Says whether a text prefix can still become a document valid against ``schema``."""

    def __init__(self, schema: Mapping[str, Any] | bool, *, allow_text: bool = False):
        root = _Compiler(schema).node(schema)
        _compile_all(root)  # a schema error surfaces here, before any model runs
        self.schema = schema
        self.allow_text = allow_text
        self._start = ParseState(((_RootFrame(root, allow_text, "start", 0),),))
        self._memo: dict[tuple[ParseState, str], ParseState | None] = {}

    @classmethod
    def for_constraint(cls, constraint: JsonConstraint) -> "JsonPrefixChecker":
        return cls(constraint.schema, allow_text=constraint.allow_text)

    def start(self) -> ParseState:
        return self._start

    def advance(self, state: ParseState, text: str) -> ParseState | None:
        """The state after ``text``, or None when no valid document starts with the prefix."""
        key = (state, text)
        if key in self._memo:
            return self._memo[key]
        stacks: Sequence[tuple] = state.stacks
        for ch in text:
            if len(stacks) == 1:
                stacks = list(_feed(stacks[0], ch))
            else:
                stacks = list(dict.fromkeys(s for stack in stacks for s in _feed(stack, ch)))
            if not stacks:
                break
        result = ParseState(tuple(stacks)) if stacks else None
        if len(self._memo) >= _MEMO_LIMIT:
            self._memo.clear()
        self._memo[key] = result
        return result

    def is_complete(self, state: ParseState) -> bool:
        return any(_complete(stack) for stack in state.stacks)

    def check(self, text: str) -> PrefixCheck:
        state = self.advance(self._start, text)
        return PrefixCheck(viable=state is not None, complete=state is not None and self.is_complete(state))


def check_prefix(schema: Mapping[str, Any] | bool, text: str, *, allow_text: bool = False) -> PrefixCheck:
    """One-off check of ``text`` against ``schema`` (decoding keeps a ``JsonPrefixChecker``)."""
    return JsonPrefixChecker(schema, allow_text=allow_text).check(text)


# --- tokens ------------------------------------------------------------------------------------


class TokenTexts:
    """Each token's text as it reads in the middle of a reply, decoded once and cached.

    A token is decoded after an anchor token and the anchor's text removed, so SentencePiece's
    word-initial space marker reads as the space it is (decoded alone it would be dropped).
    """

    def __init__(self, tokenizer: Any):
        self._tokenizer = tokenizer
        self._anchor = list(tokenizer("a", add_special_tokens=False)["input_ids"])
        self._anchor_text = self._decode(self._anchor)
        self._texts: dict[int, str] = {}
        added = getattr(tokenizer, "added_tokens_decoder", None) or {}
        self.special = frozenset(int(i) for i in getattr(tokenizer, "all_special_ids", ()) or ()) | frozenset(
            int(i) for i, token in added.items() if getattr(token, "special", False)
        )

    def _decode(self, ids: Sequence[int]) -> str:
        return self._tokenizer.decode(list(ids), skip_special_tokens=False, clean_up_tokenization_spaces=False)

    def text(self, token_id: int) -> str:
        found = self._texts.get(token_id)
        if found is None:
            joined = self._decode(self._anchor + [token_id])
            if joined.startswith(self._anchor_text):
                found = joined[len(self._anchor_text) :]
            else:
                found = self._decode([token_id])
            self._texts[token_id] = found
        return found


class ConstrainedReply:
    """One reply decoded under a JSON constraint: its parse state, advanced token by token, and
    the tokens it may take next. Special tokens are never taken (their text is chat-template
    markup, not content), except the end-of-turn tokens once the document is complete."""

    def __init__(self, checker: JsonPrefixChecker, texts: TokenTexts, stop_ids: Sequence[int]):
        self.checker = checker
        self.texts = texts
        self.stop_ids = frozenset(int(i) for i in stop_ids)
        self.state = checker.start()

    def allows(self, token_id: int) -> bool:
        if token_id in self.stop_ids:
            return self.checker.is_complete(self.state)
        if token_id in self.texts.special:
            return False
        piece = self.texts.text(token_id)
        return bool(piece) and self.checker.advance(self.state, piece) is not None

    def advance(self, token_id: int) -> None:
        if token_id not in self.stop_ids:
            state = self.checker.advance(self.state, self.texts.text(token_id))
            if state is None:
                raise ValueError(f"token {token_id} does not continue the constrained reply")
            self.state = state

    def candidates(self, logits: Any, *, top_k: int | None = None) -> list[int]:
        """Tokens the reply may take next, best first: greedy (``top_k`` None) the first viable
        token in logit order; sampling, the viable ones among the ``top_k`` best (or the first
        viable token when none of them is). Empty when nothing continues the reply (a character
        no token can spell)."""
        import torch

        vocab = logits.shape[-1]
        first = min(vocab, max(top_k or 0, 32))
        head = torch.topk(logits, first).indices.tolist()
        if top_k is not None:
            viable = [t for t in head[:top_k] if self.allows(t)]
            if viable:
                return viable
        for token_id in head:
            if self.allows(token_id):
                return [token_id]
        if first == vocab:
            return []
        checked = set(head)
        rest = (t for t in torch.argsort(logits, descending=True, stable=True).tolist() if t not in checked)
        return next(([t] for t in rest if self.allows(t)), [])


__all__ = [
    "ConstrainedReply",
    "JsonConstraint",
    "JsonPrefixChecker",
    "MAX_WHITESPACE_RUN",
    "ParseState",
    "PrefixCheck",
    "SAMPLING_TOP_K",
    "TokenTexts",
    "check_prefix",
]
