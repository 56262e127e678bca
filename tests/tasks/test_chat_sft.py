from brewslm.tasks import get_task_profile

PROFILE = get_task_profile("chat_sft")


def conv(*pairs):
    return {"messages": [{"role": r, "content": c} for r, c in pairs]}


def test_valid_record_with_extras():
    record = conv(("system", "Be brief."), ("user", "Hi"), ("assistant", "Hello!"))
    record.update(id="c1", meta={"dropped_turns": {"trailing_user": 1}})
    assert PROFILE.validate(record) is None


def test_invalid_records_name_the_field():
    for record, fragment in [
        (conv(("user", "Hi")), "must end with assistant"),
        (conv(("assistant", "Hi")), "before any user turn"),
        (conv(("user", "Hi"), ("tool", "{}"), ("assistant", "x")), "does not allow"),
        ({"messages": []}, "no messages"),
        ({"messages": "Hi"}, "messages"),
        (conv(("user", "Hi"), ("assistant", "")), "empty content"),
    ]:
        problem = PROFILE.validate(record)
        assert problem is not None and problem.reason == "invalid_record", record
        assert fragment in problem.detail and "messages" in problem.detail, problem.detail


def test_summary_stats():
    summary = PROFILE.new_summary({})
    summary.add(conv(("system", "s"), ("user", "a"), ("assistant", "12345")))
    summary.add(conv(("user", "a"), ("assistant", "1"), ("user", "b"), ("assistant", "123")))
    stats = summary.result()["stats"]
    assert stats["records"] == 2
    assert stats["messages"] == 7 and stats["max_messages"] == 4 and stats["mean_messages"] == 3.5
    assert stats["assistant_turns"] == 3 and stats["mean_assistant_chars"] == 3.0
    assert stats["system_prompt_share"] == 0.5 and stats["multi_turn_share"] == 0.5
    assert stats["user_turns_histogram"] == {"1": 1, "2": 1}
