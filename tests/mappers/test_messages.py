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
        [{"speaker": "narrator", "text": "(scene)"}, {"speaker": "guest", "text": "A latte"}, {"speaker": "BARISTA", "text": "Sure"}],
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
        [{"role": "user", "content": "Hi."}, {"role": "user", "content": "A latte."}, {"role": "assistant", "content": "Sure"}],
        "m",
    )
    merged = arrange_turns(turns, "merge", "\n", "m")
    assert roles_and_text(merged) == [("user", "Hi.\nA latte."), ("assistant", "Sure")]
    rejected = arrange_turns(turns, "reject", "\n", "m")
    assert rejected.reason == "invalid_turn_order"
    late_system = read_turns([{"role": "user", "content": "x"}, {"role": "system", "content": "y"}], "m")
    assert arrange_turns(late_system, "merge", "\n", "m").reason == "invalid_turn_order"
