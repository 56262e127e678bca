"""The engine on the tiny models: dynamic batches give the replies each request gets alone
(greedy, seeded sampling, several adapters in one window), streaming yields the same text as it
is made, a closed stream leaves its batch, stop strings and JSON constraints hold, errors stay
with their request, and label scoring batches requests."""

from __future__ import annotations

import asyncio
import json
from typing import Any, Awaitable

import pytest

from brewslm.errors import ConfigError
from brewslm.inference.constrained import JsonConstraint
from brewslm.inference.generation import ReplyText
from brewslm.inference.label_scoring import score_labels
from brewslm.serving.engine import Engine, EngineStopped, GenerateRequest, GenerateResult
from brewslm.serving.served import ModelNotFound, ServedModels

QUESTIONS = [
    "hi",
    "Classify the sentiment: a wonderful, moving film",
    "tokens, tags, text, label",
    "My parcel arrived late and the box was damaged; I want a refund. What should I do next?",
    "What is the capital of France?",
    "ok?",
]


@pytest.fixture(scope="module")
def served(sentiment_run, qa_run) -> ServedModels:
    return ServedModels.load([str(sentiment_run), str(qa_run)])


def run(coroutine: Awaitable[Any]) -> Any:
    return asyncio.run(coroutine)


def requests(served: ServedModels, model: str | None = None, *, max_new_tokens: int = 24, **fields: Any):
    target = served.get(model)
    return [
        GenerateRequest(model, target.chat_prompt_ids([{"role": "user", "content": q}]), max_new_tokens, **fields)
        for q in QUESTIONS
    ]


async def together(engine: Engine, batch: list[GenerateRequest]) -> list[GenerateResult]:
    return list(await asyncio.gather(*(engine.generate(r) for r in batch)))


def gathering(size: int) -> dict[str, Any]:
    """Engine settings under which ``size`` requests sent together always make one batch, however
    slowly a busy machine submits them: a long window, closed as soon as the batch is full."""
    return {"window_ms": 5000, "max_batch_size": size}


async def answers(
    served: ServedModels, batch: list[GenerateRequest], **settings: Any
) -> tuple[list[GenerateResult], dict]:
    async with Engine(served, **settings) as engine:
        results = await together(engine, batch)
        return results, engine.stats()


def test_batched_greedy_replies_equal_one_at_a_time(served):
    batch = requests(served)
    batched, stats = run(answers(served, batch, **gathering(len(batch))))
    alone, alone_stats = run(answers(served, batch, batching=False))
    assert batched == alone
    assert len({r.text for r in batched}) > 3  # the replies depend on the prompt: the comparison means something
    assert stats["batch_sizes"] == {len(batch): 1} and alone_stats["batch_sizes"] == {1: len(batch)}
    assert stats["completed"] == len(batch) and stats["generated_tokens"] == sum(r.completion_tokens for r in batched)
    for request, result in zip(batch, batched):
        assert result.prompt_tokens == len(request.prompt_ids)
        assert result.finish_reason == ("stop" if result.completion_tokens < 24 else "length")


def test_several_adapters_and_the_base_in_one_window(served, served_base_dir):
    mixed = [request for model in ("sentiment", "qa", served_base_dir.name) for request in requests(served, model)[:3]]
    results, stats = run(answers(served, mixed, **gathering(len(mixed))))
    for model in ("sentiment", "qa", served_base_dir.name):
        alone, _ = run(answers(served, [r for r in mixed if r.model == model], batching=False))
        assert [result for result, r in zip(results, mixed) if r.model == model] == alone
    assert stats["batch_sizes"] == {3: 3}  # one batch per model, adapters switched between them
    assert {r.text for r in results[:3]} != {r.text for r in results[3:6]}


def test_sampling_is_seeded_per_request_not_per_batch(served):
    batch = requests(served, temperature=1.0, seed=7)
    batched, _ = run(answers(served, batch, **gathering(len(batch))))
    alone, _ = run(answers(served, batch, batching=False))
    assert batched == alone
    reseeded, _ = run(answers(served, requests(served, temperature=1.0, seed=8), batching=False))
    assert reseeded != alone


def test_top_p_is_per_request(served):
    narrow = requests(served, temperature=1.0, seed=7, top_p=1e-6)  # a nucleus of one token: greedy
    nucleus = requests(served, temperature=1.0, seed=7, top_p=0.5)
    batch = [request for pair in zip(narrow, nucleus) for request in pair]
    batched, _ = run(answers(served, batch, **gathering(len(batch))))
    alone, _ = run(answers(served, batch, batching=False))
    assert batched == alone
    greedy, _ = run(answers(served, requests(served), batching=False))
    assert batched[::2] == greedy


def test_streams_yield_the_reply_as_it_is_made(served):
    request = requests(served, "qa", max_new_tokens=32)[3]

    async def scenario():
        async with Engine(served) as engine:
            whole = await engine.generate(request)
            stream = engine.stream(request)
            deltas = [delta async for delta in stream]
            return whole, deltas, stream.result

    whole, deltas, result = run(scenario())
    assert len(deltas) > 3 and "".join(deltas) == whole.text
    assert result == whole


def test_stop_strings_end_the_reply_before_them(served):
    plain = requests(served, max_new_tokens=32)

    async def scenario():
        async with Engine(served) as engine:
            full = await together(engine, plain)
            index, text = next((i, r.text) for i, r in enumerate(full) if len(r.text) > 8)
            stop = text[5:8]
            request = GenerateRequest(None, plain[index].prompt_ids, 32, stop=("never there", stop))
            stopped = await engine.generate(request)
            stream = engine.stream(request)
            deltas = [delta async for delta in stream]
            return text, stop, stopped, deltas

    text, stop, stopped, deltas = run(scenario())
    assert stopped.text == text[: text.index(stop)] and stopped.finish_reason == "stop"
    assert "".join(deltas) == stopped.text  # a stop string's head is held back, never streamed


def streamed(tokenizer, text: str, stop: tuple[str, ...] = ()) -> tuple[list[str], ReplyText]:
    """``text``'s tokens fed one by one, as decoding feeds them: the deltas handed out."""
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    reply, deltas = ReplyText(tokenizer, stop), []
    for end in range(1, len(ids) + 1):
        if reply.update(ids[:end]):
            break
        deltas.append(reply.new_text(final=False))
    deltas.append(reply.new_text(final=True))
    return [d for d in deltas if d], reply


def test_streamed_text_never_splits_a_character_or_leaks_a_stop_string(served):
    tokenizer = served.get("sentiment").tokenizer
    text = "Crème brûlée 😀 costs 5€ - END of the reply"
    deltas, reply = streamed(tokenizer, text)
    assert "".join(deltas) == text and not reply.stopped
    assert all("\ufffd" not in d for d in deltas) and len(deltas) > 5
    deltas, reply = streamed(tokenizer, text, stop=("- END", "never"))
    assert reply.stopped and reply.text == "".join(deltas) == "Crème brûlée 😀 costs 5€ "


def test_closing_a_stream_takes_its_row_out_of_the_batch(served):
    long_request = requests(served, max_new_tokens=400)[1]
    mate = requests(served, max_new_tokens=24)[2]

    async def scenario():
        async with Engine(served, **gathering(2)) as engine:
            stream = engine.stream(long_request)
            mate_reply = asyncio.ensure_future(engine.generate(mate))
            first = await stream.__anext__()
            await stream.aclose()
            mate_result = await mate_reply
            after, _ = await together(engine, [mate, mate])  # the engine goes on serving
            for _ in range(100):
                if engine.stats()["cancelled"]:
                    break
                await asyncio.sleep(0.01)
            return first, mate_result, after, engine.stats()

    first, mate_result, after, stats = run(scenario())
    alone, _ = run(answers(served, [mate], batching=False))
    assert first and mate_result == after == alone[0]
    assert stats["cancelled"] == 1 and stats["batch_sizes"] == {2: 2}
    assert stats["generated_tokens"] < 400  # the closed stream stopped long before its budget


def test_a_cancelled_generate_call_leaves_its_batch(served):
    request = requests(served, max_new_tokens=2000)[0]

    async def scenario():
        async with Engine(served) as engine:
            with pytest.raises(asyncio.TimeoutError):
                await asyncio.wait_for(engine.generate(request), timeout=0.3)
            for _ in range(200):
                if engine.stats()["cancelled"]:
                    break
                await asyncio.sleep(0.01)
            return engine.stats()

    stats = run(scenario())
    assert stats["cancelled"] == 1 and stats["generated_tokens"] < 2000


def test_json_constraints_hold_per_row(served):
    schema = {
        "type": "object",
        "properties": {"answer": {"type": "string"}, "score": {"type": "integer"}},
        "required": ["answer", "score"],
    }
    batch = requests(served, "qa", max_new_tokens=48)[:3]
    constrained = [GenerateRequest(r.model, r.prompt_ids, 48, constraint=JsonConstraint(schema)) for r in batch[:2]]
    results, _ = run(answers(served, constrained + batch[2:], **gathering(3)))
    for result in results[:2]:
        if result.finish_reason == "stop":
            assert set(json.loads(result.text)) == {"answer", "score"}
        else:  # the budget ran out inside the document: still a valid prefix
            assert result.text.lstrip().startswith("{")
    assert results[2] == run(answers(served, batch[2:], batching=False))[0][0]


def test_errors_stay_with_their_request(served):
    good = requests(served, max_new_tokens=8)[:2]
    bad = GenerateRequest(None, good[0].prompt_ids, 8, constraint=JsonConstraint({"type": "nonsense"}))

    async def scenario():
        async with Engine(served, **gathering(3)) as engine:
            return await asyncio.gather(*(engine.generate(r) for r in [good[0], bad, good[1]]), return_exceptions=True)

    first, error, second = run(scenario())
    assert isinstance(error, ConfigError) and "Invalid type: nonsense" in str(error)
    assert [first, second] == run(answers(served, good, batching=False))[0]


@pytest.mark.parametrize(
    "fields, error, message",
    [
        ({"model": "nope"}, ModelNotFound, "'nope' is not served here"),
        ({"prompt_ids": []}, ConfigError, "the prompt has no tokens"),
        ({"prompt_ids": [1, 10**6]}, ConfigError, "outside model 'sentiment''s vocabulary"),
        ({"max_new_tokens": 0}, ConfigError, "max_new_tokens is 0"),
        ({"max_new_tokens": 8190}, ConfigError, "exceed model 'sentiment''s context of 8192 tokens"),
        ({"temperature": -1.0}, ConfigError, "temperature is -1.0"),
        ({"temperature": 1.0, "top_p": 0.0}, ConfigError, "top_p is 0.0"),
    ],
)
def test_bad_requests_fail_before_they_queue(served, fields, error, message):
    request = GenerateRequest(**{"model": None, "prompt_ids": [1, 2, 3, 4], "max_new_tokens": 4, **fields})

    async def scenario():
        async with Engine(served) as engine:
            with pytest.raises(error, match=message):
                engine.stream(request)
            with pytest.raises(error, match=message):
                await engine.generate(request)
            return engine.stats()

    assert run(scenario())["requests"] == 0


def test_label_scoring_requests_are_batched_and_exact(served):
    sentiment = served.get("sentiment")
    texts = ["a wonderful, moving film", "boring and far too long", "the best movie this year"]
    rendered = [sentiment.render({"text": t, "label": "negative"}) for t in texts]
    labels = ["negative", "positive"]

    async def scenario():
        async with Engine(served, **gathering(2)) as engine:
            parts = await asyncio.gather(
                engine.score_labels("sentiment", rendered[:1], labels),
                engine.score_labels("sentiment", rendered[1:], labels),
            )
            return parts[0] + parts[1], engine.stats()

    scores, stats = run(scenario())
    with sentiment.active():
        expected = score_labels(sentiment.model, sentiment.tokenizer, rendered, labels, max_seq_len=128)
    assert [s.best for s in scores] == [s.best for s in expected]
    for got, want in zip(scores, expected):
        assert got.logprobs == pytest.approx(want.logprobs, abs=1e-5)
    assert stats["batch_sizes"] == {2: 1}


def test_stopping_fails_what_is_queued_and_refuses_more(served):
    request = requests(served, max_new_tokens=2000)[0]

    async def scenario():
        engine = Engine(served)
        await engine.start()
        pending = asyncio.ensure_future(engine.generate(request))
        await asyncio.sleep(0.1)
        await engine.stop()
        with pytest.raises(EngineStopped):
            await pending
        with pytest.raises(EngineStopped):
            await engine.generate(request)

    run(scenario())
