import pytest
from pydantic import ValidationError

from brewslm.tasks.messages import Message, turn_order_error

CHAT_END = ("assistant",)


@pytest.mark.parametrize(
    "roles",
    [
        ["user", "assistant"],
        ["system", "user", "assistant"],
        ["user", "assistant", "user", "assistant"],
    ],
)
def test_valid_chat_orders(roles):
    assert turn_order_error(roles, ends_with=CHAT_END) is None


@pytest.mark.parametrize(
    "roles,fragment",
    [
        ([], "no messages"),
        (["assistant", "user", "assistant"], "before any user turn"),
        (["system", "assistant"], "before any user turn"),
        (["user", "user", "assistant"], "consecutive user"),
        (["user", "assistant", "assistant"], "consecutive assistant"),
        (["user", "system", "assistant"], "system message after"),
        (["user", "assistant", "user"], "ends with a user turn"),
        (["user", "assistant", "tool"], "does not allow"),
    ],
)
def test_invalid_chat_orders(roles, fragment):
    assert fragment in turn_order_error(roles, ends_with=CHAT_END)


def test_tool_histories():
    ok = ["system", "user", "assistant", "tool", "tool", "assistant", "user"]
    assert turn_order_error(ok, ends_with=("user", "tool"), allow_tool=True) is None
    assert turn_order_error(ok[:5], ends_with=("user", "tool"), allow_tool=True) is None
    assert "does not follow" in turn_order_error(["user", "tool"], ends_with=("tool",), allow_tool=True)
    # a user cutting in after a tool result (an agent log restarting a search) is a valid history
    assert turn_order_error(["user", "assistant", "tool", "user"], ends_with=("user",), allow_tool=True) is None
    assert "consecutive user turns" in turn_order_error(
        ["user", "assistant", "tool", "user", "user"], ends_with=("user",), allow_tool=True
    )


def test_message_model():
    assert Message(role="user", content="  hi\n there ").content == "  hi\n there "
    assert Message(role="tool", content="").content == ""
    for bad in (
        {"role": "user", "content": " "},
        {"role": "bot", "content": "x"},
        {"role": "user", "content": 3},
        {"role": "user", "content": "x", "name": "n"},
    ):
        with pytest.raises(ValidationError):
            Message(**bad)
