"""Rendering: every task profile's record -> chat messages + trained turns (golden outputs on small
records), the render context from a manifest, span offsets recovered from a rendered span list."""

from __future__ import annotations

import json

import pytest

from brewslm.tasks import get_task_profile, list_task_profiles
from brewslm.tasks.rendering import REFUSAL, NotRenderable, RenderContext, Rendered, locate_spans, to_json
from brewslm.tasks.structured_extraction import span_offsets_recoverable
from brewslm.tasks.tool_call import call_message_content


def render(profile_id: str, record: dict, context: RenderContext | None = None) -> Rendered:
    profile = get_task_profile(profile_id)
    assert profile.validate(record) is None, "the golden records must be valid canonical records"
    return profile.render(record, context)


def user(content: str) -> dict:
    return {"role": "user", "content": content}


def assistant(content: str) -> dict:
    return {"role": "assistant", "content": content}


def test_every_profile_has_a_renderer() -> None:
    assert [p.id for p in list_task_profiles() if not p.can_render] == []


def test_classification_lists_the_allowed_labels() -> None:
    out = render(
        "classification", {"text": "great film", "label": "positive"}, RenderContext(labels=("negative", "positive"))
    )
    assert out.messages == (
        user(
            "Classify the text into one of these labels: negative, positive. Reply with the label only.\n\nText: great film"
        ),
        assistant("positive"),
    )
    assert out.trained_turns == (1,)
    assert out.prompt == [out.messages[0]] and out.completion == "positive"


def test_classification_without_labels_or_with_too_many() -> None:
    plain = "Classify the text. Reply with the label only.\n\nText: x"
    assert render("classification", {"text": "x", "label": "a"}).messages[0] == user(plain)
    many = RenderContext(labels=tuple(f"l{i}" for i in range(60)))
    assert render("classification", {"text": "x", "label": "l1"}, many).messages[0] == user(plain)


def test_span_set_renders_quoted_spans_in_order() -> None:
    record = {
        "text": "Ada met Bob in Paris",
        "spans": [
            {"start": 0, "end": 3, "label": "PER"},
            {"start": 8, "end": 11, "label": "PER"},
            {"start": 15, "end": 20, "label": "LOC"},
        ],
    }
    out = render("structured_extraction", record, RenderContext(span_labels=("LOC", "PER")))
    assert out.messages[0]["content"] == (
        'Extract the entities (labels: LOC, PER) from the text as a JSON list of {"text", "label"} objects in order '
        "of appearance. Reply [] if there are none.\n\nText: Ada met Bob in Paris"
    )
    assert (
        out.completion
        == '[{"text": "Ada", "label": "PER"}, {"text": "Bob", "label": "PER"}, {"text": "Paris", "label": "LOC"}]'
    )
    assert locate_spans(record["text"], json.loads(out.completion)) == record["spans"]
    assert span_offsets_recoverable(record)


def test_span_set_without_spans_replies_with_an_empty_list() -> None:
    assert render("structured_extraction", {"text": "nothing here", "spans": []}).completion == "[]"


def test_span_offsets_of_repeated_text() -> None:
    text = "New York and New York"
    second = {"text": text, "spans": [{"start": 13, "end": 21, "label": "LOC"}]}
    both = {"text": text, "spans": [{"start": 0, "end": 8, "label": "LOC"}, {"start": 13, "end": 21, "label": "LOC"}]}
    assert span_offsets_recoverable(both)
    assert not span_offsets_recoverable(second)  # only the later occurrence is annotated
    assert locate_spans(text, [{"text": "York", "label": "X"}, {"text": "Mars", "label": "X"}]) == [
        {"start": 4, "end": 8, "label": "X"}
    ]


def test_field_match_renders_the_target_object() -> None:
    record = {"text": "ACME LTD 2019-01-02 total 9.50", "target": {"company": "ACME LTD", "total": 9.5, "date": None}}
    out = render("structured_extraction", record, RenderContext(fields=("company", "date", "total")))
    assert out.messages[0]["content"] == (
        "Extract the fields from the text as a JSON object with the keys: company, date, total.\n\nText: ACME LTD 2019-01-02 total 9.50"
    )
    assert out.completion == '{"company": "ACME LTD", "total": 9.5, "date": null}'
    assert json.loads(out.completion) == record["target"]


def test_qa_with_and_without_context() -> None:
    closed = render("qa", {"question": "Capital of France?", "answer": "Paris"})
    assert closed.messages == (user("Capital of France?"), assistant("Paris"))
    grounded = render("qa", {"question": "Who?", "answer": "Ada", "context": "Ada wrote it."})
    assert grounded.messages[0] == user(
        "Answer the question using the context.\n\nContext:\nAda wrote it.\n\nQuestion: Who?"
    )


def test_rag_answers_from_the_passages_or_refuses() -> None:
    base = {"question": "When?", "passages": ["It opened in 1901.", "It closed later."]}
    answered = render("rag_qa", {**base, "answer": "1901", "is_refusal": False})
    assert answered.messages[0]["content"] == (
        f"Answer the question using only the passages below. If they do not contain the answer, reply exactly: {REFUSAL}"
        "\n\nPassages:\n[1] It opened in 1901.\n\n[2] It closed later.\n\nQuestion: When?"
    )
    assert answered.completion == "1901"
    refused = render("rag_qa", {**base, "answer": "", "is_refusal": True})
    assert refused.completion == REFUSAL == "I don't have that information."


def test_chat_trains_every_assistant_turn() -> None:
    messages = [
        {"role": "system", "content": "Be brief."},
        user("hi"),
        assistant("hello"),
        user("bye"),
        assistant("ciao"),
    ]
    out = render("chat_sft", {"messages": messages})
    assert list(out.messages) == messages
    assert out.trained_turns == (2, 4)
    assert out.prompt == messages[:4] and out.completion == "ciao"


def test_dpo_keeps_the_rejected_reply_alongside() -> None:
    out = render("dpo", {"prompt": [user("Say hi")], "chosen": "Hi!", "rejected": "No."})
    assert out.messages == (user("Say hi"), assistant("Hi!"))
    assert out.trained_turns == (1,) and out.rejected == "No."
    assert out.with_completion(out.rejected).messages == (user("Say hi"), assistant("No."))


WEATHER = {
    "name": "get_weather",
    "description": "Current weather",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
TOOLS_SYSTEM = (
    "You can call the tools below, given as JSON schemas, one per line. To call a tool, reply with only a JSON object "
    '{"tool": <tool name>, "arguments": {<argument>: <value>}}; to make several calls at once, reply with a JSON list '
    "of such objects. If no tool fits the request, answer directly.\n\nTools:\n"
    '{"name": "get_weather", "description": "Current weather", "parameters": {"type": "object", "properties": '
    '{"city": {"type": "string"}}, "required": ["city"]}}'
)


def test_tool_call_renders_tools_and_the_call() -> None:
    record = {
        "messages": [user("Weather in Oslo?")],
        "tools": [WEATHER],
        "calls": [{"tool": "get_weather", "arguments": {"city": "Oslo"}}],
        "answer": None,
    }
    out = render("tool_call", record)
    assert out.messages == (
        {"role": "system", "content": TOOLS_SYSTEM},
        user("Weather in Oslo?"),
        assistant('{"tool": "get_weather", "arguments": {"city": "Oslo"}}'),
    )
    parallel = {**record, "calls": record["calls"] * 2}
    assert render("tool_call", parallel).completion == to_json(
        [{"tool": "get_weather", "arguments": {"city": "Oslo"}}] * 2
    )


def test_tool_call_history_uses_one_call_format_and_keeps_the_system_prompt() -> None:
    earlier = [{"tool": "get_weather", "arguments": {"city": "Oslo"}}]
    record = {
        "messages": [
            {"role": "system", "content": "You are a weather bot."},
            user("Weather in Oslo?"),
            assistant(call_message_content(earlier)),
            {"role": "tool", "content": '{"temp": 3}'},
        ],
        "tools": [WEATHER],
        "calls": [],
        "answer": "It is 3 degrees in Oslo.",
    }
    out = render("tool_call", record)
    assert out.messages[0]["content"] == "You are a weather bot.\n\n" + TOOLS_SYSTEM
    assert out.messages[2] == assistant('{"tool": "get_weather", "arguments": {"city": "Oslo"}}')
    assert out.messages[3] == {"role": "tool", "content": '{"temp": 3}'}
    assert out.completion == "It is 3 degrees in Oslo." and out.trained_turns == (4,)


def test_tool_call_without_a_known_answer_is_not_renderable() -> None:
    with pytest.raises(NotRenderable, match="no reply to learn"):
        render("tool_call", {"messages": [user("hi")], "tools": [WEATHER], "calls": [], "answer": None})


def test_language_modeling_is_raw_text() -> None:
    out = render("language_modeling", {"text": "Once upon a time."})
    assert not out.is_chat and out.text == "Once upon a time." and out.completion == "Once upon a time."
    assert out.to_dict() == {"text": "Once upon a time."}


def test_render_context_from_a_manifest() -> None:
    context = RenderContext.from_manifest(
        {
            "output_schema": {"scoring_mode": "field_match", "json_schema": {"properties": {"b": {}, "a": {}}}},
            "summary": {"label_counts": {"pos": 3, "neg": 1}, "span_label_counts": {"PER": 2}},
        }
    )
    assert context.labels == ("neg", "pos") and context.span_labels == ("PER",) and context.fields == ("b", "a")
    assert RenderContext.from_manifest({"output_schema": {"labels": ["z", "y"]}}).labels == ("y", "z")
    assert RenderContext.from_dict(context.to_dict()) == context


def test_a_rendering_must_train_an_assistant_turn() -> None:
    with pytest.raises(ValueError):
        Rendered(messages=(user("hi"),), trained_turns=(0,))
    with pytest.raises(ValueError):
        Rendered(messages=(user("hi"), assistant("yo")), trained_turns=())


# --- label replies: identifier-style labels are replied as the words they spell ----------------------


def test_identifier_labels_are_replied_as_their_words_and_read_back() -> None:
    from brewslm.tasks.rendering import label_reply_texts

    assert label_reply_texts(["card_arrival", "exchange_rate", "top__up_"]) == (
        "card arrival",
        "exchange rate",
        "top up",
    )
    assert label_reply_texts(["negative", "positive"]) is None  # already words: each label is its own reply
    assert label_reply_texts(["a b", "a_b"]) is None  # two labels would read the same
    assert label_reply_texts(["x_y", "x y z", "x y"]) is None  # one label would read as another label


def test_render_context_spells_labels_out_and_keeps_old_contexts_as_they_trained() -> None:
    from brewslm.tasks import get_task_profile

    context = RenderContext.from_manifest({"output_schema": {"labels": ["lost_card", "card_arrival"]}})
    assert context.labels == ("card_arrival", "lost_card")
    assert context.label_texts == ("card arrival", "lost card")
    assert context.reply_text("lost_card") == "lost card"
    assert context.label_of_reply("lost card") == "lost_card"
    assert context.label_of_reply("lost_card") == "lost_card"  # the name itself still reads as the label
    assert context.label_of_reply("stolen card") is None
    assert RenderContext.from_dict(context.to_dict()) == context
    old = {key: value for key, value in context.to_dict().items() if key != "label_texts"}  # a run saved before
    assert RenderContext.from_dict(old).reply_text("lost_card") == "lost_card"

    rendered = get_task_profile("classification").render(
        {"text": "where is my card?", "label": "card_arrival"}, context
    )
    assert rendered.completion == "card arrival"
    assert "card arrival, lost card" in rendered.prompt[-1]["content"]  # the listed labels read the same way
