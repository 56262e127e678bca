"""``brewslm ui``: options become UISettings; the command serves the UI until Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from brewslm.cli.ui import UIOptions, ui_settings


def test_options_become_settings(tmp_path: Path, workspace: Path):
    extra = tmp_path / "exports"
    extra.mkdir()
    settings = ui_settings(
        UIOptions(port=8123, model=["runs/a", "hub/b"], allow_root=[str(extra)], max_upload_mb=2, keep_uploads_days=0.5)
    )
    assert (settings.host, settings.port, settings.models) == ("127.0.0.1", 8123, ["runs/a", "hub/b"])
    assert settings.max_upload_bytes == 2 * 1024 * 1024 and settings.upload_retention_days == 0.5
    assert extra.resolve() in settings.allowed_roots and Path.cwd().resolve() in settings.allowed_roots
    assert workspace.resolve() in settings.allowed_roots


def test_a_missing_root_is_a_one_line_error(cli, tmp_path: Path):
    result = cli("ui", "--allow-root", str(tmp_path / "nope"))
    assert (
        result.code == 2
        and result.err.strip() == f"error: --allow-root {tmp_path / 'nope'}: not a folder; name an existing folder"
    )


@pytest.mark.parametrize("days", ["-1", "soon", "nan"])
def test_a_bad_upload_retention_is_a_one_line_error(cli, days):
    result = cli("ui", "--keep-uploads-days", days)
    assert result.code == 2
    assert result.err.strip() == f"error: --keep-uploads-days must be a number of days, 0 or more, not {days}"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_command_serves_the_ui_until_interrupted(workspace: Path):
    port = _free_port()
    env = {**os.environ, "BREWSLM_API_KEY": "k"}
    server = subprocess.Popen(
        [sys.executable, "-m", "brewslm", "ui", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/jobs", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, (
                    server.stderr.read() if server.poll() else "no answer"
                )
                time.sleep(0.2)
        assert response.status_code == 401  # BREWSLM_API_KEY set: the key is needed
        authorized = httpx.get(f"http://127.0.0.1:{port}/jobs", headers={"Authorization": "Bearer k"})
        assert authorized.status_code == 200 and "Jobs" in authorized.text
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    assert f"BrewSLM UI on http://127.0.0.1:{port}/" in err and "warning" not in err
