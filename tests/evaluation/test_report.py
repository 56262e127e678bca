"""Report files from hand-built report documents (no model): JSON key order, Markdown, HTML with
embedded pictures, escaping, the terminal summary."""

from __future__ import annotations

import base64
import json
import math
from pathlib import Path
from typing import Any

import pytest

from brewslm.evaluation.report import (
    REPORT_KEYS,
    format_interval,
    format_value,
    markdown_escape,
    render_html,
    render_markdown,
    render_text_summary,
    report_pictures,
    write_reports,
)

EVIL = "<script>alert(1)</script>"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def classification_report() -> dict[str, Any]:
    labels = ["negative", "positive", EVIL]

    def per_class(f1s: list[float]) -> dict[str, Any]:
        return {label: {"precision": f, "recall": f, "f1": f, "support": 4} for label, f in zip(labels, f1s)}

    return {  # deliberately not in REPORT_KEYS order, with an extra key
        "config": {"model": "runs/demo", "gates": ["macro_f1 >= 0.85"]},
        "extra_note": "kept",
        "schema_version": 1,
        "created_at": "2025-01-01T00:00:00+00:00",
        "task": "classification",
        "scoring_mode": None,
        "strategy": "label_scoring",
        "headline": "macro_f1",
        "lower_is_better": [],
        "dataset": {"name": "reviews", "version": 2, "split": "test", "examples": 12, "path": "/tmp/reviews"},
        "models": {
            "tuned": {"name": "demo", "source": "runs/demo", "kind": "run"},
            "base": {"name": "tiny-base", "source": "tiny-base", "kind": "model"},
        },
        "metrics": {
            "tuned": {"accuracy": 0.75, "macro_f1": 0.7, "unparseable_rate": 0.0, "length_ratio": float("nan")},
            "base": {"accuracy": 0.5, "macro_f1": 0.45, "unparseable_rate": 0.1, "length_ratio": 1.0},
        },
        "intervals": {
            "tuned": {"accuracy": [0.5, 1.0], "macro_f1": [0.4, 0.95]},
            "base": {"accuracy": [0.25, 0.75], "macro_f1": [0.2, 0.7]},
        },
        "lift": {
            "accuracy": {"base": 0.5, "tuned": 0.75, "lift": 0.25, "ci_low": 0.0, "ci_high": 0.5, "better": True},
            "macro_f1": {"base": 0.45, "tuned": 0.7, "lift": 0.25, "ci_low": -0.05, "ci_high": 0.55, "better": True},
        },
        "lift_vs_baseline": None,
        "baselines": {},
        "baselines_skipped": "no cheap baseline is registered for classification",
        "next_steps": None,  # written by the training side (brewslm.tuning.advice) when the baseline wins
        "by_subtask": {
            "tuned": {"books": {"examples": 7, "macro_f1": 0.8}, "films|tv": {"examples": 5, "macro_f1": 0.6}},
            "base": {"books": {"examples": 7, "macro_f1": 0.5}, "films|tv": {"examples": 5, "macro_f1": 0.4}},
        },
        "breakdown": {
            "tuned": {
                "labels": labels,
                "confusion_matrix": [[3, 1, 0, 0], [0, 4, 0, 0], [1, 0, 2, 1]],
                "per_class": per_class([0.8, 0.9, 0.5]),
            },
            "base": {
                "labels": labels,
                "confusion_matrix": [[2, 2, 0, 0], [1, 3, 0, 0], [2, 1, 0, 1]],
                "per_class": per_class([0.5, 0.6, 0.0]),
            },
        },
        "judge": None,
        "gates": [
            {
                "gate": "macro_f1 >= 0.85",
                "metric": "macro_f1",
                "target": "macro_f1",
                "op": ">=",
                "threshold": 0.85,
                "value": 0.7,
                "passed": False,
                "reason": "0.7 is not >= 0.85",
            }
        ],
        "passed": False,
        "bootstrap": {"samples": 1000, "confidence": 0.95, "seed": 0},
        "predictions": {"tuned": "predictions_tuned.jsonl", "base": "predictions_base.jsonl"},
        "timing": {
            "tuned": {"seconds": 1.5, "examples_per_second": 8.0},
            "base": {"seconds": 2.0, "examples_per_second": 6.0},
        },
    }


def extraction_report() -> dict[str, Any]:
    """A span_set-like, tuned-only report (no base): nested breakdown sections, no confusion matrix."""
    return {
        "schema_version": 1,
        "task": "structured_extraction",
        "scoring_mode": "span_set",
        "strategy": "generation",
        "headline": "micro_f1",
        "lower_is_better": [],
        "dataset": {"name": "ner", "version": 1, "split": "validation", "examples": 1},
        "models": {"tuned": {"name": "ner-run", "source": "runs/ner-run", "kind": "run"}, "base": None},
        "metrics": {"tuned": {"micro_f1": 0.5, "recall": 0.4}, "base": None},
        "intervals": {"tuned": {"micro_f1": [0.3, 0.7]}, "base": None},
        "lift": None,
        "by_subtask": {"tuned": {}, "base": None},
        "breakdown": {
            "tuned": {
                "per_type": {
                    "PER": {"precision": 1.0, "recall": 0.5, "f1": 0.667, "support": 2},
                    "LOC": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1},
                },
                "relaxed": {"micro_f1": 0.6, "per_type": {"PER": {"f1": 0.8}}},
            },
            "base": None,
        },
        "judge": None,
        "gates": [],
        "passed": True,
        "bootstrap": {"samples": 200, "confidence": 0.9, "seed": 1},
        "predictions": {"tuned": "predictions_tuned.jsonl", "base": None},
    }


def test_format_value_and_intervals() -> None:
    assert format_value(None) == "-" and format_value(float("nan")) == "-" and format_value(math.inf) == "-"
    assert format_value(0.87345) == "0.873" and format_value(1.0) == "1.000" and format_value(0) == "0"
    assert format_value(872.0) == "872" and format_value(12) == "12" and format_value(12345.678) == "12,345.7"
    assert format_value(0.25, signed=True) == "+0.250" and format_value(-0.05, signed=True) == "-0.050"
    assert format_value("text") == "text" and format_value(True) == "true"
    assert (
        format_interval([0.1, 0.2]) == "[0.100, 0.200]"
        and format_interval([-0.1, 0.2], signed=True) == "[-0.100, +0.200]"
    )
    assert format_interval(None) == "" and format_interval([None, None]) == ""


def test_markdown_escape() -> None:
    assert markdown_escape(EVIL) == r"\<script>alert(1)\</script>"
    assert markdown_escape("a|b\nc") == r"a\|b c"
    assert markdown_escape("macro_f1") == "macro_f1"
    assert markdown_escape("[click](http://x) ![i](y.png)") == r"[click\](http://x) ![i\](y.png)"  # no links
    assert markdown_escape("[0.1, 0.2] *bold* `code`") == r"[0.1, 0.2] \*bold\* \`code\`"


def test_write_reports_files_and_json_order(tmp_path: Path) -> None:
    report = classification_report()
    paths = write_reports(report, tmp_path / "out")
    assert set(paths) == {"json", "markdown", "html", "confusion_matrix", "per_class_f1"}
    for stem in ("confusion_matrix", "per_class_f1"):
        assert paths[stem] == tmp_path / "out" / f"{stem}.png"
        assert paths[stem].read_bytes().startswith(PNG_SIGNATURE)
    document = json.loads(paths["json"].read_text(encoding="utf-8"))
    keys = list(document)
    assert keys[: len(REPORT_KEYS)] == [k for k in REPORT_KEYS if k in report] == list(REPORT_KEYS)
    assert keys[-1] == "extra_note"
    assert document["metrics"]["tuned"]["length_ratio"] is None  # NaN is not JSON: written as null
    assert document["breakdown"]["tuned"]["labels"][2] == EVIL
    assert report["metrics"]["tuned"]["length_ratio"] != report["metrics"]["tuned"]["length_ratio"]  # input untouched


def test_markdown_tables(tmp_path: Path) -> None:
    report = classification_report()
    text = render_markdown(report)
    lines = text.splitlines()
    assert lines[0] == "# Evaluation: classification on reviews v2 (test, 12 examples)"
    assert "**gates: FAILED (0 of 1 passed)**" in lines
    assert "- **tuned time**: 1.5 s, 8.0 examples/s" in lines
    assert lines.index("confusion matrix (tuned): rows gold, columns predicted") < lines.index(
        "confusion matrix (base): rows gold, columns predicted"
    )  # the fine-tune first
    header = lines.index("| metric | base | tuned | lift [95% CI] |")
    assert lines[header + 1] == "| --- | --- | --- | --- |"
    assert lines[header + 2] == (
        "| macro_f1 (headline) | 0.450 [0.200, 0.700] | 0.700 [0.400, 0.950] | +0.250 [-0.050, +0.550] |"
    )
    assert lines[header + 3] == "| accuracy | 0.500 [0.250, 0.750] | 0.750 [0.500, 1.000] | +0.250 [+0.000, +0.500] |"
    assert "| length_ratio | 1.000 | - | - |" in lines
    assert "| macro_f1 >= 0.85 | 0.700 | FAIL | 0.7 is not >= 0.85 |" in lines
    # the evil label is text in every table, never markup
    assert EVIL not in text and r"\<script>alert(1)\</script>" in text
    assert r"| gold \\ predicted | negative | positive | \<script>alert(1)\</script> | unparseable |" in lines
    assert "| negative | 3 | 1 | 0 | 0 |" in lines
    assert "| name | precision | recall | f1 | support |" in lines
    assert r"| films\|tv | 5 | 0.400 | 0.600 | +0.200 |" in lines  # subtask: base, tuned, change
    assert "![" not in text  # no pictures unless they were drawn
    with_pictures = render_markdown(report, pictures=["confusion_matrix", "per_class_f1"])
    assert "](confusion_matrix.png)" in with_pictures and "](per_class_f1.png)" in with_pictures
    assert '```json\n{\n  "model": "runs/demo"' in text


def test_html_is_self_contained_and_escaped(tmp_path: Path) -> None:
    paths = write_reports(classification_report(), tmp_path)
    page = paths["html"].read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert "<script" not in page.lower()  # the label renders as text, nothing executes
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    for stem in ("confusion_matrix", "per_class_f1"):
        encoded = base64.b64encode(paths[stem].read_bytes()).decode("ascii")
        assert f'src="data:image/png;base64,{encoded}"' in page
    assert 'src="http' not in page and "<link" not in page  # nothing fetched from elsewhere
    assert '<p class="fail">gates: FAILED (0 of 1 passed)</p>' in page
    assert "<td>+0.250 [-0.050, +0.550]</td>" in page


def test_tuned_only_report_with_nested_breakdown(tmp_path: Path) -> None:
    report = extraction_report()
    assert [(p.stem, p.section, p.metric) for p in report_pictures(report)] == [("per_type_f1", "per_type", "f1")]
    paths = write_reports(report, tmp_path)
    assert set(paths) == {"json", "markdown", "html", "per_type_f1"}
    text = paths["markdown"].read_text(encoding="utf-8")
    assert "| metric | tuned [90% CI] |" in text  # no base, no lift column
    assert "| micro_f1 (headline) | 0.500 [0.300, 0.700] |" in text
    assert "**gates" not in text and "gates: none set" in text
    assert "| PER | 1.000 | 0.500 | 0.667 | 2 |" in text
    assert "relaxed · per_type" in text and "| micro_f1 | 0.600 |" in text
    assert "By subtask" not in text and "base model**: none" in text
    html_page = render_html(report)
    assert "<img" not in html_page  # pictures only when given


def test_field_bars_and_many_labels(tmp_path: Path) -> None:
    labels = [f"intent_{i}" for i in range(40)]
    matrix = [[5 if i == j else 0 for j in range(41)] for i in range(40)]
    report = {
        "task": "classification",
        "headline": "macro_f1",
        "metrics": {"tuned": {"macro_f1": 1.0}},
        "breakdown": {
            "tuned": {
                "labels": labels,
                "confusion_matrix": matrix,
                "per_field": {"name": {"accuracy": 0.5, "support": 2}},
            }
        },
    }
    paths = write_reports(report, tmp_path)
    assert {"confusion_matrix", "per_field_accuracy"} <= set(paths)
    text = paths["markdown"].read_text(encoding="utf-8")
    assert "40 labels, too many for a table" in text and "| intent_0 |" not in text


def test_text_summary() -> None:
    summary = render_text_summary(classification_report())
    lines = summary.splitlines()
    assert lines[0] == "classification on reviews v2 (test, 12 examples)"
    assert any(line.startswith("tuned model") and "demo (run, runs/demo)" in line for line in lines)
    header = next(line for line in lines if line.startswith("metric"))
    assert header.split() == ["metric", "base", "tuned", "lift", "[95%", "CI]"]
    row = next(line for line in lines if line.startswith("macro_f1 (headline)"))
    assert "0.700 [0.400, 0.950]" in row and "+0.250 [-0.050, +0.550]" in row
    assert "gates: FAILED (0 of 1 passed)" in lines
    assert "  FAIL  macro_f1 >= 0.85: 0.7 is not >= 0.85" in lines


def test_judge_section() -> None:
    report = classification_report()
    report["judge"] = {"win_rate": 0.6, "tie_rate": 0.1, "loss_rate": 0.3, "examples": 50, "judge_model": "tiny-base"}
    assert "| 0.600 | 0.100 | 0.300 | 50 | tiny-base |" in render_markdown(report)
    assert "judge (tiny-base): win 0.600, tie 0.100, loss 0.300 over 50 examples" in render_text_summary(report)


@pytest.mark.parametrize("confidence, label", [(0.9, "90%"), (0.99, "99%")])
def test_confidence_label_follows_the_bootstrap(confidence: float, label: str) -> None:
    report = classification_report()
    report["bootstrap"]["confidence"] = confidence
    assert f"| metric | base | tuned | lift [{label} CI] |" in render_markdown(report)


def with_cheap_baseline(report: dict[str, Any], value: float, low: float, high: float) -> dict[str, Any]:
    """The classification report with TF-IDF + logistic regression scoring ``value`` macro_f1 (the
    fine-tune has 0.7); the lift over it has the interval [low, high]."""
    lift = 0.7 - value
    per_class = {"negative": {"f1": 0.9}, "positive": {"f1": 0.8}}
    return {
        **report,
        "baselines_skipped": None,
        "models": {
            **report["models"],
            "baseline": {
                "name": "tfidf_logreg",
                "title": "TF-IDF + logistic regression",
                "fitted": {"features": 10},
                "kind": "baseline",
                "fitted_on": {"split": "train", "examples": 800},
            },
        },
        "metrics": {**report["metrics"], "baseline": {"accuracy": 0.85, "macro_f1": value}},
        "intervals": {**report["intervals"], "baseline": {"macro_f1": [value - 0.05, value + 0.05]}},
        "lift_vs_baseline": {
            "macro_f1": {"base": value, "tuned": 0.7, "lift": lift, "ci_low": low, "ci_high": high, "better": lift > 0},
            "accuracy": {"base": 0.85, "tuned": 0.75, "lift": -0.1, "ci_low": -0.2, "ci_high": 0.0, "better": False},
        },
        "baselines": {
            "tfidf_logreg": {
                "title": "TF-IDF + logistic regression",
                "seconds": 2.1,
                "metrics": {"macro_f1": value, "accuracy": 0.85},
                "interval": [value - 0.05, value + 0.05],
                "fitted": {"features": 10},
            },
            "majority": {
                "title": "the most frequent label",
                "seconds": 0.0,
                "unavailable": "the train split has one label only",
            },
        },
        "breakdown": {**report["breakdown"], "baseline": {"per_class": per_class}},
        "predictions": {**report["predictions"], "baseline": "predictions_baseline.jsonl"},
    }


BEATEN = (
    "The cheap baseline (TF-IDF + logistic regression, fitted in 2.1 s) beats this fine-tune: macro_f1 0.800 "
    "vs 0.700 (lift -0.100 [-0.170, -0.030]). Do not ship this fine-tune for this task as it is."
)


def test_a_baseline_that_wins_opens_the_report() -> None:
    report = with_cheap_baseline(classification_report(), 0.8, -0.17, -0.03)
    lines = render_markdown(report).splitlines()
    assert lines[0].startswith("# Evaluation:") and lines[2] == f"**{BEATEN}**"
    header = lines.index("| metric | base | baseline | tuned | lift vs base [95% CI] | lift vs baseline [95% CI] |")
    assert lines[header + 2] == (
        "| macro_f1 (headline) | 0.450 [0.200, 0.700] | 0.800 [0.750, 0.850] "
        "| 0.700 [0.400, 0.950] | +0.250 [-0.050, +0.550] | -0.100 [-0.170, -0.030] |"
    )
    assert (
        "- **cheap baseline**: TF-IDF + logistic regression (tfidf_logreg), fitted on 800 train rows in 2.1 s" in lines
    )
    assert (
        "| tfidf_logreg | TF-IDF + logistic regression | 0.800 [0.750, 0.850] | 2.1 s "
        "| strongest: the report's baseline |"
    ) in lines
    assert (
        "| majority | the most frequent label | - | 0.0 s | unavailable: the train split has one label only |" in lines
    )
    assert "predictions_baseline.jsonl (baseline)" in render_markdown(report)
    summary = render_text_summary(report).splitlines()
    assert summary[1] == BEATEN
    assert summary[2].startswith("tuned model")
    assert any(line.startswith("cheap baseline") and "tfidf_logreg" in line for line in summary)
    header = next(line for line in summary if line.startswith("metric"))
    assert header.split()[:4] == ["metric", "base", "baseline", "tuned"] and "vs baseline" in header
    assert f'<p class="warning">{BEATEN}</p>' in render_html(report)


def test_a_lift_over_the_baseline_that_includes_zero_is_said_first() -> None:
    report = with_cheap_baseline(classification_report(), 0.65, -0.02, 0.12)
    first = render_markdown(report).splitlines()[2]
    assert first.startswith(
        "**The cheap baseline (TF-IDF + logistic regression, fitted in 2.1 s) is not clearly "
        "beaten by this fine-tune: macro_f1 0.650 vs 0.700 (lift +0.050 [-0.020, +0.120])"
    )
    assert "95% interval includes 0" in first
    clear = with_cheap_baseline(classification_report(), 0.6, 0.02, 0.18)
    assert render_markdown(clear).splitlines()[2].startswith("- **tuned model**")
    assert not render_text_summary(clear).splitlines()[1].startswith("The cheap baseline")


def test_no_baseline_says_why() -> None:
    text = render_markdown(classification_report())
    assert "- **cheap baseline**: none (no cheap baseline is registered for classification)" in text
    assert "| metric | base | tuned | lift [95% CI] |" in text


def test_metric_bars_gain_the_baseline_series(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from brewslm.evaluation import report as report_module

    drawn: dict[str, Any] = {}
    real = report_module.plot_metric_bars

    def spy(names, series, metric, path, title=""):
        drawn[metric] = (list(names), {model: list(values) for model, values in series.items()})
        return real(names, series, metric, path, title)

    monkeypatch.setattr(report_module, "plot_metric_bars", spy)
    write_reports(with_cheap_baseline(classification_report(), 0.8, -0.17, -0.03), tmp_path)
    names, series = drawn["f1"]
    assert set(series) == {"base", "baseline", "tuned"}
    assert series["baseline"][:2] == [0.9, 0.8] and series["tuned"][:2] == [0.8, 0.9]


def with_calibration(report: dict[str, Any]) -> dict[str, Any]:
    bins = {
        "tuned": [
            {"bin": 9, "lower": 0.6, "upper": 2 / 3, "count": 4.0, "confidence": 0.64, "accuracy": 0.5, "gap": -0.14},
            {"bin": 14, "lower": 14 / 15, "upper": 1.0, "count": 8.0, "confidence": 0.97, "accuracy": 1.0, "gap": 0.03},
        ],
        "base": [
            {"bin": 5, "lower": 1 / 3, "upper": 0.4, "count": 12.0, "confidence": 0.35, "accuracy": 0.5, "gap": 0.15}
        ],
    }
    for model in ("tuned", "base"):
        report["breakdown"][model]["calibration"] = bins[model]
    report["metrics"]["tuned"]["ece"], report["metrics"]["base"]["ece"] = 0.0667, 0.15
    report["lower_is_better"] = ["ece", "max_calibration_error"]
    return report


def test_reliability_diagram_per_model_with_its_ece(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from brewslm.evaluation import report as report_module

    report = with_calibration(classification_report())
    assert "reliability_diagram" in [p.stem for p in report_pictures(report)]
    assert "reliability_diagram" not in [p.stem for p in report_pictures(classification_report())]
    drawn = {}
    real = report_module.plot_reliability_diagrams

    def spy(panels, path):
        drawn["panels"] = [(model, len(bins), ece) for model, bins, ece in panels]
        return real(panels, path)

    monkeypatch.setattr(report_module, "plot_reliability_diagrams", spy)
    paths = write_reports(report, tmp_path / "out")
    assert paths["reliability_diagram"].read_bytes().startswith(PNG_SIGNATURE)
    assert drawn["panels"] == [("base", 1, 0.15), ("tuned", 2, 0.0667)]
    text = paths["markdown"].read_text(encoding="utf-8")
    assert "### Calibration" in text and "](reliability_diagram.png)" in text
    assert "ece (lower is better)" in text
