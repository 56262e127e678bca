"""``brewslm serve``: its options (the server settings' help lines), one-line errors before any model
loads, and a real run in a subprocess - URL and ids printed, requests answered, Ctrl-C stops it."""

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

from brewslm.serving.settings import ServerSettings
from helpers.tiny_model import save_tiny_causal_lm


def test_help_text_comes_from_the_settings(capsys: pytest.CaptureFixture) -> None:
    from brewslm.cli import main

    assert main(["serve", "--help"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    for flag in (
        "--host",
        "--port",
        "--no-batching",
        "--window-ms",
        "--max-batch-size",
        "--max-tokens-limit",
        "--max-request-bytes",
        "--request-timeout-s",
        "--device",
    ):
        assert flag in text
    assert ServerSettings.model_fields["max_request_bytes"].description in text
    assert "(default: 127.0.0.1)" in text and "BREWSLM_API_KEY" in text


def test_errors_are_one_line_before_any_model_loads(cli, tmp_path: Path) -> None:
    nothing = cli("serve")
    assert nothing.code == 2 and nothing.err.strip() == (
        "error: name at least one model to serve: an export folder, recipe, training run or model folder"
    )
    missing = cli("serve", tmp_path / "no-such-model", "--port", "0")
    assert missing.code == 2 and missing.err.count("\n") == 1 and "no-such-model" in missing.err
    bad_port = cli("serve", tmp_path, "--port", "70000")
    assert bad_port.code == 2 and bad_port.err.startswith("error: option 'port'")
    bad_window = cli("serve", tmp_path, "--window-ms", "soon")
    assert bad_window.code == 2 and bad_window.err.startswith("error: option 'window_ms'")


def test_a_taken_port_is_a_one_line_error(cli, tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("serve", tmp_path, "--port", port)
    assert result.code == 2 and result.err.strip().startswith(f"error: cannot listen on 127.0.0.1:{port}")


def test_serve_prints_the_url_serves_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    model = save_tiny_causal_lm(tmp_path / "tiny")
    env = {**os.environ, "BREWSLM_API_KEY": ""}
    process = subprocess.Popen(
        [sys.executable, "-m", "brewslm", "serve", str(model), "--port", "0", "--log-level", "warning"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        banner = {}
        while "api key" not in banner:
            line = process.stdout.readline()
            assert line, f"serve ended early: {process.stderr.read()}"
            key, _, value = line.partition("  ")
            banner[key.strip()] = value.strip()
        assert banner["models"] == "tiny" and banner["default model"] == "tiny" and banner["api key"] == "none"
        url = banner["serving"]
        assert url.startswith("http://127.0.0.1:") and banner["openai base_url"] == f"{url}/v1"
        deadline = time.monotonic() + 60
        while True:  # the banner is printed just before uvicorn starts listening
            try:
                health = httpx.get(f"{url}/healthz", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the server never answered"
                time.sleep(0.1)
        assert health.json() == {"status": "ok", "models": ["tiny"]}
        reply = httpx.post(
            f"{url}/v1/chat/completions",
            timeout=60,
            json={"messages": [{"role": "user", "content": "hi"}], "max_tokens": 3},
        )
        assert reply.status_code == 200 and reply.json()["model"] == "tiny"
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert out.strip().startswith("stopped") and url in out
    assert "Traceback" not in err
