"""The Data and Audit tabs in a real browser (headless Chromium via Playwright) against a live
server: walk the import wizard on a file of our own, save the mapping, re-run it from the saved
mappings panel, find the re-run's RunEvent in Audit, browse the rows. Screenshots of each page go
to the screenshots folder (see conftest)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from brewslm.ingestion import list_events
from ui.data_fixture import CLEAN_ROWS, MARKUP_REVIEW, write_reviews

ACCEPTED = str(CLEAN_ROWS + 1)  # the clean rows and the markup row; the empty and the broken one are rejected
JOB_TIMEOUT_MS = 120_000  # an import job's worker process on a loaded machine


@pytest.fixture
def locator(tmp_path: Path) -> str:
    return write_reviews(tmp_path / "reviews.jsonl")


def test_wizard_save_rerun_and_audit(ui_server, page, page_errors, screenshot, locator):
    page.goto(ui_server.url + "/data")
    assert page.title() == "Data · BrewSLM"
    screenshot(page, "data-1-empty")

    # 1-2: open the source: raw rows and ranked proposals, the accepted one loaded into the editor
    page.fill("#locator-form input[name=locator]", locator)
    page.click("#locator-form button[type=submit]")
    page.wait_for_selector("#proposals-panel")
    assert page.locator("#raw-preview tbody tr").count() == 10
    proposals = page.locator(".proposal")
    assert proposals.first.get_attribute("data-mapper") == "label_to_classification"
    assert "accepted" in proposals.first.inner_text()
    screenshot(page, "data-2-proposals")

    # 3: edit the field map: a proposal's map replaces the editor's, picking a mapper re-guesses,
    # then back to the classification proposal, with our own dataset name
    page.locator('.proposal[data-mapper="text_only"] button').click()
    page.wait_for_selector(
        '#field-map-form select[name=mapper_id] option[value="text_only"][selected]', state="attached"
    )
    page.select_option("#field-map-form select[name=mapper_id]", "label_to_classification")
    page.wait_for_selector(
        '#field-map-form select[name=mapper_id] option[value="label_to_classification"][selected]', state="attached"
    )
    page.locator('.proposal[data-mapper="label_to_classification"] button').click()
    page.wait_for_function("document.querySelector('#field-map input[data-src=sentiment]').value === 'label'")
    assert page.input_value("#field-map input[data-src=review]") == "text"
    page.fill("#field-map-form input[name=dataset]", "coffee")
    screenshot(page, "data-3-field-map")

    # 4: the dry run: accepted records, rejections by reason with examples
    page.click("#dry-run-button")
    page.wait_for_selector("#dry-run-result")
    summary = page.inner_text("#dry-run-result p")
    assert f"{ACCEPTED}/42 sample rows map cleanly" in summary and "coffee" in summary
    assert page.locator("#rejections tr[data-reason=missing_text]").count() == 1
    assert page.locator(".accepted-record").count() == 5
    screenshot(page, "data-4-dry-run")

    # 5: import, with progress, then the result
    page.click("#import-button")
    page.wait_for_selector("#import-job .job")
    page.wait_for_selector("#import-job .import-result", timeout=JOB_TIMEOUT_MS)
    assert page.inner_text("#import-job .accepted-count") == ACCEPTED
    assert page.get_attribute("#import-job .job", "data-status") == "succeeded"
    assert page.locator('#datasets-panel tr[data-dataset="coffee"]').count() == 1  # refreshed out of band
    screenshot(page, "data-5-imported")

    # 6: save this mapping; the saved mappings panel lists it, never run as a mapping yet
    page.fill("#save-mapping-form input[name=name]", "coffee-reviews")
    page.click("#save-mapping-form button[type=submit]")
    page.wait_for_selector("#mapping-saved")
    row = page.locator('#mappings-panel tr[data-mapping="coffee-reviews"]')
    assert row.locator(".last-run").inner_text().strip() == "-"
    screenshot(page, "data-6-saved")

    # 7: re-run it from the panel: a job, then the panel shows the run
    events_before = {e.id for e in list_events(mapping="coffee-reviews")}
    row.locator("button", has_text="Re-run").click()
    page.wait_for_selector("#mapping-jobs .import-result", timeout=JOB_TIMEOUT_MS)
    page.wait_for_function(
        "document.querySelector('#mappings-panel tr[data-mapping=\"coffee-reviews\"] .last-run').innerText.includes('UTC')"
    )
    assert "ok" in page.locator('#mappings-panel tr[data-mapping="coffee-reviews"] .last-run').inner_text()
    screenshot(page, "data-7-rerun")
    new_events = [e for e in list_events(mapping="coffee-reviews") if e.id not in events_before]
    assert [e.reason_code for e in new_events] == ["dataset_import_run"]
    rerun_event = new_events[0]

    # 8: the new RunEvent in Audit, filtered by mapping and reason, its payload opened
    page.click("nav.tabs >> text=Audit")
    page.wait_for_selector("#audit-filters")
    page.select_option("#audit-filters select[name=mapping]", "coffee-reviews")
    page.select_option("#audit-filters select[name=reason]", "dataset_import_run")
    page.click("#audit-filters button[type=submit]")
    page.wait_for_url(re.compile(r"/audit\?.*mapping=coffee-reviews"))
    rows = page.locator("#events tbody tr")
    assert rows.count() == 1 and rows.first.get_attribute("data-event-id") == str(rerun_event.id)
    rows.first.locator("details.payload summary").click()
    payload = rows.first.locator("details.payload pre")
    assert payload.is_visible() and '"config_id": "coffee-reviews"' in payload.inner_text()
    screenshot(page, "audit")

    # 9: the dataset's rows: every split and the rejected rows; markup shows as text, never runs
    page.click("#events a[href^='/data/datasets/coffee']")
    page.wait_for_selector("#row-table")
    screenshot(page, "dataset-rows")
    shown = []
    for split in ("train", "validation", "test"):
        page.goto(f"{ui_server.url}/data/datasets/coffee?split={split}")
        shown.append(page.inner_text("#rows"))
        assert page.title() != "pwned"
    as_json_text = json.dumps(MARKUP_REVIEW)  # the record is shown as JSON text, quotes escaped
    assert any(as_json_text in text for text in shown)
    page.goto(f"{ui_server.url}/data/datasets/coffee?split=rejected")
    assert page.locator("#row-table tbody tr").count() == 2
    screenshot(page, "dataset-rejected")

    assert page_errors == []


def test_uploading_a_file_opens_it_in_the_wizard(ui_server, page, page_errors, screenshot, tmp_path):
    path = tmp_path / "Coffee Reviews.jsonl"
    write_reviews(path)
    page.goto(ui_server.url + "/data")
    page.set_input_files("#upload-form input[type=file]", str(path))
    page.click("#upload-form button[type=submit]")
    page.wait_for_selector("#proposals-panel")
    assert page.input_value("#field-map-form input[name=dataset]") == "Coffee_Reviews"
    assert "/uploads/" in page.get_attribute("#wizard-source input[name=locator]", "value")
    screenshot(page, "data-upload")
    assert page_errors == []


def test_a_dataset_shows_its_label_chart_and_leads_to_training(ui_server, page, page_errors, screenshot, locator):
    from brewslm.ingestion import ImportSpec, run_import

    run_import(
        ImportSpec(
            locator=locator,
            mapper_id="label_to_classification",
            field_map={"review": "text", "sentiment": "label"},
            dataset="reviews",
        )
    )
    page.goto(ui_server.url + "/data/datasets/reviews")
    chart = page.locator("#distribution-chart")
    assert chart.is_visible()
    categories = set(
        page.locator("#distribution-chart rect.bar").evaluate_all("bars => bars.map(b => b.dataset.category)")
    )
    assert categories == {"positive", "negative"}
    assert chart.bounding_box()["height"] > 40
    screenshot(page, "data-dataset-chart")

    page.click("#train-on-dataset")
    page.wait_for_url(re.compile(r"/train\?dataset=reviews$"))
    assert page.input_value('input[name="dataset"]') == "reviews"
    base = page.locator('input[name="base_model"]')
    assert base.get_attribute("list") == "options-base_model" and "embedded" in base.get_attribute("placeholder")
    assert page.locator("#options-base_model option").count() >= 10  # the catalog
    assert page.locator("#options-dataset option").first.get_attribute("value") == "reviews"
    screenshot(page, "train-pick-lists")
    assert page_errors == []
