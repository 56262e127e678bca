"""Fixtures for the web UI tests: a private workspace, the app (in-process client or a live
uvicorn server on a free loopback port), a headless Chromium page driven by Playwright, and
screenshots.

    def test_page(ui_client):                      # HTTP level, no browser
        assert ui_client.get("/jobs").status_code == 200

    def test_flow(ui_server, page, screenshot):    # a real browser against a real server
        page.goto(ui_server.url + "/data")
        screenshot(page, "data-tab")

- ``ui_settings`` reads files under the test's ``tmp_path`` only (its allowed root) and has no API
  key; derive others with ``ui_settings.replace(api_key=..., ...)`` and ``start_ui_server(settings)``
  or ``create_ui_app(settings)``.
- Requests must name a loopback host: ``ui_client`` uses http://127.0.0.1 (a bare TestClient's
  "testserver" host is refused with 403, as a DNS-rebinding attempt would be).
- Browser tests skip (with the reason) when Chromium is absent: Debian's ``chromium`` at
  /usr/bin/chromium, or ``BREWSLM_CHROMIUM``; Playwright never downloads a browser here.
- Screenshots go to ``$BREWSLM_SCREENSHOTS`` or tests/ui/screenshots/ (git-ignored).
- ``make_job(**fields)``: a jobs-table row with no worker, for pages that only read job state.
  Workers a test started and left running are killed when it ends (``stop_workers``).
- Once a browser test has run, Playwright's sync API keeps an event loop running in the main
  thread: run a coroutine with ``asyncio.run`` in a thread of its own, not in the test's thread.
- ``page_errors`` collects the page's JavaScript errors and console errors (a CSP violation, a
  broken script); assert it is empty at the end of a browser test.
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pytest

from brewslm.storage.db import reset_engines
from brewslm.ui.app import create_ui_app
from brewslm.ui.settings import UISettings
from helpers.workspace import private_workspace

CHROMIUM = Path(os.environ.get("BREWSLM_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(os.environ.get("BREWSLM_SCREENSHOTS") or Path(__file__).resolve().parent / "screenshots")
PAGE_TIMEOUT_MS = 45_000  # a loaded 2-core machine; waits end as soon as the page is ready


@pytest.fixture(autouse=True)
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    home = private_workspace(tmp_path, monkeypatch)
    monkeypatch.delenv("BREWSLM_API_KEY", raising=False)
    monkeypatch.delenv("BREWSLM_SHARED_DATASETS", raising=False)
    yield home
    reset_engines()


@pytest.fixture(autouse=True)
def stop_workers() -> Iterator[None]:
    """Job workers a test started and left running (a failed assertion before its cancel) are
    killed with the test, so none outlives the suite."""
    yield
    import signal

    from brewslm.ui import jobs

    for pid, child in list(jobs._CHILDREN.items()):
        if child.poll() is None:
            try:
                os.killpg(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            child.wait(10)
        jobs._CHILDREN.pop(pid, None)


@pytest.fixture
def ui_settings(tmp_path: Path, workspace: Path) -> UISettings:
    return UISettings(api_key=None, allowed_roots=[tmp_path])


@pytest.fixture
def ui_app(ui_settings: UISettings):
    return create_ui_app(ui_settings)


@pytest.fixture
def ui_client(ui_app):
    from fastapi.testclient import TestClient

    with TestClient(ui_app, base_url="http://127.0.0.1:8000") as client:
        yield client


@pytest.fixture
def make_job() -> Callable[..., int]:
    """``make_job(**fields) -> id``: a row in the jobs table with no worker behind it (a queued
    import unless fields say otherwise), for pages and rules that only read job state."""
    from brewslm.storage.db import session_scope
    from brewslm.storage.tables import Job

    def make(**fields) -> int:
        with session_scope() as session:
            row = Job(**{"kind": "import", "params": {}, "status": "queued", "progress": {}, "actor": "test", **fields})
            session.add(row)
            session.flush()
            return row.id

    return make


# --- a live server -------------------------------------------------------------------------------


@dataclass
class LiveServer:
    url: str  # http://127.0.0.1:PORT, no trailing slash
    settings: UISettings
    app: object


@pytest.fixture
def start_ui_server() -> Iterator[Callable[[UISettings], LiveServer]]:
    """``start_ui_server(settings) -> LiveServer``: the UI app under uvicorn on a free loopback port,
    in a thread of the test process (the serving package's ``running_server``); stopped after the test."""
    from brewslm.serving.local import running_server

    with contextlib.ExitStack() as servers:

        def start(settings: UISettings) -> LiveServer:
            settings = settings.replace(host="127.0.0.1")
            app = create_ui_app(settings)
            return LiveServer(url=servers.enter_context(running_server(app)), settings=settings, app=app)

        yield start


@pytest.fixture
def ui_server(ui_settings: UISettings, start_ui_server) -> LiveServer:
    """The UI with ``ui_settings`` on a free loopback port."""
    return start_ui_server(ui_settings)


# --- the browser ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.skip(f"browser tests need Chromium at {CHROMIUM} (apt-get install chromium, or set BREWSLM_CHROMIUM)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="browser tests need the playwright package")
    playwright = sync_api.sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True)
    except Exception as exc:  # a Chromium that cannot start here: say why instead of erroring every test
        playwright.stop()
        pytest.skip(f"Chromium at {CHROMIUM} did not start: {str(exc).splitlines()[0]}")
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture
def page_errors() -> list[str]:
    return []


# Chromium logs every 4xx reply as a console error; these are answers pages give on purpose (a
# wrong key, a refused path, a too-large upload, a form that did not validate). A 404 (a missing
# script or stylesheet) and 5xx still count.
EXPECTED_STATUS = re.compile(
    r"Failed to load resource: the server responded with a status of (400|401|403|409|413|422)\b"
)


def _console_error(page_errors: list[str], message) -> None:
    if message.type == "error" and not EXPECTED_STATUS.search(message.text):
        page_errors.append(f"console: {message.text}")


@pytest.fixture
def page(browser, page_errors: list[str]):
    """A fresh browser context (no cookies) and page; JS errors and console errors go to ``page_errors``."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(PAGE_TIMEOUT_MS)
    tab = context.new_page()
    tab.on("pageerror", lambda error: page_errors.append(f"pageerror: {error}"))
    tab.on("console", lambda message: _console_error(page_errors, message))
    yield tab
    context.close()


@pytest.fixture
def screenshot() -> Callable[..., Path]:
    """``screenshot(page, name)``: a full-page PNG under the screenshots folder; returns its path."""

    def take(page, name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', name)}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
