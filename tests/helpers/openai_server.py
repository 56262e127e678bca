"""A tiny OpenAI-compatible server on 127.0.0.1 for tests of the endpoint teacher: it implements
``POST /v1/chat/completions`` (the reply is the test's ``reply(body, headers) -> (status,
payload)``) and ``GET /v1/models``, and records every request.

    with openai_server() as server:
        server.reply = lambda body, headers: (200, chat("A", {"A": -0.1, "B": -3.0}))
        ... teacher={"url": server.url, "model": "m"} ...
"""

from __future__ import annotations

import contextlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Iterator

import pytest


class FakeServer:
    """A tiny OpenAI-compatible server; ``reply(body, headers) -> (status, payload)`` decides."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any], dict[str, str]]] = []
        self.reply: Callable[[dict[str, Any], dict[str, str]], tuple[int, Any]] = lambda body, headers: (200, chat("A"))
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, payload: Any) -> None:
                raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(raw)))
                    self.end_headers()
                    self.wfile.write(raw)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (timeout test)

            def do_GET(self) -> None:
                server.requests.append((self.path, {}, dict(self.headers)))
                if self.path == "/v1/models":
                    self._answer(200, {"object": "list", "data": [{"id": "tiny-listed", "object": "model"}]})
                else:
                    self._answer(404, {"error": {"message": "not found"}})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                server.requests.append((self.path, body, dict(self.headers)))
                if self.path != "/v1/chat/completions":
                    self._answer(404, {"error": {"message": "not found"}})
                    return
                status, payload = server.reply(body, dict(self.headers))
                self._answer(status, payload)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def chat(text: str, logprobs: dict[str, float] | None = None) -> dict[str, Any]:
    choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
    if logprobs is not None:
        first = text.strip()[:1]
        choice["logprobs"] = {
            "content": [
                {
                    "token": first,
                    "logprob": logprobs.get(first, -9.0),
                    "top_logprobs": [{"token": k, "logprob": v} for k, v in logprobs.items()],
                }
            ]
        }
    return {"id": "x", "object": "chat.completion", "choices": [choice]}


@contextlib.contextmanager
def openai_server() -> Iterator[FakeServer]:
    fake = FakeServer()
    try:
        yield fake
    finally:
        fake.close()


@pytest.fixture
def server() -> Iterator[FakeServer]:
    with openai_server() as fake:
        yield fake
