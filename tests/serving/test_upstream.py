"""A server in front of another engine (``serving.upstream``): the front holds tokenizers and task
parts but no weights, and runs every request on a real OpenAI-compatible server - here a second
``brewslm serve`` on a loopback port (vLLM speaks the same token-id completions; its own hand-off
is measured by ``bench/vllm_handoff.py``). The front's answers must be the upstream's own."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Iterator

import httpx
import openai
import pytest

from brewslm.serving.app import create_app
from brewslm.serving.served import ServedModels
from brewslm.serving.settings import server_settings
from brewslm.serving.upstream import UpstreamEngine

MESSAGES = [{"role": "user", "content": "a wonderful, moving film"}]


@pytest.fixture(scope="module")
def servers(sentiment_run: Path, serve: Callable[..., Any]) -> Iterator[SimpleNamespace]:
    upstream_models = ServedModels.load([str(sentiment_run)])
    upstream_app = create_app(upstream_models, server_settings(api_key="upstream-key", max_tokens_limit=256))
    with serve(upstream_app) as upstream_url:
        front_models = ServedModels.load([str(sentiment_run)], weights=False)
        engine = UpstreamEngine(front_models, upstream_url, api_key="upstream-key")
        front_app = create_app(front_models, server_settings(api_key="", max_tokens_limit=256), engine=engine)
        with serve(front_app) as front_url:
            yield SimpleNamespace(
                front=httpx.Client(base_url=front_url, timeout=60),
                upstream=httpx.Client(
                    base_url=upstream_url, timeout=60, headers={"Authorization": "Bearer upstream-key"}
                ),
                front_url=front_url,
                front_models=front_models,
            )


def _ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()


def test_the_front_loads_no_weights_and_serves_the_same_ids(servers: SimpleNamespace) -> None:
    assert all(served.model is None for served in servers.front_models)
    front = [m["id"] for m in _ok(servers.front.get("/v1/models"))["data"]]
    upstream = [m["id"] for m in _ok(servers.upstream.get("/v1/models"))["data"]]
    assert front == upstream == ["sentiment", "tiny-base"]


def test_classify_through_the_front_equals_the_upstream(servers: SimpleNamespace) -> None:
    texts = ["a wonderful, moving film", "dull and far too long"]
    front = _ok(servers.front.post("/v1/classify", json={"model": "sentiment", "inputs": texts}))["results"]
    direct = _ok(servers.upstream.post("/v1/classify", json={"model": "sentiment", "inputs": texts}))["results"]
    for mine, theirs in zip(front, direct):
        assert mine["label"] == theirs["label"]
        for label, p in theirs["probabilities"].items():
            assert math.isclose(mine["probabilities"][label], p, abs_tol=1e-5)


def test_chat_plain_streamed_and_schema_constrained_equal_the_upstream(servers: SimpleNamespace) -> None:
    client = openai.OpenAI(base_url=f"{servers.front_url}/v1", api_key="x", max_retries=0, timeout=60)
    body = {"model": "sentiment", "messages": MESSAGES, "max_tokens": 10}
    direct = _ok(servers.upstream.post("/v1/chat/completions", json=body))
    mine = client.chat.completions.create(**body)
    assert mine.choices[0].message.content == direct["choices"][0]["message"]["content"]
    assert mine.usage.prompt_tokens == direct["usage"]["prompt_tokens"]
    assert mine.usage.completion_tokens == direct["usage"]["completion_tokens"]
    streamed = list(client.chat.completions.create(**body, stream=True))
    assert (
        "".join(c.choices[0].delta.content or "" for c in streamed if c.choices)
        == direct["choices"][0]["message"]["content"]
    )
    schema = {"type": "object", "properties": {"label": {"enum": ["negative", "positive"]}}, "required": ["label"]}
    constrained = {
        **body,
        "max_tokens": 40,
        "response_format": {"type": "json_schema", "json_schema": {"name": "x", "schema": schema}},
    }
    assert (
        client.chat.completions.create(**constrained).choices[0].message.content
        == _ok(servers.upstream.post("/v1/chat/completions", json=constrained))["choices"][0]["message"]["content"]
    )


def test_completion_logprobs_are_relayed(servers: SimpleNamespace) -> None:
    body = {"model": "tiny-base", "prompt": "The quick brown fox", "max_tokens": 5, "logprobs": 0, "echo": True}
    mine = _ok(servers.front.post("/v1/completions", json=body))["choices"][0]
    theirs = _ok(servers.upstream.post("/v1/completions", json=body))["choices"][0]
    assert mine["text"] == theirs["text"] and mine["logprobs"]["tokens"] == theirs["logprobs"]["tokens"]
    assert mine["logprobs"]["token_logprobs"][1:] == pytest.approx(theirs["logprobs"]["token_logprobs"][1:], abs=1e-5)
    refused = servers.front.post("/v1/completions", json={**body, "logprobs": 2})
    assert refused.status_code == 400 and "upstream" in refused.json()["error"]["message"]


def test_an_unreachable_upstream_is_a_503(sentiment_run: Path, serve: Callable[..., Any]) -> None:
    models = ServedModels.load([str(sentiment_run)], weights=False)
    app = create_app(models, server_settings(api_key=""), engine=UpstreamEngine(models, "http://127.0.0.1:9"))
    with serve(app) as url:
        response = httpx.post(f"{url}/v1/chat/completions", json={"messages": MESSAGES, "max_tokens": 4}, timeout=30)
    assert response.status_code == 503 and "cannot be reached" in response.json()["error"]["message"]
