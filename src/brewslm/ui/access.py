"""Who and what the web UI lets in: the API key, the request's host and origin, which files a
locator may name, how big an upload may be.

- API key (``UISettings.api_key``, default ``BREWSLM_API_KEY``): when set, every page and action
  needs it, as ``Authorization: Bearer <key>`` or the HttpOnly session cookie the login form sets
  (the cookie holds an HMAC of the key, never the key). Compared in constant time.
- Host: the ``Host`` header must be one of ``settings.trusted_hosts`` (loopback names by default),
  which defeats DNS rebinding against a UI bound to 127.0.0.1.
- Cross-site requests: a POST (any unsafe method) whose ``Origin`` (else ``Referer``) is another
  site is refused; browsers always send one of them, so a forged form post from elsewhere fails.
- Locators: ``check_locator`` refuses any local path outside ``settings.allowed_roots`` (real
  paths, symlinks followed) — the main file, a ``?join=`` companion, a local ``hf:`` folder.
- Outputs: ``check_output_path`` refuses any folder a job would write into (a run folder, a report
  folder) outside the allowed roots and the workspace, or inside the workspace's datasets, the
  uploads or the shared datasets — after joining, with symlinks followed.
- Uploads: ``save_upload`` streams a file under ``$BREWSLM_HOME/uploads`` with a safe unique name
  and stops at ``settings.max_upload_bytes`` (``UploadTooLarge``, a 413 page); ``BodyLimit`` (ASGI)
  refuses an oversized request before it is parsed at all.

Failures raise ``UIAccessError`` subclasses carrying their HTTP status; the app turns them into
pages (``app.mount_ui``).
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fastapi import HTTPException, Request

from brewslm.errors import BrewError, ConfigError
from brewslm.serving.security import bearer_token, key_matches
from brewslm.sources import known_sources
from brewslm.sources.base import Locator
from brewslm.sources.join import split_join
from brewslm.ui.settings import UISettings
from brewslm.workspace import datasets_dir, home_dir

SESSION_COOKIE = "brewslm_ui_session"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
REMOTE_SCHEMES = frozenset({"kaggle"})  # targets are remote names, downloaded into BrewSLM's own cache
BODY_SLACK_BYTES = 1024 * 1024  # form fields and multipart framing around an upload


class UIAccessError(BrewError):
    status_code = 400


class AccessDenied(UIAccessError):
    """No (or a wrong) API key: the login page, 401."""

    status_code = 401


class Forbidden(UIAccessError):
    """A request from another site, or to a host name this server does not answer to: 403."""

    status_code = 403


class UploadTooLarge(UIAccessError):
    status_code = 413


class BodyTooLarge(HTTPException):
    """Raised while a body streams in past the limit; an HTTPException so FastAPI's body parsing
    passes it on as a 413 rather than a generic 400."""

    def __init__(self, message: str):
        super().__init__(status_code=413, detail=message)


# --- the API key ---------------------------------------------------------------------------------


def session_token(api_key: str) -> str:
    """What the session cookie holds: derived from the key, so the cookie never carries the key."""
    return hmac.new(api_key.encode(), b"brewslm-ui-session", hashlib.sha256).hexdigest()


def is_authenticated(request: Request, settings: UISettings) -> bool:
    """The request carries the key (the server's own Bearer check) or the login cookie."""
    if not settings.api_key:
        return True
    if key_matches(settings.api_key, bearer_token(request.headers.get("authorization"))):
        return True
    return key_matches(session_token(settings.api_key), request.cookies.get(SESSION_COOKIE))


# --- host and origin -----------------------------------------------------------------------------


def _hostname(netloc: str) -> str:
    return (urlsplit(f"//{netloc}").hostname or "").lower()


def check_host(request: Request, settings: UISettings) -> None:
    trusted = settings.trusted_hosts
    if "*" in trusted:
        return
    host = _hostname(request.headers.get("host", ""))
    if host not in {h.lower().strip("[]") for h in trusted}:
        raise Forbidden(
            f"this server does not answer to host '{host or '(none)'}'; open it as "
            f"http://{trusted[0]}:{settings.port}/ or start it with --host"
        )


def check_same_origin(request: Request) -> None:
    """Unsafe methods must come from this site's own pages (Origin, else Referer, names this host)."""
    if request.method not in UNSAFE_METHODS:
        return
    origin = request.headers.get("origin") or request.headers.get("referer")
    if origin is None:
        return  # not a browser (curl, scripts): no ambient cookie to abuse; the API key still applies
    if urlsplit(origin).netloc.lower() != request.headers.get("host", "").lower():
        raise Forbidden(f"refused a {request.method} from another site ({origin[:80]}); use the UI's own pages")


# --- locators ------------------------------------------------------------------------------------


def _inside(path: Path, roots: list[Path]) -> bool:
    real = Path(os.path.realpath(path))
    return any(real.is_relative_to(os.path.realpath(root)) for root in roots)


def _roots_and(settings: UISettings, folder: Path) -> list[Path]:
    """The allowed roots plus ``folder`` (its real path), once."""
    real = Path(os.path.realpath(folder))
    return settings.allowed_roots + ([real] if real not in settings.allowed_roots else [])


def readable_roots(settings: UISettings) -> list[Path]:
    """The allowed roots plus the uploads folder (an upload is always readable)."""
    return _roots_and(settings, settings.uploads_dir)


def _absolute(path: str | Path) -> Path:
    """``path`` as a request means it: ``~`` expanded, relative to the working directory."""
    return Path(os.path.abspath(Path(path).expanduser()))


def _shown(candidate: Path) -> str:
    """A path for an error message, with where it really leads when a link is on the way."""
    real = Path(os.path.realpath(candidate))
    return f"{candidate} (a link to {real})" if real != candidate else str(candidate)


def _in_roots(path: str | Path, roots: list[Path], *, what: str, may: str, instead: str) -> Path:
    """``path`` as a request means it (``_absolute``) when its real location is inside ``roots``,
    else a one-line ``ConfigError`` saying what the UI ``may`` do there and what to do ``instead``."""
    candidate = _absolute(path)
    if not _inside(candidate, roots):
        raise ConfigError(
            f"{what} {_shown(candidate)} is outside the folders this UI may {may} "
            f"({', '.join(str(r) for r in roots)}); {instead}, or restart "
            "'brewslm ui' with --allow-root DIR"
        )
    return candidate


def check_path(path: str | Path, settings: UISettings, *, what: str = "file") -> Path:
    """``path`` (``~`` expanded, relative to the working directory) if its real location is inside
    the allowed roots, else a one-line ``ConfigError``."""
    return _in_roots(path, readable_roots(settings), what=what, may="read", instead="upload the file instead")


# --- where a request may make the UI write ---------------------------------------------------------


def writable_roots(settings: UISettings) -> list[Path]:
    """The allowed roots plus the workspace, where runs and reports go by default."""
    return _roots_and(settings, home_dir())


def never_written(settings: UISettings) -> list[tuple[Path, str]]:
    """Folders inside the roots that no request may write into, with what they are: a published
    dataset version never changes, an upload is only ever read, the shared datasets are read-only."""
    from brewslm.recipes.config import shared_datasets_dir

    folders = [(datasets_dir(), "the workspace's datasets folder"), (settings.uploads_dir, "the uploads folder")]
    try:
        folders.append((shared_datasets_dir(), "the shared datasets folder"))
    except ConfigError:  # none configured or found: nothing more to protect
        pass
    return folders


def check_output_path(path: str | Path, settings: UISettings, *, what: str = "output folder") -> Path:
    """The absolute form of ``path`` (``~`` expanded, relative to the working directory) where a
    job will write, if its real location (symlinks followed, also those of the folders above it that
    exist yet) is inside the writable roots and not inside a folder that is never written; else a
    one-line ``ConfigError``. Every value that becomes a folder a request writes into passes here."""
    candidate = _in_roots(path, writable_roots(settings), what=what, may="write", instead="pick a folder inside them")
    for folder, name in never_written(settings):
        if _inside(candidate, [folder]):
            raise ConfigError(
                f"{what} {_shown(candidate)} is inside {name} ({os.path.realpath(folder)}), which this UI "
                "never writes into; pick another folder"
            )
    return candidate


def check_locator(locator: str, settings: UISettings) -> str:
    """The locator, unchanged, when every local file it names is inside the allowed roots;
    else a one-line ``ConfigError`` (a malformed locator: the source layer's ``SourceError``)."""

    parsed = Locator.parse(locator)
    plain, join = split_join(parsed)
    main: Path | None = None
    if plain.scheme == "hf":
        local = Path(plain.target.split(":")[0].strip()).expanduser()
        if local.exists() or str(local).startswith(("/", ".", "~")):
            check_path(local, settings, what="dataset folder")
    elif plain.scheme not in REMOTE_SCHEMES:
        main = check_path(plain.target, settings)
    if join is not None:
        target = join[0]
        scheme, sep, _ = target.partition(":")
        if sep and len(scheme) > 1 and scheme.lower() in known_sources():
            check_locator(target, settings)
        else:
            companion = Path(target).expanduser()
            if not companion.is_absolute() and main is not None:
                companion = main.parent / companion
            check_path(companion, settings, what="join file")
    return locator


# --- uploads -------------------------------------------------------------------------------------

SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def safe_file_name(name: str | None) -> str:
    """A file name with no folders, no leading dots and only plain characters (keeps the extension,
    which picks the parser)."""
    base = os.path.basename((name or "").replace("\\", "/"))
    cleaned = SAFE_NAME.sub("_", base).lstrip(".")[-120:]
    return cleaned or "upload"


async def save_upload(upload: Any, settings: UISettings) -> Path:
    """Stream a FastAPI ``UploadFile`` to ``<uploads>/<random>-<safe name>``; a file over the size
    limit is deleted and raises ``UploadTooLarge``."""
    target = settings.uploads_dir / f"{uuid.uuid4().hex[:12]}-{safe_file_name(getattr(upload, 'filename', None))}"
    written = 0
    try:
        with open(target, "xb") as out:
            while chunk := await upload.read(1024 * 1024):
                written += len(chunk)
                if written > settings.max_upload_bytes:
                    raise UploadTooLarge(too_large_message(settings))
                out.write(chunk)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target


def too_large_message(settings: UISettings) -> str:
    return (
        f"the upload is larger than the limit of {settings.max_upload_bytes / 1e6:g} MB; "
        "import a file that large by locator (jsonl:/path/to/file) instead"
    )


class BodyLimit:
    """ASGI middleware: a request body larger than the upload limit (plus form slack) gets a 413
    before anything parses it — by its Content-Length, or while it streams in."""

    def __init__(self, app: Any, settings: UISettings, render_413: Any):
        self.app = app
        self.limit = settings.max_upload_bytes + BODY_SLACK_BYTES
        self.settings = settings
        self.render_413 = render_413  # (scope) -> ASGI response

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.limit:
            await self.render_413(scope)(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> dict:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(too_large_message(self.settings))
            return message

        async def watched_send(message: dict) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, watched_send)
        except BodyTooLarge:
            if started:
                raise
            await self.render_413(scope)(scope, receive, send)
