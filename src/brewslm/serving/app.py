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
- middleware, outermost first: metrics (so refused requests are counted too, under the route
  they were sent to), the API key (401), the body size limit (413) - see ``security``;
- error handlers: every failure is one JSON error in OpenAI's shape (``errors``).

``GET /openapi.json`` is FastAPI's schema of the API, for clients, code generators and fuzzers:
each route documents the errors it may answer (``errors.error_responses``, the error model) and,
when the server has a key, the bearer scheme it needs. It needs the key like every API path. The
interactive pages (``/docs``, ``/redoc``) stay off: they load scripts from a CDN, and a smaller
surface is a safer default.
"""

from __future__ import annotations

import contextlib
from typing import Any, AsyncIterator, Callable

from fastapi import FastAPI, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from brewslm import __version__
from brewslm.serving import openai_api, tasks_api
from brewslm.serving.engine import Engine
from brewslm.serving.errors import API_ERRORS, ApiRoute, error_responses, install_error_handlers, unavailable
from brewslm.serving.metrics import MetricsMiddleware, ServerMetrics
from brewslm.serving.security import OPEN_PATHS, ApiKeyMiddleware, BodyLimitMiddleware, api_paths_only
from brewslm.serving.served import ServedModels
from brewslm.serving.settings import ServerSettings
from brewslm.serving.state import ServerState, server_state

OPENAPI_PATH = "/openapi.json"
API_PREFIXES = ("/v1/", "/metrics", OPENAPI_PATH)
"""The API's own paths: with the web UI mounted alongside, only these get the API key and body limits."""
METRICS_TEXT = {
    "description": "Every metric in Prometheus' text format",
    "content": {"text/plain": {"schema": {"type": "string"}}},
}


def create_app(
    models: ServedModels,
    settings: ServerSettings,
    *,
    mount: Callable[[FastAPI], Any] | None = None,
    engine: Any = None,
) -> FastAPI:
    """An app serving ``models`` (``ServedModels``) under ``settings``; run it with uvicorn.
    ``mount``: adds another app's routes beside the API (``ui.app.create_playground_app`` mounts
    the web UI this way, so the UI imports serving and never the reverse); the API's key and
    body limit then guard the API's own paths only, and the mounted pages keep their own rules.
    ``engine``: what runs the models - by default the batching ``Engine`` in this process; an
    ``upstream.UpstreamEngine`` runs them on another server (vLLM) behind the same endpoints."""
    if engine is None:
        engine = Engine(
            models, batching=settings.batching, window_ms=settings.window_ms, max_batch_size=settings.max_batch_size
        )
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

    app = FastAPI(
        title="BrewSLM", version=__version__, lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=OPENAPI_PATH
    )
    app.state.brewslm = state
    app.router.route_class = ApiRoute
    app.include_router(openai_api.router)
    app.include_router(tasks_api.router)
    app.add_api_route("/healthz", healthz, methods=["GET"], responses=error_responses(503))
    # a plain Response class: the errors stay documented as JSON, the 200 as Prometheus text
    app.add_api_route(
        "/metrics", metrics, methods=["GET"], response_class=Response, responses={**API_ERRORS, 200: METRICS_TEXT}
    )
    api_routes = _api_routes(app)  # before anything is mounted beside the API
    _publish_schema(app, settings, api_routes)
    install_error_handlers(app)
    guarded = None
    if mount is not None:
        mount(app)
        guarded = api_paths_only(API_PREFIXES)
    # added last = runs first: count everything, then check the key, then the body size
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_request_bytes, guarded=guarded)
    app.add_middleware(ApiKeyMiddleware, api_key=settings.key, guarded=guarded)
    app.add_middleware(MetricsMiddleware, metrics=state.metrics, routes=api_routes)
    return app


async def healthz(request: Request) -> Response:
    state = server_state(request)
    if not state.ready:
        return unavailable("the server is starting or stopping").response()
    return JSONResponse({"status": "ok", "models": state.models.ids()})


async def metrics(request: Request) -> Response:
    body, content_type = server_state(request).metrics.exposition()
    return Response(body, media_type=content_type)


def _api_routes(app: FastAPI) -> list[BaseRoute]:
    """The API's routes one by one: newer FastAPI keeps an included router as one lazy entry of
    ``app.routes``, so the routers' own lists are read; the app's plain routes are added."""
    return [*openai_api.router.routes, *tasks_api.router.routes, *(r for r in app.routes if isinstance(r, Route))]


def _publish_schema(app: FastAPI, settings: ServerSettings, routes: list[BaseRoute]) -> None:
    """``/openapi.json`` is FastAPI's schema of the API routes alone (the web UI's pages, when
    mounted, are no API); with a key set it says every route but /healthz needs it as a bearer token."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:  # built once, on the first request for it
            document = get_openapi(title=app.title, version=app.version, routes=routes)
            if settings.key is not None:
                document.setdefault("components", {})["securitySchemes"] = {
                    "bearer": {"type": "http", "scheme": "bearer"}
                }
                document["security"] = [{"bearer": []}]
                for path in OPEN_PATHS:
                    for operation in document.get("paths", {}).get(path, {}).values():
                        operation["security"] = []
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


__all__ = ["create_app"]
