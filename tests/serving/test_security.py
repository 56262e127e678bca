"""Security and limits against a real server: the API key (401; /healthz open), malformed (400),
schema-violating (422) and oversize (413) requests, max_tokens above the limit (400), timeouts
(504), errors that never leak a traceback (500), and a client that leaves mid-stream."""

from __future__ import annotations

import json
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Iterator

import httpx
import openai
import pytest

from brewslm.errors import ConfigError
from brewslm.serving.app import create_app
from brewslm.serving.served import ServedModels
from brewslm.serving.settings import ServerSettings, server_settings

KEY = "s3cret-key"
LIMIT_BYTES = 4096
CHAT = {"messages": [{"role": "user", "content": "hello there"}], "max_tokens": 4}


@pytest.fixture(scope="module")
def server(served_base_dir: Path, serve: Callable[..., Any]) -> Iterator[SimpleNamespace]:
    models = ServedModels.load([str(served_base_dir)])
    app = create_app(
        models, server_settings(api_key=KEY, max_request_bytes=LIMIT_BYTES, max_tokens_limit=256, max_inputs=2)
    )
    with serve(app) as url:
        http = httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}, timeout=60)
        yield SimpleNamespace(url=url, http=http, state=app.state.brewslm, model=models.ids()[0])
        http.close()


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    """The OpenAI-shaped error of a response that must have ``status`` (and no traceback)."""
    assert response.status_code == status, response.text
    assert "Traceback" not in response.text
    body = response.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "type", "param", "code"}
    assert "\n" not in body["error"]["message"]
    return body["error"]


def test_settings_take_the_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BREWSLM_API_KEY", "from-env")
    settings = server_settings()
    assert settings.key == "from-env" and "from-env" not in repr(settings)
    assert settings.host == "127.0.0.1" and not settings.exposed_without_key
    monkeypatch.setenv("BREWSLM_API_KEY", "")
    assert server_settings().key is None
    assert server_settings(host="0.0.0.0").exposed_without_key
    with pytest.raises(ConfigError, match="option 'port'"):
        server_settings(port=70000)
    with pytest.raises(ConfigError, match="default_max_tokens"):
        server_settings(default_max_tokens=100, max_tokens_limit=10)
    with pytest.raises(ConfigError, match="did you mean 'max_batch_size'"):
        server_settings(max_batchsize=4)
    assert ServerSettings.model_fields["request_timeout_s"].description  # the --help line


def test_requests_need_the_key_except_healthz(server: SimpleNamespace) -> None:
    bare = httpx.Client(base_url=server.url, timeout=30)
    for method, path in (
        ("GET", "/v1/models"),
        ("POST", "/v1/chat/completions"),
        ("GET", "/metrics"),
        ("GET", "/no/such/path"),
    ):
        error = error_of(bare.request(method, path, json=CHAT if method == "POST" else None), 401)
        assert error["code"] == "invalid_api_key"
    assert error_of(bare.get("/v1/models", headers={"Authorization": "Bearer wrong"}), 401)
    assert error_of(bare.get("/v1/models", headers={"Authorization": KEY}), 401)  # not a Bearer header
    health = bare.get("/healthz")
    assert health.status_code == 200 and health.json() == {"status": "ok", "models": [server.model]}
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{server.url}/v1", api_key="wrong", max_retries=0).models.list()
    client = openai.OpenAI(base_url=f"{server.url}/v1", api_key=KEY, max_retries=0)
    assert [m.id for m in client.models.list().data] == [server.model]
    bare.close()


def test_malformed_json_is_400_and_schema_violations_422(server: SimpleNamespace) -> None:
    broken = server.http.post(
        "/v1/chat/completions", content=b'{"messages": [', headers={"Content-Type": "application/json"}
    )
    assert error_of(broken, 400)["code"] == "invalid_json"
    missing = error_of(server.http.post("/v1/chat/completions", json={"max_tokens": 4}), 422)
    assert missing["param"] == "messages" and "required" in missing["message"]
    bad_role = error_of(
        server.http.post("/v1/chat/completions", json={"messages": [{"role": "wizard", "content": "x"}]}), 422
    )
    assert bad_role["param"] == "messages[0].role"  # as OpenAI names it
    typo = error_of(server.http.post("/v1/chat/completions", json={**CHAT, "temprature": 0.5}), 422)
    assert typo["param"] == "temprature"
    zero = error_of(server.http.post("/v1/chat/completions", json={**CHAT, "max_tokens": 0}), 422)
    assert zero["param"] == "max_tokens"
    not_object = error_of(server.http.post("/v1/completions", json=["prompt"]), 422)
    assert "must be a JSON object" in not_object["message"]
    as_text = error_of(
        server.http.post(
            "/v1/chat/completions", content=json.dumps(CHAT).encode(), headers={"Content-Type": "text/plain"}
        ),
        422,
    )
    assert "Content-Type: application/json" in as_text["message"]
    image = {"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]}
    assert error_of(server.http.post("/v1/chat/completions", json=image), 422)["param"] == "messages[0].content"


def test_an_empty_body_and_nan_are_malformed_json_400(server: SimpleNamespace) -> None:
    # both were 422s: an empty body read as a missing body, NaN as a wrong type (Python parses it)
    for path in ("/v1/chat/completions", "/v1/classify"):
        empty = error_of(server.http.post(path, content=b"", headers={"Content-Type": "application/json"}), 400)
        assert empty["code"] == "invalid_json" and "empty" in empty["message"]
    assert error_of(server.http.post("/v1/completions"), 400)["code"] == "invalid_json"  # no body, no type
    for constant in (b"NaN", b"Infinity", b"-Infinity"):
        body = b'{"messages": [{"role": "user", "content": "hi"}], "temperature": ' + constant + b"}"
        for raw in (body, b'{"messages": ' + constant + b"}"):
            error = error_of(
                server.http.post("/v1/chat/completions", content=raw, headers={"Content-Type": "application/json"}), 400
            )
            assert error["code"] == "invalid_json" and constant.decode().lstrip("-") in error["message"]
    # a JSON null is valid JSON that is not an object: still the schema's 422
    assert error_of(
        server.http.post("/v1/chat/completions", content=b"null", headers={"Content-Type": "application/json"}), 422
    )


def test_requests_above_the_limits_are_400(server: SimpleNamespace) -> None:
    error = error_of(server.http.post("/v1/chat/completions", json={**CHAT, "max_tokens": 257}), 400)
    assert error["param"] == "max_tokens" and "256" in error["message"]
    error = error_of(server.http.post("/v1/completions", json={"prompt": "hi", "max_tokens": 10_000}), 400)
    assert error["code"] == "max_tokens_too_large"
    error = error_of(server.http.post("/v1/completions", json={"prompt": ["a", "b", "c"], "max_tokens": 2}), 400)
    assert error["param"] == "prompt" and "at most 2" in error["message"]


def test_oversize_bodies_are_413(server: SimpleNamespace) -> None:
    big = {"messages": [{"role": "user", "content": "x" * (2 * LIMIT_BYTES)}]}
    assert error_of(server.http.post("/v1/chat/completions", json=big), 413)["code"] == "request_too_large"

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit is found while reading
        yield b'{"messages": [{"role": "user", "content": "'
        for _ in range(8):
            yield b"y" * 1024
        yield b'"}]}'

    assert error_of(
        server.http.post("/v1/chat/completions", content=chunks(), headers={"Content-Type": "application/json"}), 413
    )
    small = server.http.post("/v1/chat/completions", json=CHAT)
    assert small.status_code == 200


def test_unknown_paths_and_methods(server: SimpleNamespace) -> None:
    assert error_of(server.http.get("/v1/nothing-here"), 404)["code"] == "unknown_url"
    assert error_of(server.http.get("/v1/chat/completions"), 405)["code"] == "method_not_allowed"


def test_an_unexpected_failure_is_a_500_without_details(
    server: SimpleNamespace, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(request: Any) -> Any:
        raise RuntimeError("internal detail that must not leak")

    monkeypatch.setattr(server.state.engine, "generate", broken)
    error = error_of(server.http.post("/v1/chat/completions", json=CHAT), 500)
    assert error["type"] == "server_error" and "internal detail" not in error["message"]


def test_slow_requests_time_out_with_504(server: SimpleNamespace, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(server.state, "settings", server.state.settings.model_copy(update={"request_timeout_s": 1e-4}))
    error = error_of(server.http.post("/v1/chat/completions", json={**CHAT, "max_tokens": 200}), 504)
    assert error["code"] == "timeout"
    with server.http.stream("POST", "/v1/chat/completions", json={**CHAT, "max_tokens": 200, "stream": True}) as stream:
        events = [line[len("data: ") :] for line in stream.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]" and json.loads(events[-2])["error"]["code"] == "timeout"


def test_the_server_survives_a_client_that_leaves_mid_stream(server: SimpleNamespace) -> None:
    cancelled_before = server.state.engine.stats()["cancelled"]
    with server.http.stream("POST", "/v1/chat/completions", json={**CHAT, "max_tokens": 250, "stream": True}) as stream:
        first = next(line for line in stream.iter_lines() if line.startswith("data: "))
        assert json.loads(first[len("data: ") :])["choices"][0]["delta"]["role"] == "assistant"
    # the stream is closed after one event; the row leaves its batch and the server goes on
    reply = server.http.post("/v1/chat/completions", json=CHAT)
    assert reply.status_code == 200 and reply.json()["choices"][0]["message"]["role"] == "assistant"
    deadline = time.monotonic() + 20
    while server.state.engine.stats()["cancelled"] == cancelled_before and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.state.engine.stats()["cancelled"] > cancelled_before
    assert server.http.get("/healthz").json()["status"] == "ok"
