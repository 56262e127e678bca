"""The UI's access rules: the API key, host and origin checks, allowed roots, upload limits, escaping."""

from __future__ import annotations

import asyncio
import html
import io
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from starlette.datastructures import UploadFile

from brewslm.errors import ConfigError, SourceError
from brewslm.ui import jobs
from brewslm.ui.access import (
    SESSION_COOKIE,
    UploadTooLarge,
    check_locator,
    check_output_path,
    safe_file_name,
    save_upload,
    session_token,
)
from brewslm.ui.app import SECURITY_HEADERS, create_ui_app, templates
from helpers.tiny_model import save_tiny_causal_lm
from ui.runs_fixture import import_sentiment, one_thread_workers  # noqa: F401  (a fixture)

KEY = "s3cret-key-for-tests"
LOCAL = "http://127.0.0.1:8000"


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The one allowed folder, with a data file in it."""
    folder = tmp_path / "allowed"
    folder.mkdir()
    (folder / "rows.jsonl").write_text('{"text": "a", "label": "x"}\n', encoding="utf-8")
    return folder


@pytest.fixture
def settings(ui_settings, root):
    return ui_settings.replace(allowed_roots=[root])


def _client(settings, **kwargs) -> TestClient:
    return TestClient(create_ui_app(settings), base_url=LOCAL, **kwargs)


# --- allowed roots -------------------------------------------------------------------------------


def test_locators_inside_the_allowed_roots_pass_unchanged(settings, root):
    for locator in (
        f"jsonl:{root}/rows.jsonl",
        f"csv:{root}/missing-yet.csv",
        f"file:{root}/sub/../rows.jsonl",
        f"jsonl:{root}/rows.jsonl?join=rows.jsonl&on=text",
        "kaggle:competition:titanic?file=train.csv",
    ):
        assert check_locator(locator, settings) == locator
    upload = settings.uploads_dir / "x.jsonl"  # the uploads folder is always readable
    assert check_locator(f"jsonl:{upload}", settings)


@pytest.mark.parametrize(
    "locator",
    [
        "jsonl:/etc/passwd",
        "csv:/etc/passwd",
        "file:~/.ssh/id_rsa",
        "jsonl:{root}/../outside.jsonl",
        "jsonl:{root}/rows.jsonl?join=../../outside.jsonl&on=id",
        "jsonl:{root}/rows.jsonl?join=jsonl:/etc/passwd&on=id",
        "hf:/etc:train",
    ],
)
def test_locators_that_escape_the_allowed_roots_are_refused_in_one_line(settings, root, locator):
    with pytest.raises(ConfigError) as error:
        check_locator(locator.format(root=root), settings)
    message = str(error.value)
    assert "outside the folders this UI may read" in message and "--allow-root" in message and "\n" not in message


def test_a_symlink_inside_a_root_that_points_outside_is_refused(settings, root, tmp_path):
    secret = tmp_path / "secret.jsonl"
    secret.write_text('{"text": "private"}\n', encoding="utf-8")
    (root / "innocent.jsonl").symlink_to(secret)
    (root / "linked-dir").symlink_to(tmp_path)
    for locator in (f"jsonl:{root}/innocent.jsonl", f"jsonl:{root}/linked-dir/secret.jsonl"):
        with pytest.raises(ConfigError, match=r"\(a link to .*secret.jsonl\) is outside"):
            check_locator(locator, settings)


def test_a_malformed_locator_is_the_source_layers_error(settings):
    with pytest.raises(SourceError, match="no '<scheme>:' prefix"):
        check_locator("/etc/passwd", settings)


# --- where a request may make the UI write -----------------------------------------------------


def _errors_of(page: str) -> list[str]:
    """The one-line errors a page shows (form-level, per option, an error page), unescaped."""
    found = re.findall(r'role="alert"[^>]*>(.*?)</(?:div|span)>', page, re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", "", e)).split()) for e in found]


def _files_under(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*")) if folder.exists() else []


def test_an_output_folder_must_be_inside_the_roots_and_outside_what_is_never_written(
    settings, root, workspace, tmp_path
):
    assert check_output_path(root / "runs" / "r1", settings) == root / "runs" / "r1"
    assert check_output_path(workspace / "runs" / "r1", settings)  # the workspace: where runs go by default
    outside = tmp_path / "elsewhere"
    (root / "linked").symlink_to(tmp_path)
    for path, message in [
        (outside, "is outside the folders this UI may write"),
        (f"{root}/../elsewhere", "is outside the folders this UI may write"),
        (root / "linked" / "elsewhere", "(a link to"),  # not there yet: the link above it decides
        (workspace / "datasets" / "sentiment" / "v1", "inside the workspace's datasets folder"),
        (workspace / "runs" / ".." / "datasets" / "new", "inside the workspace's datasets folder"),
        (settings.uploads_dir / "run", "inside the uploads folder"),
    ]:
        with pytest.raises(ConfigError) as error:
            check_output_path(path, settings, what="run folder")
        assert (
            message in str(error.value) and str(error.value).startswith("run folder ") and "\n" not in str(error.value)
        )


def test_shared_datasets_are_never_written_though_readable(settings, root, monkeypatch):
    shared = root / "shared"
    shared.mkdir()
    monkeypatch.setenv("BREWSLM_SHARED_DATASETS", str(shared))
    with pytest.raises(ConfigError, match="inside the shared datasets folder"):
        check_output_path(shared / "reviews" / "run", settings)


@pytest.fixture
def trainable(tmp_path, workspace) -> dict:
    """A sentiment dataset in the workspace and the tiny model, for forms that get as far as
    queueing a job; the roots are the test's folder (the workspace inside), as by default."""
    import_sentiment(tmp_path)
    return {"model": str(save_tiny_causal_lm(tmp_path / "tiny")), "dataset": "sentiment"}


def _refused(response, *needles: str) -> None:
    errors = _errors_of(response.text)
    assert response.status_code in (400, 403), (response.status_code, errors)
    assert any(all(n in e for n in needles) for e in errors), errors


def test_train_run_name_and_output_dir_never_put_a_run_outside(
    ui_settings, trainable, workspace, tmp_path, monkeypatch
):
    """Issue 14: run_name went unchecked, so a whole run folder landed wherever the server could write."""
    elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere"  # outside every root
    monkeypatch.chdir(tmp_path.parent)
    client = _client(ui_settings)
    version = workspace / "datasets" / "sentiment" / "v1"
    published = _files_under(version)
    small = {"dataset": "sentiment", "base_model": trainable["model"], "max_steps": "1", "max_seq_len": "64"}
    for run_name in (str(elsewhere), f"../../../{elsewhere.name}", "../datasets/sentiment/v1"):
        response = client.post("/train", data={**small, "run_name": run_name})
        _refused(response, "run name", "output_dir")
    for option, value, needle in [
        ("output_dir", str(elsewhere), "outside the folders this UI may write"),
        ("output_dir", elsewhere.name, "outside the folders this UI may write"),  # the cwd
        ("output_dir", str(version), "inside the workspace's datasets folder"),
        ("output_dir", str(workspace / "uploads" / "run"), "inside the uploads folder"),
        ("resume", str(version), "inside the workspace's datasets folder"),
    ]:  # writes on there
        _refused(client.post("/train", data={**small, option: value}), needle)
    assert jobs.list_jobs(kind="train") == []
    assert not elsewhere.exists() and _files_under(version) == published
    assert not (workspace / "datasets" / "sentiment" / "v1" / "config.yaml").exists()


def test_evaluate_out_dir_never_puts_a_report_outside(ui_settings, trainable, workspace, tmp_path, monkeypatch):
    elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    monkeypatch.chdir(tmp_path.parent)
    client = _client(ui_settings)
    version = workspace / "datasets" / "sentiment" / "v1"
    published = _files_under(version)
    form = {"model": trainable["model"], "dataset": "sentiment", "max_examples": "1", "bootstrap_samples": "0"}
    for out_dir, needle in [
        (str(elsewhere), "outside the folders this UI may write"),
        (elsewhere.name, "outside the folders this UI may write"),
        (f"{workspace}/runs/../../../{elsewhere.name}", "outside the folders this UI may write"),
        (str(version), "inside the workspace's datasets folder"),
    ]:
        _refused(client.post("/evaluate", data={**form, "out_dir": out_dir}), needle)
    assert jobs.list_jobs(kind="eval") == []
    assert not elsewhere.exists() and _files_under(version) == published


def test_import_and_mapping_names_and_upload_names_never_become_paths(settings, root, tmp_path, make_job):
    client = _client(settings)
    locator = f"jsonl:{root}/rows.jsonl"
    escape = "../../elsewhere"
    _refused(
        client.post(
            "/data/import", data={"locator": locator, "mapper_id": "label_to_classification", "dataset": escape}
        ),
        "dataset name",
        "not allowed",
    )
    assert jobs.list_jobs(kind="import") == []
    job_id = make_job(status=jobs.SUCCEEDED, params={"locator": locator, "mapper_id": "label_to_classification"})
    _refused(client.post("/data/mappings", data={"job_id": job_id, "name": escape}), "not allowed")
    uploaded = client.post("/data/source", files={"file": ("../../../escape.jsonl", b'{"text": "a", "label": "x"}\n')})
    assert uploaded.status_code == 200
    assert [p.name for p in settings.uploads_dir.iterdir() if p.name.endswith("-escape.jsonl")]
    assert not list(tmp_path.rglob("escape.jsonl")) and not (tmp_path.parent / "escape.jsonl").exists()


# --- the API key ---------------------------------------------------------------------------------


def test_without_the_key_every_page_is_a_401_login_page(settings):
    client = _client(settings.replace(api_key=KEY))
    for path in ("/jobs", "/jobs/1", "/api/jobs/1", "/"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 401, path
        assert 'action="/login"' in response.text and KEY not in response.text
    assert client.post("/jobs/1/cancel").status_code == 401
    assert client.get("/jobs", headers={"Authorization": "Bearer wrong"}).status_code == 401
    htmx = client.get("/jobs", headers={"HX-Request": "true"})
    assert htmx.status_code == 401 and htmx.headers["HX-Redirect"] == "/login?next=/jobs"
    assert client.get("/static/style.css").status_code == 200 and client.get("/login").status_code == 200
    person = client.get("/jobs?kind=train", headers={"Accept": "text/html"}, follow_redirects=False)
    assert person.status_code == 303 and person.headers["location"] == "/login?next=/jobs%3Fkind%3Dtrain"


def test_the_key_as_a_bearer_token_or_through_the_login_form(settings):
    client = _client(settings.replace(api_key=KEY))
    assert client.get("/jobs", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
    wrong = client.post("/login", data={"api_key": "guess", "next": "/jobs"})
    assert wrong.status_code == 401 and "Wrong key" in wrong.text and SESSION_COOKIE not in client.cookies
    ok = client.post("/login", data={"api_key": KEY, "next": "/jobs"}, follow_redirects=False)
    assert ok.status_code == 303 and ok.headers["location"] == "/jobs"
    cookie = ok.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and KEY not in cookie
    assert client.cookies[SESSION_COOKIE] == session_token(KEY)
    assert client.get("/jobs").status_code == 200
    client.post("/logout")
    assert client.get("/jobs").status_code == 401


def test_login_only_redirects_within_the_site(settings):
    client = _client(settings.replace(api_key=KEY))
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        response = client.post("/login", data={"api_key": KEY, "next": target}, follow_redirects=False)
        assert response.headers["location"] == "/", target


# --- host and origin -----------------------------------------------------------------------------


def test_a_foreign_host_name_is_refused_when_bound_to_loopback(settings):
    rebound = TestClient(create_ui_app(settings), base_url="http://attacker.example:8000")
    assert rebound.get("/login").status_code == 403 and rebound.get("/static/htmx.min.js").status_code == 403
    response = rebound.get("/jobs")
    assert response.status_code == 403 and "does not answer to host &#39;attacker.example&#39;" in response.text
    for host in ("localhost", "127.0.0.1", "[::1]"):
        assert TestClient(create_ui_app(settings), base_url=f"http://{host}:8000").get("/jobs").status_code == 200
    exposed = settings.replace(host="0.0.0.0")
    assert TestClient(create_ui_app(exposed), base_url="http://brewbox.lan").get("/jobs").status_code == 200


def test_posts_from_another_site_are_refused(settings, make_job):
    client = _client(settings)
    job_id = make_job(status=jobs.FAILED, error="done")  # cancelling a finished job is a harmless no-op
    assert client.post(f"/jobs/{job_id}/cancel", headers={"Origin": "http://evil.example"}).status_code == 403
    assert client.post(f"/jobs/{job_id}/cancel", headers={"Referer": "http://evil.example/page"}).status_code == 403
    assert client.post(f"/jobs/{job_id}/cancel", headers={"Origin": "null"}).status_code == 403
    assert client.post(f"/jobs/{job_id}/cancel", headers={"Origin": LOCAL}).status_code == 200
    assert client.post(f"/jobs/{job_id}/cancel").status_code == 200  # no browser, no ambient cookie: allowed
    keyed = _client(settings.replace(api_key=KEY))
    forged = keyed.post(
        "/login", data={"api_key": KEY}, headers={"Origin": "http://evil.example"}, follow_redirects=False
    )
    assert forged.status_code == 403 and SESSION_COOKIE not in forged.headers.get("set-cookie", "")


# --- uploads -------------------------------------------------------------------------------------


def _await(coroutine):
    """Run a coroutine to its end in a thread of its own (Playwright's sync API keeps an event loop
    running in the main thread once a browser test has run)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def test_uploads_get_safe_names_in_the_uploads_folder(settings):
    upload = UploadFile(io.BytesIO(b'{"text": "hi"}\n'), filename="../../etc/evil name;rm -rf.jsonl")
    path = _await(save_upload(upload, settings))
    assert path.parent == settings.uploads_dir and path.name.endswith("-evil_name_rm_-rf.jsonl")
    assert path.read_bytes() == b'{"text": "hi"}\n'
    assert safe_file_name("..hidden") == "hidden" and safe_file_name("") == "upload"
    assert check_locator(f"jsonl:{path}", settings)


def test_an_upload_over_the_limit_is_refused_and_not_kept(settings):
    small = settings.replace(max_upload_bytes=1000)
    upload = UploadFile(io.BytesIO(b"x" * 5000), filename="big.jsonl")
    with pytest.raises(UploadTooLarge, match="larger than the limit"):
        _await(save_upload(upload, small))
    assert list(small.uploads_dir.iterdir()) == []


def test_an_oversized_request_body_is_a_413_page_before_it_is_read(settings):
    client = _client(settings.replace(max_upload_bytes=1000))
    body = b"x" * (3 * 1024 * 1024)
    declared = client.post("/login", content=body, headers={"Content-Type": "application/octet-stream"})
    assert declared.status_code == 413 and "larger than the limit" in declared.text

    def chunks():  # no Content-Length: counted as it streams in
        for _ in range(3):
            yield b"x" * (1024 * 1024)

    streamed = client.post("/login", content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert streamed.status_code == 413


# --- escaping ------------------------------------------------------------------------------------

XSS = '<script>alert("pwned")</script><img src=x onerror=alert(2)>'


def test_every_template_escapes_and_pages_carry_the_security_headers(settings):
    assert templates.env.from_string("{{ value }}").render(value=XSS) == (
        "&lt;script&gt;alert(&#34;pwned&#34;)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;"
    )
    response = _client(settings).get("/jobs")
    for header, value in SECURITY_HEADERS.items():
        assert response.headers[header] == value
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


def test_a_script_in_user_data_renders_as_text(settings):
    job_id = jobs.submit_job("import", {"locator": f"jsonl:/tmp/{XSS}.jsonl", "dataset": XSS})
    assert jobs.wait_for_job(job_id, timeout=60).status == jobs.FAILED
    client = _client(settings)
    for path in (f"/jobs/{job_id}", "/jobs"):
        html = client.get(path).text
        assert "<script>alert" not in html and "<img src=x" not in html
        assert "&lt;script&gt;alert(" in html


# --- in a real browser ---------------------------------------------------------------------------


def test_in_the_browser_login_then_a_page_with_a_hostile_job_shows_its_text(
    start_ui_server, settings, page, page_errors, screenshot, make_job
):
    server = start_ui_server(settings.replace(api_key=KEY))
    job_id = make_job(
        status=jobs.FAILED,
        params={"locator": f"jsonl:/tmp/{XSS}.jsonl"},
        error=f"file not found: {XSS}",
        progress={"message": XSS},
    )
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))

    page.goto(f"{server.url}/jobs/{job_id}")
    assert page.locator("form[action='/login']").is_visible()
    screenshot(page, "access-login")
    assert page.locator("form[action='/logout']").count() == 0  # nothing to log out of yet
    page.fill("input[name=api_key]", "not the key")
    page.click("form[action='/login'] button")
    page.get_by_text("Wrong key").wait_for()
    page.fill("input[name=api_key]", KEY)
    page.click("form[action='/login'] button")
    page.wait_for_url(f"{server.url}/jobs/{job_id}")
    assert page.get_by_role("heading", name=f"Job #{job_id}: import").is_visible()
    assert (
        '<script>alert("pwned")</script><img src=x onerror=alert(2)>' in page.locator(".job .error").inner_text()
    )  # as text
    assert page.locator("main script, main img").count() == 0  # and never as elements
    page.goto(f"{server.url}/jobs")
    screenshot(page, "jobs-list")
    assert dialogs == [] and page_errors == []
    cookie = next(c for c in page.context.cookies() if c["name"] == SESSION_COOKIE)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict" and cookie["value"] != KEY


def test_resume_is_refused_when_the_run_it_continues_lies_outside(ui_settings, trainable, tmp_path):
    """A resumed run writes on two levels above its checkpoint: a checkpoint just inside a root
    would put the run folder above the root, so that folder is what gets checked."""
    checkpoint = tmp_path / "step-1"
    checkpoint.mkdir()
    (checkpoint / "state.json").write_text("{}", encoding="utf-8")
    small = {"dataset": "sentiment", "base_model": trainable["model"], "max_steps": "1", "max_seq_len": "64"}
    _refused(
        _client(ui_settings).post("/train", data={**small, "resume": str(checkpoint)}),
        "the run it continues",
        "outside the folders this UI may write",
    )
    assert jobs.list_jobs(kind="train") == []
