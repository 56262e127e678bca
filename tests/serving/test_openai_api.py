"""The OpenAI-compatible routes, called with the official ``openai`` client against a real uvicorn
server on a loopback port: two LoRA runs over one tiny base (three served ids), plain and
streaming chat, completions, model selection, JSON-constrained replies, stop strings, seeds,
``n`` choices, ``top_p``, chat log-probs, tools (a tool_call LoRA run, checked against
``/v1/tool_call``; the plain base with the task's tools prompt) and the refusals of what the
server does not do; request checks that need no fine-tune run against the base alone
(``base_server``)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Iterator

import httpx
import jsonschema
import openai
import pytest

from brewslm.serving.app import create_app
from brewslm.serving.served import ServedModels
from brewslm.serving.settings import server_settings
from brewslm.tasks.tool_call import PROFILE as TOOL_CALL_PROFILE
from brewslm.tasks.tool_call import call_message_content

from .conftest import TIME_RESULT, TIME_TOOL

MESSAGES = [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "the best movie this year"}]


@pytest.fixture(scope="module")
def server(sentiment_run: Path, qa_run: Path, serve: Callable[..., Any]) -> Iterator[SimpleNamespace]:
    models = ServedModels.load([str(sentiment_run), str(qa_run)])
    app = create_app(models, server_settings(api_key="", max_tokens_limit=256, default_max_tokens=12))
    with serve(app) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="not-needed", max_retries=0, timeout=60)
        yield SimpleNamespace(url=url, models=models, client=client, ids=models.ids())


@pytest.fixture(scope="module")
def base_server(served_base_dir: Path, serve: Callable[..., Any]) -> Iterator[openai.OpenAI]:
    """The tiny base alone, for the request checks (no LoRA run to train)."""
    app = create_app(ServedModels.load([str(served_base_dir)]), server_settings(api_key="", default_max_tokens=8))
    with serve(app) as url:
        yield openai.OpenAI(base_url=f"{url}/v1", api_key="not-needed", max_retries=0, timeout=60)


def test_messages_need_content_and_tool_messages_their_call_id(base_server: openai.OpenAI) -> None:
    # a content-less tool message was answered (200, after generating a whole reply)
    cases = [
        ([{"role": "tool"}], "messages[0].content"),
        ([{"role": "tool", "content": None, "tool_call_id": "c1"}], "messages[0].content"),
        ([{"role": "user", "content": "hi"}, {"role": "assistant"}], "messages[1].content"),
        ([{"role": "system", "content": "x"}, {"role": "tool", "content": "42"}], "messages[1].tool_call_id"),
    ]
    for messages, param in cases:
        with pytest.raises(openai.BadRequestError) as caught:
            base_server.chat.completions.create(model="", messages=messages, max_tokens=2)
        assert caught.value.body["param"] == param and param in caught.value.body["message"]
    reply = base_server.chat.completions.create(
        model="",
        max_tokens=2,
        messages=[{"role": "user", "content": ""}, {"role": "tool", "content": "42", "tool_call_id": "c1"}],
    )
    assert reply.choices[0].message.role == "assistant"


def test_top_p_takes_a_nucleus_when_sampling(base_server: openai.OpenAI) -> None:
    # greedy decoding picks the most likely token, which every nucleus holds: any top_p fits
    greedy = base_server.chat.completions.create(model="", messages=MESSAGES, max_tokens=8)
    for top_p in (5e-324, 0.5, 1.0):
        reply = base_server.chat.completions.create(model="", messages=MESSAGES, max_tokens=8, top_p=top_p)
        assert reply.choices[0].message.content == greedy.choices[0].message.content
    assert base_server.completions.create(model="", prompt="hello", max_tokens=2, top_p=5e-324).choices

    def sample(top_p: float, seed: int = 1) -> str | None:
        return (
            base_server.chat.completions.create(
                model="", messages=MESSAGES, max_tokens=8, top_p=top_p, temperature=1.0, seed=seed
            )
            .choices[0]
            .message.content
        )

    # a nucleus of one token is the most likely one: sampling it is greedy decoding
    assert sample(1e-6) == sample(1e-6, seed=2) == greedy.choices[0].message.content
    assert sample(0.9) == sample(0.9)  # seeded
    assert sample(1.0) != greedy.choices[0].message.content  # (the lively tiny model samples away from it)
    for outside in (0.0, -1.0, 1.5):
        with pytest.raises(openai.UnprocessableEntityError):
            base_server.chat.completions.create(model="", messages=MESSAGES, max_tokens=4, top_p=outside)


def test_models_lists_every_served_id_with_its_task(server: SimpleNamespace) -> None:
    listing = server.client.models.list()
    ids = [model.id for model in listing.data]
    assert ids == server.ids and len(ids) == 3  # two adapters and their shared base
    by_id = {model.id: model.model_dump() for model in listing.data}
    sentiment, qa, base = server.ids
    assert by_id[sentiment]["task"] == "classification" and "/v1/classify" in by_id[sentiment]["endpoints"]
    assert by_id[qa]["task"] == "qa" and by_id[qa]["adapter"] is True and by_id[qa]["base"] == base
    assert by_id[base]["task"] is None and by_id[base]["endpoints"] == ["/v1/chat/completions", "/v1/completions"]
    assert server.client.models.retrieve(qa).id == qa
    with pytest.raises(openai.NotFoundError) as caught:
        server.client.models.retrieve("no-such-model")
    assert caught.value.body["code"] == "model_not_found"


def test_chat_completion_round_trip_counts_tokens(server: SimpleNamespace) -> None:
    sentiment = server.ids[0]
    reply = server.client.chat.completions.create(model=sentiment, messages=MESSAGES, max_tokens=10)
    assert reply.object == "chat.completion" and reply.model == sentiment and reply.id.startswith("chatcmpl-")
    choice = reply.choices[0]
    assert choice.message.role == "assistant" and isinstance(choice.message.content, str)
    assert choice.finish_reason in ("stop", "length")
    prompt = server.models.get(sentiment).chat_prompt_ids(MESSAGES)
    assert reply.usage.prompt_tokens == len(prompt)
    assert 1 <= reply.usage.completion_tokens <= 10
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    assert (choice.finish_reason == "length") == (reply.usage.completion_tokens == 10)
    again = server.client.chat.completions.create(model=sentiment, messages=MESSAGES, max_tokens=10)
    assert again.choices[0].message.content == choice.message.content  # greedy by default


def test_streamed_chat_matches_the_plain_reply(server: SimpleNamespace) -> None:
    qa = server.ids[1]
    plain = server.client.chat.completions.create(model=qa, messages=MESSAGES, max_tokens=12)
    chunks = list(
        server.client.chat.completions.create(
            model=qa, messages=MESSAGES, max_tokens=12, stream=True, stream_options={"include_usage": True}
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    assert all(chunk.object == "chat.completion.chunk" and chunk.model == qa for chunk in chunks)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == plain.choices[0].message.content
    finishing = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishing == [plain.choices[0].finish_reason]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens == plain.usage.completion_tokens


def test_default_model_and_default_budget(server: SimpleNamespace) -> None:
    reply = server.client.chat.completions.create(model="", messages=MESSAGES)
    assert reply.model == server.ids[0]
    assert reply.usage.completion_tokens <= 12  # the server's default_max_tokens


def test_completions_plain_batch_and_stream(server: SimpleNamespace) -> None:
    base = server.ids[2]
    one = server.client.completions.create(model=base, prompt="The quick brown fox", max_tokens=8)
    assert one.object == "text_completion" and len(one.choices) == 1
    assert one.usage.prompt_tokens == len(server.models.get(base).text_prompt_ids("The quick brown fox"))
    both = server.client.completions.create(model=base, prompt=["The quick brown fox", "My parcel"], max_tokens=8)
    assert [c.index for c in both.choices] == [0, 1]
    assert both.choices[0].text == one.choices[0].text
    streamed = list(
        server.client.completions.create(model=base, prompt="The quick brown fox", max_tokens=8, stream=True)
    )
    assert "".join(c.choices[0].text for c in streamed) == one.choices[0].text
    assert streamed[-1].choices[0].finish_reason == one.choices[0].finish_reason


def test_json_schema_response_format_gives_a_valid_document(server: SimpleNamespace) -> None:
    # one compact spelling (no free whitespace, no needless escapes): greedy or sampled, a reply of
    # this schema fits 40 tokens (22 here), as it did not when the decoder allowed whitespace runs
    schema = {
        "type": "object",
        "properties": {"positive": {"type": "boolean"}, "stars": {"type": "integer", "minimum": 1, "maximum": 5}},
        "required": ["positive", "stars"],
        "additionalProperties": False,
    }
    for temperature, seed in [(0.0, 0), (1.0, 1), (1.0, 2), (1.0, 3)]:
        reply = server.client.chat.completions.create(
            model=server.ids[0],
            messages=MESSAGES,
            max_tokens=40,
            temperature=temperature,
            seed=seed,
            response_format={"type": "json_schema", "json_schema": {"name": "review", "schema": schema}},
        )
        content = reply.choices[0].message.content
        assert reply.choices[0].finish_reason == "stop", content
        assert content == json.dumps(json.loads(content), separators=(", ", ": "))  # the one spelling
        jsonschema.validate(json.loads(content), schema)
    loose = server.client.chat.completions.create(
        model=server.ids[0], messages=MESSAGES, max_tokens=32, response_format={"type": "json_object"}
    )
    if loose.choices[0].finish_reason == "stop":
        assert isinstance(json.loads(loose.choices[0].message.content), dict)


def test_stop_strings_cut_the_reply(server: SimpleNamespace) -> None:
    base = server.ids[2]
    full = server.client.completions.create(model=base, prompt="The quick brown fox", max_tokens=16).choices[0].text
    assert len(full) >= 4, "the tiny model replied too briefly for this test"
    stop = full[2:4]
    cut = server.client.completions.create(model=base, prompt="The quick brown fox", max_tokens=16, stop=[stop])
    assert cut.choices[0].text == full[: full.index(stop)]
    assert cut.choices[0].finish_reason == "stop"


def test_sampling_is_repeatable_with_a_seed(server: SimpleNamespace) -> None:
    def sample(seed: int) -> str:
        return (
            server.client.chat.completions.create(
                model=server.ids[1], messages=MESSAGES, max_tokens=12, temperature=1.0, seed=seed
            )
            .choices[0]
            .message.content
        )

    assert sample(7) == sample(7)


def test_unsupported_parameters_are_refused_by_name(server: SimpleNamespace) -> None:
    for parameter, value in (("presence_penalty", 0.5), ("frequency_penalty", -1.0), ("logit_bias", {"12": 5})):
        with pytest.raises(openai.BadRequestError) as caught:
            server.client.chat.completions.create(model=server.ids[0], messages=MESSAGES, **{parameter: value})
        assert caught.value.body["param"] == parameter and "not supported" in caught.value.body["message"]
    with pytest.raises(openai.BadRequestError) as caught:
        server.client.completions.create(model=server.ids[2], prompt=["a", "b"], stream=True)
    assert caught.value.body["param"] == "prompt"
    with pytest.raises(openai.BadRequestError) as caught:
        server.client.completions.create(model=server.ids[2], prompt="a", n=2, stream=True)
    assert caught.value.body["param"] == "n"
    with pytest.raises(openai.BadRequestError) as caught:
        server.client.chat.completions.create(
            model=server.ids[0],
            messages=MESSAGES,
            response_format={"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "frob"}}},
        )
    assert caught.value.body["param"] == "response_format.json_schema.schema"


def test_unknown_model_is_404_in_openai_shape(server: SimpleNamespace) -> None:
    with pytest.raises(openai.NotFoundError) as caught:
        server.client.chat.completions.create(model="nope", messages=MESSAGES)
    assert caught.value.body["code"] == "model_not_found"
    assert all(model_id in caught.value.body["message"] for model_id in server.ids)


def _forward_logprobs(model_dir: Path, ids: list[int]) -> list[float]:
    """Each token's log-prob given those before it, by a plain forward of the model folder."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(model_dir)).eval()
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([ids])).logits[0].float()
    logprobs = torch.log_softmax(logits, dim=-1)
    return [float(logprobs[i - 1, ids[i]]) for i in range(1, len(ids))]


def _greedy(model_dir: Path, ids: list[int], budget: int, stop: int) -> list[int]:
    """transformers' own greedy reply, without its end-of-turn token."""
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(model_dir)).eval()
    out = model.generate(torch.tensor([ids]), max_new_tokens=budget, do_sample=False, eos_token_id=stop)
    reply = out[0, len(ids) :].tolist()
    return reply[: reply.index(stop)] if stop in reply else reply


def test_completion_logprobs_score_the_prompt_and_the_reply(base_server: openai.OpenAI, served_base_dir: Path) -> None:
    tokenizer = ServedModels.load([str(served_base_dir)]).default.tokenizer
    ids = tokenizer("The quick brown fox jumps", add_special_tokens=False)["input_ids"]
    # echo + max_tokens 0: the prompt scored, nothing generated (token ids in, as OpenAI allows)
    scored = base_server.completions.create(model="tiny-base", prompt=ids, max_tokens=0, echo=True, logprobs=2)
    choice = scored.choices[0]
    assert choice.text == tokenizer.decode(ids) and scored.usage.completion_tokens == 0
    assert choice.logprobs.token_logprobs[0] is None and len(choice.logprobs.tokens) == len(ids)
    expected = _forward_logprobs(served_base_dir, ids)
    assert choice.logprobs.token_logprobs[1:] == pytest.approx(expected, abs=1e-4)
    for value, top in zip(choice.logprobs.token_logprobs[1:], choice.logprobs.top_logprobs[1:]):
        assert 1 <= len(top) <= 2 and max(top.values()) >= value - 1e-6
    assert choice.logprobs.text_offset == [
        sum(len(t) for t in choice.logprobs.tokens[:i]) for i in range(len(choice.logprobs.tokens))
    ]
    # a generated reply: its own tokens' log-probs, as the model gives them after the prompt
    reply = base_server.completions.create(model="tiny-base", prompt=ids, max_tokens=6, logprobs=0).choices[0]
    generated = _greedy(served_base_dir, ids, 6, stop=tokenizer.convert_tokens_to_ids("<|im_end|>"))
    assert "".join(reply.logprobs.tokens) == reply.text == tokenizer.decode(generated)
    assert reply.logprobs.token_logprobs == pytest.approx(
        _forward_logprobs(served_base_dir, ids + generated)[len(ids) - 1 :], abs=1e-4
    )
    with pytest.raises(openai.BadRequestError) as caught:
        base_server.completions.create(model="tiny-base", prompt=ids, max_tokens=0)
    assert caught.value.body["param"] == "max_tokens"
    with pytest.raises(openai.BadRequestError):
        base_server.completions.create(model="tiny-base", prompt=[10**7], max_tokens=0, echo=True)


# --- chat log-probs, n, tools ----------------------------------------------------------------------


def test_chat_logprobs_are_the_models_own(base_server: openai.OpenAI, served_base_dir: Path) -> None:
    served = ServedModels.load([str(served_base_dir)]).default
    prompt = served.chat_prompt_ids(MESSAGES)
    reply = base_server.chat.completions.create(
        model="tiny-base", messages=MESSAGES, max_tokens=6, logprobs=True, top_logprobs=3
    )
    choice = reply.choices[0]
    generated = _greedy(served_base_dir, prompt, 6, stop=served.tokenizer.convert_tokens_to_ids("<|im_end|>"))
    content = choice.logprobs.content
    assert "".join(t.token for t in content) == choice.message.content == served.tokenizer.decode(generated)
    expected = _forward_logprobs(served_base_dir, prompt + generated)[len(prompt) - 1 :]
    assert [t.logprob for t in content] == pytest.approx(expected, abs=1e-4)
    for token in content:
        tops = [top.logprob for top in token.top_logprobs]
        assert len(tops) == 3 and tops == sorted(tops, reverse=True) and token.logprob <= tops[0] + 1e-6
        assert token.top_logprobs[0].token == token.token  # greedy: the most likely token
        if "\ufffd" not in token.token:
            assert bytes(token.bytes) == token.token.encode("utf-8")
    # a token may hold part of a character (the tiny model's do): its bytes are its own
    joined = b"".join(bytes(token.bytes) for token in content)
    assert joined.decode("utf-8", errors="replace") == choice.message.content
    bare = base_server.chat.completions.create(model="tiny-base", messages=MESSAGES, max_tokens=6, logprobs=True)
    assert [t.logprob for t in bare.choices[0].logprobs.content] == [t.logprob for t in content]
    assert all(t.top_logprobs == [] for t in bare.choices[0].logprobs.content)
    # a stream with log-probs: sent whole once ready, the same tokens and values
    chunks = list(
        base_server.chat.completions.create(
            model="tiny-base", messages=MESSAGES, max_tokens=6, logprobs=True, top_logprobs=3, stream=True
        )
    )
    streamed = [t for c in chunks if c.choices and c.choices[0].logprobs for t in c.choices[0].logprobs.content]
    assert [t.model_dump() for t in streamed] == [t.model_dump() for t in content]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == choice.message.content
    for fields, param in (
        ({"top_logprobs": 21, "logprobs": True}, "top_logprobs"),
        ({"top_logprobs": 2}, "top_logprobs"),
    ):
        with pytest.raises(openai.BadRequestError) as caught:
            base_server.chat.completions.create(model="tiny-base", messages=MESSAGES, max_tokens=2, **fields)
        assert caught.value.body["param"] == param


def test_n_choices_greedy_alike_sampled_each_seeded(base_server: openai.OpenAI) -> None:
    def ask(**fields: Any) -> Any:
        return base_server.chat.completions.create(model="", messages=MESSAGES, max_tokens=8, **fields)

    one = ask()
    three = ask(n=3)
    assert [c.index for c in three.choices] == [0, 1, 2]
    assert {c.message.content for c in three.choices} == {one.choices[0].message.content}  # greedy: alike
    assert three.usage.prompt_tokens == one.usage.prompt_tokens
    assert three.usage.completion_tokens == 3 * one.usage.completion_tokens
    sampled = [c.message.content for c in ask(n=3, temperature=1.0, seed=11).choices]
    assert sampled == [c.message.content for c in ask(n=3, temperature=1.0, seed=11).choices]  # repeatable
    assert len(set(sampled)) > 1  # each choice has its own seed
    assert ask(temperature=1.0, seed=11).choices[0].message.content == sampled[0]  # choice 0: the request's seed
    # a stream of several choices: each chunk names its choice
    chunks = list(ask(n=3, temperature=1.0, seed=11, stream=True, stream_options={"include_usage": True}))
    texts = ["", "", ""]
    for chunk in chunks:
        for c in chunk.choices:
            texts[c.index] += c.delta.content or ""
    assert texts == sampled
    finishing = [(c.index, c.finish_reason) for chunk in chunks for c in chunk.choices if c.finish_reason]
    assert sorted(index for index, _ in finishing) == [0, 1, 2]
    assert chunks[-1].choices == [] and chunks[-1].usage.completion_tokens >= 3
    with pytest.raises(openai.BadRequestError) as caught:
        ask(n=65)  # above the server's max_inputs
    assert caught.value.body["param"] == "n"
    both = base_server.completions.create(model="", prompt=["The quick brown fox", "My parcel"], max_tokens=4, n=2)
    assert [c.index for c in both.choices] == [0, 1, 2, 3]
    assert both.choices[0].text == both.choices[1].text and both.choices[2].text == both.choices[3].text


TASK_TIME_TOOL = {
    "name": "get_time",
    "description": "The time now.",
    "parameters": {"type": "object", "properties": {}},
}
ASK_TIME = [{"role": "user", "content": "What time is it?"}]
SAY_HELLO = [{"role": "user", "content": "Say hello"}]
CALLED = {
    "role": "assistant",
    "content": None,
    "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "get_time", "arguments": "{}"}}],
}
AFTER_RESULT = [*ASK_TIME, CALLED, {"role": "tool", "tool_call_id": "c1", "content": TIME_RESULT}]
AFTER_RESULT_TASK = [
    *ASK_TIME,
    {"role": "assistant", "content": call_message_content([{"tool": "get_time", "arguments": {}}])},
    {"role": "tool", "content": TIME_RESULT},
]


@pytest.fixture(scope="module")
def tools_server(tool_call_run: Path, serve: Callable[..., Any]) -> Iterator[SimpleNamespace]:
    models = ServedModels.load([str(tool_call_run)])
    with serve(create_app(models, server_settings(api_key=""))) as url, httpx.Client(base_url=url, timeout=60) as http:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="not-needed", max_retries=0, timeout=60)
        yield SimpleNamespace(client=client, http=http, model=models.ids()[0])


def _tool_call(server: SimpleNamespace, messages: list[dict[str, Any]], max_tokens: int = 32) -> dict[str, Any]:
    body = {"model": server.model, "messages": messages, "tools": [TASK_TIME_TOOL], "max_tokens": max_tokens}
    response = server.http.post("/v1/tool_call", json=body)
    assert response.status_code == 200, response.text
    return response.json()


def _calls(message: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(call.function.name, json.loads(call.function.arguments)) for call in message.tool_calls or []]


def test_tools_are_answered_as_the_tool_call_endpoint_answers(tools_server: SimpleNamespace) -> None:
    kinds = []
    for chat_messages, task_messages in (
        (ASK_TIME, ASK_TIME),
        (SAY_HELLO, SAY_HELLO),
        (AFTER_RESULT, AFTER_RESULT_TASK),
    ):
        reply = tools_server.client.chat.completions.create(
            model=tools_server.model, messages=chat_messages, tools=[TIME_TOOL], max_tokens=32
        )
        task = _tool_call(tools_server, task_messages)
        choice = reply.choices[0]
        assert reply.usage.prompt_tokens == task["usage"]["prompt_tokens"]  # the same prompt
        if task["calls"]:
            assert choice.finish_reason == "tool_calls" and choice.message.content is None
            assert _calls(choice.message) == [(c["tool"], c["arguments"]) for c in task["calls"]]
            assert all(call.type == "function" and call.id.startswith("call_") for call in choice.message.tool_calls)
        else:
            assert choice.message.tool_calls is None
            assert choice.message.content == task["raw"] and choice.finish_reason == task["finish_reason"]
        kinds.append("call" if task["calls"] else task["raw"])
    assert kinds == ["call", "Hello!", "It is 12:00."], "the tiny tool_call run did not learn its conversations"


def test_a_tool_call_round_trip_through_the_client(tools_server: SimpleNamespace) -> None:
    client = tools_server.client
    # (a budget that leaves the run's max_seq_len room for the whole prompt: the task cuts prompts to fit)
    first = client.chat.completions.create(
        model=tools_server.model, messages=ASK_TIME, tools=[TIME_TOOL], max_tokens=32
    )
    call = first.choices[0].message.tool_calls[0]
    messages = [*ASK_TIME, first.choices[0].message, {"role": "tool", "tool_call_id": call.id, "content": TIME_RESULT}]
    second = client.chat.completions.create(
        model=tools_server.model, messages=messages, tools=[TIME_TOOL], max_tokens=32
    )
    assert second.choices[0].message.content == _tool_call(tools_server, AFTER_RESULT_TASK)["raw"] == "It is 12:00."
    # streamed: the calls come as one delta once the reply is whole
    chunks = list(
        client.chat.completions.create(
            model=tools_server.model,
            messages=ASK_TIME,
            tools=[TIME_TOOL],
            max_tokens=32,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    deltas = [d for c in chunks if c.choices for d in c.choices[0].delta.tool_calls or []]
    assert [(d.index, d.function.name, json.loads(d.function.arguments)) for d in deltas] == [(0, "get_time", {})]
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["tool_calls"]
    assert chunks[-1].usage.prompt_tokens == first.usage.prompt_tokens
    # the SDK's stream helper puts the events back together into the reply
    with client.chat.completions.stream(
        model=tools_server.model, messages=ASK_TIME, tools=[TIME_TOOL], max_tokens=32
    ) as stream:
        final = stream.get_final_completion()
    assert _calls(final.choices[0].message) == [("get_time", {})] and final.choices[0].finish_reason == "tool_calls"


def test_tool_choice_none_required_and_named(tools_server: SimpleNamespace) -> None:
    def ask(messages: list[dict[str, Any]], **fields: Any) -> Any:
        return tools_server.client.chat.completions.create(
            model=tools_server.model, messages=messages, max_tokens=32, **fields
        ).choices[0]

    plain = tools_server.client.chat.completions.create(model=tools_server.model, messages=SAY_HELLO, max_tokens=32)
    unused = tools_server.client.chat.completions.create(
        model=tools_server.model, messages=SAY_HELLO, max_tokens=32, tools=[TIME_TOOL], tool_choice="none"
    )
    # none: the tools are not shown, the reply is content (the prompt of a chat without tools)
    assert unused.usage.prompt_tokens == plain.usage.prompt_tokens
    assert unused.choices[0].message.tool_calls is None
    for tool_choice in ("required", {"type": "function", "function": {"name": "get_time"}}):
        # one wanted function: its call is started for the model, which writes the arguments
        assert _calls(ask(ASK_TIME, tools=[TIME_TOOL], tool_choice=tool_choice).message) == [("get_time", {})]
        forced = ask(SAY_HELLO, tools=[TIME_TOOL], tool_choice=tool_choice)
        if forced.finish_reason != "tool_calls":  # not a call after all: its text, the started call included
            assert forced.message.content.startswith('{"tool": "get_time", "arguments":')
    assert ask(ASK_TIME, tools=[TIME_TOOL], parallel_tool_calls=False).finish_reason == "tool_calls"


def test_a_plain_model_gets_the_tool_call_tasks_tools_prompt(base_server: openai.OpenAI, served_base_dir: Path) -> None:
    served = ServedModels.load([str(served_base_dir)]).default
    weather = {
        "name": "get_weather",
        "description": "Weather of a city.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    }
    reply = base_server.chat.completions.create(
        model="", messages=MESSAGES, tools=[{"type": "function", "function": weather}], max_tokens=8
    )
    rendered = TOOL_CALL_PROFILE.render_prompt({"messages": MESSAGES, "tools": [weather], "calls": []})
    assert rendered.messages[0]["content"].startswith("You are terse.\n\nYou can call the tools below")
    assert reply.usage.prompt_tokens == len(served.chat_prompt_ids(list(rendered.messages[:-1])))
    choice = reply.choices[0]
    assert (choice.finish_reason == "tool_calls") == bool(choice.message.tool_calls)


def test_tool_requests_are_checked_by_name(base_server: openai.OpenAI) -> None:
    tool = {"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}
    bad_call = {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{not json"}}],
    }
    cases = [
        ({"tools": [{"type": "code_interpreter"}]}, "tools[0].type"),
        ({"tools": [{"type": "function", "function": {"description": "no name"}}]}, "tools[0].function.name"),
        (
            {"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "array"}}}]},
            "tools[0].function.parameters",
        ),
        ({"tools": [tool, tool]}, "tools[1].function.name"),
        ({"tools": [tool], "tool_choice": {"type": "function", "function": {"name": "g"}}}, "tool_choice"),
        ({"tools": [tool], "tool_choice": "sometimes"}, "tool_choice"),
        ({"tool_choice": "required"}, "tool_choice"),
        ({"tools": [tool], "response_format": {"type": "json_object"}}, "response_format"),
        ({"stream_options": {"include_usage": True}}, "stream_options"),
        (
            {"messages": [*MESSAGES, bad_call, {"role": "tool", "tool_call_id": "c1", "content": "1"}]},
            "messages[2].tool_calls[0].function.arguments",
        ),
    ]
    for fields, param in cases:
        with pytest.raises(openai.BadRequestError) as caught:
            base_server.chat.completions.create(**{"model": "", "messages": MESSAGES, "max_tokens": 2, **fields})
        assert caught.value.body["param"] == param, (fields, caught.value.body)
        assert param.split("[")[0].split(".")[0] in caught.value.body["message"]
    # a conversation with a call and its result renders on a plain model (as the tool_call task does)
    called = {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
    }
    reply = base_server.chat.completions.create(
        model="", messages=[*MESSAGES, called, {"role": "tool", "tool_call_id": "c1", "content": "1"}], max_tokens=2
    )
    assert reply.choices[0].message.tool_calls is None  # no tools offered: content
