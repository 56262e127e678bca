import json

import pytest

from brewslm.errors import MapperError
from brewslm.mappers.tool_call_passthrough import normalise_schema, parse_calls
from helpers.mapping import needs_shared, run_mapper, shared_rows, sniff

M = "tool_call_passthrough"

WEATHER = {
    "name": "get_weather",
    "description": "Current weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
TIME = {"name": "get_time", "description": "", "parameters": {"type": "object", "properties": {}}}


def openai_tools(*tools):
    return [{"type": "function", "function": t} for t in tools]


def tool_call(name, args, as_text=True):
    return {
        "id": "call_1",
        "type": "function",
        "function": {"name": name, "arguments": json.dumps(args) if as_text else args},
    }


def roles(record):
    return [m["role"] for m in record["messages"]]


def test_openai_messages_give_one_record_per_decision():
    row = {
        "messages": [
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": "Weather in Oslo?"},
            {"role": "assistant", "content": None, "tool_calls": [tool_call("get_weather", {"city": "Oslo"})]},
            {"role": "tool", "tool_call_id": "call_1", "content": '{"temp": 3}'},
            {"role": "assistant", "content": "It is 3 degrees."},
            {"role": "user", "content": "Thanks!"},
            {"role": "assistant", "content": "You're welcome."},
        ],
        "tools": openai_tools(WEATHER),
    }
    out = run_mapper(M, [row])
    first, second, third = out.records
    assert first["calls"] == [{"tool": "get_weather", "arguments": {"city": "Oslo"}}] and first["answer"] is None
    assert roles(first) == ["system", "user"]
    assert first["tools"] == [WEATHER]
    assert second["calls"] == [] and second["answer"] == "It is 3 degrees."
    assert roles(second) == ["system", "user", "assistant", "tool"]
    assert json.loads(second["messages"][2]["content"]) == {"name": "get_weather", "arguments": {"city": "Oslo"}}
    assert second["messages"][3]["content"] == '{"temp": 3}'
    assert third["calls"] == [] and third["answer"] == "You're welcome." and roles(third)[-1] == "user"


def test_parallel_calls_and_legacy_function_call():
    parallel = {
        "messages": [
            {"role": "user", "content": "Weather in Oslo and the time?"},
            {
                "role": "assistant",
                "content": "Checking both.",
                "tool_calls": [tool_call("get_weather", {"city": "Oslo"}, as_text=False), tool_call("get_time", {})],
            },
        ],
        "tools": [WEATHER, TIME],
    }
    legacy = {
        "messages": [
            {"role": "user", "content": "Time?"},
            {"role": "assistant", "content": "One moment.", "function_call": {"name": "get_time", "arguments": "{}"}},
            {"role": "function", "name": "get_time", "content": "12:00"},
            {"role": "assistant", "content": "Noon."},
        ],
        "tools": [TIME],
    }
    out = run_mapper(M, [parallel, legacy])
    assert [c["tool"] for c in out.records[0]["calls"]] == ["get_weather", "get_time"]
    assert out.records[0]["meta"] == {"assistant_text": "Checking both."}
    assert out.records[1]["calls"] == [{"tool": "get_time", "arguments": {}}]
    assert out.records[1]["meta"] == {"assistant_text": "One moment."}
    assert out.records[2]["answer"] == "Noon." and roles(out.records[2]) == ["user", "assistant", "tool"]


def test_sharegpt_glaive_form():
    tools = json.dumps([WEATHER, TIME])
    row = {
        "conversations": [
            {"from": "system", "value": "Use tools."},
            {"from": "human", "value": "Weather in Oslo?"},
            {"from": "gpt", "value": "Let me look."},
            {"from": "function_call", "value": '{"name": "get_weather", "arguments": {"city": "Oslo"}}'},
            {"from": "observation", "value": '{"temp": 3}'},
            {"from": "gpt", "value": "3 degrees."},
            {"from": "human", "value": "And the time? Also Bergen weather."},
            {"from": "function_call", "value": '{"name": "get_time", "arguments": "{}"}'},
            {"from": "function_call", "value": '{"name": "get_weather", "arguments": {"city": "Bergen"}}'},
            {"from": "observation", "value": "12:00"},
            {"from": "observation", "value": '{"temp": 5}'},
            {"from": "gpt", "value": "Noon, 5 degrees."},
        ],
        "tools": tools,
    }
    out = run_mapper(M, [row])
    kinds = [(len(r["calls"]), r["answer"]) for r in out.records]
    assert kinds == [(1, None), (0, "3 degrees."), (2, None), (0, "Noon, 5 degrees.")]
    assert out.records[0]["meta"] == {"assistant_text": "Let me look."}
    assert roles(out.records[0]) == ["system", "user"]
    assert roles(out.records[3])[-3:] == ["assistant", "tool", "tool"]
    assert json.loads(out.records[3]["messages"][-3]["content"]) == [
        {"name": "get_time", "arguments": {}},
        {"name": "get_weather", "arguments": {"city": "Bergen"}},
    ]


def test_no_tool_chats_are_negatives_unless_rejected():
    row = {"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello!"}], "tools": "[]"}
    out = run_mapper(M, [row])
    assert out.records == [
        {"messages": [{"role": "user", "content": "Hi"}], "tools": [], "calls": [], "answer": "Hello!"}
    ]
    assert run_mapper(M, [row], None, {"empty_tools": "reject"}).reasons == {"missing_tools": 1}
    with pytest.raises(MapperError):
        run_mapper(M, [row], None, {"empty_tools": "maybe"})


def test_query_with_xlam_answers_and_flat_parameters():
    row = {
        "id": 11,
        "query": "Weather in Oslo, in celsius?",
        "tools": json.dumps(
            [
                {
                    "name": "get_weather",
                    "description": "Weather",
                    "parameters": {
                        "city": {"type": "str", "description": "City"},
                        "unit": {"type": "str, optional", "default": "c"},
                    },
                }
            ]
        ),
        "answers": json.dumps([{"name": "get_weather", "arguments": {"city": "Oslo", "unit": "c"}}]),
    }
    record = run_mapper(M, [row], {"query": "messages", "tools": "tools", "answers": "calls", "id": "id"}).records[0]
    assert record["messages"] == [{"role": "user", "content": "Weather in Oslo, in celsius?"}]
    assert record["tools"][0]["parameters"] == {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "City"}, "unit": {"type": "string", "default": "c"}},
        "required": ["city"],
    }
    assert record["calls"] == [{"tool": "get_weather", "arguments": {"city": "Oslo", "unit": "c"}}]
    assert record["id"] == 11 and "acceptable" not in record


BFCL_FUNCTION = {
    "name": "cards.winner",
    "description": "Find the winner",
    "parameters": {
        "type": "dict",
        "properties": {
            "players": {"type": "dict", "description": "Hands by player", "properties": {}},
            "type": {"type": "string", "description": "a parameter that happens to be named 'type'"},
            "stake": {"type": "float"},
            "pair": {"type": "tuple", "items": {"type": "any"}},
        },
        "required": ["players"],
    },
}


def test_bfcl_query_ground_truth_and_irrelevance():
    fields = {"question": "messages", "function": "tools", "ground_truth": "calls", "id": "id"}
    rows = [
        {
            "id": "simple_1",
            "question": [[{"role": "system", "content": "S"}, {"role": "user", "content": "Who wins?"}]],
            "function": [BFCL_FUNCTION],
            "ground_truth": [
                {
                    "cards.winner": {
                        "players": [{"Ann": [["A", "K"]], "Bob": [["2", "3"], ["3", "2"]]}],
                        "type": ["", "poker"],
                        "stake": [""],
                    }
                }
            ],
        },
        {
            "id": "irrelevance_1",
            "question": [[{"role": "user", "content": "Tell me a joke"}]],
            "function": [BFCL_FUNCTION],
        },
    ]
    out = run_mapper(M, rows, fields)
    call, negative = out.records
    assert call["calls"] == [
        {"tool": "cards.winner", "arguments": {"players": {"Ann": ["A", "K"], "Bob": ["2", "3"]}, "type": "poker"}}
    ]
    assert call["acceptable"] == [
        {"players": [{"Ann": [["A", "K"]], "Bob": [["2", "3"], ["3", "2"]]}], "type": ["", "poker"], "stake": [""]}
    ]
    assert [m["role"] for m in call["messages"]] == ["system", "user"]
    params = call["tools"][0]["parameters"]
    assert params["type"] == "object" and params["properties"]["players"]["type"] == "object"
    assert params["properties"]["type"] == {
        "type": "string",
        "description": "a parameter that happens to be named 'type'",
    }
    assert params["properties"]["stake"]["type"] == "number"
    assert params["properties"]["pair"] == {"type": "array", "items": {}}
    assert negative["calls"] == [] and negative["answer"] is None and negative["id"] == "irrelevance_1"


def test_normalise_schema_leaves_json_schema_alone():
    schema = {"type": "object", "properties": {"a": {"type": ["string", "null"]}, "b": {"anyOf": [{"type": "int"}]}}}
    assert normalise_schema(schema) == {
        "type": "object",
        "properties": {"a": {"type": ["string", "null"]}, "b": {"anyOf": [{"type": "integer"}]}},
    }


def test_parse_calls_forms():
    assert parse_calls('{"name": "f", "arguments": "{\\"x\\": 1}"}', "c") == (
        [{"tool": "f", "arguments": {"x": 1}}],
        None,
    )
    assert parse_calls([{"function": {"name": "f", "arguments": ""}}], "c") == ([{"tool": "f", "arguments": {}}], None)
    assert parse_calls("", "c") == ([], None)
    assert parse_calls({"tool": "f", "arguments": {"x": 1}}, "c") == ([{"tool": "f", "arguments": {"x": 1}}], None)
    assert parse_calls([{"get_time": {}}], "c") == ([{"tool": "get_time", "arguments": {}}], [{}])
    for bad in (
        '{"name": "f", "arguments": "{x}"}',
        "{oops",
        '{"arguments": {}}',
        '{"name": "f", "arguments": [1]}',
        [3],
        {"f": {"x": 1}},
    ):
        assert parse_calls(bad, "c").reason == "invalid_tool_call", bad


def conv(*turns, tools=None):
    return {
        "conversations": [{"from": f, "value": v} for f, v in turns],
        "tools": json.dumps([WEATHER]) if tools is None else tools,
    }


@pytest.mark.parametrize(
    "row,reason",
    [
        ({"tools": "[]"}, "missing_messages"),
        (conv(tools="[]") | {"conversations": []}, "missing_messages"),
        ({"conversations": [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Yo"}]}, "missing_tools"),
        (conv(("human", "Hi"), ("gpt", "Yo"), tools=None) | {"tools": None}, "missing_tools"),
        (conv(("human", "Hi"), ("gpt", "Yo"), tools="not json"), "wrong_type"),
        (conv(("human", "Hi"), ("gpt", "Yo"), tools='[{"description": "no name"}]'), "wrong_type"),
        (conv(("human", "Hi"), ("gpt", "Yo"), tools='[{"name": "f", "parameters": "{bad"}]'), "wrong_type"),
        (conv(("human", "Hi"), ("gpt", "Yo"), tools='[{"name": "f", "parameters": {"type": "string"}}]'), "wrong_type"),
        (conv(("human", "Weather?"), ("function_call", "{not json")), "invalid_tool_call"),
        (
            conv(("human", "Weather?"), ("function_call", '{"name": "book_flight", "arguments": {}}')),
            "invalid_tool_call",
        ),
        (
            conv(("human", "Weather?"), ("function_call", '{"name": "get_weather", "arguments": "{city"}')),
            "invalid_tool_call",
        ),
        (conv(("human", "Weather?"), ("function_call", "")), "invalid_tool_call"),
        (conv(("human", "Hi"), ("observation", "{}"), ("gpt", "x")), "invalid_turn_order"),
        (conv(("gpt", "Welcome"), ("human", "Hi")), "invalid_turn_order"),
        (conv(("human", "Hi"), ("system", "late"), ("gpt", "x")), "invalid_turn_order"),
        (conv(("human", "Hi"), ("critic", "x")), "invalid_role"),
        (conv(("human", "Hi")), "missing_answer"),
        (
            {"conversations": [[{"role": "user", "content": "a"}], [{"role": "user", "content": "b"}]], "tools": []},
            "wrong_type",
        ),
        # text that merely starts with "[" is a bare query (class 7), not a broken message list
        ({"conversations": "[broken", "tools": []}, "missing_answer"),
    ],
)
def test_rejections(row, reason):
    out = run_mapper(M, [row], {"conversations": "messages", "tools": "tools"})
    assert out.reasons == {reason: 1}, out.rejections


def test_query_without_ground_truth_is_missing_answer():
    row = {"question": [[{"role": "user", "content": "Weather?"}]], "function": [WEATHER]}
    out = run_mapper(M, [row], {"question": "messages", "function": "tools"})
    assert out.reasons == {"missing_answer": 1} and "join" in out.rejections[0][1].detail


def glaive_rows(n=20):
    return [
        conv(
            ("human", f"Weather in city {i}?"),
            ("function_call", json.dumps({"name": "get_weather", "arguments": {"city": f"c{i}"}})),
            ("observation", '{"temp": 1}'),
            ("gpt", "It is cold."),
        )
        for i in range(n)
    ]


def test_sniff_conversations_beats_chat():
    rows = glaive_rows()
    proposal = sniff(M, rows)
    assert proposal.confidence >= 0.9 and proposal.field_map == {"conversations": "messages", "tools": "tools"}
    assert sniff("chat_messages_passthrough", rows).confidence <= 0.6


def test_sniff_query_form():
    rows = [
        {
            "id": f"simple_{i}",
            "question": [[{"role": "user", "content": f"Weather in {i}?"}]],
            "function": [WEATHER],
            "ground_truth": [{"get_weather": {"city": [str(i)]}}],
        }
        for i in range(20)
    ]
    proposal = sniff(M, rows)
    assert proposal.confidence >= 0.8
    assert proposal.field_map == {"question": "messages", "function": "tools", "ground_truth": "calls", "id": "id"}
    unjoined = sniff(M, [{k: v for k, v in r.items() if k != "ground_truth"} for r in rows])
    assert unjoined.confidence < 0.8 and any("join" in e for e in unjoined.evidence)


@needs_shared
@pytest.mark.parametrize("split,rows,call_records,records", [("train", 180, 108, 553), ("dev", 40, 42, 149)])
def test_shared_glaive(split, rows, call_records, records):
    data = shared_rows(f"jsonl:tool_calling_glaive/{split}.jsonl")
    proposal = sniff(M, data)
    assert proposal.confidence >= 0.9
    assert proposal.field_map == {"conversations": "messages", "tools": "tools"}
    assert sniff("chat_messages_passthrough", data).confidence <= 0.6
    out = run_mapper(M, data, proposal.field_map)
    assert not out.rejections and len(out.per_row) == rows
    # one record per assistant decision: every function_call turn and every gpt turn
    assert len(out.records) == records
    assert sum(bool(r["calls"]) for r in out.records) == call_records
    gpt_turns = sum(1 for row in data for t in row["conversations"] if t["from"] == "gpt")
    assert sum(not r["calls"] for r in out.records) == gpt_turns


@needs_shared
@pytest.mark.parametrize("split,rows,negatives", [("train", 240, 50), ("dev", 60, 14)])
def test_shared_bfcl_joined(split, rows, negatives):
    data = shared_rows(f"jsonl:tool_calling_bfcl/{split}.jsonl?join={split}_possible_answer.jsonl&on=id")
    proposal = sniff(M, data)
    assert proposal.confidence >= 0.8
    assert proposal.field_map == {"question": "messages", "function": "tools", "ground_truth": "calls", "id": "id"}
    out = run_mapper(M, data, proposal.field_map)
    assert not out.rejections and len(out.records) == rows
    no_call = [r for r in out.records if not r["calls"]]
    assert len(no_call) == negatives and all("irrelevance" in r["id"] for r in no_call)
    for record in out.records:
        assert all(t["parameters"]["type"] == "object" for t in record["tools"])
        if record["calls"]:
            assert len(record["acceptable"]) == len(record["calls"])
    unjoined = sniff(M, shared_rows(f"jsonl:tool_calling_bfcl/{split}.jsonl"))
    assert unjoined.confidence < 0.8


def test_csv_export(tmp_path):
    from brewslm.sources import open_source
    from helpers.mapping import write_csv

    data = list(open_source(write_csv(tmp_path / "tools.csv", glaive_rows())).rows())
    proposal = sniff(M, data)
    assert proposal.confidence >= 0.9 and proposal.field_map == {"conversations": "messages", "tools": "tools"}
    out = run_mapper(M, data, proposal.field_map)
    assert not out.rejections and len(out.records) == 40


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from helpers.mapping import json_rows, message_lists  # noqa: E402

CALL_TEXTS = (
    '{"name": "get_weather", "arguments": {"city": "x"}}',
    '{"name": "get_time", "arguments": "{}"}',
    '[{"name": "get_time", "arguments": {}}]',
    '{"name": "nope"}',
    "{bad",
    "Sure.",
    " ",
)
TOOLS = st.sampled_from(
    (json.dumps([WEATHER, TIME]), "[]", json.dumps([WEATHER]), "oops", '[{"name": "x", "parameters": 1}]')
)
SHAREGPT = st.fixed_dictionaries(
    {
        "messages": message_lists(
            "from",
            "value",
            ("human", "gpt", "function_call", "observation", "system", "critic"),
            CALL_TEXTS,
            max_size=9,
        ),
        "tools": TOOLS,
    }
)


@settings(max_examples=300, deadline=None)
@given(
    SHAREGPT
    | json_rows(
        (
            "messages",
            "tools",
            "calls",
            "role",
            "content",
            "from",
            "value",
            "tool_calls",
            "function_call",
            "function",
            "name",
            "arguments",
            "parameters",
            "type",
            "properties",
            "system",
            "id",
        ),
        (
            "user",
            "assistant",
            "gpt",
            "human",
            "function_call",
            "observation",
            "tool",
            "get_weather",
            "dict",
            "object",
            '{"name": "get_weather", "arguments": {}}',
            '[{"name": "get_weather"}]',
            "[]",
            "{bad",
        ),
    )
)
def test_any_row_gives_valid_records_or_a_rejection(row):
    run_mapper(M, [row], {"messages": "messages", "tools": "tools", "calls": "calls", "system": "system", "id": "id"})


def test_system_field_joins_the_conversation():
    row = conv(("system", "Inline rules."), ("human", "Hi"), ("gpt", "Hello")) | {"system": "Field rules."}
    out = run_mapper(M, [row], {"conversations": "messages", "tools": "tools", "system": "system"})
    assert out.records[0]["messages"][0] == {"role": "system", "content": "Field rules.\nInline rules."}
    assert run_mapper(
        M, [row | {"system": 5}], {"conversations": "messages", "tools": "tools", "system": "system"}
    ).reasons == {"wrong_type": 1}


# --- class 11: tool calls in other shapes (fixtures written here) ---------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def calls_of(records):
    return [[c["tool"], c["arguments"]] for r in records for c in r["calls"]]


@pytest.mark.parametrize("call_role", ["function call", "function_call", "tool_call", "Function Call"])
@pytest.mark.parametrize("as_object", [True, False])
def test_call_roles_with_object_or_text_content(call_role, as_object):
    call = {"name": "get_weather", "arguments": {"city": "Oslo"}}
    row = {
        "conversation": [
            {"role": "user", "content": "Weather in Oslo?"},
            {"role": call_role, "content": call if as_object else json.dumps(call)},
            {"role": "observation", "content": {"temp": 3}},
            {"role": "assistant", "content": "3 degrees."},
        ],
        "api_list": [WEATHER],
    }
    out = run_mapper(M, [row], {"conversation": "messages", "api_list": "tools"})
    assert not out.rejections, out.rejections
    assert calls_of(out.records) == [["get_weather", {"city": "Oslo"}]]
    assert out.records[1]["messages"][-1] == {"role": "tool", "content": '{"temp": 3}'}
    # a hand mapping naming the role explicitly reads the same (it used to reject every row as wrong_type)
    mapped = run_mapper(
        M,
        [row],
        {"conversation": "messages", "api_list": "tools"},
        {"role_map": {call_role: "tool_call", "observation": "tool"}},
    )
    assert calls_of(mapped.records) == calls_of(out.records)


def test_openai_arguments_as_text_or_object_and_double_encoded_rejected():
    def row(arguments):
        return {
            "messages": [
                {"role": "user", "content": "Weather?"},
                {
                    "role": "assistant",
                    "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": arguments}}],
                },
            ],
            "tools": openai_tools(WEATHER),
        }

    out = run_mapper(M, [row('{"city": "Oslo"}'), row({"city": "Oslo"}), row(json.dumps('{"city": "Oslo"}'))])
    assert calls_of(out.records) == [["get_weather", {"city": "Oslo"}]] * 2
    [(index, rejection)] = out.rejections
    assert index == 3 and rejection.reason == "invalid_tool_call" and "encoded twice" in rejection.detail


def test_legacy_function_call_and_function_results():
    row = {
        "messages": [
            {"role": "user", "content": "Time?"},
            {"role": "assistant", "content": None, "function_call": {"name": "get_time", "arguments": "{}"}},
            {"role": "function", "name": "get_time", "content": "12:00"},
            {"role": "assistant", "content": "It is noon."},
        ],
        "functions": [TIME],
    }
    out = run_mapper(M, [row])
    assert calls_of(out.records) == [["get_time", {}]]
    assert out.records[1]["answer"] == "It is noon."


def test_sharegpt_turns_with_call_roles():
    row = {
        "conversations": [
            {"from": "human", "value": "Weather in Oslo?"},
            {"from": "function call", "value": '{"name": "get_weather", "arguments": {"city": "Oslo"}}'},
            {"from": "observation", "value": '{"temp": 3}'},
            {"from": "gpt", "value": "[Note] 3 degrees."},
        ],
        "tools": json.dumps([WEATHER]),
    }
    out = run_mapper(M, [row], {"conversations": "messages", "tools": "tools"})
    assert calls_of(out.records) == [["get_weather", {"city": "Oslo"}]]
    assert out.records[1]["answer"] == "[Note] 3 degrees."  # text starting with '[' stays text


def test_typed_content_parts_with_reasoning():
    row = {
        "messages": [
            {"role": "user", "content": [{"type": "text", "value": "Weather in Oslo?"}]},
            {
                "role": "assistant",
                "content": [
                    {"type": "reasoning", "value": "I should call the weather tool."},
                    {"type": "tool_call", "value": '{"name": "get_weather", "arguments": {"city": "Oslo"}}'},
                ],
            },
            {"role": "tool", "content": [{"type": "text", "value": "3C"}]},
            {
                "role": "assistant",
                "content": [{"type": "reasoning", "value": "Done."}, {"type": "text", "value": "3C."}],
            },
        ],
        "tools": json.dumps(openai_tools(WEATHER)),
    }
    out = run_mapper(M, [row])
    assert not out.rejections, out.rejections
    first, second = out.records
    assert calls_of([first]) == [["get_weather", {"city": "Oslo"}]]
    assert first["meta"] == {"reasoning": "I should call the weather tool."}
    assert second["answer"] == "3C." and second["meta"] == {"reasoning": "Done."}


def test_sniff_finds_tools_and_calls_by_their_values_whatever_the_field_names():
    rows = [
        {
            "dialogue_turns": [
                {"role": "user", "content": f"Weather in city {i}?"},
                {"role": "function call", "content": {"name": "get_weather", "arguments": {"city": f"c{i}"}}},
                {"role": "observation", "content": "3C"},
                {"role": "assistant", "content": "3C."},
            ],
            "offered": json.dumps([WEATHER, TIME]),
        }
        for i in range(20)
    ]
    proposal = sniff(M, rows)
    assert proposal is not None and proposal.confidence >= 0.9, proposal
    assert proposal.field_map == {"dialogue_turns": "messages", "offered": "tools"}
    chat = sniff("chat_messages_passthrough", rows)
    assert chat is None or chat.confidence <= 0.5


@settings(max_examples=60, deadline=None)
@given(
    st.text(min_size=1).filter(str.strip),
    st.text(),
    st.text(min_size=1).filter(str.strip),
    st.sampled_from(["[", "{", "[Verse 1]", "[0, 1, 3]", '{"a": 1}', " 7 ", "null", ""]),
)
def test_fidelity_texts_are_kept_exactly(query, result, answer, tricky):
    query, answer = query + tricky, tricky + answer
    row = {
        "messages": [
            {"role": "user", "content": query},
            {"role": "assistant", "tool_calls": [tool_call("get_weather", {"city": tricky})]},
            {"role": "tool", "content": result},
            {"role": "assistant", "content": answer},
        ],
        "tools": openai_tools(WEATHER),
    }
    out = run_mapper(M, [row])
    assert not out.rejections, out.rejections
    first, second = out.records
    assert first["messages"] == [{"role": "user", "content": query}]
    assert first["calls"] == [{"tool": "get_weather", "arguments": {"city": tricky}}]
    assert second["messages"][-1] == {"role": "tool", "content": result}
    assert second["answer"] == answer


def test_gate_does_not_hold_data_defects_against_the_right_mapping():
    from brewslm.introspection.gate import gate
    from brewslm.mappers.profile import profile_rows

    def row(i, arguments):
        return {
            "messages": [
                {"role": "system", "content": "You fly a drone."},
                {"role": "user", "content": f"command {i}"},
                {
                    "role": "assistant",
                    "tool_calls": [{"type": "function", "function": {"name": "get_weather", "arguments": arguments}}],
                },
            ],
            "tools": openai_tools(WEATHER, TIME),
        }

    rows = [row(i, json.dumps({"city": f"c{i}"})) for i in range(8)]
    rows += [row(i, json.dumps(json.dumps({"city": "home"}))) for i in range(6)]  # encoded twice
    proposal = sniff(M, rows)
    assert proposal.field_map == {"messages": "messages", "tools": "tools"}
    gated = gate(proposal, profile_rows(rows))
    assert gated.confidence >= 0.9, gated.evidence
    assert any("defects of the data" in e for e in gated.evidence)
    # a rejection that is not a defect (a call to a tool nobody offered) still counts against it
    rows[:6] = [{**r, "tools": openai_tools(TIME)} for r in rows[:6]]
    assert gate(sniff(M, rows), profile_rows(rows)).confidence < 0.8


def test_react_and_anthropic_call_spellings():
    from brewslm.mappers.tool_call_passthrough import parse_call

    assert parse_call({"Action": "get_weather", "Action_Input": '{"city": "Oslo"}'}, "c")[0] == {
        "tool": "get_weather",
        "arguments": {"city": "Oslo"},
    }
    assert parse_call({"type": "tool_use", "id": "t1", "name": "get_time", "input": {}}, "c")[0] == {
        "tool": "get_time",
        "arguments": {},
    }
    assert parse_call({"Action": "x", "Action_Input": "{not json"}, "c").reason == "invalid_tool_call"


SNIFF_KEYS = (
    "messages",
    "tools",
    "turns",
    "choices",
    "role",
    "content",
    "type",
    "value",
    "name",
    "parameters",
    "arguments",
    "tool_calls",
    "function",
    "from",
    "text",
)
SNIFF_TEXTS = (
    "user",
    "assistant",
    "tool_call",
    "reasoning",
    "text",
    "function call",
    "observation",
    '{"name": "f", "arguments": {}}',
    '[{"name": "f", "parameters": {}}]',
    "[Verse 1]",
    "{bad",
)


@settings(max_examples=60, deadline=None)
@given(st.lists(json_rows(SNIFF_KEYS, SNIFF_TEXTS).filter(lambda r: isinstance(r, dict)), min_size=1, max_size=6))
def test_sniffers_never_raise_on_any_rows(rows):
    for mapper_id in (M, "chat_messages_passthrough"):
        proposal = sniff(mapper_id, rows)
        assert proposal is None or 0 <= proposal.confidence <= 1


def test_anthropic_tool_use_and_tool_result_parts():
    row = {
        "messages": [
            {"role": "user", "content": "Weather in Oslo?"},
            {
                "role": "assistant",
                "content": [
                    {"type": "text", "text": "Let me look."},
                    {"type": "tool_use", "id": "t1", "name": "get_weather", "input": {"city": "Oslo"}},
                ],
            },
            {
                "role": "user",
                "content": [
                    {"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "3C [cloudy]"}]}
                ],
            },
            {"role": "assistant", "content": [{"type": "text", "text": "3C and cloudy."}]},
        ],
        "tools": [{"name": "get_weather", "description": "", "input_schema": WEATHER["parameters"]}],
    }
    out = run_mapper(M, [row])
    assert not out.rejections, out.rejections
    first, second = out.records
    assert first["calls"] == [{"tool": "get_weather", "arguments": {"city": "Oslo"}}]
    assert first["meta"] == {"assistant_text": "Let me look."}
    assert second["messages"][-1] == {"role": "tool", "content": "3C [cloudy]"}
    assert second["answer"] == "3C and cloudy."


def test_tools_keyed_by_name_are_found_by_value():
    keyed = {t["name"]: {k: v for k, v in t.items() if k != "name"} for t in (WEATHER, TIME)}
    rows = [
        {
            "dialog": [
                {"role": "user", "content": f"Weather {i}?"},
                {"role": "assistant", "tool_calls": [tool_call("get_weather", {"city": str(i)})]},
            ],
            "apis": keyed,
        }
        for i in range(10)
    ]
    proposal = sniff(M, rows)
    assert proposal.field_map == {"dialog": "messages", "apis": "tools"}
    out = run_mapper(M, rows, proposal.field_map)
    assert not out.rejections and sorted(t["name"] for t in out.records[0]["tools"]) == ["get_time", "get_weather"]


def test_query_with_expected_calls_and_tools_keyed_by_name_found_by_values():
    # ToolAlpaca-like rows: tools only as keys (name -> description text, name -> [path, method]), a
    # 'components' appendix beside the descriptions, ReAct-spelled golden calls under an unusual name
    rows = []
    for i in range(20):
        rows.append(
            {
                "Instructions": f"Is today a holiday in country {i}?",
                "Function_Description": {
                    "is_holiday": "Whether today is a holiday",
                    "country_info": "Country facts",
                    "components": "Output formats: ...",
                },
                "Function_Projection": {"is_holiday": ["/holiday", "get"], "country_info": ["/info", "get"]},
                "Golden_Answers": [{"Action": "is_holiday", "Action_Input": json.dumps({"country": f"c{i}"})}],
            }
        )
    proposal = sniff(M, rows)
    assert proposal.field_map == {"Instructions": "messages", "Function_Projection": "tools", "Golden_Answers": "calls"}
    assert proposal.confidence >= 0.9
    out = run_mapper(M, rows, proposal.field_map)
    assert not out.rejections
    assert sorted(t["name"] for t in out.records[0]["tools"]) == ["country_info", "is_holiday"]
    assert out.records[3]["calls"] == [{"tool": "is_holiday", "arguments": {"country": "c3"}}]
    assert out.records[3]["messages"] == [{"role": "user", "content": "Is today a holiday in country 3?"}]
