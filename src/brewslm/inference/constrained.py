"""Constrained decoding: a reply that must be a JSON document valid against a schema, match a
regular expression, or be one of a few strings. The grammars run on llguidance
(https://github.com/guidance-ai/llguidance), picked over xgrammar and BrewSLM's former prefix
checker by ``bench/grammar_backends.py`` (docs/evaluation.md, "Constrained decoding").

Constraints (frozen dataclasses, compared by value, so rows with equal ones share a compiled grammar):

- ``JsonConstraint(schema, allow_text=False)``: a JSON document valid against ``schema`` (JSON
  Schema 2020-12 as llguidance implements it: types, ``properties``/``required``/
  ``additionalProperties``, ``items``/``prefixItems``/``minItems``/``maxItems``, ``enum``/``const``,
  ``anyOf``, ``oneOf`` whose branches are provably exclusive, ``allOf``, local ``$ref``,
  ``minLength``/``maxLength``, ``pattern``, ``format`` (date-time, time, date, duration, email,
  hostname, ipv4, ipv6, uuid, uri...), ``minimum``/``maximum``/exclusive bounds and ``multipleOf``
  on numbers and integers). ``allow_text``: free text is a reply too, but a reply that opens with
  ``{`` or ``[`` (leading whitespace aside) must be a document of the schema, from its first
  character on - a tool call must be valid, a direct answer stays possible; the grammar is the
  alternative of the two.
- ``RegexConstraint(pattern)``: the whole reply matches ``pattern`` (Rust ``regex`` syntax).
- ``ChoiceConstraint(choices)``: the reply is exactly one of ``choices``.

JSON is spelled one way, so a sampled reply cannot wander until its budget runs out: no whitespace
but the separators ``", "`` and ``": "`` (``JSON_SEPARATORS``, as ``tasks.rendering.to_json``
writes every training target), none before or after the document, and a string escape only where a
character must be escaped (``"``, ``\\``, control characters and DEL) - never ``\\u006f`` for ``o``
or ``\\/``. Keys come in the order of the schema's ``properties`` (llguidance's rule; training targets
keep the schema's order too), any additional keys after them; an object that lists ``properties``
without saying ``additionalProperties`` gets no other keys (``close_objects``), so a model cannot pad
a reply with keys of its own. Numbers with bounds are written without an exponent. Decoding
produces a subset of what a schema accepts, and everything it produces is valid, with two known
gaps in llguidance 1.9: ``format: date`` is a pattern, so February 29th passes in any year; and a
number with an integer ``exclusiveMinimum`` whose ``maximum`` is below the next integer accepts
the bound itself (``exclusiveMinimum: 0, maximum: 0.25`` takes ``0``).

A schema llguidance cannot enforce exactly is handled this way: a ``oneOf`` whose branches may
overlap is refused (no grammar can make sure exactly one branch matches; make the branches
exclusive, e.g. a different ``const`` per branch, or say ``anyOf``); keywords it does not implement
(``not``, ``if``/``then``/``else``, ``uniqueItems``...) and unknown ``format`` names are ignored, as
a validator ignores an unknown format: the reply has the schema's shape and types, the evaluation's
schema check still reports what it misses, and ``compile_grammar(...).ignored`` lists them. Any
other schema problem is a ``ConfigError`` naming it, raised before a model runs.

Decoding (``generation.ReplyConstraints`` -> ``ConstrainedReply``): each reply holds an
llguidance matcher, advanced token by token; at each step it computes the mask of every allowed
token over the whole vocabulary (~15-25 us on SmolLM2's 49k tokens, ~0.1 ms applied to the
logits), and the caller takes the argmax of the masked logits (greedy) or samples from all
allowed tokens. Fast (Rust) Hugging Face tokenizers only. Special tokens are never allowed except the
end-of-turn tokens, and those only once the reply is complete; after a complete document nothing
but the end of the turn may follow. Tokens holding part of a multi-byte character are handled at
the byte level. ``JsonPrefixChecker`` / ``check_prefix`` check a text (not tokens) against a
constraint, byte by byte.
"""

from __future__ import annotations

import json
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Mapping, NamedTuple, Sequence, Union

from brewslm.errors import ConfigError

logger = logging.getLogger(__name__)

SAMPLING_TOP_K = 50
"""Unconstrained sampling draws from the k most likely tokens (the transformers default); a
constrained reply samples from every token its grammar allows."""

JSON_SEPARATORS = (", ", ": ")
"""Between items and after keys: the only whitespace a constrained JSON reply has (as training
targets are written, ``tasks.rendering.to_json``)."""

_JSON_OPTIONS = {
    "whitespace_flexible": False,
    "item_separator": JSON_SEPARATORS[0],
    "key_separator": JSON_SEPARATORS[1],
    # escapes for what must be escaped: no "\/" (and llguidance's default keeps "\uXXXX" to control characters)
    "json_allowed_escapes": 'nrbtf\\"u',
    "json_allow_general_unicode_escapes": False,
}
# a reply that is not a JSON document: empty, or whitespace then anything but "{" or "["
_FREE_TEXT = r"/[ \t\r\n]*([^ \t\r\n{\[][\s\S]*)?/"
_GRAMMAR_CACHE = 256


@dataclass(frozen=True)
class JsonConstraint:
    """Generation under a JSON schema. ``allow_text``: free text is allowed too, but a reply that
    opens with ``{`` or ``[`` (leading whitespace aside) must be a valid document of the schema,
    written from the reply's first character (tool calls: a call must be valid, a direct answer
    stays possible)."""

    schema: Mapping[str, Any] | bool
    allow_text: bool = False

    def grammar(self, *, lenient: bool = False) -> str:
        import llguidance

        schema = _with_options(self.schema, lenient)
        if not self.allow_text:
            return llguidance.LLMatcher.grammar_from_json_schema(schema)
        lark = f"start: TEXT | document\ndocument: %json {json.dumps(schema, ensure_ascii=False)}\nTEXT: {_FREE_TEXT}\n"
        return llguidance.LLMatcher.grammar_from_lark(lark)


@dataclass(frozen=True)
class RegexConstraint:
    """Generation of a reply that matches ``pattern`` as a whole (Rust ``regex`` syntax: classes,
    repetition ``{m,n}``, alternation; no look-around or back-references)."""

    pattern: str

    def grammar(self, *, lenient: bool = False) -> str:
        import llguidance

        return llguidance.LLMatcher.grammar_from_regex(self.pattern)


@dataclass(frozen=True)
class ChoiceConstraint:
    """Generation of exactly one of ``choices``."""

    choices: tuple[str, ...]

    def __post_init__(self) -> None:
        if isinstance(self.choices, str) or not self.choices:
            raise ConfigError(f"a choice constraint needs a non-empty list of strings, got {self.choices!r}")
        object.__setattr__(self, "choices", tuple(str(c) for c in self.choices))

    def grammar(self, *, lenient: bool = False) -> str:
        import llguidance

        # Lark string literals take JSON's escapes
        alternatives = " | ".join(json.dumps(choice, ensure_ascii=False) for choice in dict.fromkeys(self.choices))
        return llguidance.LLMatcher.grammar_from_lark(f"start: {alternatives}\n")


Constraint = Union[JsonConstraint, RegexConstraint, ChoiceConstraint]


def _with_options(schema: Mapping[str, Any] | bool, lenient: bool) -> dict[str, Any]:
    """The schema as an object carrying our JSON spelling (``x-guidance``; the schema's own
    ``x-guidance`` keys win), its objects closed (``close_objects``)."""
    if schema is True:
        schema = {}
    elif schema is False:
        raise ConfigError("the JSON schema is false: no document is valid against it; fix the schema")
    if not isinstance(schema, Mapping):
        raise ConfigError(f"a JSON schema must be an object or a boolean, got {schema!r}; fix the schema")
    own = schema.get("x-guidance")
    options = {**_JSON_OPTIONS, **({"lenient": True} if lenient else {}), **(own if isinstance(own, Mapping) else {})}
    return {**close_objects(schema), "x-guidance": options}


_OBJECT_KEYWORDS = ("properties", "required", "additionalProperties", "patternProperties", "unevaluatedProperties")
_COMBINED = ("allOf", "anyOf", "oneOf", "$ref")
# keywords whose value is one schema / a list of schemas / a map of names to schemas
_ONE = ("additionalProperties", "items", "additionalItems", "contains", "not", "if", "then", "else", "propertyNames")
_MANY = ("allOf", "anyOf", "oneOf", "prefixItems", "items")
_NAMED = ("properties", "$defs", "definitions", "patternProperties", "dependentSchemas")


def close_objects(schema: Mapping[str, Any]) -> dict[str, Any]:
    """``schema`` with every object that lists ``properties`` but says nothing about other keys
    closed (``additionalProperties: false``; a required key it does not list takes any value).
    Constrained decoding writes the keys a schema names: a model cannot pad a reply with keys of
    its own invention. Left open, as their keys may come from elsewhere: an object with
    ``allOf``/``anyOf``/``oneOf``/``$ref`` beside its properties, the branches of an ``allOf``, the
    branches of an ``anyOf``/``oneOf`` whose object has properties of its own, and the ``$defs``
    an ``allOf`` refers to."""
    in_all_of: set[str] = set()

    def refs_in_all_of(node: Any) -> None:
        if isinstance(node, Mapping):
            for branch in node.get("allOf") or ():
                if isinstance(branch, Mapping) and isinstance(branch.get("$ref"), str):
                    in_all_of.add(branch["$ref"])
            for value in node.values():
                refs_in_all_of(value)
        elif isinstance(node, list):
            for value in node:
                refs_in_all_of(value)

    def close(node: Any, pointer: str, open_: bool) -> Any:
        if not isinstance(node, Mapping):
            return node
        out = dict(node)
        if (
            "properties" in out
            and isinstance(out["properties"], Mapping)
            and not open_
            and pointer not in in_all_of
            and not any(key in out for key in (*_OBJECT_KEYWORDS[2:], *_COMBINED))
        ):
            properties = dict(out["properties"])
            for key in out.get("required") or ():
                properties.setdefault(str(key), {})
            out["properties"] = properties
            out["additionalProperties"] = False
        objectish = any(key in node for key in _OBJECT_KEYWORDS)
        for key, value in list(out.items()):
            at = f"{pointer}/{key}"
            if key in _NAMED and isinstance(value, Mapping):
                out[key] = {name: close(sub, f"{at}/{name}", False) for name, sub in value.items()}
            elif key in _MANY and isinstance(value, list):
                branch_open = key == "allOf" or (key in ("anyOf", "oneOf") and objectish)
                out[key] = [close(sub, f"{at}/{i}", branch_open) for i, sub in enumerate(value)]
            elif key in _ONE:
                out[key] = close(value, at, False)
        return out

    refs_in_all_of(schema)
    return close(schema, "#", False)


def constraint_key(constraint: Constraint) -> str:
    """A stable text key of a constraint (its schema may hold dicts, which do not hash)."""
    fields = {name: getattr(constraint, name) for name in constraint.__dataclass_fields__}
    return json.dumps([type(constraint).__name__, fields], sort_keys=True, default=str)


# --- compiling ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Grammar:
    """A constraint's grammar, checked: ``text`` for llguidance; ``ignored``: the schema keywords
    and formats it does not enforce (empty for most schemas)."""

    text: str
    ignored: tuple[str, ...] = ()


_grammars: OrderedDict[str, Grammar] = OrderedDict()
_grammars_lock = threading.Lock()  # the server compiles in request handlers and in its decoding thread


def _check(grammar: str) -> tuple[bool, list[str]]:
    import llguidance

    return llguidance.LLMatcher.validate_grammar_with_warnings(grammar)


def _problem(constraint: Constraint, messages: Sequence[str]) -> ConfigError:
    message = "; ".join(m.strip() for m in messages) or "the grammar is invalid"
    if isinstance(constraint, JsonConstraint):
        if "oneOf" in message:
            return ConfigError(
                "the JSON schema has a oneOf whose branches may overlap: constrained decoding cannot make sure "
                "exactly one matches; make the branches exclusive (a different const or type per branch) or use anyOf"
            )
        return ConfigError(f"the JSON schema cannot constrain decoding: {message}; fix the schema")
    if isinstance(constraint, RegexConstraint):
        return ConfigError(f"the regular expression {constraint.pattern!r} cannot constrain decoding: {message}")
    return ConfigError(f"the choices cannot constrain decoding: {message}")


def compile_grammar(constraint: Constraint) -> Grammar:
    """The constraint's grammar, checked (a ``ConfigError`` naming the problem otherwise); the
    newest ones are cached. See the module notes for how a schema llguidance cannot enforce
    exactly is handled."""
    key = constraint_key(constraint)
    with _grammars_lock:
        found = _grammars.get(key)
    if found is None:
        text = constraint.grammar()
        error, messages = _check(text)
        if not error:
            found = Grammar(text, tuple(messages))
        elif isinstance(constraint, JsonConstraint):
            lenient = constraint.grammar(lenient=True)
            lenient_error, ignored = _check(lenient)
            if lenient_error or any("oneOf" in m for m in ignored):
                raise _problem(constraint, messages)
            found = Grammar(lenient, tuple(ignored))
            logger.info("constrained decoding does not enforce part of a JSON schema: %s", "; ".join(ignored))
        else:
            raise _problem(constraint, messages)
    with _grammars_lock:
        _grammars[key] = found
        _grammars.move_to_end(key)
        while len(_grammars) > _GRAMMAR_CACHE:
            _grammars.popitem(last=False)
    return found


def compile_matcher(constraint: Constraint, vocabulary: Any) -> Any:
    """An llguidance matcher of the constraint over ``vocabulary`` (``model_vocabulary``), at the
    start of a reply; ``deep_copy()`` it for each reply (a copy costs microseconds)."""
    import llguidance

    matcher = llguidance.LLMatcher(vocabulary, compile_grammar(constraint).text, log_level=0)
    if matcher.is_error():
        raise _problem(constraint, [matcher.get_error()])
    return matcher


# --- checking text --------------------------------------------------------------------------------


class _ByteVocabulary:
    """A tokenizer whose tokens are the 256 bytes (and an end token): llguidance checks text with it."""

    eos_token_id = 256
    bos_token_id = None
    tokens = [bytes([i]) for i in range(256)] + [b"<end>"]
    special_token_ids = [256]

    def __call__(self, text: bytes) -> list[int]:
        return list(text)


_byte_tokenizer: Any = None


def _bytes_tokenizer() -> Any:
    global _byte_tokenizer
    if _byte_tokenizer is None:
        import llguidance

        _byte_tokenizer = llguidance.LLTokenizer(llguidance.TokenizerWrapper(_ByteVocabulary()))
    return _byte_tokenizer


class PrefixCheck(NamedTuple):
    viable: bool  # the text can still be completed into a valid reply
    complete: bool  # the text is a valid reply (it may end here)


class PrefixChecker:
    """Says whether a text can still become a reply allowed by a constraint (byte by byte)."""

    def __init__(self, constraint: Constraint):
        self.constraint = constraint
        self.grammar = compile_grammar(constraint)
        self._matcher = compile_matcher(constraint, _bytes_tokenizer())

    @classmethod
    def for_constraint(cls, constraint: Constraint) -> "PrefixChecker":
        return cls(constraint)

    def check(self, text: str | bytes) -> PrefixCheck:
        """Where ``text`` stands (bytes: any byte prefix, a character split included)."""
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        matcher = self._matcher.deep_copy()
        viable = matcher.consume_tokens(list(data)) and not matcher.is_error()
        return PrefixCheck(viable=viable, complete=viable and matcher.is_accepting())


class JsonPrefixChecker(PrefixChecker):
    """``PrefixChecker`` of a ``JsonConstraint``; constructing it checks the schema (a
    ``ConfigError`` naming the problem)."""

    def __init__(self, schema: Mapping[str, Any] | bool, *, allow_text: bool = False):
        super().__init__(JsonConstraint(schema, allow_text=allow_text))
        self.schema = schema
        self.allow_text = allow_text


def check_prefix(schema: Mapping[str, Any] | bool, text: str, *, allow_text: bool = False) -> PrefixCheck:
    """One-off check of ``text`` against ``schema``."""
    return JsonPrefixChecker(schema, allow_text=allow_text).check(text)


# --- decoding -------------------------------------------------------------------------------------


def model_vocabulary(tokenizer: Any, stop_ids: Sequence[int]) -> Any:
    """llguidance's view of a Hugging Face fast tokenizer, ``stop_ids`` as its end tokens (~0.3 s
    for a 49k vocabulary: read once per tokenizer)."""
    import llguidance.hf
    from transformers import PreTrainedTokenizerFast

    if not isinstance(tokenizer, PreTrainedTokenizerFast):
        raise ConfigError(
            f"constrained decoding needs a fast (Rust) tokenizer, and {type(tokenizer).__name__} is not one; "
            "load the tokenizer with use_fast=True, or decode without a constraint"
        )
    return llguidance.hf.from_tokenizer(tokenizer, eos_token=sorted(int(i) for i in stop_ids))


class ConstrainedReply:
    """One reply decoded under a constraint: its matcher, advanced token by token, and the mask
    of the tokens it may take next."""

    def __init__(self, matcher: Any, vocab_size: int, stop_ids: Sequence[int]):
        import torch

        self.matcher = matcher
        self.vocab_size = vocab_size
        self.stop_ids = frozenset(int(i) for i in stop_ids)
        self._bits = torch.zeros((vocab_size + 31) // 32, dtype=torch.int32)
        self._shifts = torch.arange(32, dtype=torch.int32)
        self._allowed: Any = None

    def allowed(self) -> Any:
        """A boolean tensor over the vocabulary: the tokens the reply may take next."""
        if self._allowed is None:
            bits = self._bits
            self.matcher.unsafe_compute_mask_ptr(bits.data_ptr(), bits.numel() * bits.element_size())
            if self.matcher.is_error():
                raise ValueError(f"the constrained reply cannot go on: {self.matcher.get_error()}")
            self._allowed = ((bits[:, None] >> self._shifts) & 1).view(-1)[: self.vocab_size].bool()
        return self._allowed

    def allows(self, token_id: int) -> bool:
        return 0 <= token_id < self.vocab_size and bool(self.allowed()[token_id])

    @property
    def complete(self) -> bool:
        """The reply so far is a whole reply (it may end here)."""
        return self.matcher.is_accepting()

    def mask(self, logits: Any) -> Any:
        """``logits`` (one row, any vocabulary width) with every token the reply may not take
        at -inf (a new tensor)."""
        import torch

        allowed = self.allowed()
        width = logits.shape[-1]
        keep = torch.zeros(width, dtype=torch.bool)
        keep[: min(width, self.vocab_size)] = allowed[:width]
        return logits.masked_fill(~keep.to(logits.device), float("-inf"))

    def advance(self, token_id: int) -> None:
        """Take ``token_id`` (an end-of-turn token ends the reply and needs no taking)."""
        if token_id in self.stop_ids:
            return
        if not self.matcher.consume_token(int(token_id)):
            raise ValueError(f"token {token_id} does not continue the constrained reply: {self.matcher.get_error()}")
        self._allowed = None


__all__ = [
    "ChoiceConstraint",
    "ConstrainedReply",
    "Constraint",
    "Grammar",
    "JSON_SEPARATORS",
    "JsonConstraint",
    "JsonPrefixChecker",
    "PrefixCheck",
    "PrefixChecker",
    "RegexConstraint",
    "SAMPLING_TOP_K",
    "check_prefix",
    "compile_grammar",
    "compile_matcher",
    "constraint_key",
    "model_vocabulary",
]
