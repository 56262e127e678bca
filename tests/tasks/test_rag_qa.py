from brewslm.tasks import get_task_profile

PROFILE = get_task_profile("rag_qa")


def rec(**kw):
    base = {"question": "Who?", "passages": ["Ada wrote it."], "answer": "Ada", "is_refusal": False}
    base.update(kw)
    return base


def test_valid():
    assert PROFILE.validate(rec()) is None
    assert PROFILE.validate(rec(answer="", is_refusal=True)) is None
    assert PROFILE.validate(rec(alternatives=["Ada Lovelace"])) is None


def test_invalid():
    for bad, fragment in [
        (rec(answer=""), "is_refusal"),
        (rec(is_refusal=True), "is_refusal"),
        (rec(answer="", is_refusal=True, alternatives=["x"]), "no alternative"),
        (rec(passages=[]), "no passages"),
        (rec(passages=["a", "  "]), "empty passage"),
        (rec(passages="Ada wrote it."), "passages"),
        (rec(is_refusal="no"), "is_refusal"),
    ]:
        problem = PROFILE.validate(bad)
        assert problem is not None and problem.reason == "invalid_record", bad
        assert fragment in problem.detail, problem.detail


def test_summary_refusal_share():
    summary = PROFILE.new_summary({})
    summary.add(rec())
    summary.add(rec(answer="Bob", passages=["p1", "p2", "p3"], alternatives=["Robert"]))
    summary.add(rec(answer="", is_refusal=True))
    summary.add(rec(answer="", is_refusal=True))
    stats = summary.result()["stats"]
    assert stats["refusals"] == 2 and stats["refusal_share"] == 0.5
    assert stats["max_passages"] == 3 and stats["mean_passages"] == 1.5
    assert stats["extractive_share"] == 0.5
    assert stats["alternatives_share"] == 0.25
