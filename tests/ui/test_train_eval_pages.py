"""The Train, Evaluate and Playground tabs over HTTP (no browser): the typed config forms and their
per-option errors, training and evaluation jobs (start, follow, cancel), report pages with their
pictures and the predictions filtered to the errors, and the Playground through the server's own
API. A tiny LoRA run is trained and evaluated once for the module, on rows written here."""

from __future__ import annotations

import html
import json
import re
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

from brewslm.evaluation.config import EvalConfig
from brewslm.options import describe_options
from brewslm.storage.db import reset_engines
from brewslm.training.config import TrainConfig
from brewslm.ui import jobs
from brewslm.ui.pages.evaluate import report_key
from brewslm.ui.pages.options_form import FORM_ERROR, display_values, options_form, read_options_form
from brewslm.ui.pages.train import loss_curve
from brewslm.ui.settings import UISettings
from helpers.tiny_model import save_tiny_causal_lm
from helpers.workspace import private_workspace
from ui.runs_fixture import TEST_ROWS, import_sentiment, one_thread_workers  # noqa: F401  (a fixture)

SMALL_RUN = {"max_steps": 3, "batch_size": 4, "max_seq_len": 128, "lora": {"r": 4}, "log_every": 1000}


@pytest.fixture(scope="module")
def space(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A workspace with a sentiment dataset (train / validation / test), the tiny model, a 3-step
    LoRA run 'r1' trained by the service, and its evaluation report (the module shares them)."""
    from brewslm.evaluation import evaluate, load_eval_config
    from brewslm.training import build_config, train

    root = tmp_path_factory.mktemp("ui-runs")
    with pytest.MonkeyPatch.context() as patch:
        private_workspace(root, patch)
        patch.delenv("BREWSLM_API_KEY", raising=False)
        import_sentiment(root)
        model_dir = save_tiny_causal_lm(root / "tiny")
        config = build_config(
            {"dataset": "sentiment", "base_model": str(model_dir), "run_name": "r1", "eval_every": 2, **SMALL_RUN}
        )
        run_dir = Path(train(config, progress=lambda event: None).run_dir)
        result = evaluate(
            load_eval_config(
                model=str(run_dir),
                dataset="sentiment",
                bootstrap_samples=50,
                max_seq_len=128,
                gates=["accuracy >= 0", "lift.macro_f1 > 0.5"],
            )
        )
        yield {
            "root": root,
            "home": root / "home",
            "model_dir": model_dir,
            "run_dir": run_dir,
            "report_dir": result.out_dir,
            "report": result.report,
        }
    reset_engines()


@pytest.fixture(autouse=True)
def workspace(space: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test of this module works in the module's workspace (overrides the package's)."""
    home = private_workspace(space["root"], monkeypatch)
    monkeypatch.delenv("BREWSLM_API_KEY", raising=False)
    monkeypatch.delenv("BREWSLM_SHARED_DATASETS", raising=False)
    return home


@pytest.fixture
def ui_settings(space: dict[str, Any], tmp_path: Path) -> UISettings:
    return UISettings(api_key=None, allowed_roots=[space["root"], tmp_path])


def errors_of(page: str) -> list[str]:
    """The one-line errors a page shows (form-level and per option), unescaped."""
    return [html.unescape(e) for e in re.findall(r'role="alert">([^<]*)<', page)]


def field_error(page: str, option: str) -> str | None:
    """The error shown under one option's input (unescaped), None when it has none."""
    match = re.search(
        rf'data-option="{re.escape(option)}".*?(?:field-error" role="alert">([^<]*)<|</label>)', page, re.S
    )
    return html.unescape(match.group(1)) if match and match.group(1) else None


# --- the typed forms ---------------------------------------------------------------------------------


def test_the_form_has_one_input_per_option_typed_by_its_annotation() -> None:
    form = options_form(
        TrainConfig,
        display_values(TrainConfig, {"dataset": "reviews", "lora": {"r": 4}}),
        primary=("dataset", "lora.r"),
    )
    by_name = {f.name: f for f in form.fields}
    assert len(form.fields) == len(by_name) == len(describe_options(TrainConfig))
    assert set(by_name) == {o["name"] for o in describe_options(TrainConfig)}
    assert [f.name for f in form.primary] == ["dataset", "lora.r"]
    assert by_name["method"].widget == "select" and by_name["method"].choices == ("lora", "full", "dpo", "orpo")
    assert by_name["qlora"].widget == "checkbox" and by_name["qlora"].value == "false"
    assert by_name["lora.r"].widget == "number" and by_name["lora.r"].value == "4" and by_name["lora.r"].minimum == 1
    assert by_name["max_steps"].optional and by_name["max_steps"].value == "" and by_name["max_steps"].step == "1"
    assert by_name["warmup_ratio"].minimum == 0 and by_name["warmup_ratio"].maximum == 1
    assert by_name["lora.target_modules"].widget == "yaml" and by_name["lora.target_modules"].value == "all-linear"
    assert by_name["dataset"].required and by_name["dataset"].value == "reviews"
    assert {g.title for g in form.groups} == {"", "lora", "preference", "early_stopping", "search", "distributed"}
    eval_form = {f.name: f for f in options_form(EvalConfig, display_values(EvalConfig)).fields}
    assert eval_form["gates"].widget == "lines" and eval_form["handler_options"].widget == "yaml"
    assert eval_form["strategy"].optional and eval_form["strategy"].widget == "select"


def test_a_submitted_form_reads_back_as_the_cli_reads_options() -> None:
    config, texts, errors = read_options_form(
        TrainConfig,
        {
            "dataset": "reviews",
            "epochs": "2",
            "learning_rate": "1e-4",
            "max_steps": "",
            "qlora": "",
            "prefix_sharing": "true",
            "lora.target_modules": "[q_proj, v_proj]",
            "run_name": "007",
            "early_stopping.patience": "3",
        },
    )
    assert errors == {} and config is not None
    assert config.epochs == 2.0 and config.learning_rate == 1e-4 and config.max_steps is None
    assert config.qlora is False and config.prefix_sharing is True
    assert config.lora.target_modules == ["q_proj", "v_proj"] and config.run_name == "007"
    assert config.early_stopping.patience == 3
    assert texts["learning_rate"] == "1e-4"  # what was typed is what the form shows again
    config, _, errors = read_options_form(
        EvalConfig,
        {
            "model": "r1",
            "dataset": "d",
            "gates": "macro_f1 >= 0.8\n\nlift.macro_f1 > 0",
            "handler_options": "{beta: 0.1}",
            "max_examples": "",
        },
    )
    assert errors == {} and config.gates == ["macro_f1 >= 0.8", "lift.macro_f1 > 0"]
    assert config.handler_options == {"beta": 0.1} and config.max_examples is None


def test_form_errors_come_back_per_option_and_for_the_whole_config() -> None:
    config, texts, errors = read_options_form(TrainConfig, {"dataset": "", "epochs": "zero", "lora.r": "0"})
    assert config is None and texts["epochs"] == "zero"
    assert errors["dataset"] == "is required"
    assert "valid number" in errors["epochs"] and "greater than or equal to 1" in errors["lora.r"]
    _, _, errors = read_options_form(TrainConfig, {"dataset": "d", "method": "full", "qlora": "true"})
    assert "qlora" in errors[FORM_ERROR] and set(errors) == {FORM_ERROR}
    form = options_form(TrainConfig, texts, {"lora.r": "too small"}, primary=("dataset",))
    assert form.advanced_errors and next(f for f in form.fields if f.name == "lora.r").error == "too small"


def test_the_loss_curve_spans_the_planned_steps_and_marks_validation() -> None:
    entries = [{"kind": "train", "step": s, "loss": 3.0 - 0.1 * s} for s in range(1, 11)]
    entries += [{"kind": "eval", "step": 5, "eval_loss": 2.4}, {"kind": "train", "step": 11, "loss": float("nan")}]
    curve = loss_curve(entries, total_steps=40, width=640, height=240)
    points = [tuple(map(float, p.split(","))) for p in curve.train_points.split()]
    assert len(points) == 10  # the NaN step is left out, not drawn at the bottom
    assert points[0][0] == curve.left and points[-1][0] < (curve.left + curve.right) / 2  # 10 of 40 steps
    assert (
        all(curve.top <= y <= curve.bottom for _, y in points) and points[0][1] < points[-1][1]
    )  # loss falls: the line goes down (SVG y grows downwards)
    assert len(curve.eval_points) == 1 and "2.4000" in curve.eval_points[0][2]
    assert curve.x_ticks[-1][1] == "40" and len({label for _, label in curve.y_ticks}) == 5
    assert loss_curve([]) is None


# --- Train ---------------------------------------------------------------------------------------------


def test_the_train_page_lists_the_runs_and_prefills_a_recipe(ui_client) -> None:
    page = ui_client.get("/train")
    assert page.status_code == 200
    for option in describe_options(TrainConfig):
        assert f'name="{option["name"]}"' in page.text, option["name"]
    assert 'href="/train/runs/r1"' in page.text
    recipe = ui_client.get("/train?recipe=sentiment").text
    assert re.search(r'name="epochs" value="2"', recipe) and re.search(
        r'name="dataset" value="sentiment-reviews"', recipe
    )
    assert "unknown recipe" in " ".join(errors_of(ui_client.get("/train?recipe=no-such-recipe").text))


def datalist(page: str, option: str) -> list[tuple[str, str]]:
    """The (value, label) pairs of an option's pick list."""
    found = re.search(rf'<datalist id="options-{re.escape(option)}">(.*?)</datalist>', page, re.S)
    assert found, f"no pick list for {option}"
    return [
        (html.unescape(value), html.unescape(label or ""))
        for value, label in re.findall(r'<option value="([^"]*)"(?: label="([^"]*)")?', found.group(1))
    ]


def test_base_model_and_dataset_are_pick_lists_that_take_free_text(
    ui_client, space: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from brewslm.base_models.catalog import CATALOG
    from brewslm.ingestion import open_dataset

    monkeypatch.delenv("BREWSLM_BASE_MODEL", raising=False)
    page = ui_client.get("/train").text
    assert re.search(r'name="base_model" value=""\s+placeholder="blank: the embedded SmolLM2-135M-Instruct', page)
    assert 'list="options-base_model"' in page and 'list="options-dataset"' in page  # text inputs: free text too
    models = datalist(page, "base_model")
    assert [value for value, _ in models] == [entry.id for entry in CATALOG]  # not converted here: blank is the default
    assert dict(models)["qwen2.5-0.5b-instruct"].startswith("Qwen/Qwen2.5-0.5B-Instruct · 494M parameters · apache-2.0")
    current = open_dataset("sentiment")
    label = f"classification · {current.counts['records']} records · v{current.version}"
    assert datalist(page, "dataset") == [("sentiment", label)]

    embedded = space["home"] / "models" / "smollm2-135m-instruct"  # once converted, the default is listed by folder
    embedded.mkdir(parents=True)
    (embedded / "brewslm_conversion.json").write_text("{}", encoding="utf-8")
    try:
        first = datalist(ui_client.get("/train").text, "base_model")[0]
        assert first == (str(embedded), "embedded SmolLM2-135M-Instruct (the default; same as blank)")
    finally:
        (embedded / "brewslm_conversion.json").unlink()
        embedded.rmdir()
    monkeypatch.setenv("BREWSLM_BASE_MODEL", str(space["model_dir"]))
    page = ui_client.get("/train").text
    assert datalist(page, "base_model")[0] == (str(space["model_dir"]), "BREWSLM_BASE_MODEL: the default base model")
    assert f'placeholder="blank: {space["model_dir"]} (BREWSLM_BASE_MODEL, the default)"' in page
    assert datalist(ui_client.get("/evaluate").text, "dataset") == [("sentiment", label)]


def test_a_bad_config_is_shown_in_the_form_and_starts_nothing(ui_client, space: dict[str, Any]) -> None:
    before = len(jobs.list_jobs(kind="train"))
    bad = ui_client.post("/train", data={"dataset": "sentiment", "epochs": "0", "lora.r": "0", "max_seq_len": "128"})
    assert bad.status_code == 400
    assert "greater than 0" in field_error(bad.text, "epochs") and "greater than or equal to 1" in field_error(
        bad.text, "lora.r"
    )
    assert 'name="max_seq_len" value="128"' in bad.text  # the user's input is kept
    missing = ui_client.post("/train", data={"dataset": "no-such-data"})
    assert missing.status_code == 400 and "dataset 'no-such-data' not found" in errors_of(missing.text)[0]
    outside = ui_client.post("/train", data={"dataset": "sentiment", "base_model": "/etc"})
    assert outside.status_code == 400 and "outside the folders this UI may read" in errors_of(outside.text)[0]
    assert len(jobs.list_jobs(kind="train")) == before


def test_a_run_page_shows_the_loss_curve_and_its_numbers(ui_client, space: dict[str, Any]) -> None:
    page = ui_client.get("/train/runs/r1")
    assert page.status_code == 200
    assert 'id="loss-curve"' in page.text and "<polyline" in page.text
    assert page.text.count('<circle class="eval"') == 2  # validation at steps 2 and 3 (the last)
    assert re.search(r'id="run-step">3 / 3<', page.text) and 'data-status="finished"' in page.text
    assert "hx-trigger" not in page.text  # a finished run is not polled
    assert "/evaluate?model=" in page.text
    for name in ("%2E%2E", "r1%2F..%2F..%2Fr1", "nope"):  # encoded: the client would resolve a plain ".."
        assert ui_client.get(f"/train/runs/{name}").status_code in (400, 404)


def wait_until(check, timeout: float = 240.0, poll: float = 0.3) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(poll)
    raise AssertionError("timed out waiting")


@pytest.mark.timeout(600)  # the job's worker process starts Python and torch: minutes on a busy 2-core machine
def test_a_training_job_runs_in_the_background_and_cancels_cleanly(ui_client, space: dict[str, Any]) -> None:
    started = ui_client.post(
        "/train",
        data={
            "dataset": "sentiment",
            "base_model": str(space["model_dir"]),
            "max_steps": "100000",
            "batch_size": "2",
            "max_seq_len": "64",
            "lora.r": "4",
            "run_name": "to-cancel",
            "log_every": "1000",
        },
        follow_redirects=False,
    )
    assert started.status_code == 303, errors_of(started.text)
    job_id = int(started.headers["location"].rsplit("/", 1)[1])
    job = jobs.get_job(job_id)
    assert job.params["config"]["output_dir"] == str(space["home"] / "runs" / "to-cancel")  # fixed at submit time
    try:
        wait_until(lambda: (jobs.get_job(job_id).progress.get("done") or 0) >= 1)
        panel = ui_client.get(f"/train/jobs/{job_id}/panel").text
        assert 'data-status="running"' in panel and "hx-trigger" in panel and 'id="cancel-training"' in panel
        assert re.search(r'id="run-step">\d+ / 100000<', panel) and "<polyline" in panel
        assert re.search(r'id="run-speed">\d+<', panel) and not re.search(r'id="run-eta">-<', panel)
    finally:
        ui_client.post(f"/train/jobs/{job_id}/cancel", headers={"HX-Request": "true"})
    finished = jobs.wait_for_job(job_id, timeout=60)
    assert finished.status == jobs.CANCELLED
    record = json.loads((space["home"] / "runs" / "to-cancel" / "run.json").read_text())
    assert record["status"] == "interrupted"  # the loop stopped at a step and said so
    panel = ui_client.get(f"/train/jobs/{job_id}").text
    assert 'data-status="cancelled"' in panel and "hx-trigger" not in panel


def test_a_training_job_keeps_the_best_model_by_a_task_metric(ui_client, space: dict[str, Any]) -> None:
    started = ui_client.post(
        "/train",
        data={
            "dataset": "sentiment",
            "base_model": str(space["model_dir"]),
            "max_steps": "4",
            "eval_every": "2",
            "batch_size": "2",
            "max_seq_len": "64",
            "lora.r": "4",
            "run_name": "by-macro-f1",
            "early_stopping.metric": "macro_f1",
        },
        follow_redirects=False,
    )
    assert started.status_code == 303, errors_of(started.text)
    job_id = int(started.headers["location"].rsplit("/", 1)[1])
    finished = jobs.wait_for_job(job_id, timeout=120)
    assert finished.status == jobs.SUCCEEDED, finished.error  # trained as the CLI trains: with the task's evaluator
    record = json.loads((space["home"] / "runs" / "by-macro-f1" / "run.json").read_text())
    assert record["metrics"]["best"]["metric"] == "macro_f1"


# --- Evaluate ----------------------------------------------------------------------------------------


def report_url(space: dict[str, Any]) -> str:
    return f"/evaluate/report?key={report_key(space['report_dir'])}"


def test_the_reports_list_shows_headline_lift_and_gates(ui_client, space: dict[str, Any]) -> None:
    page = ui_client.get("/evaluate")
    assert page.status_code == 200
    assert report_url(space).replace("&", "&amp;") in page.text
    row = re.search(r'class="report-link".*?</tr>', page.text, re.S).group(0)
    version = space["report"]["dataset"]["version"]
    assert "classification" in row and "macro_f1" in row and f"sentiment v{version} · test" in row
    assert '<span class="fail">failed</span>' in row  # gate lift.macro_f1 > 0.5 cannot pass on a 3-step run
    baseline = space["report"]["metrics"]["baseline"]["macro_f1"]
    assert f'title="{space["report"]["models"]["baseline"]["title"]}"' in row and f">{baseline:.3f}</td>" in row


def test_a_report_page_shows_metrics_lift_gates_and_pictures(ui_client, space: dict[str, Any]) -> None:
    page = ui_client.get(report_url(space))
    assert page.status_code == 200
    text = page.text
    assert "lift vs base [95% CI]" in text and "lift vs baseline [95% CI]" in text and "macro_f1 (headline)" in text
    assert "TF-IDF" in text and "Cheap baselines" in text  # fitted on the sentiment train split
    assert 'class="fail" id="gate-verdict">gates: FAILED (1 of 2 passed)' in text
    pictures = re.findall(r'src="(/evaluate/report/picture\?[^"]+)"', text)
    assert [re.search(r"name=(\w+)", src).group(1) for src in pictures] == [
        "confusion_matrix",
        "per_class_f1",
        "reliability_diagram",
    ]  # each with the cheap baseline's series
    for src in pictures:
        image = ui_client.get(src.replace("&amp;", "&"))
        assert image.status_code == 200 and image.headers["content-type"] == "image/png"
        assert image.content.startswith(b"\x89PNG")
    key = report_key(space["report_dir"])
    assert ui_client.get(f"/evaluate/report/picture?key={key}&name=../report").status_code == 400
    download = ui_client.get(f"/evaluate/report/file?key={key}&name=report.json")
    assert download.status_code == 200 and json.loads(download.content)["task"] == "classification"
    assert ui_client.get(f"/evaluate/report/file?key={key}&name=predictions_tuned.jsonl").status_code == 400
    for bad in ("../../etc", str(space["report_dir"]), "runs/r1"):
        assert ui_client.get(f"/evaluate/report?key={bad}").status_code == 400


def test_a_report_page_leads_with_the_headline_and_the_pictures(ui_client, space: dict[str, Any]) -> None:
    from brewslm.ui.pages.report_view import metric_signature

    report = space["report"]
    text = ui_client.get(report_url(space)).text
    order = [text.index(f'id="{anchor}"') for anchor in ("headline", "pictures", "metrics-table", "predictions-panel")]
    assert order == sorted(order)  # the headline, then the pictures, then the tables
    tuned = report["metrics"]["tuned"]["macro_f1"]
    assert re.search(rf'id="headline-value">{tuned:.3f} \[', text)
    assert "vs base model" in text and "vs cheap baseline" in text
    assert [m for m in re.findall(r'data-model="(\w+)"', text)] == ["base", "baseline", "tuned"]  # a bar each

    rows = re.findall(r'<tr data-metric="(\w+)"[^>]*>\s*<td>([^<]*)(?:<span class="aka"> = ([^<]*)</span>)?</td>', text)
    shown = {name: (aliases.split(" = ") if aliases else []) for name, _, aliases in rows}
    metrics = list(report["metrics"]["tuned"])
    assert sorted(n for name, aliases in shown.items() for n in [name, *aliases]) == sorted(metrics)  # each metric once
    assert len(shown) < len(metrics)  # some rows repeated others
    assert {"exact_match", "micro_f1"} <= set(shown["accuracy"]) and "f1" in shown["macro_f1"]
    for name, aliases in shown.items():  # merged only when every number is the same
        assert all(metric_signature(report, alias) == metric_signature(report, name) for alias in aliases)
    assert f"{len(metrics)} metrics in {len(shown)} rows" in text
    assert text.index("<h2>Gates</h2>") < text.index("<h2>Cheap baselines")


def test_a_report_hides_its_empty_sections(ui_client, space: dict[str, Any]) -> None:
    report = json.loads((Path(space["report_dir"]) / "report.json").read_text(encoding="utf-8"))
    report.update(gates=[], passed=None, baselines={}, lift_vs_baseline=None, judge=None, by_subtask={}, predictions={})
    report["baselines_skipped"] = "no cheap baseline for this test"
    report["models"]["baseline"] = None
    report["metrics"]["baseline"] = report["intervals"]["baseline"] = None
    report["breakdown"] = {"tuned": {"per_class": {}}, "base": None, "baseline": None}
    folder = space["home"] / "evals" / "bare"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(report), encoding="utf-8")
    text = ui_client.get(f"/evaluate/report?key={report_key(folder)}").text
    for absent in ("gates: none set", "<h2>Gates", "Cheap baselines", "Pairwise judge", "By subtask", "<h2>Breakdown"):
        assert absent not in text, absent
    assert 'id="pictures"' not in text and 'id="predictions-panel"' not in text  # none drawn, none saved
    assert 'id="headline"' in text and "vs base model" in text and "vs cheap baseline" not in text
    assert "<dt>cheap baseline</dt><dd>none (no cheap baseline for this test)</dd>" in text  # why none: still said
    assert 'id="metrics-table"' in text


def test_predictions_filter_to_the_errors_the_report_counted(ui_client, space: dict[str, Any]) -> None:
    key, report = report_key(space["report_dir"]), space["report"]
    for model in ("tuned", "base"):
        wrong = round((1 - report["metrics"][model]["accuracy"]) * report["dataset"]["examples"])
        everything = ui_client.get(f"/evaluate/report/predictions?key={key}&model={model}").text
        assert f"{TEST_ROWS} of {TEST_ROWS} rows · {wrong} errors" in everything
        only_errors = ui_client.get(f"/evaluate/report/predictions?key={key}&model={model}&errors=true").text
        verdicts = re.findall(r'data-verdict="([a-z]*)"', only_errors)
        assert verdicts == ["error"] * wrong
        assert f"{wrong} of {TEST_ROWS} rows" in only_errors


def test_a_row_holding_markup_is_shown_as_text(ui_client, space: dict[str, Any]) -> None:
    page = ui_client.get(report_url(space)).text
    assert "&lt;script&gt;document.title=" in page
    assert "<script>document.title" not in page


def test_a_bad_evaluation_is_shown_in_the_form_and_starts_nothing(ui_client) -> None:
    before = len(jobs.list_jobs(kind="eval"))
    bad = ui_client.post("/evaluate", data={"model": "r1", "dataset": "sentiment", "gates": "macro_f1 >> 1"})
    assert bad.status_code == 400 and "gate 'macro_f1 >> 1' is not understood" in errors_of(bad.text)[0]
    assert 'name="gates"' in bad.text and "macro_f1 &gt;&gt; 1</textarea>" in bad.text  # kept as typed
    outside = ui_client.post("/evaluate", data={"model": "/etc", "dataset": "sentiment"})
    assert outside.status_code == 400 and "outside the folders" in errors_of(outside.text)[0]
    unknown = ui_client.post("/evaluate", data={"model": "no-such-run", "dataset": "sentiment", "split": "dev"})
    assert unknown.status_code == 400 and "Input should be 'train', 'validation' or 'test'" in field_error(
        unknown.text, "split"
    )
    assert len(jobs.list_jobs(kind="eval")) == before


def test_the_evaluate_form_is_prefilled_from_a_run(ui_client, space: dict[str, Any]) -> None:
    page = ui_client.get(f"/evaluate?model={space['run_dir']}&dataset=sentiment").text
    assert f'name="model" value="{space["run_dir"]}"' in page and 'name="dataset" value="sentiment"' in page
    assert '<option value="r1">' in page  # finished runs are offered for the model


# --- Playground -------------------------------------------------------------------------------------


def test_the_playground_says_when_no_model_is_served(ui_client) -> None:
    page = ui_client.get("/playground")
    assert page.status_code == 200 and "no model served" in page.text and "brewslm ui --model" in page.text


def test_the_playground_calls_the_served_models_endpoints(space: dict[str, Any], ui_settings: UISettings) -> None:
    import httpx

    from brewslm.serving.local import running_server
    from brewslm.serving.served import ServedModels
    from brewslm.serving.settings import server_settings
    from brewslm.ui.app import create_playground_app

    app = create_playground_app(ServedModels.load([str(space["run_dir"])]), server_settings(), ui_settings)
    with running_server(app) as base, httpx.Client(base_url=base, timeout=120) as client:
        page = client.get("/playground").text
        assert re.search(r'<option value="r1" selected>r1 \(classification\)', page)
        assert "Task endpoint <code>/v1/classify</code>" in page and 'id="chat-form"' in page
        answer = client.post(
            "/playground/task", data={"model": "r1", "endpoint": "/v1/classify", "input": "a fine film"}
        )
        label = re.search(r"<th>label</th><td[^>]*>(\w+) · confidence", answer.text).group(1)
        assert label in ("negative", "positive") and "&#34;probabilities&#34;" in answer.text
        direct = client.post("/v1/classify", json={"model": "r1", "input": "a fine film"}).json()
        assert direct["results"][0]["label"] == label  # the page shows what the API answers
        chat = client.post(
            "/playground/chat", data={"model": "r1", "history": "[]", "message": "hi", "max_tokens": "4"}
        )
        roles = re.findall(r'class="msg (\w+)"', chat.text)
        assert roles == ["user", "assistant"]
        history = json.loads(html.unescape(re.search(r'name="history" value="([^"]*)"', chat.text).group(1)))
        assert [m["role"] for m in history] == ["user", "assistant"]
        unknown = client.post("/playground/chat", data={"model": "nope", "history": "[]", "message": "hi"})
        assert "404: model 'nope' is not served here" in errors_of(unknown.text)[0]
        wrong_task = client.post("/playground/task", data={"model": "r1", "endpoint": "/v1/extract", "input": "x"})
        assert "needs a structured_extraction (field_match) fine-tune" in errors_of(wrong_task.text)[0]
        not_a_task = client.post("/playground/task", data={"model": "r1", "endpoint": "/etc/passwd"})
        assert "is not a task endpoint" in errors_of(not_a_task.text)[0]


def test_ui_and_api_in_one_app_keep_their_own_access_rules(space: dict[str, Any], ui_settings: UISettings) -> None:
    """``brewslm ui --model``: the API's bearer key guards /v1; the UI's pages take the key too,
    by header or by the login cookie, and reach the same models."""
    import httpx

    from brewslm.serving.local import running_server
    from brewslm.serving.served import ServedModels
    from brewslm.serving.settings import server_settings
    from brewslm.ui.app import create_playground_app

    secret = "s3cret-key"
    app = create_playground_app(
        ServedModels.load([str(space["run_dir"])]), server_settings(api_key=secret), ui_settings.replace(api_key=secret)
    )
    with running_server(app) as base, httpx.Client(base_url=base, timeout=120) as client:
        denied = client.get("/v1/models")
        assert denied.status_code == 401 and denied.json()["error"]["type"]
        assert client.get("/v1/models", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
        assert client.get("/playground").status_code in (303, 401)  # no key: the login form
        login = client.post("/login", data={"api_key": secret, "next": "/playground"}, headers={"Origin": base})
        assert login.status_code in (200, 303)
        page = client.get("/playground")
        assert page.status_code == 200 and "r1 (classification)" in page.text


def test_a_report_whose_baseline_wins_opens_with_the_warning(ui_client, space: dict[str, Any], tmp_path: Path) -> None:
    from brewslm.ui.pages.evaluate import report_page_blocks, summarize_report

    report = dict(space["report"])
    report["lift_vs_baseline"] = {
        "macro_f1": {"base": 0.9, "tuned": 0.5, "lift": -0.4, "ci_low": -0.5, "ci_high": -0.3, "better": False}
    }
    kinds = report_page_blocks(report, tmp_path)
    assert kinds[1][0] == "paragraph" and kinds[1][1].tone == "warning"
    assert kinds[1][1].text.startswith("The cheap baseline (") and "beats this fine-tune" in kinds[1][1].text
    summary = summarize_report(space["report_dir"], report)
    assert summary.baseline_wins is True and summary.lift_vs_baseline == "-0.400 [-0.500, -0.300]"
