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


def test_alternatives_all_golds_kept():
    assert PROFILE.validate({"question": "Capital?", "answer": "Paris", "alternatives": ["paris, france"]}) is None
    # records written before the field existed (other golds in meta) stay valid
    assert PROFILE.validate({"question": "Capital?", "answer": "Paris", "meta": {"alternatives": ["x"]}}) is None
    for bad in (
        {"question": "Q", "answer": "a", "alternatives": "b"},
        {"question": "Q", "answer": "a", "alternatives": [" "]},
        {"question": "Q", "answer": "a", "alternatives": [3]},
    ):
        problem = PROFILE.validate(bad)
        assert problem.reason == "invalid_record" and "'alternatives" in problem.detail
    summary = PROFILE.new_summary({})
    summary.add({"question": "Capital?", "answer": "Paris", "alternatives": ["paris, france"]})
    summary.add({"question": "Who?", "answer": "Ada"})
    assert summary.result()["stats"]["alternatives_share"] == 0.5


def test_the_reader_reads_the_answer_stripped():
    reader = PROFILE.reply_reader()
    assert reader.parse("  Paris \n", {"question": "q", "answer": "Paris"}) == "Paris" and reader.parse("", {}) == ""
    assert reader.max_new_tokens == 128 and reader.json_schema({}) is None and not reader.constrainable
