"""Abandoned uploads are pruned when the UI starts; one that a dataset, a saved mapping or a job
still names is kept, whatever its age."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from brewslm.ingestion import ImportSpec, run_import, save_mapping
from brewslm.ui import jobs
from brewslm.ui.app import create_ui_app
from brewslm.ui.settings import UISettings
from brewslm.ui.uploads import DAY_SECONDS, unused_uploads

ROWS = [
    {"review": f"review {i} was {'fine' if i % 2 else 'poor'}", "sentiment": "pos" if i % 2 else "neg"}
    for i in range(12)
]


def upload(settings: UISettings, name: str, age_days: float) -> Path:
    path = settings.uploads_dir / f"0123456789ab-{name}"
    path.write_text("".join(json.dumps(r) + "\n" for r in ROWS), encoding="utf-8")
    then = time.time() - age_days * DAY_SECONDS
    os.utime(path, (then, then))
    return path


def test_old_unreferenced_uploads_go_and_everything_else_stays(ui_settings: UISettings):
    abandoned = upload(ui_settings, "abandoned.jsonl", age_days=30)
    recent = upload(ui_settings, "recent.jsonl", age_days=1)
    imported = upload(ui_settings, "imported.jsonl", age_days=30)
    mapped = upload(ui_settings, "mapped.jsonl", age_days=30)
    queued = upload(ui_settings, "queued.jsonl", age_days=30)
    spec = dict(mapper_id="label_to_classification", field_map={"review": "text", "sentiment": "label"})
    run_import(ImportSpec(locator=f"file:{imported}", dataset="reviews", **spec))
    save_mapping("m", ImportSpec(locator=f"file:{mapped}", dataset="other", **spec))
    jobs.submit_job("introspect", {"locator": f"file:{queued}"})

    assert unused_uploads(ui_settings.replace(upload_retention_days=0)) == []  # 0: keep everything
    create_ui_app(ui_settings)  # the UI prunes at start
    assert not abandoned.exists()
    assert recent.exists() and imported.exists() and mapped.exists() and queued.exists()
