"""Request guards that run before any route: the API key and the body size limit.

Both are plain ASGI middleware, so they answer before a body is parsed or a model is touched, and
they cover every path, unknown ones included:

- ``ApiKeyMiddleware``: when a key is set, a request must send ``Authorization: Bearer <key>``
  (compared in constant time) or it gets 401 in the error shape. ``/healthz`` stays open so a
  load balancer or orchestrator can probe the server without the secret; ``/metrics`` needs the
  key like every other path (a Prometheus scrape config can send it as a bearer token).
- ``BodyLimitMiddleware``: a body larger than ``max_bytes`` gets 413 - at once when its
  ``Content-Length`` says so, else as soon as the bytes read pass the limit (chunked uploads).
  The body is read here (it is small by construction) and handed on unchanged; after it, the
  route sees the client's own messages, so a disconnect still reaches a streaming response.
"""

from __future__ import annotations

import hmac
from typing import Any, Awaitable, Callable

from brewslm.serving.errors import ApiError, bad_request, too_large, unauthorized

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

OPEN_PATHS = frozenset({"/healthz"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


async def send_error(error: ApiError, scope: Scope, receive: Receive, send: Send) -> None:
    await error.response()(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def bearer_token(authorization: str | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header (scheme case-insensitive)."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    return (token.strip() or None) if scheme.lower() == "bearer" else None


def key_matches(expected: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(expected.encode("utf-8"), given.encode("utf-8"))


def api_paths_only(prefixes: tuple[str, ...]) -> Callable[[str], bool]:
    """A ``guarded`` predicate for an app that also hosts the web UI: the API's paths get these
    guards, the UI's pages keep their own (a login cookie, their own upload limit)."""
    return lambda path: path.startswith(prefixes)


class ApiKeyMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        api_key: str | None,
        open_paths: frozenset[str] = OPEN_PATHS,
        guarded: Callable[[str], bool] | None = None,
    ):
        self.app = app
        self.api_key = api_key
        self.open_paths = open_paths
        self.guarded = guarded

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or self.api_key is None
            or scope["path"] in self.open_paths
            or (self.guarded is not None and not self.guarded(scope["path"]))
        ):
            await self.app(scope, receive, send)
            return
        if not key_matches(self.api_key, bearer_token(_header(scope, b"authorization"))):
            await send_error(unauthorized(), scope, receive, send)
            return
        await self.app(scope, receive, send)


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_bytes: int, guarded: Callable[[str], bool] | None = None):
        self.app = app
        self.max_bytes = max_bytes
        self.guarded = guarded

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] not in BODY_METHODS
            or (self.guarded is not None and not self.guarded(scope["path"]))
        ):
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None:
            if not declared.strip().isdigit():
                await send_error(
                    bad_request(f"Content-Length '{declared}' is not a number of bytes"), scope, receive, send
                )
                return
            if int(declared) > self.max_bytes:
                await send_error(too_large(self.max_bytes), scope, receive, send)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return  # the client left before sending its body: nobody to answer
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await send_error(too_large(self.max_bytes), scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        await self.app(scope, _replay(b"".join(chunks), receive), send)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the buffered body once, then the client's own messages (a
    disconnect, for a streaming response to notice)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


__all__ = ["ApiKeyMiddleware", "BodyLimitMiddleware", "OPEN_PATHS", "bearer_token", "key_matches"]
