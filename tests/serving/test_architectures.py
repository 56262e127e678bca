"""Serving works on every architecture BrewSLM supports (Llama, Qwen2, Qwen3, Gemma 2, Gemma 3,
Phi-3, Mistral - tiny random models from ``helpers.tiny_architectures``): a chat completion through
the FastAPI app, formatted by the model's own chat template, returns text; a conversation the
template cannot render (Gemma 2 has no system role) is a one-line 400, not a server error."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from brewslm.serving.app import create_app
from brewslm.serving.served import ServedModels
from brewslm.serving.settings import server_settings
from helpers.tiny_architectures import ARCHITECTURES, TinyArchitectureDirs, tiny_architecture_dirs  # noqa: F401


def client_for(name: str, dirs: TinyArchitectureDirs) -> tuple[TestClient, str]:
    client = TestClient(create_app(ServedModels.load([str(dirs[name])]), server_settings(api_key="")))
    return client, client.get("/v1/models").json()["data"][0]["id"]


@pytest.mark.parametrize("name", ARCHITECTURES)
def test_a_chat_completion_returns_text(name: str, tiny_architecture_dirs: TinyArchitectureDirs) -> None:
    client, model = client_for(name, tiny_architecture_dirs)
    response = client.post(
        "/v1/chat/completions",
        json={
            "model": model,
            "max_tokens": 5,
            "messages": [{"role": "user", "content": "What is the capital of France?"}],
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert isinstance(body["choices"][0]["message"]["content"], str)
    assert 1 <= body["usage"]["completion_tokens"] <= 5
    assert body["choices"][0]["finish_reason"] in ("stop", "length")


def test_a_system_message_gemma2_cannot_render_is_a_one_line_400(tiny_architecture_dirs: TinyArchitectureDirs) -> None:
    client, model = client_for("gemma2", tiny_architecture_dirs)
    response = client.post(
        "/v1/chat/completions",
        json={
            "model": model,
            "max_tokens": 3,
            "messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
        },
    )
    assert response.status_code == 400, response.text
    message = response.json()["error"]["message"]
    assert "System role not supported" in message and "\n" not in message
