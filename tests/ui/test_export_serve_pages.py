"""The Export and Serve tabs over HTTP (no browser): what can be exported is listed, the form is
checked as ``brewslm export`` checks its flags, an export runs as a job (a merged Hugging Face
folder pushed to a local stand-in Hub; a verified GGUF with its figures), and a push without a
token is one line. A server starts on a free port, answers ``/v1/models`` with its key, refuses
to start twice and is gone once stopped; servers whose process died are settled at start-up. A
tiny LoRA run is trained once for the module, on rows written here."""

from __future__ import annotations

import html
import json
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from brewslm.storage.db import reset_engines
from brewslm.ui import jobs
from brewslm.ui.settings import UISettings
from helpers.hub_server import OWNER, fake_hub  # noqa: F401  (a fixture)
from helpers.tiny_model import save_tiny_causal_lm
from helpers.workspace import private_workspace
from ui.runs_fixture import import_sentiment, one_thread_workers  # noqa: F401  (a fixture)

SMALL_RUN = {"max_steps": 2, "batch_size": 4, "max_seq_len": 96, "lora": {"r": 4}, "log_every": 1000}
JOB_TIMEOUT_S = 300  # a worker process starts Python and torch on a busy 2-core machine


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A workspace with a sentiment dataset and a 2-step LoRA run 'r1' on the tiny model (the module shares them)."""
    from brewslm.training import build_config, train

    root = tmp_path_factory.mktemp("ui-export")
    with pytest.MonkeyPatch.context() as patch:
        private_workspace(root, patch)
        patch.delenv("BREWSLM_API_KEY", raising=False)
        import_sentiment(root)
        model_dir = save_tiny_causal_lm(root / "tiny")
        config = build_config({"dataset": "sentiment", "base_model": str(model_dir), "run_name": "r1", **SMALL_RUN})
        run_dir = Path(train(config, progress=lambda event: None).run_dir)
        yield {"root": root, "home": root / "home", "model_dir": model_dir, "run_dir": run_dir}
    reset_engines()


@pytest.fixture(autouse=True)
def workspace(space: dict[str, Any], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Every test of this module works in the module's workspace, with no Hub token unless it sets one."""
    home = private_workspace(space["root"], monkeypatch)
    for name in ("BREWSLM_API_KEY", "BREWSLM_SHARED_DATASETS", "HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))  # the workers': no saved token
    monkeypatch.setattr("huggingface_hub.constants.HF_TOKEN_PATH", str(tmp_path / "hf-home" / "token"))
    return home


@pytest.fixture
def ui_settings(space: dict[str, Any], tmp_path: Path) -> UISettings:
    return UISettings(api_key=None, allowed_roots=[space["root"], tmp_path])


def errors_of(page: str) -> list[str]:
    return [html.unescape(e) for e in re.findall(r'role="alert"[^>]*>([^<]*)<', page)]


def job_id_of(response) -> int:
    assert response.status_code == 303, errors_of(response.text)
    return int(response.headers["location"].rsplit("/", 1)[1])


def finished(job_id: int) -> jobs.JobInfo:
    job = jobs.wait_for_job(job_id, timeout=JOB_TIMEOUT_S)
    assert not job.active, f"job {job_id} still {job.status} after {JOB_TIMEOUT_S} s"
    return job


# --- Export ------------------------------------------------------------------------------------------


def test_the_export_page_lists_what_there_is_to_export(ui_client, space: dict[str, Any]) -> None:
    page = ui_client.get("/export")
    assert page.status_code == 200
    assert f'<option value="{space["run_dir"].resolve()}" data-kind="run"' in page.text
    assert "r1 · classification · lora · on sentiment" in page.text
    for quant in ("f32", "f16", "q8_0", "q4_k_m", "q5_k_m", "q6_k"):
        assert f'<option value="{quant}"' in page.text
    assert 'id="hub-no-token"' in page.text and "set HF_TOKEN" in page.text  # no token: said in one line
    assert re.search(r'name="push" value="true" disabled', page.text)
    assert 'href="/export" class="tab active"' in page.text


def test_a_bad_export_is_one_line_in_the_form_and_starts_nothing(ui_client, space: dict[str, Any]) -> None:
    before = len(jobs.list_jobs(kind="export"))
    run = str(space["run_dir"])
    cases = [
        ({"format": "hf"}, "pick what to export"),
        ({"source": "/etc", "format": "hf"}, "outside the folders this UI may read"),
        ({"source": run, "format": "gguf", "quant": "q4_k_m", "converter": "builtin"}, "needs the llama.cpp converter"),
        ({"source": run, "format": "gguf", "quant": "q3"}, "unknown GGUF quantization 'q3'"),
        ({"source": run, "format": "hf", "out": "/tmp/elsewhere-export"}, "outside the folders this UI may write"),
        ({"source": run, "format": "hf", "push": "true", "repo_id": f"{OWNER}/tiny"}, "No Hugging Face token here"),
        ({"source": run, "format": "hf", "push": "true", "repo_id": "no-slash"}, "must be ORG/NAME"),
        ({"source": str(space["model_dir"]), "format": "hf"}, "there is nothing to merge"),
    ]
    for data, message in cases:
        response = ui_client.post("/export", data=data)
        assert response.status_code == 400, data
        assert message in errors_of(response.text)[0], (data, errors_of(response.text))
        assert len(errors_of(response.text)[0].splitlines()) == 1
    kept = ui_client.post("/export", data={"source": run, "format": "gguf", "quant": "q3", "out": "x/y"})
    assert 'name="out" value="x/y"' in kept.text and 'value="gguf" checked' in kept.text  # the form is kept
    assert len(jobs.list_jobs(kind="export")) == before


@pytest.mark.timeout(900)
def test_an_hf_export_runs_as_a_job_and_goes_to_the_hub(ui_client, space: dict[str, Any], fake_hub) -> None:
    page = ui_client.get("/export")
    assert 'id="hub-no-token"' not in page.text  # the stand-in Hub's token is set
    job_id = job_id_of(
        ui_client.post(
            "/export",
            data={
                "source": str(space["run_dir"].resolve()),
                "format": "hf",
                "push": "true",
                "repo_id": f"{OWNER}/r1-merged",
                "private": "true",
            },
            follow_redirects=False,
        )
    )
    out = space["home"] / "exports" / "r1-hf"
    assert jobs.get_job(job_id).params["out"] == str(out)  # fixed at submit time, the CLI's default
    job = finished(job_id)
    assert job.status == jobs.SUCCEEDED, job.error
    assert (out / "config.json").is_file() and (out / "README.md").is_file() and (out / "brewslm_export.json").is_file()
    repo = fake_hub.repos["model", f"{OWNER}/r1-merged"]
    assert repo.private is True and "config.json" in repo.files and len(repo.commits) == 1

    panel = ui_client.get(f"/export/jobs/{job_id}").text
    assert 'data-status="succeeded"' in panel and "hx-trigger" not in panel
    assert f'id="export-folder">{out}<' in panel and "README.md" in panel
    assert re.search(rf'id="hub-result">Pushed to <a href="{re.escape(fake_hub.url)}/{OWNER}/r1-merged"', panel)

    listed = ui_client.get("/export").text
    assert re.search(r'<tr data-format="hf">\s*<td>r1</td>', listed) and str(out) in listed
    again = ui_client.post("/export", data={"source": str(space["run_dir"]), "format": "hf"})
    assert "is not empty; tick 'overwrite'" in errors_of(again.text)[0]  # an export is never overwritten unasked

    # the same folder pushed again from the page: a push job, a second commit
    push_id = job_id_of(
        ui_client.post(
            "/export/push", data={"folder": str(out), "repo_id": f"{OWNER}/r1-merged"}, follow_redirects=False
        )
    )
    pushed = finished(push_id)
    assert pushed.status == jobs.SUCCEEDED, pushed.error
    assert len(repo.commits) == 2 and 'id="hub-result"' in ui_client.get(f"/export/jobs/{push_id}/panel").text


def test_a_push_needs_a_token_and_an_export_folder(ui_client, space: dict[str, Any]) -> None:
    before = len(jobs.list_jobs(kind="push"))
    not_an_export = ui_client.post("/export/push", data={"folder": str(space["root"]), "repo_id": f"{OWNER}/x"})
    assert not_an_export.status_code == 400 and "is not an export folder" in errors_of(not_an_export.text)[0]
    outside = ui_client.post("/export/push", data={"folder": "/etc", "repo_id": f"{OWNER}/x"})
    assert outside.status_code == 400 and "outside the folders this UI may read" in errors_of(outside.text)[0]
    export = space["home"] / "exports" / "pushable"
    export.mkdir(parents=True)
    (export / "brewslm_export.json").write_text(json.dumps({"name": "pushable"}), encoding="utf-8")
    no_token = ui_client.post("/export/push", data={"folder": str(export), "repo_id": f"{OWNER}/x"})
    assert no_token.status_code == 400
    assert errors_of(no_token.text) == [
        "No Hugging Face token here: set HF_TOKEN (or run `hf auth login`) where the UI runs to push "
        "(HF_ENDPOINT for a mirror)"
    ]
    assert len(jobs.list_jobs(kind="push")) == before


@pytest.mark.timeout(900)
def test_a_gguf_export_shows_its_verification_figures(ui_client, space: dict[str, Any]) -> None:
    job_id = job_id_of(
        ui_client.post(
            "/export",
            data={
                "source": str(space["run_dir"]),
                "format": "gguf",
                "quant": "f32",
                "converter": "builtin",
                "verify": "true",
            },
            follow_redirects=False,
        )
    )
    job = finished(job_id)
    assert job.status == jobs.SUCCEEDED, job.error
    check = job.result["verification"]
    assert check["passed"] is True and check["top1_agreement"] == 1.0
    gguf = space["home"] / "exports" / "r1-gguf-f32" / "r1-f32.gguf"
    assert gguf.is_file() and job.result["path"] == str(gguf)
    panel = ui_client.get(f"/export/jobs/{job_id}/panel").text
    assert '<span class="pass" id="verify-verdict">passed</span>' in panel
    assert "1.000 (needs 1)" in panel and f"{check['positions']} token positions of 4 prompts" in panel
    assert "identical" in panel and str(gguf) in panel
    listed = ui_client.get("/export").text
    row = re.search(r'<tr data-format="gguf">.*?</tr>', listed, re.S).group(0)
    assert "r1-f32" in row and '<span class="pass">passed</span>' in row


# --- Serve -------------------------------------------------------------------------------------------


def wait_until_ready(job_id: int) -> jobs.JobInfo:
    deadline = time.monotonic() + JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        job = jobs.get_job(job_id)
        if job.progress.get("ready") or not job.active:
            return job
        time.sleep(0.3)
    raise AssertionError(f"server {job_id} not ready after {JOB_TIMEOUT_S} s")


@pytest.mark.timeout(900)
def test_a_server_starts_answers_on_its_port_and_stops(
    ui_client, space: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    import httpx

    from brewslm.storage.processes import process_alive

    key = "s3cret-serving-key"
    monkeypatch.setenv("BREWSLM_API_KEY", key)  # the server's key, read from the environment as `brewslm serve` does
    page = ui_client.get("/serve")
    assert page.status_code == 200 and 'id="no-servers"' in page.text
    assert f'name="model" value="{space["run_dir"].resolve()}"' in page.text
    job_id = job_id_of(ui_client.post("/serve", data={"model": str(space["run_dir"])}, follow_redirects=False))
    try:
        job = wait_until_ready(job_id)
        assert job.active and job.progress["ready"] is True, job.error
        url = job.progress["url"]
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+", url) and job.progress["port"] > 0
        assert key not in json.dumps(job.params) + json.dumps(job.progress)  # the key is never stored
        with httpx.Client(base_url=url, timeout=60) as client:
            assert client.get("/v1/models").status_code == 401
            listed = client.get("/v1/models", headers={"Authorization": f"Bearer {key}"})
            assert listed.status_code == 200
            ids = [model["id"] for model in listed.json()["data"]]
            assert ids[0] == "r1" and ids == job.progress["models"]  # the run, and its base served alongside

        shown = ui_client.get(f"/serve/{job_id}").text
        assert 'data-state="ready"' in shown and f'<code class="endpoint">{url}/v1</code>' in shown
        assert "required: send <code>Authorization: Bearer $BREWSLM_API_KEY</code>" in shown
        assert "<code>r1</code>" in shown and f"curl {url}/v1/models" in shown and key not in shown

        twice = ui_client.post("/serve", data={"model": str(space["run_dir"])})
        assert twice.status_code == 409
        assert errors_of(twice.text) == [
            f"'r1' is already served by server #{job_id} ({url}); use it, or stop it first"
        ]
    finally:
        stopped = ui_client.post(f"/serve/{job_id}/stop", follow_redirects=False)
    assert stopped.status_code == 303
    job = jobs.get_job(job_id)
    assert job.status == jobs.CANCELLED and not process_alive(job.pid)  # the stop returns once the process is gone
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/v1/models", timeout=5)
    panel = ui_client.get(f"/serve/{job_id}/panel").text
    assert 'data-state="stopped"' in panel and "hx-trigger" not in panel and 'role="alert"' not in panel
    again = ui_client.post(f"/serve/{job_id}/stop", headers={"HX-Request": "true"})
    assert again.status_code == 409
    assert re.fullmatch(r"server #\d+ is not running \(it is stopped since [0-9: -]+ UTC\)", errors_of(again.text)[0])


def test_bad_server_requests_are_one_line_and_start_nothing(ui_client, space: dict[str, Any]) -> None:
    before = len(jobs.list_jobs(kind="serve"))
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        port = taken.getsockname()[1]
        cases = [
            ({}, "pick a model to serve"),
            ({"model_path": "/etc"}, "outside the folders this UI may read"),
            ({"model_path": "no-such-run"}, "'no-such-run' is not an export folder"),
            ({"model": str(space["run_dir"]), "port": str(port)}, f"port {port} is taken on 127.0.0.1"),
            ({"model": str(space["run_dir"]), "port": "80"}, "port 80 is outside 1024-65535"),
        ]
        for data, message in cases:
            response = ui_client.post("/serve", data=data)
            assert response.status_code == 400, data
            assert message in errors_of(response.text)[0], (data, errors_of(response.text))
    finally:
        taken.close()
    assert len(jobs.list_jobs(kind="serve")) == before


def test_a_model_served_by_name_is_not_served_again_by_folder(ui_client, space: dict[str, Any], make_job) -> None:
    from brewslm.export.bundle import resolve_bundle

    weights = str(resolve_bundle("r1").model_dir.resolve())
    job_id = make_job(kind="serve", status="queued", params={"models": ["r1"], "model_dirs": [weights]})
    try:
        again = ui_client.post("/serve", data={"model": str(space["run_dir"])})  # the same run, by its folder
        assert again.status_code == 409
        assert errors_of(again.text)[0] == (
            f"'r1' is already served by server #{job_id} (starting); use it, or stop it first"
        )
    finally:
        jobs.mark_finished(job_id, jobs.CANCELLED, error="cancelled")


def test_servers_whose_process_is_gone_are_settled_at_start_up(ui_settings, make_job) -> None:
    from brewslm.storage.db import session_scope
    from brewslm.storage.tables import Job
    from brewslm.ui.app import create_ui_app

    gone = subprocess.Popen(["true"])
    gone.wait()
    progress = {"ready": True, "url": "http://127.0.0.1:9", "port": 9, "models": ["r1"], "key_required": False}
    job_id = make_job(kind="serve", status="running", pid=gone.pid, params={"models": ["r1"]}, progress=progress)
    create_ui_app(ui_settings)  # what `brewslm ui` does at start
    with session_scope() as session:
        assert session.get(Job, job_id).status == jobs.INTERRUPTED
    from fastapi.testclient import TestClient

    with TestClient(create_ui_app(ui_settings), base_url="http://127.0.0.1:8000") as client:
        panel = client.get(f"/serve/{job_id}/panel").text
    assert 'data-state="stopped"' in panel and "(no longer answering)" in panel and "stop-server" not in panel
    assert "its process ended without being stopped here" in panel


def test_a_stop_kills_a_server_that_ignores_it(make_job) -> None:
    job_id = make_job(kind="serve", status="running", params={"models": ["r1"]})
    stubborn = subprocess.Popen(  # the worker's markers on its command line, deaf to SIGTERM
        [sys.executable, "-c", STUBBORN, jobs.WORKER_MODULE, str(job_id)], start_new_session=True
    )
    try:
        jobs._set_fields(job_id, pid=stubborn.pid)
        time.sleep(0.5)  # its SIGTERM handler is in place
        assert jobs.worker_alive(stubborn.pid, job_id)
        job = jobs.stop_job(job_id, wait_s=1.0)
        assert job.status == jobs.CANCELLED and job.error.startswith("killed: the worker did not stop within 1 s")
        assert stubborn.wait(10) == -signal.SIGKILL
    finally:
        if stubborn.poll() is None:
            stubborn.kill()


STUBBORN = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(120)"
