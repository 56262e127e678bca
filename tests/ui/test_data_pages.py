"""The Data and Audit tabs over HTTP: the wizard's steps (source, proposals, editor, dry run, import,
save), saved mappings and their re-runs, the row browser and the audit log, against the real
services and real job workers, in a private workspace."""

from __future__ import annotations

import re
from collections import Counter
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from brewslm.ingestion import (
    ImportSpec,
    get_mapping,
    list_events,
    list_mappings,
    open_dataset,
    record_event,
    run_import,
    save_mapping,
)
from brewslm.introspection import introspect
from brewslm.ui import jobs
from brewslm.ui.app import create_ui_app
from ui.data_fixture import CLEAN_ROWS, MARKUP_REVIEW, write_reviews

JOB_TIMEOUT_S = 120  # a worker process on a loaded machine; waits end when the job does
CLASSIFICATION_MAP = {"review": "text", "sentiment": "label"}
FIELDS = ["review", "sentiment", "stars"]


@pytest.fixture
def locator(tmp_path: Path) -> str:
    return write_reviews(tmp_path / "reviews.jsonl")


def editor_form(
    locator: str, mapper_id: str = "label_to_classification", field_map: dict | None = None, **extra: str
) -> dict:
    """What the editor's form posts: every sample field with its target ("" = unused), options, target."""
    field_map = CLASSIFICATION_MAP if field_map is None else field_map
    sources = FIELDS + [src for src in field_map if src not in FIELDS]
    return {
        "locator": locator,
        "mapper_id": mapper_id,
        "field": FIELDS,
        "src": sources,
        "dst": [field_map.get(src, "") for src in sources],
        "options": "",
        "dataset": "reviews",
        "mode": "append",
        "split": "auto",
        **extra,
    }


def job_id_in(html: str) -> int:
    match = re.search(r'data-job-id="(\d+)"', html)
    assert match, html[:500]
    return int(match.group(1))


def finished(job_id: int) -> jobs.JobInfo:
    job = jobs.wait_for_job(job_id, timeout=JOB_TIMEOUT_S)
    assert job.status == jobs.SUCCEEDED, (job.status, job.error)
    return job


def one_line_error(response) -> str:
    match = re.search(
        r'<div class="error" role="alert"[^>]*>\s*<strong>\d+</strong>\s*(.*?)\s*</div>', response.text, re.S
    )
    assert match, response.text[:800]
    return unescape(match.group(1))


# --- the first steps -----------------------------------------------------------------------------


def test_the_data_tab_starts_with_the_wizard_and_empty_panels(ui_client):
    page = ui_client.get("/data")
    assert page.status_code == 200
    assert 'hx-post="/data/source"' in page.text and 'name="file"' in page.text
    assert "No saved mappings yet" in page.text and "No datasets yet" in page.text


def test_opening_a_source_shows_raw_rows_ranked_proposals_and_the_accepted_map(ui_client, locator):
    reply = ui_client.post("/data/source", data={"locator": locator}, headers={"HX-Request": "true"})
    assert reply.status_code == 200
    html = reply.text
    assert "<html" not in html  # a fragment for the wizard's target
    assert "sampled 43 rows, 1 unparseable" in html
    assert "great coffee, would brew again (order 0)" in html  # a raw row
    proposals = re.findall(r'class="proposal" data-mapper="([^"]+)"', html)
    assert proposals[0] == "label_to_classification" and len(proposals) >= 2
    assert '<span class="badge ok">accepted</span>' in html
    assert "dry run: 41/42 sample rows map cleanly" in html  # the gate's evidence
    # the editor is filled with the accepted proposal's field map
    assert 'name="dst" value="text" list="canonical-fields" aria-label="canonical field for review"' in html
    assert 'name="dst" value="label" list="canonical-fields" aria-label="canonical field for sentiment"' in html
    assert 'name="dataset" value="reviews"' in html
    assert "Ask the teacher model" not in html  # only offered below the 0.8 gate


def test_an_uploaded_csv_is_read_from_the_uploads_folder_under_its_own_name(ui_client, ui_settings):
    csv_text = "comment,topic\n" + "".join(
        f"case {i} about the bill,{('billing', 'shipping')[i % 2]}\n" for i in range(30)
    )
    reply = ui_client.post("/data/source", files={"file": ("Support Tickets.csv", csv_text.encode(), "text/csv")})
    assert reply.status_code == 200, reply.text[:500]
    uploaded = list(ui_settings.uploads_dir.iterdir())
    assert len(uploaded) == 1 and uploaded[0].name.endswith("Support_Tickets.csv")
    assert f'name="locator" value="file:{uploaded[0]}"' in reply.text
    assert 'name="dataset" value="Support_Tickets"' in reply.text  # not the stored name's random prefix
    assert "case 0 about the bill" in reply.text


def test_an_upload_that_cannot_be_read_is_refused_and_not_kept(ui_client, ui_settings):
    reply = ui_client.post("/data/source", files={"file": ("scan.pdf", b"%PDF-1.4 binary", "application/pdf")})
    assert reply.status_code == 400 and "\n" not in one_line_error(reply)
    assert list(ui_settings.uploads_dir.iterdir()) == []


def test_a_source_with_no_fitting_mapper_offers_the_teacher_model(ui_client, tmp_path):
    path = tmp_path / "numbers.jsonl"
    path.write_text("".join(f'{{"a": {i}, "b": {i * 2}}}\n' for i in range(20)), encoding="utf-8")
    reply = ui_client.post("/data/source", data={"locator": f"jsonl:{path}"})
    assert reply.status_code == 200
    assert "Ask the teacher model" in reply.text and 'hx-post="/data/assist"' in reply.text


def test_a_locator_outside_the_allowed_roots_is_refused_with_one_line(ui_client):
    reply = ui_client.post("/data/source", data={"locator": "jsonl:/etc/passwd"})
    assert reply.status_code == 400
    line = one_line_error(reply)
    assert "/etc/passwd is outside the folders this UI may read" in line and "\n" not in line
    assert "root:" not in reply.text


def test_no_locator_and_no_file_is_a_one_line_error(ui_client):
    reply = ui_client.post("/data/source", data={"locator": "  "})
    assert reply.status_code == 400
    assert "give a locator" in one_line_error(reply)


# --- the editor and the dry run ------------------------------------------------------------------


def test_picking_another_mapper_starts_from_that_mappers_own_guess(ui_client, locator):
    form = editor_form(locator, mapper_id="text_only", guess="1", options="labels=[1]")
    reply = ui_client.post("/data/editor", data=form)
    assert reply.status_code == 200
    assert '<option value="text_only" selected>' in reply.text
    assert 'name="dst" value="label"' not in reply.text  # the old map is gone: text_only has no label
    assert "labels=[1]" not in reply.text  # and so are the old mapper's options
    assert "required: text" in reply.text


def test_choosing_a_proposal_keeps_its_field_map_in_the_editor(ui_client, locator):
    form = {
        "locator": locator,
        "mapper_id": "text_only",
        "src": ["review"],
        "dst": ["text"],
        "field": FIELDS,
        "dataset_default": "reviews",
    }
    reply = ui_client.post("/data/editor", data=form)
    assert 'name="dst" value="text" list="canonical-fields" aria-label="canonical field for review"' in reply.text
    assert 'name="dataset" value="reviews"' in reply.text


def test_the_dry_run_shows_accepted_records_and_rejections_by_reason_with_examples(ui_client, locator):
    reply = ui_client.post("/data/dry-run", data=editor_form(locator))
    assert reply.status_code == 200
    html = reply.text
    assert "<strong>41/42</strong> sample rows map cleanly (97.6%)" in html
    assert html.count('class="accepted-record"') == 5
    assert "&#34;label&#34;: &#34;positive&#34;" in html  # a canonical record, escaped JSON text
    assert '<tr data-reason="missing_text">' in html and "sample row 42: field &#39;review&#39; is empty" in html
    assert "Sampled rows the source could not parse (rejected as parse_error): 1" in html
    assert "<script>" not in html  # the markup row, if shown, is text


def test_a_dry_run_with_a_field_that_is_not_in_the_data_names_it(ui_client, locator):
    reply = ui_client.post("/data/dry-run", data=editor_form(locator, field_map={"review": "text", "mood": "label"}))
    assert reply.status_code == 400
    assert "the source has no field 'mood'" in one_line_error(reply)


def test_a_bad_option_line_is_a_one_line_error(ui_client, locator):
    reply = ui_client.post("/data/dry-run", data=editor_form(locator, options="repair"))
    assert reply.status_code == 400
    assert "--option 'repair' is not KEY=VALUE" in one_line_error(reply)


def test_a_mapping_that_rejects_every_row_says_so_in_the_dry_run(ui_client, locator):
    reply = ui_client.post("/data/dry-run", data=editor_form(locator, field_map={"stars": "text", "review": "label"}))
    assert reply.status_code == 200
    assert "<strong>0/42</strong> sample rows map cleanly" in reply.text
    assert "No sample row maps cleanly" in reply.text and 'class="accepted-record"' not in reply.text


# --- import, save, re-run, audit -----------------------------------------------------------------


def test_the_split_group_field_is_kept_by_the_editor_and_reaches_the_import(ui_client, locator):
    editor = ui_client.post("/data/editor", data=editor_form(locator, split_group="stars")).text
    assert 'name="split_group" value="stars"' in editor and '<datalist id="source-fields">' in editor
    job = finished(job_id_in(ui_client.post("/data/import", data=editor_form(locator, split_group="stars")).text))
    assert job.params["split_group"] == "stars"
    assert open_dataset("reviews").manifest["split"]["group_field"] == "stars"
    refused = ui_client.post("/data/dry-run", data=editor_form(locator, split="train", split_group="stars"))
    assert refused.status_code == 400 and "split_group" in one_line_error(refused)


def test_import_save_and_rerun_a_mapping_then_find_its_events_in_the_audit_log(ui_client, locator):
    reply = ui_client.post("/data/import", data=editor_form(locator))
    assert reply.status_code == 200
    job_id = job_id_in(reply.text)
    assert f'hx-get="/data/jobs/{job_id}/outcome"' in reply.text  # the outcome polls until the job ends
    job = finished(job_id)
    assert job.params["field_map"] == CLASSIFICATION_MAP and job.params["dataset"] == "reviews"

    outcome = ui_client.get(f"/data/jobs/{job_id}/outcome").text
    assert 'hx-trigger="every 1s"' not in outcome
    assert f'<td class="accepted-count">{CLEAN_ROWS + 1}</td>' in outcome
    assert "missing_text 1, parse_error 1" in outcome
    assert 'id="save-mapping-form"' in outcome and 'name="name" value="reviews"' in outcome
    assert 'id="datasets-panel" hx-swap-oob="true"' in outcome and 'data-dataset="reviews"' in outcome

    saved = ui_client.post("/data/mappings", data={"job_id": job_id, "name": "coffee-reviews"})
    assert saved.status_code == 200
    assert 'data-mapping="coffee-reviews"' in saved.text and 'id="mappings-panel" hx-swap-oob="true"' in saved.text
    mapping = get_mapping("coffee-reviews")
    assert (mapping.locator, mapping.mapper_id, mapping.field_map) == (
        locator,
        "label_to_classification",
        CLASSIFICATION_MAP,
    )
    assert mapping.last_run_at is None

    again = ui_client.post("/data/mappings", data={"job_id": job_id, "name": "coffee-reviews"})
    assert again.status_code == 400 and "already exists" in one_line_error(again)

    rerun = ui_client.post("/data/mappings/coffee-reviews/rerun")
    rerun_job = finished(job_id_in(rerun.text))
    assert rerun_job.kind == "rerun_mapping" and rerun_job.result["version"] == 2
    panel = ui_client.get(f"/data/jobs/{rerun_job.id}/outcome").text
    assert "Save this mapping" not in panel  # a re-run is saved already
    assert '<span class="badge ok">ok</span>' in panel and '<td class="last-accepted">0</td>' in panel  # all duplicates

    events = list_events(mapping="coffee-reviews")
    assert [e.reason_code for e in events] == ["dataset_import_run", "mapping_saved"]
    audit = ui_client.get("/audit", params={"mapping": "coffee-reviews", "reason": "dataset_import_run"})
    assert audit.status_code == 200
    assert re.findall(r'data-event-id="(\d+)"', audit.text) == [str(events[0].id)]
    assert "<option selected>coffee-reviews</option>" in audit.text
    assert "&#34;config_id&#34;: &#34;coffee-reviews&#34;" in audit.text  # the payload, viewable in place


def test_rerunning_an_unknown_mapping_is_refused_before_a_job_starts(ui_client):
    reply = ui_client.post("/data/mappings/nope/rerun")
    assert reply.status_code == 400
    assert "no saved mapping named 'nope'" in one_line_error(reply)
    assert jobs.list_jobs() == []


def test_a_saved_mapping_reading_outside_the_allowed_roots_is_refused_before_a_job_starts(ui_client, tmp_path_factory):
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "reviews.jsonl"
    write_reviews(elsewhere)
    save_mapping(
        "outside",
        ImportSpec(
            locator=f"jsonl:{elsewhere}",
            mapper_id="label_to_classification",
            field_map=CLASSIFICATION_MAP,
            dataset="reviews",
        ),
    )  # e.g. by the CLI
    reply = ui_client.post("/data/mappings/outside/rerun")
    assert reply.status_code == 400
    assert f"{elsewhere} is outside the folders this UI may read" in one_line_error(reply)
    assert jobs.list_jobs() == []


def test_only_a_finished_import_can_be_saved_as_a_mapping(ui_client):
    job_id = jobs.submit_job("rerun_mapping", {"name": "missing"})
    jobs.wait_for_job(job_id, timeout=JOB_TIMEOUT_S)
    reply = ui_client.post("/data/mappings", data={"job_id": job_id, "name": "x"})
    assert reply.status_code == 400
    assert "is not a finished import" in one_line_error(reply)
    assert list_mappings() == []


def test_a_failed_import_job_shows_its_error_and_no_save_form(ui_client, locator):
    form = editor_form(locator, field_map={"stars": "text", "review": "label"})
    job = jobs.wait_for_job(job_id_in(ui_client.post("/data/import", data=form).text), timeout=JOB_TIMEOUT_S)
    assert job.status == jobs.FAILED and "accepted none of the" in job.error
    outcome = ui_client.get(f"/data/jobs/{job.id}/outcome").text
    assert "Save this mapping" not in outcome


# --- datasets and the row browser ----------------------------------------------------------------


@pytest.fixture
def imported(locator: str) -> str:
    """The reviews imported in-process (no worker) and saved as a mapping."""
    spec = ImportSpec(
        locator=locator, mapper_id="label_to_classification", field_map=CLASSIFICATION_MAP, dataset="reviews"
    )
    run_import(spec)
    save_mapping("reviews-map", spec)
    return "reviews"


def test_the_data_tab_lists_datasets_and_saved_mappings(ui_client, imported):
    html = ui_client.get("/data").text
    assert re.search(r'<tr data-dataset="reviews">.*?<td>v1</td>\s*<td>classification</td>\s*<td>41</td>', html, re.S)
    assert 'href="/data/datasets/reviews?split=rejected">2</a>' in html
    assert '<tr data-mapping="reviews-map">' in html and 'hx-post="/data/mappings/reviews-map/rerun"' in html


def test_the_row_browser_pages_through_a_split_and_shows_markup_as_text(ui_client, imported):
    total = sum(1 for _ in open_dataset("reviews").iter_records("train"))
    first = ui_client.get("/data/datasets/reviews", params={"split": "train"})
    assert first.status_code == 200
    assert first.text.count('<pre class="record">') == min(20, total)
    assert f"train ({total})" in first.text
    assert ('id="next-page"' in first.text) == (total > 20)

    pages = [
        ui_client.get("/data/datasets/reviews", params={"split": s, "page": p}).text
        for s in ("train", "validation", "test")
        for p in (1, 2, 3)
    ]
    markup_pages = [html for html in pages if "document.title" in html]
    assert markup_pages, "the markup row is in one of the splits"
    for html in markup_pages:
        assert "<script>document.title" not in html
        assert "&lt;script&gt;document.title=" in html and "&lt;/script&gt;&lt;b&gt;bold&lt;/b&gt; beans" in html


def test_the_row_browser_shows_rejected_rows_with_their_reason(ui_client, imported):
    html = ui_client.get("/data/datasets/reviews", params={"split": "rejected"}).text
    assert '<td class="mono">missing_text</td>' in html and '<td class="mono">parse_error</td>' in html
    assert "{&#34;review&#34;: &#34;no closing brace&#34;" in html  # the broken line's raw text, as it was


def test_a_dataset_links_to_training_it(ui_client, imported, locator):
    listed = ui_client.get("/data").text
    assert re.search(
        r'<tr data-dataset="reviews">.*?<a class="train-link" href="/train\?dataset=reviews">', listed, re.S
    )
    page = ui_client.get("/data/datasets/reviews").text
    assert 'id="train-on-dataset" href="/train?dataset=reviews"' in page
    train = ui_client.get("/train?dataset=reviews").text  # the Train form comes with it picked
    assert 'name="dataset" value="reviews"' in train
    run_import(
        ImportSpec(
            locator=locator,
            mapper_id="label_to_classification",
            field_map=CLASSIFICATION_MAP,
            dataset="reviews",
            mode="replace",
        )
    )  # v2: the v1 page trains on v1
    older = ui_client.get("/data/datasets/reviews", params={"version": 1}).text
    assert 'href="/train?dataset=reviews&amp;dataset_version=1"' in older
    train = ui_client.get("/train", params={"dataset": "reviews", "dataset_version": 1}).text
    assert 'name="dataset_version" value="1"' in train
    assert 'href="/train?dataset=reviews"' in ui_client.get("/data/datasets/reviews", params={"version": 2}).text


def test_the_dataset_page_charts_the_labels_of_each_split(ui_client, imported):
    dataset = open_dataset("reviews")
    expected = {
        (split, label): n
        for split in ("train", "validation", "test")
        for label, n in Counter(r["label"] for r in dataset.iter_records(split)).items()
    }
    page = ui_client.get("/data/datasets/reviews").text
    assert 'id="distribution-chart"' in page and "Label <span" in page
    bars = re.findall(r'<rect class="bar"[^>]*data-split="(\w+)" data-category="(\w+)" data-count="(\d+)"', page)
    drawn = {(split, label): int(n) for split, label, n in bars}
    assert {k: v for k, v in drawn.items() if v} == expected
    widths = {
        (split, label): float(w)
        for w, split, label in re.findall(r'width="([\d.]+)"[^>]*data-split="(\w+)" data-category="(\w+)"', page)
    }
    (longest, _), (shortest, _) = (
        max(expected.items(), key=lambda kv: kv[1]),
        min(expected.items(), key=lambda kv: kv[1]),
    )
    assert widths[longest] > widths[shortest] > 0  # bars scale with their counts
    assert re.search(r"train \(\d+ records\)", page)


def test_each_task_charts_its_main_field() -> None:
    from brewslm.ui.pages.distribution import NO_CALL, NO_SPANS, bar_chart, count_records, measure_for

    spans = [
        {
            "text": "Ada met Bob in Paris",
            "spans": [
                {"start": 0, "end": 3, "label": "PER"},
                {"start": 8, "end": 11, "label": "PER"},
                {"start": 15, "end": 20, "label": "LOC"},
            ],
        },
        {"text": "nothing here", "spans": []},
    ]
    dist = count_records(measure_for("structured_extraction", "span_set"), {"train": spans, "test": spans[:1]})
    assert dist.categories == ["PER", "LOC", NO_SPANS] and dist.unit == "spans"
    assert dist.counts == {"train": {"PER": 2, "LOC": 1, NO_SPANS: 1}, "test": {"PER": 2, "LOC": 1}}
    calls = [
        {"calls": [{"tool": "weather", "arguments": {}}, {"tool": "time", "arguments": {}}]},
        {"calls": [{"tool": "weather", "arguments": {}}]},
        {"calls": []},
    ]
    dist = count_records(measure_for("tool_call"), {"train": calls})
    assert dist.counts == {"train": {"weather": 2, "time": 1, NO_CALL: 1}} and dist.title == "tool called"
    fields = [{"text": "t", "target": {"name": "x", "total": None}}, {"text": "t", "target": {"name": "y", "total": 3}}]
    assert count_records(measure_for("structured_extraction", "field_match"), {"train": fields}).counts == {
        "train": {"name": 2, "total": 1}
    }
    rag = [{"is_refusal": True}, {"is_refusal": False}, {"is_refusal": False}]
    assert count_records(measure_for("rag_qa"), {"test": rag}).counts == {"test": {"answered": 2, "refusal": 1}}

    texts = [{"text": " ".join(["w"] * n)} for n in (1, 3, 12, 25, 25, 40)]
    dist = count_records(measure_for("language_modeling"), {"train": texts})
    assert dist.histogram and dist.categories == [
        "0–4",
        "5–9",
        "10–14",
        "15–19",
        "20–24",
        "25–29",
        "30–34",
        "35–39",
        "40–44",
    ]
    assert dist.counts["train"] == {"0–4": 2, "10–14": 1, "25–29": 2, "40–44": 1}
    turns = [
        {"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}] * n} for n in (1, 1, 2)
    ]
    assert count_records(measure_for("chat_sft"), {"train": turns}).counts == {"train": {"1": 2, "2": 1}}
    assert measure_for("dpo") and measure_for("qa") and measure_for("something-else") is None

    many = [{"label": f"l{i:02d}"} for i in range(30) for _ in range(30 - i)]
    dist = count_records(measure_for("classification"), {"train": many}, limit=10_000)
    assert len(dist.categories) == 21 and dist.categories[-1] == "other" and dist.folded == 10
    assert dist.counts["train"]["other"] == sum(30 - i for i in range(20, 30))
    capped = count_records(measure_for("classification"), {"train": many}, limit=100)
    assert capped.capped == ["train"] and capped.total("train") == 100
    chart = bar_chart(dist)
    assert len(chart.rows) == 21 and chart.rows[0].bars[0].width > chart.rows[-2].bars[0].width
    assert all(chart.left <= bar.x + bar.width <= chart.right for row in chart.rows for bar in row.bars)
    assert int(chart.x_ticks[-1][1]) >= 30


def test_the_row_browser_refuses_unknown_splits_versions_and_names(ui_client, imported):
    assert "unknown split 'dev'" in one_line_error(ui_client.get("/data/datasets/reviews", params={"split": "dev"}))
    assert "has no version 7" in one_line_error(ui_client.get("/data/datasets/reviews", params={"version": 7}))
    assert "dataset 'other' not found" in one_line_error(ui_client.get("/data/datasets/other"))
    assert ui_client.get("/data/datasets/..%2F..%2Fetc").status_code in (400, 404)


# --- the audit log -------------------------------------------------------------------------------


def test_the_audit_log_filters_by_stage_reason_and_mapping(ui_client, imported):
    everything = ui_client.get("/audit").text
    assert everything.count("data-event-id=") == 2  # the import, the saved mapping
    saved = ui_client.get("/audit", params={"reason": "mapping_saved"}).text
    assert re.findall(r'data-reason="([^"]+)"', saved) == ["mapping_saved"]
    training = ui_client.get("/audit", params={"stage": "training"}).text
    assert training.count("data-event-id=") == 0 and "<option selected>training</option>" in training
    assert "No events match these filters" in ui_client.get("/audit", params={"mapping": "other"}).text
    assert "limit must be between 1 and 1000" in one_line_error(ui_client.get("/audit", params={"limit": 0}))


def test_event_payloads_are_escaped(ui_client, imported):
    record_event("ingestion", "dataset_import_failed", {"error": MARKUP_REVIEW})
    html = ui_client.get("/audit").text
    assert "<script>document.title" not in html and "&lt;script&gt;document.title" in html


class ScriptedTeacher:
    """A teacher model that always answers the same (what these tests check is the page, not a model)."""

    name = "scripted teacher"

    def complete(self, prompt: str) -> str:
        return "A"  # the first candidate


@pytest.fixture
def numbers(tmp_path: Path) -> str:
    """A source no built-in mapper fits."""
    path = tmp_path / "numbers.jsonl"
    path.write_text("".join(f'{{"a": {i}, "b": {i * 2}}}\n' for i in range(20)), encoding="utf-8")
    return f"jsonl:{path}"


def test_asking_the_teacher_model_queues_an_introspect_job_with_llm_assist(ui_client, numbers, tmp_path):
    teacher = tmp_path / "teacher"
    teacher.mkdir()
    reply = ui_client.post("/data/assist", data={"locator": numbers, "teacher": str(teacher)})
    assert reply.status_code == 200
    job_id = job_id_in(reply.text)
    assert f'hx-get="/data/jobs/{job_id}/outcome"' in reply.text
    job = jobs.cancel_job(job_id)  # loading a model is not what this test is about
    assert (job.kind, job.params) == ("introspect", {"locator": numbers, "llm_assist": True, "teacher": str(teacher)})
    assert jobs.wait_for_job(job_id, timeout=JOB_TIMEOUT_S).status == jobs.CANCELLED


def test_asking_an_endpoint_teacher_queues_its_url_and_model_never_a_key(ui_client, numbers, monkeypatch):
    monkeypatch.setenv("BREWSLM_TEACHER_API_KEY", "sk-ui-secret")
    reply = ui_client.post(
        "/data/assist", data={"locator": numbers, "teacher_url": "http://127.0.0.1:9/v1", "teacher_model": "llama3"}
    )
    assert reply.status_code == 200
    job = jobs.cancel_job(job_id_in(reply.text))
    assert job.params == {
        "locator": numbers,
        "llm_assist": True,
        "teacher": {"url": "http://127.0.0.1:9/v1", "model": "llama3"},
    }
    assert "sk-ui-secret" not in str(job.params)
    assert jobs.wait_for_job(job.id, timeout=JOB_TIMEOUT_S).status == jobs.CANCELLED
    reply = ui_client.post("/data/assist", data={"locator": numbers, "teacher_url": "ftp://example.com"})
    assert "must be an http(s) address" in one_line_error(reply)


def test_the_teacher_models_proposals_land_in_the_wizard_when_its_job_is_done(ui_client, tmp_path):
    from brewslm.output import to_jsonable
    from brewslm.storage.db import session_scope
    from brewslm.storage.tables import Job, utcnow

    path = tmp_path / "apples.jsonl"  # one short-text candidate (text_only), below the gate
    path.write_text("".join(f'{{"a": {i}, "b": "{i * 2} apples"}}\n' for i in range(20)), encoding="utf-8")
    numbers = f"jsonl:{path}"
    result = to_jsonable(introspect(numbers, llm_assist=True, teacher=ScriptedTeacher()))
    with session_scope() as session:  # the state a finished "introspect" job leaves in the jobs table
        row = Job(
            kind="introspect",
            params={"locator": numbers, "llm_assist": True},
            status=jobs.SUCCEEDED,
            progress={},
            result=result,
            actor="test",
            started_at=utcnow(),
            finished_at=utcnow(),
        )
        session.add(row)
        session.flush()
        job_id = row.id
    outcome = ui_client.get(f"/data/jobs/{job_id}/outcome").text
    assert "teacher model: " in outcome and "teacher=scripted teacher" in outcome and "verdict=rejected" in outcome
    assert '<li class="proposal" data-mapper="text_only">' in outcome
    assert "chosen by the teacher model (scripted teacher)" in outcome
    assert 'hx-post="/data/editor"' in outcome  # each proposal loads into the editor


def test_a_teacher_outside_the_allowed_roots_is_refused(ui_client, locator):
    reply = ui_client.post("/data/assist", data={"locator": locator, "teacher": "/usr/lib"})
    assert reply.status_code == 400
    assert "teacher model folder /usr/lib is outside the folders" in one_line_error(reply)
    assert jobs.list_jobs() == []


def test_every_data_and_audit_route_needs_the_key_when_one_is_set(ui_settings, locator):
    app = create_ui_app(ui_settings.model_copy(update={"api_key": "k3y"}))
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        for method, path, data in [
            ("get", "/data", None),
            ("get", "/audit", None),
            ("get", "/data/datasets/reviews", None),
            ("post", "/data/source", {"locator": locator}),
            ("post", "/data/import", editor_form(locator)),
            ("post", "/data/mappings/any/rerun", None),
        ]:
            reply = getattr(client, method)(path, data=data) if data else getattr(client, method)(path)
            assert reply.status_code == 401, path
        assert client.get("/data", headers={"Authorization": "Bearer k3y"}).status_code == 200
    assert jobs.list_jobs() == []
