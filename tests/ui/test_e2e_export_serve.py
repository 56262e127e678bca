"""End to end in headless Chromium: export a tiny run from the Export tab (a verified GGUF, then the
list of exports) and serve it from the Serve tab. Every page is saved as a screenshot
(tests/ui/screenshots/ or $BREWSLM_SCREENSHOTS)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from helpers.tiny_model import save_tiny_causal_lm
from ui.runs_fixture import import_sentiment, one_thread_workers  # noqa: F401  (a fixture)

JOB_TIMEOUT_MS = 300_000  # a worker process starts Python and torch on a busy 2-core machine


@pytest.fixture
def tiny_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A finished 2-step LoRA run 'tiny-run' on the tiny model, and no Hub token."""
    from brewslm.training import build_config, train

    for name in ("HF_TOKEN", "HUGGING_FACE_HUB_TOKEN", "HF_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    monkeypatch.setattr("huggingface_hub.constants.HF_TOKEN_PATH", str(tmp_path / "hf-home" / "token"))
    import_sentiment(tmp_path)
    model_dir = save_tiny_causal_lm(tmp_path / "tiny")
    config = {"dataset": "sentiment", "base_model": str(model_dir), "run_name": "tiny-run", "max_steps": 2}
    config.update({"batch_size": 4, "max_seq_len": 96, "lora": {"r": 4}, "log_every": 1000})
    return Path(train(build_config(config), progress=lambda event: None).run_dir)


@pytest.mark.timeout(900)
def test_export_a_run_as_a_verified_gguf(ui_server, page, page_errors: list[str], screenshot, tiny_run: Path) -> None:
    page.goto(f"{ui_server.url}/export")
    assert page.locator("#hub-no-token").count() == 1  # no token: one line, and the push inputs are off
    assert page.locator('input[name="push"]').is_disabled()
    assert page.locator("#gguf-options").is_hidden()  # hf is chosen: the GGUF choices are out of the way
    page.select_option("#export-source", str(tiny_run.resolve()))
    page.check('input[name="format"][value="gguf"]')
    assert page.locator("#gguf-options").is_visible() and page.locator("#hf-options").is_hidden()
    page.select_option('select[name="quant"]', "f16")
    page.select_option('select[name="converter"]', "builtin")
    screenshot(page, "export-form")
    page.click("#start-export")
    page.wait_for_url(re.compile(r"/export/jobs/\d+$"))
    page.wait_for_selector('#export-panel[data-status="succeeded"]', timeout=JOB_TIMEOUT_MS)
    assert page.text_content("#verify-verdict").strip() == "passed"
    rows = dict(
        zip(
            page.locator("#verification th").all_text_contents(),
            page.locator("#verification td").all_text_contents(),
        )
    )
    assert rows["tokenizer"] == "identical" and rows["top-1 agreement"].startswith("1.000")
    assert page.text_content("#export-folder").endswith("tiny-run-gguf-f16")
    assert page.locator("#hub-no-token").count() == 1
    screenshot(page, "export-done")

    page.goto(f"{ui_server.url}/export")
    assert page.locator('#exports-table tr[data-format="gguf"]').count() == 1
    screenshot(page, "export-list")
    assert page_errors == []


@pytest.mark.timeout(900)
def test_serve_a_run_call_it_and_stop_it(ui_server, page, page_errors: list[str], screenshot, tiny_run: Path) -> None:
    import httpx

    page.goto(f"{ui_server.url}/train/runs/tiny-run")
    page.click("#serve-run")  # a finished run links to the Serve tab with the run ticked
    page.wait_for_url(re.compile(r"/serve\?model="))
    assert page.locator(f'input[name="model"][value="{tiny_run.resolve()}"]').is_checked()
    assert page.locator("#no-servers").count() == 1
    screenshot(page, "serve-form")
    page.click("#start-server")
    page.wait_for_url(re.compile(r"/serve/\d+$"))
    page.wait_for_selector('.server[data-state="ready"]', timeout=JOB_TIMEOUT_MS)
    url = page.text_content("code.endpoint").strip().removesuffix("/v1")
    models = httpx.get(f"{url}/v1/models", timeout=60).json()
    assert [m["id"] for m in models["data"]][0] == "tiny-run"
    assert page.text_content(".key-rule").strip() == "none: anyone on this machine may call it"
    assert "tiny-run" in page.text_content(".served-models")
    assert f"curl {url}/v1/models" in page.text_content("#how-to-call")  # the panel polled into its ready state
    screenshot(page, "serve-ready")

    page.goto(f"{ui_server.url}/serve")
    assert page.locator('.server[data-state="ready"]').count() == 1
    page.click(".stop-server")
    page.wait_for_selector('.server[data-state="stopped"]')
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/v1/models", timeout=5)
    screenshot(page, "serve-stopped")
    assert page_errors == []
