from brewslm.tasks import get_task_profile

PROFILE = get_task_profile("qa")


def test_records():
    assert PROFILE.validate({"question": "Who?", "answer": "Ada"}) is None
    assert PROFILE.validate({"question": "Who?", "answer": "Ada", "context": "Ada wrote it.", "id": 3}) is None
    for bad, field in [
        ({"question": "Who?"}, "answer"),
        ({"question": " ", "answer": "x"}, "question"),
        ({"question": "Who?", "answer": 42}, "answer"),
        ({"question": "Who?", "answer": "x", "context": ["a"]}, "context"),
    ]:
        problem = PROFILE.validate(bad)
        assert problem.reason == "invalid_record" and f"'{field}'" in problem.detail


def test_summary():
    summary = PROFILE.new_summary({})
    summary.add({"question": "Who wrote it?", "answer": "Ada", "context": "Ada wrote it."})
    summary.add({"question": "When?", "answer": "1843", "context": "Long ago."})
    summary.add({"question": "Why?", "answer": "Because"})
    stats = summary.result()["stats"]
    assert stats["records"] == 3
    assert stats["context_share"] == round(2 / 3, 4)
    assert stats["extractive_share"] == 0.5
