"""End to end in headless Chromium: start a tiny training run from the Train tab and watch its
progress, evaluate it from the Evaluate tab, open the report (metrics, lift, gates, pictures,
predictions filtered to the errors), and ask a served tiny model in the Playground. Every page
is saved as a screenshot (tests/ui/screenshots/ or $BREWSLM_SCREENSHOTS)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from helpers.tiny_model import save_tiny_causal_lm
from ui.runs_fixture import TEST_ROWS, import_sentiment, one_thread_workers  # noqa: F401  (a fixture)

RUN_STEPS = 12
EVAL_EVERY = 4
JOB_TIMEOUT_MS = 180_000  # a worker process starts Python and torch on a busy 2-core machine


@pytest.fixture
def sentiment(tmp_path: Path) -> str:
    return import_sentiment(tmp_path)


@pytest.mark.timeout(900)  # two job workers start Python and torch; minutes on a busy 2-core machine
def test_train_watch_progress_evaluate_and_open_the_report(
    ui_server, page, page_errors: list[str], screenshot, sentiment: str, tmp_path: Path
) -> None:
    model_dir = save_tiny_causal_lm(tmp_path / "tiny")

    # Train: the typed form, prefilled with the dataset; the rest typed in
    page.goto(f"{ui_server.url}/train?dataset={sentiment}")
    assert page.input_value('input[name="dataset"]') == sentiment
    page.fill('input[name="base_model"]', str(model_dir))
    page.fill('input[name="max_steps"]', str(RUN_STEPS))
    page.fill('input[name="batch_size"]', "2")
    page.fill('input[name="max_seq_len"]', "96")
    page.fill('input[name="lora.r"]', "4")
    page.fill('input[name="run_name"]', "e2e-run")
    page.click("details.all-options summary")
    page.fill('input[name="eval_every"]', str(EVAL_EVERY))
    screenshot(page, "train-form")
    page.click("#start-training")
    page.wait_for_url(re.compile(r"/train/jobs/\d+$"))

    # live progress: steps counted against the plan, the loss curve drawn as the run goes
    page.wait_for_function(
        "() => /^[1-9][0-9]* \\/ %d$/.test((document.querySelector('#run-step') || {}).textContent || '')" % RUN_STEPS,
        timeout=JOB_TIMEOUT_MS,
    )
    page.wait_for_selector("#loss-curve polyline")
    assert re.fullmatch(r"\d+", page.text_content("#run-speed").strip())
    screenshot(page, "train-progress")
    page.wait_for_selector('#run-panel[data-status="succeeded"]', timeout=JOB_TIMEOUT_MS)
    assert page.text_content("#run-step").strip() == f"{RUN_STEPS} / {RUN_STEPS}"
    assert page.locator("#loss-curve circle.eval").count() == RUN_STEPS // EVAL_EVERY  # a validation pass each 4 steps
    screenshot(page, "train-finished")

    # Evaluate the finished run: the form comes prefilled from the run
    page.click("#evaluate-run")
    page.wait_for_url(re.compile(r"/evaluate\?"))
    assert page.input_value('input[name="model"]').endswith("e2e-run")
    assert page.input_value('input[name="dataset"]') == sentiment
    page.fill('input[name="bootstrap_samples"]', "20")
    page.fill('textarea[name="gates"]', "accuracy >= 0\nlift.macro_f1 > 0.9")
    screenshot(page, "evaluate-form")
    page.click("#start-evaluation")
    page.wait_for_url(re.compile(r"/evaluate/jobs/\d+$"))
    page.wait_for_selector("#open-report", timeout=JOB_TIMEOUT_MS)
    screenshot(page, "evaluate-job")

    # the report: base vs tuned with lift and CI, gates, pictures, predictions
    page.click("#open-report")
    page.wait_for_selector("#gate-verdict")
    assert page.text_content("#gate-verdict").strip() == "gates: FAILED (1 of 2 passed)"
    assert page.locator("th", has_text="lift vs base [95% CI]").count() == 1  # and the cheap baseline's:
    assert page.locator("th", has_text="lift vs baseline [95% CI]").count() == 1
    images = page.locator("#report figure img")
    assert images.count() == 3  # the confusion matrix, the per-class f1 bars and the reliability diagram
    for index in range(images.count()):
        assert images.nth(index).evaluate("img => img.complete && img.naturalWidth > 0")
    assert page.locator("#predictions-table tbody tr").count() == TEST_ROWS
    screenshot(page, "report")
    errors = int(re.search(r"(\d+) errors", page.text_content("#predictions-count")).group(1))
    page.check("#errors-only")
    page.wait_for_function(
        "() => /^%d of %d rows/.test(document.querySelector('#predictions-count').textContent.trim())"
        % (errors, TEST_ROWS)
    )
    verdicts = page.locator("#predictions-table tbody tr").evaluate_all("rows => rows.map(r => r.dataset.verdict)")
    assert verdicts == ["error"] * errors
    screenshot(page, "report-errors-only")

    page.goto(f"{ui_server.url}/evaluate")
    assert page.locator("a.report-link").count() == 1
    screenshot(page, "evaluate-reports")
    assert page_errors == []


def test_the_playground_answers_with_a_served_tiny_model(
    ui_settings, page, page_errors: list[str], screenshot, sentiment: str, tmp_path: Path, ui_server
) -> None:
    from brewslm.serving.local import running_server
    from brewslm.serving.served import ServedModels
    from brewslm.serving.settings import server_settings
    from brewslm.training import build_config, train
    from brewslm.ui.app import create_playground_app

    page.goto(f"{ui_server.url}/playground")  # the UI alone serves no model, and says how to serve one
    assert "brewslm ui --model" in page.text_content("#no-model")
    screenshot(page, "playground-no-model")

    model_dir = save_tiny_causal_lm(tmp_path / "tiny")
    run_dir = train(
        build_config(
            {
                "dataset": sentiment,
                "base_model": str(model_dir),
                "max_steps": 3,
                "batch_size": 4,
                "max_seq_len": 96,
                "lora": {"r": 4},
                "log_every": 1000,
                "run_name": "served",
            }
        ),
        progress=lambda event: None,
    ).run_dir
    app = create_playground_app(ServedModels.load([str(run_dir)]), server_settings(), ui_settings)
    with running_server(app) as base:
        page.goto(f"{base}/playground")
        assert page.locator('select[name="model"] option:checked').text_content().strip() == "served (classification)"
        page.fill('#task-form textarea[name="input"]', "a wonderful film")
        page.click("#task-send")
        page.wait_for_selector("#task-summary")
        assert re.match(r"(negative|positive) · confidence 0\.\d+", page.text_content("#task-summary td").strip())
        page.fill('#chat-form textarea[name="message"]', "hello")
        page.click("#chat-send")
        page.wait_for_selector("#chat-log .msg.assistant")
        assert page.locator("#chat-log .msg").count() == 2
        screenshot(page, "playground")
    assert page_errors == []


@pytest.mark.timeout(900)
def test_a_report_opens_with_its_headline_and_pictures(
    ui_server, page, page_errors: list[str], screenshot, sentiment: str, tmp_path: Path
) -> None:
    from brewslm.evaluation import evaluate, load_eval_config
    from brewslm.training import build_config, train
    from brewslm.ui.pages.evaluate import report_key

    model_dir = save_tiny_causal_lm(tmp_path / "tiny")
    config = {"dataset": sentiment, "base_model": str(model_dir), "run_name": "reported", "max_steps": 3}
    config.update({"batch_size": 4, "max_seq_len": 96, "lora": {"r": 4}, "log_every": 1000})
    run_dir = train(build_config(config), progress=lambda event: None).run_dir
    result = evaluate(load_eval_config(model=str(run_dir), dataset=sentiment, bootstrap_samples=20, max_seq_len=96))
    page.goto(f"{ui_server.url}/evaluate/report?key={report_key(result.out_dir)}")
    headline, pictures, table = (page.locator(s).bounding_box() for s in ("#headline", "#pictures", "#metrics-table"))
    assert headline["y"] < pictures["y"] < table["y"]  # the headline and the pictures come first
    assert page.locator("#headline-chart rect").count() == 3  # base, cheap baseline, fine-tune
    assert page.locator("#pictures img").count() == 3
    for index in range(3):
        assert page.locator("#pictures img").nth(index).evaluate("img => img.complete && img.naturalWidth > 0")
    accuracy = page.locator('#metrics-table tr[data-metric="accuracy"]')
    assert "exact_match" in accuracy.text_content() and "micro_f1" in accuracy.text_content()
    assert page.locator("text=gates: none set").count() == 0  # no gates were set: no gates section
    screenshot(page, "report-headline")
    assert page_errors == []
