import pytest

from helpers.mapping import needs_shared, run_mapper, shared_rows, sniff

M = "preference_pair"


def msgs(*pairs):
    return [{"role": r, "content": c} for r, c in pairs]


def one(row, field_map=None, options=None):
    out = run_mapper(M, [row], field_map, options)
    assert not out.rejections, out.rejections
    assert len(out.records) == 1
    return out.records[0]


def test_prompt_and_reply_strings_are_kept_exactly():
    record = one({"prompt": "Name a colour.\n", "chosen": " Blue\n\nor teal ", "rejected": "Seven"})
    assert record == {"prompt": msgs(("user", "Name a colour.\n")), "chosen": " Blue\n\nor teal ", "rejected": "Seven"}


def test_trl_style_prompt_transcript():
    record = one(
        {
            "prompt": "\n\nHuman: Hi\n\nAssistant: Hello\n\nHuman: Joke?\n\nAssistant:",
            "chosen": " Why did the chicken...",
            "rejected": " No.",
        }
    )
    assert record["prompt"] == msgs(("user", "Hi"), ("assistant", "Hello"), ("user", "Joke?"))
    assert record["chosen"] == " Why did the chicken..." and record["rejected"] == " No."


def test_hh_transcripts_without_prompt():
    shared = "\n\nHuman: How do I bake bread?\n\nAssistant: Flour, water, yeast.\n\nHuman: And then?"
    record = one(
        {
            "chosen": shared + "\n\nAssistant: Knead it, then\nlet it rise.",
            "rejected": shared + "\n\nAssistant: Buy some.",
        }
    )
    assert record["prompt"] == msgs(
        ("user", "How do I bake bread?"), ("assistant", "Flour, water, yeast."), ("user", "And then?")
    )
    assert record["chosen"] == "Knead it, then\nlet it rise." and record["rejected"] == "Buy some."


def test_consecutive_assistant_turns_in_a_transcript_are_merged():
    shared = "\n\nHuman: Q1\n\nAssistant: A1\n\nAssistant: A1 continued\n\nHuman: Q2"
    record = one({"chosen": shared + "\n\nAssistant: good", "rejected": shared + "\n\nAssistant: bad"})
    assert record["prompt"][1] == {"role": "assistant", "content": "A1\nA1 continued"}


def test_chat_list_forms():
    conversation = msgs(("system", "Be nice."), ("user", "Q"))
    full = one(
        {"chosen": conversation + msgs(("assistant", "good")), "rejected": conversation + msgs(("assistant", "bad"))}
    )
    assert full == {"prompt": conversation, "chosen": "good", "rejected": "bad"}
    with_prompt = one(
        {
            "prompt": "Q",
            "chosen": msgs(("user", "Q"), ("assistant", "good")),
            "rejected": msgs(("user", "Q"), ("assistant", "bad")),
        }
    )
    assert with_prompt["prompt"] == msgs(("user", "Q")) and with_prompt["chosen"] == "good"
    replies_only = one(
        {
            "prompt": msgs(("user", "Q")),
            "chosen": msgs(("assistant", "good")),
            "rejected": [{"from": "gpt", "value": "bad"}],
        }
    )
    assert (replies_only["chosen"], replies_only["rejected"]) == ("good", "bad")
    message_objects = one(
        {
            "question": "Q",
            "chosen": {"role": "assistant", "content": "good"},
            "rejected": {"role": "assistant", "content": "bad"},
        }
    )
    assert message_objects["prompt"] == msgs(("user", "Q"))


def test_id_and_system_fields():
    record = one({"id": 9, "system": "S", "prompt": "Q", "chosen": "a", "rejected": "b"})
    assert record["id"] == 9 and record["prompt"] == msgs(("system", "S"), ("user", "Q"))
    out = run_mapper(M, [{"system": {"x": 1}, "prompt": "Q", "chosen": "a", "rejected": "b"}])
    assert out.reasons == {"wrong_type": 1}


@pytest.mark.parametrize(
    "row,reason",
    [
        ({"chosen": "good", "rejected": "bad"}, "missing_prompt"),
        ({"prompt": "  ", "chosen": "good", "rejected": "bad"}, "missing_prompt"),
        ({"prompt": "Q", "rejected": "bad"}, "missing_chosen"),
        ({"prompt": "Q", "chosen": " ", "rejected": "bad"}, "missing_chosen"),
        ({"prompt": "Q", "chosen": "good", "rejected": None}, "missing_rejected"),
        ({"prompt": "Q", "chosen": "same", "rejected": "same"}, "identical_pair"),
        ({"chosen": "\n\nHuman: Q\n\nAssistant: A", "rejected": "\n\nHuman: Q\n\nAssistant: A"}, "identical_pair"),
        ({"chosen": "\n\nHuman: Q\n\nAssistant:", "rejected": "\n\nHuman: Q\n\nAssistant: A"}, "missing_chosen"),
        ({"chosen": "\n\nHuman: Q\n\nAssistant: A", "rejected": "\n\nHuman: Q"}, "missing_rejected"),
        ({"chosen": "\n\nHuman: Q1\n\nAssistant: A", "rejected": "\n\nHuman: Q2\n\nAssistant: A"}, "missing_prompt"),
        (
            {
                "chosen": "\n\nHuman: Q\n\nAssistant: A\n\nHuman: more\n\nAssistant: B",
                "rejected": "\n\nHuman: Q\n\nAssistant: C",
            },
            "invalid_turn_order",
        ),
        ({"prompt": "Q", "chosen": 3, "rejected": "bad"}, "wrong_type"),
        ({"prompt": 3, "chosen": "a", "rejected": "b"}, "wrong_type"),
        (
            {"prompt": "Q", "chosen": msgs(("user", "Q"), ("tool", "{}"), ("assistant", "a")), "rejected": "b"},
            "invalid_role",
        ),
        ({"prompt": "Q", "chosen": [{"role": "critic", "content": "a"}], "rejected": "b"}, "invalid_role"),
    ],
)
def test_rejections(row, reason):
    out = run_mapper(M, [row], {"prompt": "prompt", "chosen": "chosen", "rejected": "rejected"})
    assert out.reasons == {reason: 1}, out.rejections


def test_consecutive_reject_option():
    row = {
        "chosen": "\n\nHuman: Q\n\nHuman: again\n\nAssistant: a",
        "rejected": "\n\nHuman: Q\n\nHuman: again\n\nAssistant: b",
    }
    assert one(row)["prompt"] == msgs(("user", "Q\nagain"))
    out = run_mapper(M, [row], None, {"consecutive_turns": "reject"})
    assert out.reasons == {"invalid_turn_order": 1}


def test_leading_assistant_turn_is_dropped_and_noted():
    conversation = msgs(("assistant", "Welcome!"), ("user", "Q"))
    record = one(
        {"chosen": conversation + msgs(("assistant", "a")), "rejected": conversation + msgs(("assistant", "b"))}
    )
    assert record["prompt"] == msgs(("user", "Q")) and record["meta"] == {"dropped_turns": {"leading_assistant": 1}}


def test_sniff():
    hh = [
        {"chosen": f"\n\nHuman: Q{i}\n\nAssistant: good {i}", "rejected": f"\n\nHuman: Q{i}\n\nAssistant: bad {i}"}
        for i in range(30)
    ]
    proposal = sniff(M, hh)
    assert proposal.confidence >= 0.9 and proposal.field_map == {"chosen": "chosen", "rejected": "rejected"}
    assert any("shared prefix" in e for e in proposal.evidence)
    plain = [{"prompt": f"Q{i}", "chosen": "good", "rejected": "bad"} for i in range(30)]
    assert sniff(M, plain).field_map == {"chosen": "chosen", "rejected": "rejected", "prompt": "prompt"}
    no_prompt = [{"chosen": "good", "rejected": "bad"} for _ in range(30)]
    assert sniff(M, no_prompt).confidence < 0.8
    assert sniff(M, [{"question": "q", "answer": "a"}] * 5) is None


@needs_shared
@pytest.mark.parametrize("split,count", [("train", 500), ("dev", 151)])
def test_shared_hh_rlhf(split, count):
    data = shared_rows(f"jsonl:preference_hh_rlhf/{split}.jsonl")
    proposal = sniff(M, data)
    assert proposal.confidence >= 0.9
    assert proposal.field_map == {"chosen": "chosen", "rejected": "rejected"}
    out = run_mapper(M, data, proposal.field_map)
    assert not out.rejections and len(out.records) == count
    for row, record in zip(data, out.records):
        assert record["prompt"][-1]["role"] == "user"
        # the reply is the chosen transcript's text after its last Assistant marker, whitespace aside
        assert row["chosen"].rsplit("\n\nAssistant:", 1)[1].strip() == record["chosen"]
        assert row["rejected"].rsplit("\n\nAssistant:", 1)[1].strip() == record["rejected"]


def test_csv_export(tmp_path):
    from brewslm.sources import open_source
    from helpers.mapping import write_csv

    rows = [{"prompt": f"Q{i}\nsecond line", "chosen": f"good {i}", "rejected": f"bad {i}"} for i in range(20)]
    data = list(open_source(write_csv(tmp_path / "pairs.csv", rows)).rows())
    proposal = sniff(M, data)
    assert proposal.confidence >= 0.9
    out = run_mapper(M, data, proposal.field_map)
    assert out.records[2] == {"prompt": msgs(("user", "Q2\nsecond line")), "chosen": "good 2", "rejected": "bad 2"}


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from helpers.mapping import json_rows, message_lists  # noqa: E402

TEXTS = (
    "Q",
    "good",
    "bad",
    " ",
    "\n\nHuman: a\n\nAssistant: b",
    "\n\nHuman: a\n\nAssistant: c",
    "\n\nHuman: a\n\nAssistant:",
    "\n\nHuman: a\n\nAssistant: b\n\nHuman: c\n\nAssistant: d",
)
SIDE = st.sampled_from(TEXTS) | message_lists("role", "content", ("user", "assistant", "system", "tool"), TEXTS[:4])


@settings(max_examples=300, deadline=None)
@given(
    json_rows(("prompt", "chosen", "rejected", "role", "content", "system", "id"), TEXTS + ("user", "assistant", "[]"))
    | st.fixed_dictionaries({"chosen": SIDE, "rejected": SIDE}, optional={"prompt": SIDE, "system": SIDE})
)
def test_any_row_gives_valid_records_or_a_rejection(row):
    run_mapper(
        M, [row], {"prompt": "prompt", "chosen": "chosen", "rejected": "rejected", "system": "system", "id": "id"}
    )
