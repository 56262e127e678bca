"""The HTTP app: OpenAI-compatible routes, task endpoints, health and metrics over served models.

    models = ServedModels.load(["intent", "runs/reviews-lora"])
    app = create_app(models, server_settings(port=8000))
    uvicorn.run(app, host=settings.host, port=settings.port)       # what `brewslm serve` does

``create_app`` wires the pieces together:

- the batching ``Engine`` over ``models`` (started and stopped with the app's lifespan);
- routes: ``openai_api`` (``/v1/models``, ``/v1/chat/completions``, ``/v1/completions``),
  ``tasks_api`` (``/v1/classify``, ``/v1/extract``, ``/v1/spans``, ``/v1/tool_call``,
  ``/v1/rag/answer``), ``GET /healthz`` (200 with the model ids once the engine runs, 503 before)
  and ``GET /metrics`` (Prometheus text, ``metrics``);
- middleware, outermost first: metrics (so refused requests are counted too), the API key
  (401), the body size limit (413) - see ``security``;
- error handlers: every failure is one JSON error in OpenAI's shape (``errors``).

The interactive docs (``/docs``, ``/openapi.json``) are off: the API is OpenAI's plus the task
endpoints documented in ``tasks_api``, and a smaller surface is a safer default.
"""

from __future__ import annotations

import contextlib
from typing import Any, AsyncIterator

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from brewslm import __version__
from brewslm.serving import openai_api, tasks_api
from brewslm.serving.errors import ApiRoute, install_error_handlers, unavailable
from brewslm.serving.metrics import MetricsMiddleware, ServerMetrics
from brewslm.serving.security import ApiKeyMiddleware, BodyLimitMiddleware, api_paths_only
from brewslm.serving.settings import ServerSettings
from brewslm.serving.state import ServerState, server_state


API_PREFIXES = ("/v1/", "/metrics")
"""The API's own paths: with the web UI mounted alongside, only these get the API key and body limits."""


def create_app(models: Any, settings: ServerSettings, *, ui: Any = None) -> FastAPI:
    """An app serving ``models`` (``ServedModels``) under ``settings``; run it with uvicorn.
    ``ui`` (``UISettings``): also serve the web UI under / (its Playground then talks to these
    models); the UI's pages keep their own access rules (login cookie, upload limit)."""
    from brewslm.serving.engine import Engine

    engine = Engine(models, batching=settings.batching, window_ms=settings.window_ms,
                    max_batch_size=settings.max_batch_size)
    state = ServerState(models=models, engine=engine, settings=settings, metrics=ServerMetrics(engine.stats))

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await engine.start()
        state.ready = True
        try:
            yield
        finally:
            state.ready = False
            await engine.stop()

    app = FastAPI(title="BrewSLM", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None,
                  openapi_url=None)
    app.state.brewslm = state
    app.router.route_class = ApiRoute
    app.include_router(openai_api.router)
    app.include_router(tasks_api.router)
    app.add_api_route("/healthz", healthz, methods=["GET"])
    app.add_api_route("/metrics", metrics, methods=["GET"])
    install_error_handlers(app)
    guarded = None
    if ui is not None:
        from brewslm.ui.app import mount_ui

        mount_ui(app, ui)
        guarded = api_paths_only(API_PREFIXES)
    # added last = runs first: count everything, then check the key, then the body size
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes, guarded=guarded)
    app.add_middleware(ApiKeyMiddleware, api_key=settings.key, guarded=guarded)
    app.add_middleware(MetricsMiddleware, metrics=state.metrics, endpoints=_paths(app))
    return app


async def healthz(request: Request) -> Response:
    state = server_state(request)
    if not state.ready:
        return unavailable("the server is starting or stopping").response()
    return JSONResponse({"status": "ok", "models": state.models.ids()})


async def metrics(request: Request) -> Response:
    body, content_type = server_state(request).metrics.exposition()
    return Response(body, media_type=content_type)


def _paths(app: FastAPI) -> list[str]:
    return [route.path for route in app.routes if "{" not in getattr(route, "path", "{")]


__all__ = ["create_app"]
