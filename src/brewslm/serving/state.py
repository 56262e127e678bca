"""What every route shares: the server's state and the steps each request repeats.

``create_app`` stores a ``ServerState`` (the served models, the batching engine, the settings, the
metrics) on the app; a route gets it with ``server_state(request)`` and then:

- ``state.models.get(id)``: the model a request names (None: the default); an unknown id is
  ``ModelNotFound``, answered 404 ``model_not_found`` (``errors.error_for``);
- ``reply_budget(state, requested, default)``: the ``max_tokens`` to generate, 400 above the
  server's limit;
- ``generate(state, request)``: one generation through the engine within the request timeout
  (504 after it), its tokens counted in the metrics;
- ``within_timeout(state, awaitable)``: any engine call under the same timeout.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Awaitable, TypeVar

from fastapi import Request
from pydantic import BaseModel

from brewslm.serving.errors import bad_request, timed_out
from brewslm.serving.metrics import ServerMetrics
from brewslm.serving.settings import ServerSettings

if TYPE_CHECKING:
    from brewslm.serving.engine import Engine, GenerateRequest, GenerateResult
    from brewslm.serving.served import ServedModels

T = TypeVar("T")


@dataclass
class ServerState:
    models: "ServedModels"
    engine: "Engine"
    settings: ServerSettings
    metrics: ServerMetrics
    ready: bool = False  # the engine has started (lifespan startup done)
    created: int = field(default_factory=lambda: int(time.time()))  # when the models were loaded (/v1/models)


def server_state(request: Request) -> ServerState:
    return request.app.state.brewslm


def reply_budget(state: ServerState, requested: int | None, default: int, param: str = "max_tokens") -> int:
    value = default if requested is None else requested
    limit = state.settings.max_tokens_limit
    if value > limit:
        raise bad_request(
            f"{param} is {value}, above this server's limit of {limit}; ask for at most {limit}",
            param=param,
            code="max_tokens_too_large",
        )
    return value


async def within_timeout(state: ServerState, awaitable: Awaitable[T]) -> T:
    try:
        return await asyncio.wait_for(awaitable, state.settings.request_timeout_s)
    except asyncio.TimeoutError:
        raise timed_out(state.settings.request_timeout_s) from None


async def generate(state: ServerState, request: "GenerateRequest") -> "GenerateResult":
    result = await within_timeout(state, state.engine.generate(request))
    state.metrics.observe_tokens(request.model, result.prompt_tokens, result.completion_tokens)
    return result


class Usage(BaseModel):
    """OpenAI's usage object: the tokens one request read and wrote."""

    prompt_tokens: int
    completion_tokens: int
    total_tokens: int

    @classmethod
    def of(cls, prompt_tokens: int, completion_tokens: int) -> "Usage":
        return cls(
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            total_tokens=prompt_tokens + completion_tokens,
        )


__all__ = ["ServerState", "Usage", "generate", "reply_budget", "server_state", "within_timeout"]
