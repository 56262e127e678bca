"""The OpenAI-compatible routes, called with the official ``openai`` client against a real uvicorn
server on a loopback port: two LoRA runs over one tiny base (three served ids), plain and
streaming chat, completions, model selection, JSON-constrained replies, stop strings, seeds and
the refusals of what the server does not do; request checks that need no fine-tune run against
the base alone (``base_server``)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Iterator

import jsonschema
import openai
import pytest

from brewslm.serving.app import create_app
from brewslm.serving.served import ServedModels
from brewslm.serving.settings import server_settings

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


def test_top_p_is_taken_with_greedy_decoding(base_server: openai.OpenAI) -> None:
    # greedy decoding picks the most likely token, which every nucleus holds: any top_p fits
    greedy = base_server.chat.completions.create(model="", messages=MESSAGES, max_tokens=4)
    for top_p in (5e-324, 0.5, 1.0):
        reply = base_server.chat.completions.create(model="", messages=MESSAGES, max_tokens=4, top_p=top_p)
        assert reply.choices[0].message.content == greedy.choices[0].message.content
    assert base_server.completions.create(model="", prompt="hello", max_tokens=2, top_p=5e-324).choices
    with pytest.raises(openai.BadRequestError) as caught:  # sampling draws from the top-k, not a nucleus
        base_server.chat.completions.create(model="", messages=MESSAGES, max_tokens=4, top_p=0.5, temperature=1.0)
    assert caught.value.body["param"] == "top_p"
    sampled = base_server.chat.completions.create(
        model="", messages=MESSAGES, max_tokens=4, top_p=1.0, temperature=1.0, seed=1
    )
    assert sampled.choices
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
    with pytest.raises(openai.BadRequestError) as caught:
        server.client.chat.completions.create(model=server.ids[0], messages=MESSAGES, n=2)
    assert caught.value.body["param"] == "n" and "not supported" in caught.value.body["message"]
    with pytest.raises(openai.BadRequestError) as caught:
        server.client.chat.completions.create(
            model=server.ids[0], messages=MESSAGES, tools=[{"type": "function", "function": {"name": "f"}}]
        )
    assert "/v1/tool_call" in caught.value.body["message"]
    with pytest.raises(openai.BadRequestError) as caught:
        server.client.completions.create(model=server.ids[2], prompt=["a", "b"], stream=True)
    assert caught.value.body["param"] == "prompt"
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
