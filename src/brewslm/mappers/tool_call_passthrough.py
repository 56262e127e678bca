"""tool_call_passthrough: tool-calling conversations -> tool_call records, one per assistant decision.

Three source shapes:
1. OpenAI: ``messages`` whose assistant turns carry ``tool_calls`` ``[{function: {name, arguments}}]``
   (arguments a JSON string or an object; the legacy ``function_call`` too), ``tool``/``function``
   result messages, and ``tools`` ``[{type: function, function: {...}}]``;
2. ShareGPT / Glaive: ``conversations`` ``[{from: human|gpt|function_call|observation|system, value}]``
   with the offered ``tools`` as a JSON string;
3. query + function docs + ground truth: a question (text, messages, or BFCL's ``[[{role, content}]]``),
   ``function``/``tools`` docs and the expected calls — ``[{name, arguments}]`` (xLAM) or BFCL's
   ``[{fname: {arg: [acceptable values]}}]`` (joined from ``*_possible_answer.jsonl`` with
   ``?join=<answers file>&on=id``). BFCL's acceptable values are kept in ``acceptable``; the call's
   arguments take the first acceptable value of each argument (``""`` means "may be omitted").
   A row whose ground-truth field is mapped but empty expects no call (BFCL irrelevance).

Every assistant decision in a conversation becomes a record: a tool-call turn gives ``calls`` (a
run of consecutive call turns is one parallel decision; text the assistant wrote just before a call
is kept in ``meta.assistant_text``); a plain assistant reply gives a negative record with
``calls: []`` and ``answer`` = the reply. Later histories carry earlier calls as assistant
messages holding the call JSON and tool results as ``tool`` messages.

Tool schemas are normalised to JSON Schema: ``dict``->``object``, ``float``->``number``,
``tuple``/``list``->``array``, ``int``->``integer``, ``bool``->``boolean``, ``str``->``string``,
``any`` drops the type; a flat ``{param: {type, description}}`` map becomes an object schema.
An explicitly empty tool list (``"[]"``, plain chat) is kept: its replies are negatives
(``empty_tools: reject`` rejects such rows as ``missing_tools``).
"""

from __future__ import annotations

import functools
import json
from collections import Counter
from typing import Any, Mapping

from brewslm.errors import MapperError
from brewslm.mappers.base import (
    MISSING,
    FieldSpec,
    Mapper,
    Proposal,
    Record,
    Rejection,
    attach_source_id,
    fit_share,
    get_path,
    structure_from_text,
    type_name,
)
from brewslm.mappers.messages import (
    ROLE_MAP_OPTION,
    TOOL_CALL,
    Turn,
    call_shape,
    is_transcript,
    json_list,
    looks_like_tool,
    merge_consecutive,
    message_list_share,
    named_tools,
    read_system,
    read_turns,
    role_map_option,
    tools_value_share,
)
from brewslm.tasks.messages import ASSISTANT, SYSTEM, TOOL, USER
from brewslm.tasks.tool_call import call_message_content

MESSAGE_NAMES = ("messages", "conversations", "conversation", "chat", "dialog", "dialogue")
QUERY_NAMES = (
    "question",
    "query",
    "prompt",
    "user_query",
    "instruction",
    "input",
    "instructions",
    "questions",
    "queries",
)
TOOLS_NAMES = ("tools", "functions", "function", "tool_schemas", "available_tools", "apis")
CALLS_NAMES = ("ground_truth", "answers", "calls", "expected_calls", "tool_calls", "expected_tool_calls", "answer")
SCHEMA_TYPES = {
    "dict": "object",
    "float": "number",
    "double": "number",
    "tuple": "array",
    "list": "array",
    "int": "integer",
    "bool": "boolean",
    "str": "string",
}
CALL_KEYS = {"arguments", "parameters", "args", "function", "type", "id"}  # never a BFCL function name key
SNIFF_VALUES = 300  # sample rows whose values are read to find the tools and conversation fields
JSON_TYPES = {"object", "number", "array", "integer", "boolean", "string", "null"}


# --- tools ----------------------------------------------------------------------------------


def normalise_schema(schema: Any) -> Any:
    """A JSON schema with Python/BFCL type names turned into JSON Schema ones, recursively."""
    if not isinstance(schema, dict):
        return schema
    out = dict(schema)
    kind = out.get("type")
    if isinstance(kind, str):
        low = kind.strip().lower()
        if low == "any":
            del out["type"]
        else:
            out["type"] = SCHEMA_TYPES.get(low, low if low in JSON_TYPES else kind)
    elif isinstance(kind, list):
        out["type"] = [SCHEMA_TYPES.get(k.lower(), k) if isinstance(k, str) else k for k in kind]
    if isinstance(out.get("properties"), dict):
        out["properties"] = {name: normalise_schema(sub) for name, sub in out["properties"].items()}
    if isinstance(out.get("items"), (dict, list)):
        items = out["items"]
        out["items"] = [normalise_schema(s) for s in items] if isinstance(items, list) else normalise_schema(items)
    if isinstance(out.get("additionalProperties"), dict):
        out["additionalProperties"] = normalise_schema(out["additionalProperties"])
    for key in ("anyOf", "oneOf", "allOf"):
        if isinstance(out.get(key), list):
            out[key] = [normalise_schema(s) for s in out[key]]
    return out


def parameters_schema(value: Any, where: str) -> "dict[str, Any] | Rejection":
    if value is None or value is MISSING:
        return {"type": "object", "properties": {}}
    if isinstance(value, str):
        decoded = structure_from_text(value, dict)
        if decoded is None:
            return Rejection("wrong_type", f"{where} parameters are text that is not a complete JSON object")
        value = decoded
    if not isinstance(value, dict):
        return Rejection("wrong_type", f"{where} parameters are a {type_name(value)}, not a JSON schema object")
    if "type" not in value and "properties" not in value and value and all(isinstance(v, dict) for v in value.values()):
        # xLAM-style flat map {param: {type, description, default?}}
        required = [
            name
            for name, spec in value.items()
            if "default" not in spec and "optional" not in str(spec.get("type", ""))
        ]
        props = {}
        for name, spec in value.items():
            spec = dict(spec)
            if isinstance(spec.get("type"), str):
                spec["type"] = spec["type"].replace(", optional", "").strip()
            props[name] = spec
        value = {"type": "object", "properties": props, "required": required}
    schema = normalise_schema(value)
    if "type" not in schema:
        schema = {"type": "object", **schema}
    if schema.get("type") != "object":
        return Rejection("wrong_type", f"{where} parameters have type {schema.get('type')!r}, not an object schema")
    return schema


def read_tools(row: Any, path: str | None) -> "list[dict[str, Any]] | Rejection":
    value = MISSING if path is None else get_path(row, path)
    if value is MISSING or value is None:
        return Rejection("missing_tools", f"field '{path}' is missing" if path else "no source field mapped to tools")
    if isinstance(value, str):
        # datasets repeat one tool list as the same JSON string on every row: read it once
        return _tools_from_text(value, path)
    return _tools_from(value, path)


@functools.lru_cache(maxsize=32)
def _tools_from_text(value: str, path: str | None) -> "list[dict[str, Any]] | Rejection":
    return _tools_from(value, path)


def _tools_from(value: Any, path: str | None) -> "list[dict[str, Any]] | Rejection":
    if isinstance(value, str):
        if not value.strip():
            return Rejection("missing_tools", f"field '{path}' is empty")
        decoded = structure_from_text(value)
        if decoded is None:
            return Rejection("wrong_type", f"field '{path}' is text that is not a complete JSON tool list")
        value = decoded
    if isinstance(value, dict):
        value = [value] if looks_like_tool(value) else named_tools(value)
    if not isinstance(value, list):
        return Rejection("wrong_type", f"field '{path}' is a {type_name(value)} where a tool list is expected")
    tools: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, item in enumerate(value):
        where = f"tool {path}[{i}]"
        if isinstance(item, str):
            decoded = structure_from_text(item, dict)
            if decoded is None:
                return Rejection("wrong_type", f"{where} is text that is not a complete JSON tool definition")
            item = decoded
        if isinstance(item, dict) and isinstance(item.get("function"), dict):
            item = item["function"]  # OpenAI {type: function, function: {...}}
        if not isinstance(item, dict):
            return Rejection("wrong_type", f"{where} is a {type_name(item)}, not a tool definition")
        name = item.get("name")
        if not isinstance(name, str) or not name.strip():
            return Rejection("wrong_type", f"{where} has no name")
        description = item.get("description")
        if description is None:
            description = ""
        if not isinstance(description, str):
            return Rejection("wrong_type", f"{where} description is a {type_name(description)}, not text")
        schema = parameters_schema(item.get("parameters", item.get("input_schema")), where)
        if isinstance(schema, Rejection):
            return schema
        if name in seen:
            continue  # the same tool offered twice
        seen.add(name)
        tools.append({"name": name, "description": description, "parameters": schema})
    return tools


# --- calls ----------------------------------------------------------------------------------


def _first_acceptable(values: Any) -> Any:
    """BFCL: the first acceptable value that is not the 'may be omitted' marker, resolved inside
    nested objects (whose fields are acceptable-value lists too); MISSING when only '' is allowed."""
    if not isinstance(values, list):
        return values
    for value in values:
        if value == "":
            continue
        if isinstance(value, dict):
            resolved = {}
            for key, inner in value.items():
                picked = _first_acceptable(inner)
                if picked is not MISSING:
                    resolved[key] = picked
            return resolved
        return value
    return MISSING


# how a call names its tool and its arguments: OpenAI/xLAM, Anthropic (input), ReAct (Action, Action_Input)
CALL_NAME_KEYS = ("name", "tool", "tool_name", "action")
CALL_ARGUMENT_KEYS = ("arguments", "parameters", "args", "input", "action_input", "tool_input")


def _spelled(item: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    """The first of ``keys`` the object has, matched exactly, then case-insensitively."""
    found = next((k for k in keys if k in item), None)
    if found is None:
        lower = {str(k).lower(): k for k in item}
        found = next((lower[k] for k in keys if k in lower), None)
    return found


def parse_call(item: Any, where: str) -> "tuple[dict[str, Any], dict[str, list[Any]] | None] | Rejection":
    """One call in any common spelling -> (``{tool, arguments}``, BFCL acceptable values or None)."""
    if isinstance(item, str):
        decoded = structure_from_text(item, dict)
        if decoded is None:
            return Rejection("invalid_tool_call", f"{where} is text that is not a complete JSON call object")
        item = decoded
    if not isinstance(item, dict):
        return Rejection("invalid_tool_call", f"{where} is a {type_name(item)}, not a call object")
    if isinstance(item.get("function"), dict):
        item = item["function"]  # OpenAI tool_calls entry
    name_key = _spelled(item, CALL_NAME_KEYS)
    if name_key is not None and (isinstance(item[name_key], str) or len(item) > 1):  # {"action": {...}} is BFCL
        name = item[name_key]
        args_key = _spelled(item, CALL_ARGUMENT_KEYS)
        arguments = item[args_key] if args_key is not None else {}
        if isinstance(arguments, str):
            if not arguments.strip():
                arguments = {}
            else:
                try:  # the whole string must be the arguments object: never a partial or a second decode
                    decoded = json.loads(arguments)
                except ValueError as exc:
                    return Rejection(
                        "invalid_tool_call", f"{where} arguments are not valid JSON ({exc.msg})", defect=True
                    )
                if isinstance(decoded, str):
                    return Rejection(
                        "invalid_tool_call",
                        f"{where} arguments are JSON text encoded twice (they decode to a string, not an object); "
                        "fix the source rather than decoding twice",
                        defect=True,
                    )
                arguments = decoded
        if arguments is None:
            arguments = {}
        acceptable = None
    elif len(item) == 1 and isinstance(next(iter(item.values())), dict) and next(iter(item)) not in CALL_KEYS:
        # BFCL ground truth {fname: {arg: [acceptable values]}}
        name, spec = next(iter(item.items()))
        if not all(isinstance(v, list) for v in spec.values()):
            return Rejection("invalid_tool_call", f"{where} lists arguments that are not acceptable-value lists")
        acceptable = {arg: list(values) for arg, values in spec.items()}
        arguments = {}
        for arg, values in spec.items():
            picked = _first_acceptable(values)
            if picked is not MISSING:
                arguments[arg] = picked
    else:
        return Rejection("invalid_tool_call", f"{where} has no tool name")
    if not isinstance(name, str) or not name.strip():
        return Rejection("invalid_tool_call", f"{where} has no tool name")
    if not isinstance(arguments, dict):
        return Rejection("invalid_tool_call", f"{where} arguments are a {type_name(arguments)}, not an object")
    return {"tool": name, "arguments": arguments}, acceptable


def parse_calls(value: Any, where: str) -> "tuple[list[dict[str, Any]], list[dict[str, list[Any]]] | None] | Rejection":
    """A list of calls (or one call, or a JSON string of either) -> calls and, for BFCL, acceptable values."""
    if isinstance(value, str):
        if not value.strip():
            return [], None
        decoded = structure_from_text(value)
        if decoded is None:
            return Rejection("invalid_tool_call", f"{where} is text that is not a complete JSON call or list of calls")
        value = decoded
    items = value if isinstance(value, list) else [value]
    calls, acceptable = [], []
    for i, item in enumerate(items):
        parsed = parse_call(item, f"{where}[{i}]" if isinstance(value, list) else where)
        if isinstance(parsed, Rejection):
            return parsed
        calls.append(parsed[0])
        acceptable.append(parsed[1])
    if any(a is not None for a in acceptable):
        return calls, [a or {} for a in acceptable]
    return calls, None


def call_list_share(values: list[Any]) -> float:
    """The share of present values that are one or more well-formed calls (a calls field by value)."""
    present = [v for v in values if v is not None and v is not MISSING and v != "" and v != []]
    if not present:
        return 0.0
    hits = 0
    for value in present:
        if isinstance(value, (str, list, dict)):
            parsed = parse_calls(value, "value")
            hits += not isinstance(parsed, Rejection) and bool(parsed[0])
    return hits / len(present)


def tools_covering_calls(rows: list[Any], calls_path: str, exclude: tuple[str, ...]) -> str | None:
    """The top-level field whose tools offer every tool the calls at ``calls_path`` name, in at
    least 90% of the rows that have calls: the one covering most rows, then the one offering the
    fewest tools (the tighter list: a section kept beside the functions is not a tool)."""
    best, best_key = None, None
    candidates = {k for row in rows if isinstance(row, dict) for k in row} - set(exclude)
    for path in sorted(candidates):
        covered = judged = offered = 0
        for row in rows:
            parsed = parse_calls(row.get(calls_path), "value") if isinstance(row, dict) else None
            if not isinstance(parsed, tuple) or not parsed[0]:
                continue
            judged += 1
            tools = read_tools(row, path)
            if isinstance(tools, list) and tools:
                covered += {c["tool"] for c in parsed[0]} <= {t["name"] for t in tools}
                offered += len(tools)
        share = covered / judged if judged else 0.0
        key = (share, -offered / max(judged, 1))
        if share >= 0.9 and (best_key is None or key > best_key):
            best, best_key = path, key
    return best


def _non_empty(value: Any) -> bool:
    value = structure_from_text(value) if isinstance(value, str) else value
    return bool(value)


# --- the mapper ----------------------------------------------------------------------------


class ToolCallPassthrough(Mapper):
    id = "tool_call_passthrough"
    task_profile = "tool_call"
    description = (
        "Tool-calling conversations (OpenAI tool_calls, ShareGPT function_call turns, or query + function docs + "
        "ground-truth calls) -> one record per assistant decision; no-tool replies kept as negatives."
    )
    fields = (
        FieldSpec(
            "messages",
            candidates=MESSAGE_NAMES + QUERY_NAMES,
            description="the conversation (message list) or the user query (text, messages, BFCL [[messages]])",
        ),
        FieldSpec(
            "tools", candidates=TOOLS_NAMES, description="the tools offered: a list or JSON string of function schemas"
        ),
        FieldSpec(
            "calls",
            required=False,
            candidates=CALLS_NAMES,
            description="ground-truth calls for a query ([{name, arguments}] or BFCL [{fname: {arg: [values]}}])",
        ),
        FieldSpec("system", required=False, candidates=("system", "system_prompt"), description="a system prompt"),
        FieldSpec(
            "id", required=False, candidates=("id", "conversation_id", "sample_id"), description="the source's row id"
        ),
    )
    options_doc = {
        "role_map": ROLE_MAP_OPTION.replace("user|assistant|system|skip", "user|assistant|system|tool|tool_call|skip"),
        "empty_tools": "rows offering no tools at all ('[]'): 'keep' (default; their replies are no-call negatives) "
        "or 'reject' (missing_tools)",
    }

    def map_row(
        self, row: dict[str, Any], fields: Mapping[str, str], options: Mapping[str, Any]
    ) -> "list[Record] | Rejection":
        role_map = role_map_option(options, (SYSTEM, USER, ASSISTANT, TOOL, TOOL_CALL))
        empty_tools = options.get("empty_tools", "keep")
        if empty_tools not in ("keep", "reject"):
            raise MapperError(f"option empty_tools must be 'keep' or 'reject', not {empty_tools!r}")
        path = fields.get("messages")
        turns = self._turns(row, path, role_map)
        if isinstance(turns, Rejection):
            return turns
        tools = read_tools(row, fields.get("tools"))
        if isinstance(tools, Rejection):
            return tools
        if not tools and empty_tools == "reject":
            return Rejection("missing_tools", f"field '{fields.get('tools')}' offers no tools")
        system = read_system(row, fields.get("system"))
        if isinstance(system, Rejection):
            return system
        if system:
            turns = merge_consecutive([Turn(SYSTEM, system)] + turns, "\n")

        decided = self._decisions(turns, tools, path)
        if isinstance(decided, Rejection):
            return decided
        records, history = decided
        calls_path = fields.get("calls")
        if calls_path and history and history[-1]["role"] in (USER, TOOL):
            value = get_path(row, calls_path)
            if value is MISSING or value is None:
                calls, acceptable = [], None  # no ground-truth row: no call is expected (BFCL irrelevance)
            else:
                parsed = parse_calls(value, f"field '{calls_path}'")
                if isinstance(parsed, Rejection):
                    return parsed
                calls, acceptable = parsed
            record = self._record(history, tools, calls, None, path)
            if isinstance(record, Rejection):
                return record
            if acceptable is not None:
                record["acceptable"] = acceptable
            records.append(record)
        if not records:
            return Rejection(
                "missing_answer",
                f"field '{path}' has no assistant turn and no ground-truth calls follow it; map a calls field "
                "(for BFCL join the answers: ?join=<split>_possible_answer.jsonl&on=id)",
            )
        return attach_source_id(records, row, fields)

    # conversation -> turns ----------------------------------------------------------------
    @staticmethod
    def _turns(row: dict[str, Any], path: str | None, role_map: Mapping[str, Any]) -> "list[Turn] | Rejection":
        value = get_path(row, path) if path else MISSING
        if value is MISSING or value is None:
            return Rejection(
                "missing_messages", f"field '{path}' is missing" if path else "no source field mapped to messages"
            )
        if isinstance(value, str) and json_list(value) is None and not is_transcript(value):
            if not value.strip():
                return Rejection("missing_messages", f"field '{path}' is empty")
            return [Turn(USER, value)]  # a bare query, kept exactly (even when it starts with '[')
        if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
            if len(value) > 1:
                return Rejection(
                    "wrong_type",
                    f"field '{path}' holds {len(value)} turns of a multi-turn benchmark; only single-turn queries "
                    "([[messages]]) can be imported",
                )
            value = value[0]
        turns = read_turns(value, path, role_map)
        if isinstance(turns, Rejection):
            return turns
        # OpenAI assistant messages that carry tool_calls/function_call are call turns
        for turn in turns:
            raw = turn.raw if isinstance(turn.raw, dict) else {}
            if turn.role == ASSISTANT and (raw.get("tool_calls") or raw.get("function_call") or turn.calls):
                turn.role = TOOL_CALL
        turns = [t for t in turns if t.role in (TOOL_CALL, TOOL) or t.content.strip() or t.reasoning]
        if not turns:
            return Rejection("missing_messages", f"field '{path}' has no messages with content")
        # utterances split across bubbles: join consecutive user (or system) turns
        return merge_consecutive(turns, "\n")

    @staticmethod
    def _calls_of(turn: Turn, where: str) -> "list[dict[str, Any]] | Rejection":
        raw = turn.raw if isinstance(turn.raw, dict) else {}
        if raw.get("tool_calls"):
            value: Any = raw["tool_calls"]
        elif raw.get("function_call"):
            value = raw["function_call"]
        elif turn.calls:
            value = turn.calls  # typed tool_call parts, or the call given as an object
        else:
            value = turn.content
        parsed = parse_calls(value, where)
        if isinstance(parsed, Rejection):
            return parsed
        calls, _ = parsed
        if not calls:
            return Rejection("invalid_tool_call", f"{where} is an empty tool call")
        return calls

    def _decisions(
        self, turns: list[Turn], tools: list[dict[str, Any]], path: str | None
    ) -> "tuple[list[Record], list[dict[str, str]]] | Rejection":
        """Records for every assistant decision, and the history after the last turn."""
        records: list[Record] = []
        history: list[dict[str, str]] = []
        after_call = False  # the last assistant action was a tool call, so tool results may follow
        i = 0
        while i < len(turns):
            turn = turns[i]
            where = f"field '{path}' message {i}"
            if turn.role == SYSTEM:
                if history:
                    return Rejection(
                        "invalid_turn_order", f"{where} is a system message after the conversation started"
                    )
                history.append(turn.as_message())
            elif turn.role == USER:
                history.append(turn.as_message())
            elif turn.role == TOOL:
                if not after_call:
                    return Rejection("invalid_turn_order", f"{where} is a tool result with no tool call before it")
                history.append({"role": TOOL, "content": turn.content})
            elif turn.role == ASSISTANT and i + 1 < len(turns) and turns[i + 1].role == TOOL_CALL:
                pass  # text written just before a call belongs to that call (kept below as assistant_text)
            else:
                # a decision point: a run of call turns (parallel calls) or a plain reply
                if not history or history[-1]["role"] not in (USER, TOOL):
                    return Rejection(
                        "invalid_turn_order", f"{where} is an assistant turn with no user turn or tool result before it"
                    )
                if turn.role == TOOL_CALL:
                    before = turns[i - 1] if i and turns[i - 1].role == ASSISTANT else None
                    preface = before.content if before else None
                    reasoning = list(before.reasoning) if before else []
                    calls: list[dict[str, Any]] = []
                    while i < len(turns) and turns[i].role == TOOL_CALL:
                        got = self._calls_of(turns[i], f"field '{path}' message {i}")
                        if isinstance(got, Rejection):
                            return got
                        calls.extend(got)
                        raw = turns[i].raw if isinstance(turns[i].raw, dict) else {}
                        alongside = raw.get("tool_calls") or raw.get("function_call") or turns[i].calls
                        if alongside and turns[i].content.strip():
                            preface = turns[i].content  # OpenAI / typed parts: text written alongside the call
                        reasoning.extend(turns[i].reasoning)
                        i += 1
                    record = self._record(history, tools, calls, None, path)
                    if isinstance(record, Rejection):
                        return record
                    meta = {"assistant_text": preface} if preface else {}
                    if reasoning:
                        meta["reasoning"] = "\n".join(reasoning)
                    if meta:
                        record["meta"] = meta
                    records.append(record)
                    history.append({"role": ASSISTANT, "content": call_message_content(calls)})
                    after_call = True
                    continue
                if not turn.content.strip():
                    return Rejection("missing_answer", f"{where} holds reasoning but neither a reply nor a call")
                record = self._record(history, tools, [], turn.content, path)
                if isinstance(record, Rejection):
                    return record
                if turn.reasoning:
                    record["meta"] = {"reasoning": "\n".join(turn.reasoning)}
                records.append(record)
                history.append(turn.as_message())
            if turn.role != TOOL:
                after_call = False
            i += 1
        return records, history

    @staticmethod
    def _record(
        history: list[dict[str, str]],
        tools: list[dict[str, Any]],
        calls: list[dict[str, Any]],
        answer: str | None,
        path: str | None,
    ) -> "Record | Rejection":
        names = {t["name"] for t in tools}
        for call in calls:
            if call["tool"] not in names:
                offered = ", ".join(sorted(names)) or "none"
                return Rejection(
                    "invalid_tool_call", f"call to '{call['tool']}', which is not among the offered tools ({offered})"
                )
        return {"messages": list(history), "tools": tools, "calls": calls, "answer": answer}

    # --- introspection ----------------------------------------------------------------------
    def sniff(self, profile) -> Proposal | None:
        def values(path: str) -> list[Any]:  # value evidence from the first rows keeps the sniff cheap
            return [get_path(row, path) for row in profile.rows[:SNIFF_VALUES]]

        def holds_tools(path: str) -> bool:
            vals = values(path)
            return tools_value_share(vals) >= 0.9 and any(tools_value_share([v]) and _non_empty(v) for v in vals)

        def holds_messages(path: str) -> bool:
            return message_list_share(values(path)) >= 0.9

        # tools and conversation are found by their VALUES (tool schemas; lists of role-keyed
        # messages); a usual name only breaks ties between fields that both qualify
        top = profile.top_level()
        tools = profile.find(TOOLS_NAMES, lambda fp: holds_tools(fp.path)) or next(
            (p for p in top if holds_tools(p)), None
        )
        conversation = profile.find(MESSAGE_NAMES, lambda fp: fp.path != tools and holds_messages(fp.path)) or next(
            (p for p in top if p != tools and holds_messages(p)), None
        )
        query = None
        if conversation is None:
            query = profile.find(
                QUERY_NAMES, lambda fp: fp.main_type in ("string", "list"), exclude=[tools] if tools else []
            )
        messages = conversation or query
        calls = None
        if query and not tools:
            # query + expected calls: the calls field by its call-shaped values, the tools field as
            # the one whose tools (schemas or name -> description) offer the called names
            calls = profile.find(
                CALLS_NAMES, lambda fp: fp.path != query and call_list_share(values(fp.path)) >= 0.9
            ) or next((p for p in top if p != query and call_list_share(values(p)) >= 0.9), None)
            if calls:
                tools = tools_covering_calls(profile.rows[:SNIFF_VALUES], calls, exclude=(query, calls))
        if not tools or not messages:
            return None
        field_map = {messages: "messages", tools: "tools"}
        calls = calls or profile.find(
            CALLS_NAMES, lambda fp: fp.main_type in ("list", "string", "object"), exclude=field_map
        )
        if calls and conversation is None:
            field_map[calls] = "calls"
        for spec in self.fields[3:]:
            src = profile.find(spec.candidates, lambda fp: fp.main_type in ("string", "number"), exclude=field_map)
            if src:
                field_map[src] = spec.name
        fields = self.canonical_map(field_map)

        n = profile.n_rows
        reasons: Counter = Counter()
        accepted = records = call_records = call_rows = defects = 0
        for row in profile.rows:
            out = self.map_row(row, fields, {})
            if isinstance(out, Rejection):
                reasons[out.reason] += 1
                defects += out.defect
                continue
            accepted += 1
            records += len(out)
            with_calls = sum(bool(r["calls"]) for r in out)
            call_records += with_calls
            call_rows += with_calls > 0
        share = fit_share(accepted, n, defects)
        evidence = []
        if conversation:
            roles: Counter = Counter()
            for row in profile.rows:
                for item in json_list(row.get(conversation)) or []:
                    kind = call_shape(item)
                    if kind:
                        roles[kind] += 1
            evidence.append(
                f"field '{conversation}' holds conversations; tool turns: "
                + (", ".join(f"{r} ({c})" for r, c in roles.most_common(4)) or "none in the sample")
            )
        else:
            evidence.append(f"field '{query}' holds the user query")
        evidence.append(f"field '{tools}' holds the offered tool schemas")
        if calls and conversation is None:
            evidence.append(f"field '{calls}' holds the expected calls")
        evidence.append(
            f"{accepted}/{n} sampled rows give {records} decision records ({call_records} with calls, "
            f"{records - call_records} no-call negatives)"
        )
        if reasons:
            evidence.append("rejections: " + ", ".join(f"{r} ({c})" for r, c in reasons.most_common(3)))
        if share >= 0.9 and call_rows:
            confidence = 0.95 if conversation else 0.92
        elif share >= 0.9:
            confidence = 0.82
        elif share >= 0.6:
            confidence = 0.75
        else:
            confidence = 0.6
        if conversation is None and not calls:
            confidence = min(confidence, 0.7)
            evidence.append(
                "no ground-truth calls field: join the expected calls (e.g. ?join=<split>_possible_answer.jsonl&on=id)"
            )
        return Proposal(self.id, field_map, confidence, evidence)


MAPPER = ToolCallPassthrough()
