from brewslm.tasks import get_task_profile

PROFILE = get_task_profile("dpo")


def pair(prompt, chosen="Good answer.", rejected="Bad answer."):
    return {"prompt": [{"role": r, "content": c} for r, c in prompt], "chosen": chosen, "rejected": rejected}


def test_valid_pairs():
    assert PROFILE.validate(pair([("user", "Q?")])) is None
    assert PROFILE.validate(pair([("system", "S"), ("user", "Q?"), ("assistant", "A"), ("user", "More?")])) is None


def test_invalid_pairs():
    for record, fragment in [
        (pair([("user", "Q?"), ("assistant", "A")]), "must end with user"),
        (pair([]), "no messages"),
        (pair([("user", "Q?")], chosen="same", rejected="same"), "same reply"),
        (pair([("user", "Q?")], chosen=" "), "empty"),
        (pair([("user", "Q?")], rejected=["x"]), "rejected"),
    ]:
        problem = PROFILE.validate(record)
        assert problem is not None and problem.reason == "invalid_record"
        assert fragment in problem.detail, problem.detail


def test_summary_flags_length_bias():
    summary = PROFILE.new_summary({})
    summary.add(pair([("user", "Q?")], chosen="long reply", rejected="no"))
    summary.add(pair([("user", "Q"), ("assistant", "A"), ("user", "Q2")], chosen="a", rejected="bb"))
    stats = summary.result()["stats"]
    assert stats["chosen_longer_share"] == 0.5
    assert stats["multi_turn_prompt_share"] == 0.5
    assert stats["max_prompt_messages"] == 3 and stats["mean_prompt_messages"] == 2.0
    assert stats["mean_chosen_chars"] == 5.5 and stats["mean_rejected_chars"] == 2.0
