import pytest

from brewslm.errors import MapperError
from brewslm.mappers.base import Rejection
from brewslm.mappers.messages import (
    arrange_turns,
    canonical_role,
    consecutive_options,
    is_transcript,
    parse_transcript,
    read_turns,
    role_map_option,
)


def roles_and_text(turns):
    return [(t.role, t.content) for t in turns]


@pytest.mark.parametrize(
    "messages",
    [
        [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}],
        [{"from": "human", "value": "Hi"}, {"from": "gpt", "value": "Hello"}],
        [{"speaker": "USER", "text": "Hi"}, {"speaker": "Agent", "text": "Hello"}],
        [{"author": "customer", "message": "Hi"}, {"author": "bot", "message": "Hello"}],
        ["Hi", "Hello"],
        '[{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]',
    ],
)
def test_common_spellings(messages):
    assert roles_and_text(read_turns(messages, "m")) == [("user", "Hi"), ("assistant", "Hello")]


def test_openai_content_parts_and_tool_roles():
    turns = read_turns(
        [
            {"role": "user", "content": [{"type": "text", "text": "line 1"}, {"type": "text", "text": "line 2"}]},
            {"from": "function_call", "value": "{}"},
            {"from": "observation", "value": "{}"},
        ],
        "m",
    )
    assert roles_and_text(turns) == [("user", "line 1\nline 2"), ("tool_call", "{}"), ("tool", "{}")]
    image = read_turns([{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}], "m")
    assert image.reason == "wrong_type" and "image_url" in image.detail


@pytest.mark.parametrize(
    "value,reason",
    [
        (None, "missing_messages"),
        ([], "missing_messages"),
        ("  ", "missing_messages"),
        ("just some text", "wrong_type"),
        ("[not json", "wrong_type"),
        (7, "wrong_type"),
        ([{"role": "user", "content": "x"}, "stray"], "wrong_type"),
        ([{"content": "x"}], "invalid_role"),
        ([{"role": "narrator", "content": "x"}], "invalid_role"),
        ([{"role": "user", "content": {"text": "x"}}], "wrong_type"),
    ],
)
def test_bad_message_lists(value, reason):
    out = read_turns(value, "m")
    assert isinstance(out, Rejection) and out.reason == reason, out


def test_role_map_and_skip():
    role_map = {"Narrator": "skip", "Barista": "assistant"}
    turns = read_turns(
        [
            {"speaker": "narrator", "text": "(scene)"},
            {"speaker": "guest", "text": "A latte"},
            {"speaker": "BARISTA", "text": "Sure"},
        ],
        "m",
        {**role_map, "guest": "user"},
    )
    assert roles_and_text(turns) == [("user", "A latte"), ("assistant", "Sure")]
    assert canonical_role("Barista", role_map) == "assistant"
    assert canonical_role(3) is None


def test_role_map_option_is_checked():
    assert role_map_option({"role_map": {"x": "user"}}) == {"x": "user"}
    with pytest.raises(MapperError, match="targets are"):
        role_map_option({"role_map": {"x": "robot"}})
    with pytest.raises(MapperError, match="must be an object"):
        role_map_option({"role_map": ["x"]})
    with pytest.raises(MapperError, match="merge"):
        consecutive_options({"consecutive_turns": "keep"})


def test_transcript_parsing_keeps_inner_text():
    text = "\n\nHuman: Line one\n  indented   text\n\nAssistant: Reply quoting Human: inline\n\nHuman: Thanks\n\nAssistant:"
    assert is_transcript(text) and not is_transcript("Human beings are great")
    assert roles_and_text(parse_transcript(text)) == [
        ("user", "Line one\n  indented   text"),
        ("assistant", "Reply quoting Human: inline"),
        ("user", "Thanks"),
        ("assistant", ""),
    ]
    assert not is_transcript("Intro\n\nHuman: Q")  # text must open with a marker to be a transcript
    assert roles_and_text(parse_transcript("Intro\n\nHuman: Q\n\nAssistant: A"))[0] == ("system", "Intro")
    assert roles_and_text(parse_transcript("Human: Q\n\nAssistant: A")) == [("user", "Q"), ("assistant", "A")]


def test_arrange_merges_or_rejects():
    turns = read_turns(
        [
            {"role": "user", "content": "Hi."},
            {"role": "user", "content": "A latte."},
            {"role": "assistant", "content": "Sure"},
        ],
        "m",
    )
    merged = arrange_turns(turns, "merge", "\n", "m")
    assert roles_and_text(merged) == [("user", "Hi.\nA latte."), ("assistant", "Sure")]
    rejected = arrange_turns(turns, "reject", "\n", "m")
    assert rejected.reason == "invalid_turn_order"
    late_system = read_turns([{"role": "user", "content": "x"}, {"role": "system", "content": "y"}], "m")
    assert arrange_turns(late_system, "merge", "\n", "m").reason == "invalid_turn_order"


# --- class 7: strings that look like JSON stay strings unless structure is needed -----------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from brewslm.mappers.base import read_list, read_object, structure_from_text  # noqa: E402
from brewslm.mappers.messages import is_plain_text, json_list, read_content  # noqa: E402


@pytest.mark.parametrize(
    "value,want,items,expected",
    [
        ('[{"role": "user"}]', list, None, [{"role": "user"}]),
        ('  {"a": 1}\n', dict, None, {"a": 1}),
        ('["Paris", "paris, france"]', list, str, ["Paris", "paris, france"]),
        ("[0, 1, 3, 4, 6, 9]", list, str, None),  # a text answer that happens to be a JSON list of numbers
        ("[Verse 1] Hello darkness", list, None, None),  # text that merely starts with a bracket
        ("[1, 2", list, None, None),  # truncated: never a partial parse
        ("[1] and then some", list, None, None),  # trailing text after a document
        ('{"a": 1}', list, None, None),  # the wrong kind of document
        ('"[1, 2]"', list, None, None),  # a JSON string, not a list
        ("", list, None, None),
        ([1, 2], list, None, [1, 2]),  # already structured
        ({"a": 1}, list, None, None),
    ],
)
def test_structure_from_text_takes_only_complete_documents(value, want, items, expected):
    assert structure_from_text(value, want, items=items) == expected


def test_read_list_and_object_reject_text_that_is_not_a_complete_document():
    assert read_list({"x": "[1, 2]"}, "x", "missing") == [1, 2]
    assert read_list({"x": "[Verse 1] la la"}, "x", "missing").reason == "wrong_type"
    assert read_object({"x": '{"a": 1}'}, "x", "missing") == {"a": 1}
    assert read_object({"x": '{"a": 1} trailing'}, "x", "missing").reason == "wrong_type"


def test_text_starting_with_a_bracket_is_plain_text_not_a_broken_message_list():
    lyric = "[Verse 1]\nI walked along the empty road"
    assert is_plain_text(lyric) and json_list(lyric) is None
    out = read_turns(lyric, "m")
    assert out.reason == "wrong_type" and "plain text" in out.detail
    turns = read_turns([{"role": "user", "content": "Write a song"}, {"role": "assistant", "content": lyric}], "m")
    assert turns[1].content == lyric
    assert not is_plain_text('[{"role": "user", "content": "x"}]')
    assert not is_plain_text("\n\nHuman: hi\n\nAssistant: hello")


@settings(max_examples=80, deadline=None)
@given(
    st.lists(st.text(), min_size=1, max_size=4)
    | st.lists(
        st.sampled_from(["[", "{", "[Verse 1]", "[0, 1, 3]", '{"a": 1}', " 12 ", "null", '["x"]']),
        min_size=1,
        max_size=4,
    )
)
def test_message_texts_are_kept_exactly(texts):
    messages = [{"role": "user" if i % 2 == 0 else "assistant", "content": t} for i, t in enumerate(texts)]
    turns = read_turns(messages, "m")
    assert [t.content for t in turns] == texts
    # the same list as a JSON string (a CSV cell) reads the same
    import json as _json

    assert [t.content for t in read_turns(_json.dumps(messages), "m")] == texts


# --- class 11: tool-call dialects in message lists --------------------------------------------------


@pytest.mark.parametrize("spelling", ["function call", "Function-Call", "function_call", "tool_call", "TOOL CALL"])
def test_call_role_spellings(spelling):
    assert canonical_role(spelling) == "tool_call"


@pytest.mark.parametrize("spelling", ["tool", "function", "observation", "Function Response", "tool-response"])
def test_result_role_spellings(spelling):
    assert canonical_role(spelling) == "tool"


def test_typed_parts_split_text_calls_and_reasoning():
    parts = [
        {"type": "reasoning", "value": "think first"},
        {"type": "text", "value": "Let me check."},
        {"type": "tool_call", "value": '{"name": "f", "arguments": {}}'},
        {"type": "text", "text": "[done]"},
    ]
    assert read_content(parts, "m") == ("Let me check.\n[done]", ['{"name": "f", "arguments": {}}'], ["think first"])
    assert read_content([{"type": "audio", "value": "x"}], "m").reason == "wrong_type"


def test_call_content_as_an_object_and_structured_tool_results():
    turns = read_turns(
        [
            {"role": "user", "content": "weather?"},
            {"role": "function call", "content": {"name": "get_weather", "arguments": {"city": "Oslo"}}},
            {"role": "observation", "content": {"temp": 3, "note": "ø"}},
        ],
        "m",
    )
    assert [t.role for t in turns] == ["user", "tool_call", "tool"]
    assert turns[1].calls == [{"name": "get_weather", "arguments": {"city": "Oslo"}}]
    assert turns[2].content == '{"temp": 3, "note": "ø"}'  # json.dumps, reversible
