"""The web UI: a FastAPI app of server-rendered pages (Jinja2, autoescaped) driven by htmx.

    app = create_ui_app(UISettings())            # `brewslm ui` serves this with uvicorn
    mount_ui(other_app, UISettings())            # or inside another app (e.g. `brewslm serve`), under /

Pages are routers in ``brewslm.ui.pages`` listed once in ``PAGES``; each calls the same services
the CLI calls and renders with ``render(request, "page.html", **context)``. Every page route sits
behind ``require_access`` (host, same-origin for POSTs, API key: see ``access``). Long work runs as
background jobs (``jobs``); ``/jobs/{id}`` is a progress fragment any page can poll or include
(``{% include "job.html" %}`` with ``job`` in the context).

Templates: ``{% extends layout %}`` gives the full page (``base.html``) on a normal request and
just the content block (``fragment.html``) on an htmx request, so one template serves both.
Scripts come from ``/static`` only (the Content-Security-Policy allows no inline script).
"""

from __future__ import annotations

import asyncio
import importlib
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from brewslm import __version__
from brewslm.errors import BrewError
from brewslm.serving.security import key_matches
from brewslm.serving.served import ServedModels
from brewslm.serving.settings import ServerSettings
from brewslm.ui import jobs
from brewslm.ui.access import (
    SESSION_COOKIE,
    AccessDenied,
    BodyLimit,
    UIAccessError,
    check_host,
    check_same_origin,
    is_authenticated,
    session_token,
    too_large_message,
)
from brewslm.ui.settings import UISettings
from brewslm.ui.uploads import prune_uploads

UI_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = UI_DIR / "templates"
STATIC_DIR = UI_DIR / "static"

# (module in brewslm.ui.pages, tab title, tab path): the navigation, in order
PAGES: list[tuple[str, str, str]] = [
    ("data", "Data", "/data"),
    ("audit", "Audit", "/audit"),
    ("train", "Train", "/train"),
    ("evaluate", "Evaluate", "/evaluate"),
    ("export", "Export", "/export"),
    ("serve", "Serve", "/serve"),
    ("playground", "Playground", "/playground"),
]

SECURITY_HEADERS = {
    # no inline or foreign script: an escaped-but-missed row still cannot run; htmx needs eval for hx-on
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-eval'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
}
LOGIN_FAILURE_DELAY_S = 0.5  # slows down guessing the key through the form


def _when(value: Any) -> str:
    """A timestamp as 'YYYY-MM-DD HH:MM:SS UTC' (ISO strings and datetimes alike); '-' for none."""
    if not value:
        return "-"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return value.strftime("%Y-%m-%d %H:%M:%S UTC")


def _duration(seconds: Any) -> str:
    from brewslm.training.report import format_duration

    return format_duration(seconds) if seconds is not None else "-"


templates = Jinja2Templates(directory=str(TEMPLATES_DIR))
templates.env.autoescape = True  # every template, whatever its name: a row holding <script> renders as text
templates.env.filters["when"] = _when
templates.env.filters["duration"] = _duration


# --- request helpers -----------------------------------------------------------------------------


def current_settings(request: Request) -> UISettings:
    """The settings of the UI serving this request (bound by ``ui_router``)."""
    settings = getattr(request.state, "ui_settings", None)
    if settings is None:
        raise RuntimeError("request did not come through ui_router: no UI settings bound")
    return settings


def is_htmx(request: Request) -> bool:
    """An htmx request that swaps part of a page (a boosted link wants the full page)."""
    return request.headers.get("hx-request") == "true" and request.headers.get("hx-boosted") != "true"


def guard_request(request: Request) -> None:
    """Dependency on every UI route, the login form included: right host, same-origin POSTs."""
    check_host(request, current_settings(request))
    check_same_origin(request)


def require_access(request: Request) -> None:
    """Dependency on every UI page and action: ``guard_request``, then the API key when set."""
    guard_request(request)
    if not is_authenticated(request, current_settings(request)):
        raise AccessDenied(
            "this BrewSLM UI needs its API key (BREWSLM_API_KEY): log in, or send 'Authorization: Bearer <key>'"
        )


def render(
    request: Request,
    name: str,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    settings: UISettings | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render template ``name`` with the page's context plus: ``request``, ``settings``, ``nav``
    (title, path, active) tabs, ``layout`` (full page or fragment), ``auth`` (a key is set),
    ``signed_in`` (a key is set and this request carries it)."""
    settings = settings or getattr(request.state, "ui_settings", None)
    path = request.url.path
    nav = [(title, tab, path == tab or path.startswith(tab + "/")) for _, title, tab in _mounted_pages()]
    base = {
        "request": request,
        "settings": settings,
        "nav": nav,
        "layout": "fragment.html" if is_htmx(request) else "base.html",
        "auth": bool(settings and settings.api_key),
        "signed_in": bool(settings and settings.api_key and is_authenticated(request, settings)),
        "version": __version__,
    }
    response = templates.TemplateResponse(request, name, {**base, **context}, status_code=status_code)
    response.headers.update(SECURITY_HEADERS)
    if headers:
        response.headers.update(headers)
    return response


def error_page(request: Request, message: str, status_code: int, settings: UISettings | None = None) -> HTMLResponse:
    """One line of what went wrong, as a page (or a fragment in the htmx target)."""
    return render(
        request, "error.html", status_code=status_code, settings=settings, message=message, status=status_code
    )


def _mounted_pages() -> list[tuple[ModuleType, str, str]]:
    global _PAGES_CACHE
    if _PAGES_CACHE is None:
        _PAGES_CACHE = load_pages()
    return _PAGES_CACHE


_PAGES_CACHE: list[tuple[ModuleType, str, str]] | None = None


def _local_next(value: str | None) -> str:
    """Where to go after logging in: a path on this site only (no open redirect)."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


# --- routes --------------------------------------------------------------------------------------


def load_pages() -> list[tuple[ModuleType, str, str]]:
    """The page modules of ``PAGES`` (each defines ``router``) that exist; an error inside a page
    module is raised, only a page module that is not there at all is left out of the app."""
    loaded = []
    for module, title, path in PAGES:
        name = f"brewslm.ui.pages.{module}"
        try:
            loaded.append((importlib.import_module(name), title, path))
        except ModuleNotFoundError as exc:
            if exc.name not in (name, "brewslm.ui.pages"):
                raise
    return loaded


def ui_router(settings: UISettings) -> APIRouter:
    """Every UI route (pages, jobs, login, static files) bound to ``settings``. Prefer ``mount_ui``,
    which also installs the error pages and the body-size limit."""

    def bind_settings(request: Request) -> None:
        request.state.ui_settings = settings

    router = APIRouter(dependencies=[Depends(bind_settings)])
    router.include_router(_public_routes())
    protected = APIRouter(dependencies=[Depends(require_access)])
    protected.include_router(_job_routes())
    for module, _, _ in _mounted_pages():
        protected.include_router(module.router)
    router.include_router(protected)
    return router


def _public_routes() -> APIRouter:
    """Reachable without the key (the host and same-origin checks still apply)."""
    router = APIRouter(dependencies=[Depends(guard_request)])
    static_files = {p.name: p for p in STATIC_DIR.iterdir() if p.is_file()}

    @router.get("/static/{name}", include_in_schema=False)
    def static(name: str) -> FileResponse:
        path = static_files.get(name)
        if path is None:
            return Response(status_code=404)  # type: ignore[return-value]
        return FileResponse(path, headers={"Cache-Control": "public, max-age=3600", **SECURITY_HEADERS})

    @router.get("/login", include_in_schema=False)
    def login_form(request: Request, next: str = "/") -> HTMLResponse:
        return render(request, "login.html", next=_local_next(next))

    @router.post("/login", include_in_schema=False)
    async def login(request: Request, api_key: str = Form(""), next: str = Form("/")) -> Response:
        settings = current_settings(request)
        if not settings.api_key:
            return RedirectResponse(_local_next(next), status_code=303)
        if not key_matches(settings.api_key, api_key):
            await asyncio.sleep(LOGIN_FAILURE_DELAY_S)
            return render(
                request,
                "login.html",
                status_code=401,
                next=_local_next(next),
                failed="Wrong key: that is not the BREWSLM_API_KEY this server was started with.",
            )
        response = RedirectResponse(_local_next(next), status_code=303)
        response.set_cookie(
            SESSION_COOKIE,
            session_token(settings.api_key),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    @router.post("/logout", include_in_schema=False)
    def logout() -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    return router


def _job_routes() -> APIRouter:
    router = APIRouter()

    @router.get("/", include_in_schema=False)
    def home() -> RedirectResponse:
        pages = _mounted_pages()
        return RedirectResponse(pages[0][2] if pages else "/jobs", status_code=303)

    @router.get("/jobs", include_in_schema=False)
    def job_list(request: Request, kind: str | None = None) -> HTMLResponse:
        return render(
            request, "jobs.html", jobs=jobs.list_jobs(kind=kind or None), kinds=list(jobs.JOB_KINDS), kind=kind or ""
        )

    @router.get("/jobs/{job_id}", include_in_schema=False)
    def job_view(request: Request, job_id: int) -> HTMLResponse:
        """The job's state: the self-polling fragment for htmx, else a page with params, result, log."""
        job = jobs.get_job(job_id)
        if is_htmx(request):
            return render(request, "job.html", job=job)
        return render(request, "job_page.html", job=job, log_tail=jobs.log_tail(job_id))

    @router.post("/jobs/{job_id}/cancel", include_in_schema=False)
    def job_cancel(request: Request, job_id: int) -> HTMLResponse:
        return render(request, "job.html", job=jobs.cancel_job(job_id))

    @router.get("/api/jobs/{job_id}")
    def job_json(job_id: int) -> JSONResponse:
        return JSONResponse(jobs.get_job(job_id).to_dict())

    return router


# --- the app -------------------------------------------------------------------------------------


def mount_ui(app: FastAPI, settings: UISettings) -> FastAPI:
    """Serve the UI from ``app`` under /: its routes, its error pages, the body-size limit; and
    settle jobs whose workers died while no server was running."""
    app.include_router(ui_router(settings))
    previous_brew_handler = app.exception_handlers.get(BrewError)

    async def on_access_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, UIAccessError)
        if isinstance(exc, AccessDenied):
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            login = f"/login?next={quote(_local_next(target))}"
            if request.headers.get("hx-request"):  # htmx follows this header to a full-page login
                return render(
                    request,
                    "login.html",
                    status_code=401,
                    settings=settings,
                    next=_local_next(target),
                    headers={"HX-Redirect": login},
                )
            if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
                return RedirectResponse(login, status_code=303)  # a person opening a page: the login form
            return render(request, "login.html", status_code=401, settings=settings, next=_local_next(target))
        return error_page(request, str(exc), exc.status_code, settings)

    async def on_brew_error(request: Request, exc: Exception) -> Response:
        if getattr(request.state, "ui_settings", None) is not None:  # a UI page: show the line in the page
            return error_page(request, str(exc), getattr(exc, "http_status", 400), settings)
        if previous_brew_handler is not None:  # the host app's own routes keep their own error shape
            return await previous_brew_handler(request, exc)
        return JSONResponse({"error": {"message": str(exc)}}, status_code=400)

    app.add_exception_handler(UIAccessError, on_access_error)
    app.add_exception_handler(BrewError, on_brew_error)

    def render_413(scope: dict) -> Response:
        return error_page(Request(scope), too_large_message(settings), 413, settings)

    app.add_middleware(BodyLimit, settings=settings, render_413=render_413)
    jobs.recover_jobs()
    prune_uploads(settings)  # after recover_jobs: a job that was running still names its upload
    return app


def create_ui_app(settings: UISettings | None = None) -> FastAPI:
    """The UI as an app of its own (``brewslm ui``)."""
    settings = settings or UISettings()
    app = FastAPI(title="BrewSLM", version=__version__, docs_url=None, redoc_url=None, openapi_url=None)
    return mount_ui(app, settings)


def create_playground_app(models: ServedModels, server_settings: ServerSettings, settings: UISettings) -> FastAPI:
    """The UI together with the API serving ``models`` (``ServedModels``) under ``server_settings``
    (``brewslm ui --model``): the Playground's requests go to this app's own /v1 routes."""
    from brewslm.serving.app import create_app

    return create_app(models, server_settings, mount=lambda app: mount_ui(app, settings))


__all__ = [
    "PAGES",
    "UISettings",
    "create_playground_app",
    "create_ui_app",
    "current_settings",
    "error_page",
    "guard_request",
    "is_htmx",
    "load_pages",
    "mount_ui",
    "render",
    "require_access",
    "templates",
    "ui_router",
]
