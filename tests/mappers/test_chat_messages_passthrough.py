import pytest

from brewslm.errors import MapperError
from helpers.mapping import needs_shared, run_mapper, shared_rows, sniff

M = "chat_messages_passthrough"


def msgs(*pairs):
    return [{"role": r, "content": c} for r, c in pairs]


def node(role, text, *replies, **extra):
    return {"message_id": f"{role}:{text}", "role": role, "text": text, "replies": list(replies), **extra}


# --- message lists ---------------------------------------------------------------------------


def test_spellings_and_exact_text():
    rows = [
        {"messages": msgs(("system", "Be kind."), ("user", "Hi\n  there  "), ("assistant", "Hello!\n\n- a\n- b"))},
        {"messages": [{"from": "human", "value": "Q"}, {"from": "gpt", "value": "A"}]},
        {"messages": [{"speaker": "customer", "text": "Q"}, {"speaker": "agent", "text": "A"}]},
    ]
    out = run_mapper(M, rows, {"messages": "messages"})
    assert not out.rejections
    assert out.records[0]["messages"][1]["content"] == "Hi\n  there  "
    assert out.records[0]["messages"][2]["content"] == "Hello!\n\n- a\n- b"
    assert out.records[1]["messages"] == msgs(("user", "Q"), ("assistant", "A"))
    assert out.records[2]["messages"] == msgs(("user", "Q"), ("assistant", "A"))


def test_consecutive_turns_merge_by_default_or_reject():
    row = {
        "utterances": [
            {"speaker": "user", "text": "Hi."},
            {"speaker": "user", "text": "A latte please."},
            {"speaker": "assistant", "text": "Sure."},
            {"speaker": "assistant", "text": "Anything else?"},
        ]
    }
    merged = run_mapper(M, [row], {"utterances": "messages"})
    assert merged.records[0]["messages"] == msgs(
        ("user", "Hi.\nA latte please."), ("assistant", "Sure.\nAnything else?")
    )
    spaced = run_mapper(M, [row], {"utterances": "messages"}, {"merge_separator": " "})
    assert spaced.records[0]["messages"][0]["content"] == "Hi. A latte please."
    rejected = run_mapper(M, [row], {"utterances": "messages"}, {"consecutive_turns": "reject"})
    assert rejected.reasons == {"invalid_turn_order": 1}


def test_trailing_user_and_leading_assistant_are_dropped_and_noted():
    row = {"messages": msgs(("assistant", "Welcome!"), ("user", "Q1"), ("assistant", "A1"), ("user", "Q2 unanswered"))}
    out = run_mapper(M, [row])
    record = out.records[0]
    assert record["messages"] == msgs(("user", "Q1"), ("assistant", "A1"))
    assert record["meta"] == {"dropped_turns": {"leading_assistant": 1, "trailing_user": 1}}


def test_system_field_and_id():
    rows = [
        {"id": "c7", "system": "You sell coffee.", "messages": msgs(("user", "Hi"), ("assistant", "Hello"))},
        {"id": "c8", "system": "", "messages": msgs(("user", "Hi"), ("assistant", "Hello"))},
    ]
    out = run_mapper(M, rows)
    assert out.records[0]["messages"][0] == {"role": "system", "content": "You sell coffee."}
    assert out.records[0]["id"] == "c7" and out.records[1]["messages"][0]["role"] == "user"
    assert run_mapper(M, [{**rows[0], "system": ["x"]}]).reasons == {"wrong_type": 1}


def test_blank_messages_are_left_out():
    out = run_mapper(M, [{"messages": msgs(("user", "Q"), ("assistant", "  "), ("assistant", "A"))}])
    assert out.records[0]["messages"] == msgs(("user", "Q"), ("assistant", "A"))


def test_transcript_string():
    out = run_mapper(M, [{"dialog": "\n\nHuman: Hi\n\nAssistant: Hello"}], {"dialog": "messages"})
    assert out.records[0]["messages"] == msgs(("user", "Hi"), ("assistant", "Hello"))


@pytest.mark.parametrize(
    "row,reason",
    [
        ({"messages": []}, "missing_messages"),
        ({"messages": None}, "missing_messages"),
        ({"other": 1}, "missing_messages"),
        ({"messages": "hello there"}, "wrong_type"),
        ({"messages": {"role": "user"}}, "wrong_type"),
        ({"messages": [{"role": "user", "content": 5}]}, "wrong_type"),
        ({"messages": msgs(("user", "Q"), ("wizard", "A"))}, "invalid_role"),
        ({"messages": msgs(("user", "Q"), ("tool", "{}"), ("assistant", "A"))}, "invalid_role"),
        ({"messages": [{"from": "human", "value": "Q"}, {"from": "function_call", "value": "{}"}]}, "invalid_role"),
        ({"messages": msgs(("user", "Q"), ("system", "late"), ("assistant", "A"))}, "invalid_turn_order"),
        ({"messages": msgs(("assistant", "A"))}, "invalid_turn_order"),
        ({"messages": msgs(("user", "Q"))}, "missing_assistant_reply"),
        ({"messages": msgs(("system", "S"), ("user", "Q"), ("user", "Q2"))}, "missing_assistant_reply"),
        ({"id": ["x"], "messages": msgs(("user", "Q"), ("assistant", "A"))}, "wrong_type"),
    ],
)
def test_rejections(row, reason):
    out = run_mapper(M, [row], {"messages": "messages", "id": "id"})
    assert out.reasons == {reason: 1}, out.rejections


def test_parse_failures_are_rejected():
    from brewslm.sources.base import ParseFailure

    out = run_mapper(M, [ParseFailure(3, "{bad", "Expecting value")], {"messages": "messages"})
    assert out.reasons == {"parse_error": 1}


def test_bad_options_raise():
    for options in ({"tree_mode": "random"}, {"consecutive_turns": "keep"}, {"role_map": {"x": "robot"}}):
        with pytest.raises(MapperError):
            run_mapper(M, [{"messages": msgs(("user", "Q"), ("assistant", "A"))}], None, options)


# --- message trees ---------------------------------------------------------------------------

TREE = node(
    "prompter",
    "Root question",
    node("assistant", "Answer ranked 1", node("prompter", "Follow-up", node("assistant", "Deep answer")), rank=1),
    node("assistant", "Answer ranked 0", node("prompter", "Unanswered A"), node("prompter", "Unanswered B"), rank=0),
    node("assistant", "Deleted answer", node("prompter", "Under deleted"), rank=2, deleted=True),
    node("assistant", "Failed review", rank=3, review_result=False),
)


def test_tree_all_paths():
    out = run_mapper(M, [{"message_tree_id": "t1", "prompt": TREE}], {"prompt": "messages", "message_tree_id": "id"})
    conversations = [[m["content"] for m in r["messages"]] for r in out.records]
    # 3 usable leaves; the two unanswered prompts trim to the same conversation, emitted once
    assert conversations == [
        ["Root question", "Answer ranked 1", "Follow-up", "Deep answer"],
        ["Root question", "Answer ranked 0"],
    ]
    assert all(r["id"] == "t1" for r in out.records)
    assert out.records[1]["meta"]["dropped_turns"] == {"trailing_user": 1}
    assert out.records[0]["meta"]["message_ids"][0] == "prompter:Root question"
    assert [m["role"] for m in out.records[0]["messages"]] == ["user", "assistant", "user", "assistant"]


def test_tree_best_path_follows_rank():
    out = run_mapper(M, [{"prompt": TREE}], {"prompt": "messages"}, {"tree_mode": "best_path"})
    assert [[m["content"] for m in r["messages"]] for r in out.records] == [["Root question", "Answer ranked 0"]]


def test_tree_rejections():
    deleted_root = node("prompter", "Q", node("assistant", "A"), deleted=True)
    lonely = node("prompter", "Nobody answered")
    odd_role = node("prompter", "Q", node("moderator", "A"))
    out = run_mapper(M, [{"prompt": deleted_root}, {"prompt": lonely}, {"prompt": odd_role}], {"prompt": "messages"})
    assert [r.reason for _, r in out.rejections] == ["missing_messages", "missing_assistant_reply", "invalid_role"]


# --- sniffing --------------------------------------------------------------------------------


def chat_rows(n=40):
    return [{"id": i, "messages": msgs(("user", f"Question {i}?"), ("assistant", f"Answer {i}."))} for i in range(n)]


def test_sniff_message_lists():
    proposal = sniff(M, chat_rows())
    assert proposal.confidence >= 0.9
    assert proposal.field_map == {"messages": "messages", "id": "id"}


def test_sniff_trees():
    proposal = sniff(M, [{"message_tree_id": f"t{i}", "prompt": TREE} for i in range(5)])
    assert proposal.confidence >= 0.9 and proposal.field_map["prompt"] == "messages"
    assert any("root-to-leaf paths" in e for e in proposal.evidence)
    assert any("10 deleted or review-failed messages are skipped" in e for e in proposal.evidence)


def test_sniff_stays_low_on_tool_calling_and_preference_data():
    tool_rows = [
        {
            "conversations": [
                {"from": "human", "value": "Weather?"},
                {"from": "function_call", "value": "{}"},
                {"from": "observation", "value": "{}"},
                {"from": "gpt", "value": "Sunny."},
            ],
            "tools": "[]",
        }
        for _ in range(20)
    ]
    assert sniff(M, tool_rows).confidence <= 0.6
    plain_with_tools = [{"messages": msgs(("user", "Hi"), ("assistant", "Hello")), "tools": []} for _ in range(20)]
    assert sniff(M, plain_with_tools).confidence <= 0.6
    pairs = [
        {"chosen": msgs(("user", "Q"), ("assistant", "good")), "rejected": msgs(("user", "Q"), ("assistant", "bad"))}
        for _ in range(20)
    ]
    assert sniff(M, pairs).confidence <= 0.6
    assert sniff(M, [{"text": "hello", "label": 1}] * 10) is None


# --- shared data -----------------------------------------------------------------------------


@needs_shared
@pytest.mark.parametrize("split,rows,trimmed", [("train", 400, 8), ("dev", 100, 3)])
def test_shared_taskmaster(split, rows, trimmed):
    data = shared_rows(f"jsonl:chat_sft_taskmaster4/{split}.jsonl")
    proposal = sniff(M, data)
    assert proposal.confidence >= 0.8
    assert proposal.field_map == {"utterances": "messages", "conversation_id": "id"}
    out = run_mapper(M, data, proposal.field_map)
    assert not out.rejections and len(out.records) == rows
    assert sum("meta" in r for r in out.records) == trimmed  # dialogs ending on an unanswered user turn
    assert all(r["messages"][0]["role"] == "user" for r in out.records)


@needs_shared
@pytest.mark.parametrize("split,paths,conversations", [("train", 345, 311), ("dev", 101, 93)])
def test_shared_oasst_trees(split, paths, conversations):
    data = shared_rows(f"jsonl:chat_sft_oasst/{split}.jsonl")
    proposal = sniff(M, data)
    assert proposal.confidence >= 0.8
    assert proposal.field_map == {"prompt": "messages", "message_tree_id": "id"}
    # SOURCE.md counts the root-to-leaf paths; paths that end in sibling unanswered prompts
    # collapse to one conversation once the unanswered prompt is trimmed
    assert any(
        f"{paths} root-to-leaf paths give {conversations} distinct conversations" in e for e in proposal.evidence
    )
    out = run_mapper(M, data, proposal.field_map)
    assert not out.rejections and len(out.records) == conversations
    best = run_mapper(M, data, proposal.field_map, {"tree_mode": "best_path"})
    assert len(best.records) == len(data)


def test_csv_cells_holding_json_message_lists(tmp_path):
    from brewslm.sources import open_source
    from helpers.mapping import write_csv

    rows = [
        {"conversation_id": f"c{i}", "messages": msgs(("user", f"Line one\nline two {i}"), ("assistant", "Sure."))}
        for i in range(20)
    ]
    data = list(open_source(write_csv(tmp_path / "chats.csv", rows)).rows())
    proposal = sniff(M, data)
    assert proposal.confidence >= 0.8 and proposal.field_map == {"messages": "messages", "conversation_id": "id"}
    out = run_mapper(M, data, proposal.field_map)
    assert out.records[3] == {"messages": msgs(("user", "Line one\nline two 3"), ("assistant", "Sure.")), "id": "c3"}


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from helpers.mapping import json_rows, message_lists  # noqa: E402

ROLES = ("user", "assistant", "system", "gpt", "human", "prompter", "tool", "function_call", "narrator")
TEXTS = ("Hi", "Hello", " ", "", "\n\nHuman: a\n\nAssistant: b")
ANY_ROW = json_rows(
    ("messages", "role", "content", "from", "value", "text", "replies", "rank", "deleted", "system", "id"),
    ROLES + TEXTS + ("[]",),
)
LIST_ROW = st.fixed_dictionaries(
    {"messages": message_lists("role", "content", ROLES, TEXTS)}, optional={"system": st.sampled_from(TEXTS)}
)


@st.composite
def trees(draw, depth=0):
    replies = [] if depth >= 3 else draw(st.lists(trees(depth + 1), max_size=3))
    return {
        "role": draw(st.sampled_from(("prompter", "assistant", "user", "narrator"))),
        "text": draw(st.sampled_from(TEXTS) | st.none()),
        "replies": replies,
        "rank": draw(st.none() | st.integers(0, 3)),
        "deleted": draw(st.booleans() | st.none()),
    }


@settings(max_examples=300, deadline=None)
@given(ANY_ROW | LIST_ROW | st.fixed_dictionaries({"messages": trees()}))
def test_any_row_gives_valid_records_or_a_rejection(row):
    for options in ({}, {"tree_mode": "best_path", "consecutive_turns": "reject"}):
        run_mapper(M, [row], {"messages": "messages", "system": "system", "id": "id"}, options)


# --- classes 7 and 11: JSON-looking text, typed parts, tool-call shapes ------------------------------

import json  # noqa: E402

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


def test_replies_that_look_like_json_stay_text():
    lyric = "[Verse 1]\nHello darkness"
    rows = [
        {"messages": msgs(("user", "Sing"), ("assistant", lyric))},
        {"messages": msgs(("user", "Squares?"), ("assistant", "[0, 1, 4, 9]"))},
        {"messages": json.dumps(msgs(("user", "{json?}"), ("assistant", '{"a": 1}')))},  # a CSV cell
    ]
    out = run_mapper(M, rows, {"messages": "messages"})
    assert not out.rejections, out.rejections
    assert [r["messages"][1]["content"] for r in out.records] == [lyric, "[0, 1, 4, 9]", '{"a": 1}']
    assert out.records[2]["messages"][0]["content"] == "{json?}"
    # a field holding only text that starts with '[' is plain text, not a broken JSON list
    bad = run_mapper(M, [{"messages": lyric}], {"messages": "messages"})
    assert bad.reasons == {"wrong_type": 1} and "plain text" in bad.rejections[0][1].detail


def test_typed_parts_reasoning_is_counted_and_tool_parts_point_to_tool_calls():
    row = {
        "messages": [
            {"role": "user", "content": [{"type": "text", "value": "Hi"}]},
            {
                "role": "assistant",
                "content": [{"type": "reasoning", "value": "greet"}, {"type": "text", "value": "Hello"}],
            },
        ]
    }
    out = run_mapper(M, [row], {"messages": "messages"})
    assert out.records[0]["messages"] == msgs(("user", "Hi"), ("assistant", "Hello"))
    assert out.records[0]["meta"]["dropped_turns"] == {"reasoning_parts": 1}
    call = {
        "messages": [
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": [{"type": "tool_call", "value": '{"name": "w", "arguments": {}}'}]},
        ]
    }
    assert run_mapper(M, [call], {"messages": "messages"}).reasons == {"invalid_role": 1}


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.text().filter(str.strip), st.sampled_from(["", "[", "{", "[Verse 1] ", "[1, 2]"])),
        min_size=2,
        max_size=6,
    )
)
def test_fidelity_every_text_is_kept_exactly(pairs):
    texts = [tricky + text for text, tricky in pairs]
    if len(texts) % 2:
        texts = texts[:-1]
    row = {"conversations": [{"from": "human" if i % 2 == 0 else "gpt", "value": t} for i, t in enumerate(texts)]}
    out = run_mapper(M, [row], {"conversations": "messages"}, {"consecutive_turns": "reject"})
    assert not out.rejections, out.rejections
    assert [m["content"] for m in out.records[0]["messages"]] == texts


# --- chat dialects: user turns and replies as parallel lists (MT-bench + a joined answer file) -------


def parallel_rows(n=12, answered=5):
    rows = []
    for i in range(n):
        row = {
            "question_id": i,
            "turns": [f"Question {i}?", f"And a follow-up {i}?"],
            "reference": ["", f"hint {i}"],
        }  # a decoy: as many items, but short and sometimes blank
        if i < answered:
            row["choices"] = [
                {"index": 0, "turns": [f"A long first answer number {i}.", f"[{i}] a long second answer."]}
            ]
        rows.append(row)
    return rows


def test_parallel_turn_lists_are_interleaved_and_unanswered_rows_rejected():
    out = run_mapper(M, parallel_rows(), {"turns": "messages", "choices.0.turns": "replies"})
    assert len(out.records) == 5 and out.reasons == {"missing_assistant_reply": 7}
    assert all(r.defect for _, r in out.rejections)  # the data lacks replies: not a wrong mapping
    assert out.records[1]["messages"] == msgs(
        ("user", "Question 1?"),
        ("assistant", "A long first answer number 1."),
        ("user", "And a follow-up 1?"),
        ("assistant", "[1] a long second answer."),
    )
    uneven = {"turns": ["a", "b"], "choices": [{"turns": ["only one"]}]}
    assert run_mapper(M, [uneven], {"turns": "messages", "choices.0.turns": "replies"}).reasons == {
        "invalid_turn_order": 1
    }


def test_sniff_pairs_the_parallel_replies_not_the_decoy_and_the_gate_keeps_it():
    from brewslm.introspection.gate import gate
    from brewslm.mappers.profile import profile_rows

    rows = parallel_rows()
    proposal = sniff(M, rows)
    assert proposal.field_map == {"turns": "messages", "choices.0.turns": "replies"}, proposal
    gated = gate(proposal, profile_rows(rows))
    # 7 of 12 rows are unanswered: defects of the data, left out of the gate's rate
    assert gated.confidence >= 0.9, gated.evidence
    # when replies are rare (4 of 40 rows), the defects no longer excuse the rate: not accepted
    rare = parallel_rows(n=40, answered=4)
    assert gate(sniff(M, rare), profile_rows(rare)).confidence < 0.8


def test_bare_utterance_lists_under_any_name_are_found_by_their_values():
    rows = [
        {
            "col_1": [f"utterance number {i} here", f"a reply {i} to it", "and then more words"][: 2 + i % 2],
            "split": "train",
        }
        for i in range(20)
    ]
    proposal = sniff(M, rows)
    assert proposal.field_map == {"col_1": "messages"} and proposal.confidence >= 0.8, proposal
    out = run_mapper(M, rows, {"col_1": "messages"})
    assert out.records[1]["messages"] == msgs(("user", "utterance number 1 here"), ("assistant", "a reply 1 to it"))
    # not a dialogue: a list beside a label, tokens, or pairs that always have two items
    assert sniff(M, [{**r, "label": i % 3} for i, r in enumerate(rows)]) is None
    assert sniff(M, [{"words": ["EU", "rejects", "German", "call"][: 2 + i % 3]} for i in range(20)]) is None
    assert sniff(M, [{"pair": [f"a title {i} here", f"a body {i} here"]} for i in range(20)]) is None


# --- the assistant side by its place in the dialogue, whatever it is called (issue 15) ---------


def task_dialogues(assistant="SYSTEM", user="USER", n=8):
    """Task-oriented dialogues: turns {speaker, utterance, frames}; the assistant side alternates
    with the user from the second turn to the last."""
    rows = []
    for i in range(n):
        turns = []
        for t in range(2 + 2 * (i % 3)):
            speaker = user if t % 2 == 0 else assistant
            turns.append(
                {
                    "speaker": speaker,
                    "utterance": f"{speaker.lower()} turn {t} of dialogue {i}.",
                    "frames": [{"service": "Restaurants_1", "slots": [], "actions": [{"act": "INFORM"}]}],
                }
            )
        rows.append({"dialogue_id": f"1_{i:05d}", "services": ["Restaurants_1"], "turns": turns})
    return rows


@pytest.mark.parametrize("assistant", ["SYSTEM", "system", "Wizard", "sys"])
def test_a_speaker_answering_the_user_all_through_is_the_assistant(assistant):
    rows = task_dialogues(assistant)
    proposal = sniff(M, rows)
    assert proposal.options == {"role_map": {assistant: "assistant"}}, proposal
    assert proposal.confidence >= 0.9 and proposal.field_map["turns"] == "messages"
    assert any(f"speaker '{assistant}' is read as the assistant" in e for e in proposal.evidence)
    assert any("left out of each message: frames" in e for e in proposal.evidence)
    out = run_mapper(M, rows, proposal.field_map, proposal.options)
    assert len(out.records) == len(rows) and not out.rejections
    first = out.records[0]["messages"]
    assert first == msgs(
        ("user", "user turn 0 of dialogue 0."), (("assistant", f"{assistant.lower()} turn 1 of dialogue 0."))
    )
    assert all(set(m) == {"role", "content"} for r in out.records for m in r["messages"])  # frames stay out


def test_a_system_prompt_first_stays_a_system_prompt():
    rows = [{"messages": msgs(("system", "Be brief."), ("user", f"Q{i}?"), ("assistant", f"A{i}."))} for i in range(10)]
    proposal = sniff(M, rows)
    assert proposal.options == {} and proposal.confidence >= 0.9
    # no assistant beside it, but the system turn is only ever first: nothing to infer either
    lone = [{"messages": msgs(("system", "Be brief."), ("user", f"Q{i}?"))} for i in range(10)]
    assert sniff(M, lone) is None or sniff(M, lone).options == {}


def test_no_inference_when_an_assistant_is_already_there_or_no_user():
    mixed = [
        {
            "messages": msgs(
                ("user", f"Q{i}?"), ("assistant", "A."), ("system", "note"), ("user", "Q2?"), ("assistant", "B.")
            )
        }
        for i in range(10)
    ]
    assert sniff(M, mixed).options == {}
    strangers = [
        {"turns": [{"speaker": "A" if t % 2 == 0 else "B", "utterance": f"turn {t}"} for t in range(4)]}
        for _ in range(10)
    ]
    proposal = sniff(M, strangers)
    assert proposal is None or (proposal.options == {} and proposal.confidence < 0.8)


def test_records_with_an_author_are_not_messages():
    poems = [
        {
            "type": "form",
            "content": [
                {
                    "chapter": f"Title {i}",
                    "author": ["Li Bai", "Du Fu", "Wang Wei"][i % 3],
                    "paragraphs": ["first line here,", "second line there."],
                }
            ],
        }
        for i in range(12)
    ]
    assert sniff(M, poems) is None


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.lists(
            st.text().filter(str.strip) | st.sampled_from(["[", '{"a": 1}', "SYSTEM", "  42 "]), min_size=2, max_size=6
        ),
        min_size=3,
        max_size=5,
    )
)
def test_fidelity_with_the_inferred_assistant(dialogues):
    rows = [
        {
            "turns": [
                {"speaker": "USER" if i % 2 == 0 else "SYSTEM", "utterance": u, "frames": [{"slots": []}]}
                for i, u in enumerate(d)
            ]
        }
        for d in dialogues
    ]
    proposal = sniff(M, rows)
    assert proposal.options == {"role_map": {"SYSTEM": "assistant"}}
    out = run_mapper(M, rows, proposal.field_map, proposal.options)
    assert out.records and not out.rejections  # every turn has text, every dialogue an answer
    for row, outcome in zip(rows, out.per_row):
        if not isinstance(outcome, list):
            continue
        kept = row["turns"][: len(outcome[0]["messages"])]  # a trailing unanswered user turn is dropped
        assert [(m["role"], m["content"]) for m in outcome[0]["messages"]] == [
            ("user" if t["speaker"] == "USER" else "assistant", t["utterance"]) for t in kept
        ]
