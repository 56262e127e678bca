"""preference_pair: pairs oriented by a field (issue 15, class 8), on fixtures written here.

Two responses in a fixed order plus a verdict (an index 1/2 or 0/1, letters A/B, left/right, the
winning field's name, several annotators) or a score per response; whole conversations or ShareGPT
turn objects as chosen/rejected. The imported chosen is always the preferred response; ties,
missing verdicts and unknown values are rejected with a reason, never oriented by a guess.
"""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brewslm.errors import MapperError
from brewslm.introspection.introspector import introspect_profile
from brewslm.mappers.messages import is_transcript
from brewslm.mappers.profile import profile_rows
from helpers.mapping import run_mapper, sniff

M = "preference_pair"
ONE_TWO = {"preference_values": {"1": "response_a", "2": "response_b", "0": "tie"}}


def user(text):
    return [{"role": "user", "content": text}]


def table(n=24, **encode):
    """Rows of two different answers to a question; row i prefers the second answer when i % 3 == 0."""
    rows = []
    for i in range(n):
        first, second = f"First answer number {i} with a few words.", f"Second answer {i}, worded another way."
        row = {
            "question": f"What is item {i} about?",
            encode.get("a", "output_1"): first,
            encode.get("b", "output_2"): second,
        }
        row[encode.get("field", "preference")] = encode["values"][1 if i % 3 == 0 else 0]
        rows.append(row)
    return rows


def preferred(rows, a="output_1", b="output_2", field="preference", values=(1, 2)):
    return [(r[a], r[b]) if r[field] == values[0] else (r[b], r[a]) for r in rows]


def accepted_proposal(rows):
    result = introspect_profile(profile_rows(rows), llm_assist=False)
    assert result.accepted is not None, [p.to_dict() for p in result.proposals]
    return result.accepted


# --- mapping ---------------------------------------------------------------------------------------


def test_index_field_orients_the_pair():
    rows = [
        {"input": "Q", "output_1": "a", "output_2": "b", "label": 2},
        {"input": "Q", "output_1": "c", "output_2": "d", "label": 1},
        {"input": "Q", "output_1": "e", "output_2": "f", "label": 0},
        {"input": "Q", "output_1": "g", "output_2": "h", "label": None},
        {"input": "Q", "output_1": "g", "output_2": "h", "label": 7},
    ]
    fmap = {"input": "prompt", "output_1": "response_a", "output_2": "response_b", "label": "preference"}
    out = run_mapper(M, rows, fmap, ONE_TWO)
    assert [(r["chosen"], r["rejected"]) for r in out.records] == [("b", "a"), ("c", "d")]
    assert [(i, r.reason) for i, r in out.rejections] == [
        (3, "tie"),
        (4, "missing_preference"),
        (5, "unknown_preference"),
    ]


def test_scores_orient_the_pair_and_equal_scores_are_a_tie():
    rows = [
        {"prompt": "Q", "r1": "a", "r2": "b", "s1": 2.5, "s2": 7},
        {"prompt": "Q", "r1": "a", "r2": "b", "s1": "9", "s2": "3"},
        {"prompt": "Q", "r1": "a", "r2": "b", "s1": 4, "s2": 4.0},
        {"prompt": "Q", "r1": "a", "r2": "b", "s1": 4, "s2": None},
    ]
    fmap = {"r1": "response_a", "r2": "response_b", "s1": "score_a", "s2": "score_b"}
    out = run_mapper(M, rows, fmap)
    assert [(r["chosen"], r["rejected"]) for r in out.records] == [("b", "a"), ("a", "b")]
    assert out.reasons == {"tie": 1, "missing_preference": 1}
    lower = run_mapper(M, rows[:1], fmap, {"higher_score_wins": False})
    assert lower.records[0]["chosen"] == "a"


def test_several_annotators_decide_by_majority():
    rows = [
        {"instruction": "Do it", "input": "on this", "a": "x", "b": "y", "v1": 2, "v2": 2, "v3": 1},
        {"instruction": "Do it", "input": " ", "a": "x", "b": "y", "v1": 1, "v2": None, "v3": 1},
        {"instruction": "Do it", "input": "", "a": "x", "b": "y", "v1": 0, "v2": 0, "v3": 1},
        {"instruction": "Do it", "input": "", "a": "x", "b": "y", "v1": 0, "v2": 2, "v3": 1},
    ]
    fmap = {
        "instruction": "prompt",
        "input": "input",
        "a": "response_a",
        "b": "response_b",
        "v1": "preference.v1",
        "v2": "preference.v2",
        "v3": "preference.v3",
    }
    out = run_mapper(M, rows, fmap, ONE_TWO)
    assert out.records[0] == {"prompt": user("Do it\n\non this"), "chosen": "y", "rejected": "x"}
    assert out.records[1] == {"prompt": user("Do it"), "chosen": "x", "rejected": "y"}
    assert out.reasons == {"tie": 1, "no_majority": 1}


def test_orientation_must_be_explicit():
    rows = [{"prompt": "Q", "a": "x", "b": "y", "pick": 1}]
    with pytest.raises(MapperError, match="which response is preferred"):
        run_mapper(M, rows, {"a": "response_a", "b": "response_b"})
    with pytest.raises(MapperError, match="preference_values"):
        run_mapper(M, rows, {"a": "response_a", "b": "response_b", "pick": "preference"})
    with pytest.raises(MapperError, match="response_a, response_b or tie"):
        run_mapper(
            M, rows, {"a": "response_a", "b": "response_b", "pick": "preference"}, {"preference_values": {"1": "first"}}
        )


def test_sharegpt_turn_objects_and_whole_conversations():
    conv = [{"from": "system", "value": "Be brief."}, {"from": "human", "value": "List primes"}]
    row = {
        "conversations": conv,
        "chosen": {"from": "gpt", "value": "[2, 3, 5] are primes"},
        "rejected": {"from": "gpt", "value": "[Verse 1] nine"},
    }
    out = run_mapper(M, [row], {"conversations": "prompt"})
    assert out.records == [
        {
            "prompt": [{"role": "system", "content": "Be brief."}] + user("List primes"),
            "chosen": "[2, 3, 5] are primes",
            "rejected": "[Verse 1] nine",
        }
    ]
    wrong_side = dict(row, rejected={"from": "human", "value": "hm"})
    assert run_mapper(M, [wrong_side], {"conversations": "prompt"}).reasons == {"invalid_role": 1}

    def conversation(question, reply):
        return user(question) + [{"role": "assistant", "content": [{"type": "text", "value": reply}]}]

    rows = [
        {"chosen_messages": conversation("Q", "good"), "rejected_messages": conversation("Q", "bad")},
        {"chosen_messages": conversation("Q1", "good"), "rejected_messages": conversation("Q2", "bad")},
    ]
    proposal = sniff(M, rows * 10)
    assert proposal.field_map == {"chosen_messages": "chosen", "rejected_messages": "rejected"}
    out = run_mapper(M, rows, proposal.field_map)
    assert out.records == [{"prompt": user("Q"), "chosen": "good", "rejected": "bad"}]
    assert out.reasons == {"missing_prompt": 1}  # the two conversations do not share their prompt


# --- introspection: detected from the values -------------------------------------------------------


@pytest.mark.parametrize(
    "encode,expected",
    [
        (dict(values=(1, 2)), {"1": "response_a", "2": "response_b"}),
        (dict(values=("A", "B"), field="winner"), {"A": "response_a", "B": "response_b"}),
        (dict(values=(0, 1), a="response_0", b="response_1", field="label"), {"0": "response_a", "1": "response_b"}),
        (
            dict(values=("model_a", "model_b"), a="response_a", b="response_b", field="winner"),
            {"model_a": "response_a", "model_b": "response_b"},
        ),
        (dict(values=("output_1", "output_2")), {"output_1": "response_a", "output_2": "response_b"}),
        (
            dict(values=("agent", "base"), a="agent_response", b="base_response", field="grade"),
            {"agent": "response_a", "base": "response_b"},
        ),
    ],
)
def test_sniff_reads_the_orientation_from_values(encode, expected):
    rows = table(**encode)
    proposal = accepted_proposal(rows)
    assert proposal.mapper_id == M and proposal.confidence >= 0.8
    assert proposal.options["preference_values"] == expected
    a, b = encode.get("a", "output_1"), encode.get("b", "output_2")
    assert any(f"-> {a}" in e for e in proposal.evidence), proposal.evidence
    out = run_mapper(M, rows, proposal.field_map, proposal.options)
    field = encode.get("field", "preference")
    assert [(r["chosen"], r["rejected"]) for r in out.records] == preferred(rows, a, b, field, encode["values"])


def test_ambiguous_index_base_is_said_and_not_accepted():
    rows = table(values=(1, 2), a="response_0", b="response_1")
    proposal = sniff(M, rows)
    assert proposal.options["preference_values"] == {"1": "response_a", "2": "response_b"}
    assert proposal.confidence < 0.8 and any("ambiguous" in e for e in proposal.evidence)


def test_sniff_nested_left_right_verdict_and_ties():
    rows = []
    for i in range(20):
        verdict = "tie" if i % 5 == 4 else ("left", "right")[i % 2]
        rows.append(
            {
                "id": 100 + i,
                "data": {
                    "prompt": f"Tell me about {i}",
                    "answer1": f"one {i} is fine",
                    "answer2": f"two {i} is better",
                },
                "annotations": [{"result": [{"type": "pairwise", "value": {"selected": verdict}}], "lead_time": i}],
            }
        )
    proposal = accepted_proposal(rows)
    assert proposal.field_map["annotations.0.result.0.value.selected"] == "preference"
    assert proposal.options["preference_values"] == {"left": "response_a", "right": "response_b", "tie": "tie"}
    out = run_mapper(M, rows, proposal.field_map, proposal.options)
    assert out.reasons == {"tie": 4}
    kept = [r for r in rows if r["annotations"][0]["result"][0]["value"]["selected"] != "tie"]
    want = [
        r["data"]["answer1"]
        if r["annotations"][0]["result"][0]["value"]["selected"] == "left"
        else r["data"]["answer2"]
        for r in kept
    ]
    assert [r["chosen"] for r in out.records] == want


def test_sniff_annotators_and_scores():
    rows = []
    for i in range(30):
        votes = [
            (1, 1, 2),
            (2, 2, 1),
            (1, 1, 1),
            (2, 2, 2),
            (1, 2, 1),
            (2, 1, 2),
            (0, 0, 1),
            (2, 2, 0),
            (1, 1, 0),
            (2, 1, 0),
        ][i % 10]
        rows.append(
            {
                "instruction": f"Rewrite sentence {i}",
                "input": f"text {i}" if i % 2 else "",
                "response1": f"Shorter, clearer: item {i}.",
                "response2": f"Maybe say it like this instead ({i})",
                **{f"annotator{k + 1}": v for k, v in enumerate(votes)},
            }
        )
    proposal = accepted_proposal(rows)
    assert sorted(k for k, v in proposal.field_map.items() if v.startswith("preference")) == [
        "annotator1",
        "annotator2",
        "annotator3",
    ]
    assert proposal.field_map["input"] == "input"
    out = run_mapper(M, rows, proposal.field_map, proposal.options)
    assert out.reasons == {"tie": 3, "no_majority": 3}
    assert [r["chosen"][0] for r in out.records[:8]] == ["S", "M", "S", "M", "S", "M", "M", "S"]
    scored = [
        {
            "prompt": f"Q{i} here",
            "output_1": f"a reply to {i}, first",
            "output_2": f"b reply to {i}, second",
            "output_1_score": i % 4,
            "output_2_score": 2 if i == 6 else 1.5,
        }
        for i in range(20)
    ]
    proposal = accepted_proposal(scored)
    assert proposal.field_map["output_1_score"] == "score_a" and proposal.field_map["output_2_score"] == "score_b"
    out = run_mapper(M, scored, proposal.field_map, proposal.options)
    assert out.reasons == {"tie": 1} and all(
        r["chosen"].startswith("a") == (int(r["chosen"].split()[3][:-1]) % 4 > 1.5) for r in out.records
    )


def test_a_verdict_on_two_replies_is_not_a_class():
    """label_to_classification must not read the verdict as a class of the joined texts, nor the
    speaker of conversation turns (rows exploded from a message list) as a class."""
    rows = table(values=(1, 2), field="label")
    result = introspect_profile(profile_rows(rows), llm_assist=False)
    classification = next(p for p in result.proposals if p.mapper_id == "label_to_classification")
    assert classification.confidence < 0.8 and any("not a class" in e for e in classification.evidence)
    turns = [{"from": ("human", "system")[i % 2], "value": f"some words of turn number {i}"} for i in range(20)]
    result = introspect_profile(profile_rows(turns), llm_assist=False)
    assert result.accepted is None or result.accepted.mapper_id != "label_to_classification"


def test_sharegpt_prompt_list_is_found():
    rows = [
        {
            "conversations": [{"from": "human", "value": f"问题 {i}"}],
            "chosen": {"from": "gpt", "value": f"好 {i}"},
            "rejected": {"from": "gpt", "value": f"坏 {i}"},
        }
        for i in range(12)
    ]
    proposal = accepted_proposal(rows)
    assert proposal.mapper_id == M and proposal.field_map["conversations"] == "prompt"


# --- fidelity: the chosen is always the preferred response -----------------------------------------

ENCODINGS = [
    ("output_1", "output_2", (1, 2, 0)),
    ("response_0", "response_1", (0, 1, "tie")),
    ("response_a", "response_b", ("A", "B", "tie")),
    ("response_a", "response_b", ("model_a", "model_b", "both_bad")),
    ("answer1", "answer2", ("left", "right", "tie")),
    ("agent_response", "base_response", ("agent", "base", "tie")),
]
TEXT = st.text(min_size=1, max_size=30) | st.sampled_from(
    ["[0, 1, 3]", '{"a": 1}', "[Verse 1] la", " 12 ", "\n\nHuman: x"]
)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(ENCODINGS),
    st.lists(st.tuples(TEXT, TEXT, TEXT, st.sampled_from([0, 1, 1, 2, 2, None])), min_size=12, max_size=20),
)
def test_imported_chosen_is_always_the_preferred_response(encoding, items):
    a, b, values = encoding
    rows = []
    for i, (prompt, first, second, pick) in enumerate(items):
        rows.append(
            {
                "prompt": f"{prompt} #{i}",
                a: f"{first} one {i}",
                b: f"{second} two {i}",
                "verdict": None if pick is None else values[pick - 1 if pick else 2],
            }
        )
    proposal = sniff(M, rows)
    if proposal is None or proposal.confidence < 0.8:
        return  # not detected is allowed; wrongly oriented is not
    out = run_mapper(M, rows, proposal.field_map, proposal.options)
    by_row = dict(enumerate(out.per_row))
    for i, (row, (_, _, _, pick)) in enumerate(zip(rows, items)):
        outcome = by_row[i]
        if pick in (None, 0):
            assert not isinstance(outcome, list), (row, outcome)
            assert outcome.reason in ("tie", "missing_preference")
            continue
        if not isinstance(outcome, list):
            assert outcome.reason in ("missing_chosen", "missing_rejected", "identical_pair", "missing_prompt"), outcome
            continue
        want_chosen, want_rejected = (row[a], row[b]) if pick == 1 else (row[b], row[a])
        assert (outcome[0]["chosen"], outcome[0]["rejected"]) == (want_chosen, want_rejected)
        if not is_transcript(row["prompt"]):  # a "Human: ..." prompt is read as a transcript (documented)
            assert outcome[0]["prompt"] == [{"role": "user", "content": row["prompt"]}]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from(["1", 1, 2, "2", 0, "0", None, "", "x", 1.0, True]), TEXT, TEXT),
        min_size=1,
        max_size=6,
    )
)
def test_any_verdict_value_orients_exactly_or_is_rejected(items):
    rows = [{"p": "Q", "a": x, "b": y, "v": v} for v, x, y in items]
    out = run_mapper(M, rows, {"p": "prompt", "a": "response_a", "b": "response_b", "v": "preference"}, ONE_TWO)
    for row, outcome in zip(rows, out.per_row):
        key = str(int(row["v"])) if isinstance(row["v"], (int, float)) and not isinstance(row["v"], bool) else row["v"]
        if not isinstance(outcome, list):
            continue
        assert key in ("1", "2")
        want = (row["a"], row["b"]) if key == "1" else (row["b"], row["a"])
        assert (outcome[0]["chosen"], outcome[0]["rejected"]) == want


def test_scored_completions_list():
    rows = [
        {
            "instruction": f"Explain topic {i}",
            "completions": [
                {"model": "m1", "response": f"A short take on {i}.", "score": (i % 5) + 0.5},
                {"model": "m2", "response": f"A longer answer about {i}, with detail.", "score": 3},
                {"model": "m3", "response": f"Not sure about {i} honestly.", "score": 1},
            ],
        }
        for i in range(20)
    ]
    rows[4]["completions"][0]["score"] = 3  # ties with m2 at the top
    rows[7]["completions"][2]["score"] = None
    proposal = accepted_proposal(rows)
    assert proposal.field_map == {"completions": "completions", "instruction": "prompt"}
    assert proposal.options == {"completion_text": "response", "completion_score": "score"}
    out = run_mapper(M, rows, proposal.field_map, proposal.options)
    assert out.reasons == {"tie": 1, "missing_preference": 1}
    for record in out.records:
        i = int(record["prompt"][0]["content"].split()[-1])
        first = rows[i]["completions"][0]
        best = first if first["score"] > 3 else rows[i]["completions"][1]
        worst = first if first["score"] < 1 else rows[i]["completions"][2]
        assert (record["chosen"], record["rejected"]) == (best["response"], worst["response"])
    with pytest.raises(MapperError, match="completion_text"):
        run_mapper(M, rows[:1], {"completions": "completions", "instruction": "prompt"})


@settings(max_examples=40, deadline=None)
@given(
    st.sampled_from(["scores", "annotators", "completions"]),
    st.lists(
        st.tuples(TEXT, TEXT, TEXT, st.integers(0, 3), st.integers(0, 3), st.integers(0, 2)), min_size=12, max_size=18
    ),
)
def test_scores_and_votes_never_invert_a_pair(kind, items):
    rows, want = [], []
    for i, (prompt, first, second, s1, s2, extra) in enumerate(items):
        a, b = f"{first} one {i}", f"{second} two {i}"
        row = {"prompt": f"{prompt} #{i}"}
        if kind == "scores":
            row.update({"output_1": a, "output_2": b, "score_1": s1, "score_2": s2})
            want.append(None if s1 == s2 else (a, b) if s1 > s2 else (b, a))
        elif kind == "annotators":
            votes = [1 + s1 % 2, 1 + s2 % 2, extra]  # 1 = output_1, 2 = output_2, 0 = tie
            row.update({"output_1": a, "output_2": b, **{f"judge_{k}": v for k, v in enumerate(votes)}})
            top = max(set(votes), key=votes.count)
            want.append(
                (a, b) if top == 1 and votes.count(1) >= 2 else (b, a) if top == 2 and votes.count(2) >= 2 else None
            )
        else:
            row["completions"] = [{"text": a, "score": s1}, {"text": b, "score": s2}]
            want.append(None if s1 == s2 else (a, b) if s1 > s2 else (b, a))
        rows.append(row)
    proposal = sniff(M, rows)
    if proposal is None or proposal.confidence < 0.8:
        return
    out = run_mapper(M, rows, proposal.field_map, proposal.options)
    for expected, outcome in zip(want, out.per_row):
        if expected is None:
            assert not isinstance(outcome, list), outcome
        elif isinstance(outcome, list):
            assert (outcome[0]["chosen"], outcome[0]["rejected"]) == expected
        else:
            assert outcome.reason in ("missing_chosen", "missing_rejected", "identical_pair", "missing_prompt"), outcome


def test_arena_style_conversation_pair():
    """Two whole conversations per row (conversation_a/_b), the winner named model_a/model_b/tie
    (bothbad), model names beside them; a pair whose follow-up questions differ is rejected."""
    rows = []
    for i in range(20):
        question = [{"role": "user", "content": f"Tell me a fact about {i}"}]
        rows.append(
            {
                "model_a": ("vicuna", "alpaca")[i % 2],
                "model_b": "koala",
                "conversation_a": question + [{"role": "assistant", "content": f"Fact A about {i}."}],
                "conversation_b": question + [{"role": "assistant", "content": f"Fact B about {i}!"}],
                "winner": ("model_a", "model_b", "model_b", "tie (bothbad)", "model_a")[i % 5],
            }
        )
    rows[2]["conversation_b"][0] = {"role": "user", "content": "Something else"}
    proposal = accepted_proposal(rows)
    assert proposal.field_map["conversation_a"] == "response_a" and proposal.field_map["winner"] == "preference"
    assert proposal.options["preference_values"] == {
        "model_a": "response_a",
        "model_b": "response_b",
        "tie (bothbad)": "tie",
    }
    out = run_mapper(M, rows, proposal.field_map, proposal.options)
    assert out.reasons == {"tie": 4, "missing_prompt": 1}
    for record in out.records:
        i = int(record["prompt"][0]["content"].split()[-1])
        assert record["chosen"].startswith("Fact A" if rows[i]["winner"] == "model_a" else "Fact B")


@pytest.mark.parametrize("values", [("Output (a)", "Output (b)"), ("[[A]]", "[[B]]"), ("Response 1", "Response 2")])
def test_verdict_values_with_marks_around_the_index(values):
    a, b = ("output_1", "output_2") if values[0].endswith("1") else ("output_a", "output_b")
    rows = table(values=values, a=a, b=b, field="judgement")
    proposal = accepted_proposal(rows)
    assert proposal.options["preference_values"] == {values[0]: "response_a", values[1]: "response_b"}
    out = run_mapper(M, rows, proposal.field_map, proposal.options)
    assert [(r["chosen"], r["rejected"]) for r in out.records] == preferred(rows, a, b, "judgement", values)


def test_numbers_indexed_like_the_responses_are_scores_or_verdicts():
    """score_1/score_2 holding 0..2 are scores (their name says so), never read as 1/2 verdicts;
    x_1/x_2 with such values could be either, so the proposal stays below 0.8 and says so."""
    rows = [
        {
            "prompt": f"Q{i} asks something",
            "output_1": f"one reply for {i}",
            "output_2": f"another reply {i}",
            "score_1": i % 3,
            "score_2": (i + 1) % 3,
        }
        for i in range(20)
    ]
    proposal = accepted_proposal(rows)
    assert proposal.field_map["score_1"] == "score_a" and proposal.field_map["score_2"] == "score_b"
    out = run_mapper(M, rows, proposal.field_map, proposal.options)
    assert all(
        (r["chosen"] == rows[i]["output_1"]) == (rows[i]["score_1"] > rows[i]["score_2"])
        for i, r in enumerate(out.records)
    )
    unclear = [{k.replace("score", "x"): v for k, v in row.items()} for row in rows]
    proposal = sniff(M, unclear)
    assert proposal.confidence < 0.8 and any("could also be" in e for e in proposal.evidence)


def test_two_fields_that_read_as_verdicts_equally_are_not_accepted():
    rows = table(values=(1, 2), field="flag")
    for i, row in enumerate(rows):
        row["turn"] = 1 + (i % 2)  # also 1/2, a different reading
    proposal = sniff(M, rows)
    assert proposal.confidence < 0.8 and any("just as well" in e for e in proposal.evidence)
    named = table(values=(1, 2), field="preference")
    for i, row in enumerate(named):
        row["turn"] = 1 + (i % 2)
    proposal = accepted_proposal(named)
    assert proposal.field_map["preference"] == "preference" and "turn" not in proposal.field_map


def test_scores_settle_a_pair_whose_verdict_base_is_unsure():
    """SHP-like: labels 0/1 beside fields indexed A/B (which is 1?) and score_A/score_B: the scores orient."""
    rows = [
        {
            "history": f"Why is the sky {i} blue?",
            "human_ref_A": f"Rayleigh scattering, case {i}.",
            "human_ref_B": f"Because of the sea {i}",
            "labels": int(i % 3 != 0),
            "score_A": 10 + (i % 3 != 0) * 5,
            "score_B": 12,
        }
        for i in range(20)
    ]
    proposal = accepted_proposal(rows)
    assert proposal.field_map["score_A"] == "score_a" and proposal.field_map["history"] == "prompt"
    out = run_mapper(M, rows, proposal.field_map, proposal.options)
    assert [r["chosen"].startswith("Rayleigh") for r in out.records] == [i % 3 != 0 for i in range(20)]


def test_scored_completions_with_a_critique_and_two_numbers():
    rows = [
        {
            "instruction": f"Explain {i}",
            "completions": [
                {
                    "response": f"Good explanation of {i}.",
                    "critique": f"A long critique of the answer number {i}, " * 3,
                    "overall_score": 8.5,
                    "fine_grained_score": 3.0 + i % 2,
                },
                {
                    "response": f"Poor one about {i}",
                    "critique": f"Another long critique that goes on about {i}, " * 3,
                    "overall_score": 4.0,
                    "fine_grained_score": 4.5,
                },
            ],
        }
        for i in range(12)
    ]
    proposal = accepted_proposal(rows)
    assert proposal.options == {"completion_text": "response", "completion_score": "overall_score"}
    out = run_mapper(M, rows, proposal.field_map, proposal.options)
    assert all(r["chosen"].startswith("Good") and r["rejected"].startswith("Poor") for r in out.records)


def test_negated_chosen_name_and_nested_prompt_messages():
    """preferred_output / non_preferred_output (a negated chosen word is the rejected side), the
    prompt as input.messages one object level down."""
    rows = [
        {
            "input": {"messages": [{"role": "system", "content": "Be exact."}, {"role": "user", "content": f"Q{i}?"}]},
            "preferred_output": [{"role": "assistant", "content": f"good {i}"}],
            "non_preferred_output": [{"role": "assistant", "content": f"bad {i}"}],
        }
        for i in range(12)
    ]
    proposal = accepted_proposal(rows)
    assert proposal.field_map == {
        "preferred_output": "chosen",
        "non_preferred_output": "rejected",
        "input.messages": "prompt",
    }
    out = run_mapper(M, rows, proposal.field_map, proposal.options)
    assert out.records[3] == {
        "prompt": [{"role": "system", "content": "Be exact."}, {"role": "user", "content": "Q3?"}],
        "chosen": "good 3",
        "rejected": "bad 3",
    }


def test_one_hot_outcome_flags():
    """winner_model_a / winner_model_b / winner_tie as 0/1 columns (exactly one set per row)."""
    outcomes = ("a", "b", "b", "tie", "a", "b")
    rows = [
        {
            "id": i,
            "prompt": f"Question {i} for both models",
            "response_a": f"Answer A to {i}.",
            "response_b": f"Answer B to {i}!",
            "winner_model_a": int(outcomes[i % 6] == "a"),
            "winner_model_b": int(outcomes[i % 6] == "b"),
            "winner_tie": int(outcomes[i % 6] == "tie"),
        }
        for i in range(30)
    ]
    proposal = accepted_proposal(rows)
    assert {k: v for k, v in proposal.field_map.items() if k.startswith("winner")} == {
        "winner_model_a": "wins_a",
        "winner_model_b": "wins_b",
        "winner_tie": "tie",
    }
    out = run_mapper(M, rows, proposal.field_map, proposal.options)
    assert out.reasons == {"tie": 5}
    assert all(r["chosen"] == rows[r["id"]]["response_" + outcomes[r["id"] % 6]] for r in out.records)
    clash = [dict(rows[0], winner_model_b=1), dict(rows[0], winner_model_a=0), dict(rows[0], winner_tie="maybe")]
    assert run_mapper(M, clash, proposal.field_map).reasons == {
        "conflicting_preference": 1,
        "missing_preference": 1,
        "wrong_type": 1,
    }
