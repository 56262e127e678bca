"""Progress lines, the metrics log, the loss curve, MLflow parameter names."""

from __future__ import annotations

import io
from pathlib import Path

from brewslm.training.report import MetricsLog, StderrProgress, format_duration, plot_loss_curve


def test_progress_lines() -> None:
    stream = io.StringIO()
    progress = StderrProgress(stream, every=10)
    step = {
        "event": "step",
        "total_steps": 30,
        "epoch": 0.5,
        "loss": 1.23456,
        "lr": 2e-4,
        "tokens_per_s": 251.4,
        "eta_s": 75,
    }
    for n in range(1, 31):
        progress({**step, "step": n})
    progress({"event": "eval", "step": 30, "eval_loss": 0.5, "improved": True})
    lines = stream.getvalue().splitlines()
    assert [line.split(" | ")[0] for line in lines[:-1]] == ["step 1/30", "step 10/30", "step 20/30", "step 30/30"]
    assert lines[0] == "step 1/30 | epoch 0.50 | loss 1.2346 | lr 2.00e-04 | 251 tok/s | ETA 1m15s"
    assert lines[-1] == "eval at step 30 | val loss 0.5000 (best)"
    assert format_duration(3725) == "1h02m" and format_duration(None) == "?"


def test_an_eval_line_shows_the_task_metric_early_stopping_watches() -> None:
    stream = io.StringIO()
    progress = StderrProgress(stream)
    progress(
        {
            "event": "eval",
            "step": 70,
            "eval_loss": 0.47,
            "macro_f1": 0.61,
            "best_metric": "macro_f1",
            "best_value": 0.65,
            "improved": False,
        }
    )
    progress(
        {"event": "eval", "step": 9, "eval_loss": 0.4, "best_metric": "eval_loss", "best_value": 0.4, "improved": True}
    )
    assert stream.getvalue().splitlines() == [
        "eval at step 70 | val loss 0.4700 | val macro_f1 0.6100 (best so far 0.6500)",
        "eval at step 9 | val loss 0.4000 (best)",
    ]


def test_metrics_log_truncates_after_a_checkpoint(tmp_path: Path) -> None:
    log = MetricsLog(tmp_path / "metrics.jsonl")
    for step in range(1, 6):
        log.write({"kind": "train", "step": step, "loss": 1.0 / step})
    log.write({"kind": "eval", "step": 5, "eval_loss": 0.3})
    log.truncate_after(3)
    assert [e["step"] for e in log.read()] == [1, 2, 3]


def test_loss_curve_png(tmp_path: Path) -> None:
    entries = [{"kind": "train", "step": s, "loss": 2.0 / s} for s in range(1, 20)] + [
        {"kind": "eval", "step": 10, "eval_loss": 0.4},
        {"kind": "eval", "step": 19, "eval_loss": 0.3},
    ]
    path = plot_loss_curve(entries, tmp_path / "curve.png", title="demo")
    assert path.read_bytes()[:4] == b"\x89PNG"
    assert plot_loss_curve([], tmp_path / "none.png") is None
