"""Gate parsing and checking against hand-built report documents."""

from __future__ import annotations

from typing import Any

import pytest

from brewslm.errors import ConfigError
from brewslm.evaluation.gates import Gate, check_gate, check_gates, parse_gate, parse_gates


def report(with_base: bool = True) -> dict[str, Any]:
    lift = {
        "macro_f1": {"base": 0.6, "tuned": 0.87, "lift": 0.27, "ci_low": 0.2, "ci_high": 0.33, "better": True},
        "refusal_precision": {
            "base": None,
            "tuned": None,
            "lift": None,
            "ci_low": None,
            "ci_high": None,
            "better": None,
        },
    }
    return {
        "headline": "macro_f1",
        "metrics": {
            "tuned": {"macro_f1": 0.87, "micro_f1": 0.9, "accuracy": 0.9, "refusal_precision": None},
            "base": {"macro_f1": 0.6, "micro_f1": 0.7, "accuracy": 0.7, "refusal_precision": None}
            if with_base
            else None,
        },
        "intervals": {"tuned": {"macro_f1": [0.84, 0.9]}, "base": {"macro_f1": [0.55, 0.65]} if with_base else None},
        "lift": lift if with_base else None,
    }


@pytest.mark.parametrize(
    "text, source, metric, bound, op, threshold, canonical",
    [
        ("macro_f1 >= 0.85", "tuned", "macro_f1", None, ">=", 0.85, "macro_f1 >= 0.85"),
        ("  macro_f1>=.85 ", "tuned", "macro_f1", None, ">=", 0.85, "macro_f1 >= .85"),
        ("tuned.accuracy > 0.5", "tuned", "accuracy", None, ">", 0.5, "accuracy > 0.5"),
        ("base.macro_f1 < 0.9", "base", "macro_f1", None, "<", 0.9, "base.macro_f1 < 0.9"),
        ("lift.macro_f1 > 0", "lift", "macro_f1", None, ">", 0.0, "lift.macro_f1 > 0"),
        ("lift.macro_f1.ci_low > 0", "lift", "macro_f1", "ci_low", ">", 0.0, "lift.macro_f1.ci_low > 0"),
        (
            "lift.perplexity.ci_high<=-1.5e0",
            "lift",
            "perplexity",
            "ci_high",
            "<=",
            -1.5,
            "lift.perplexity.ci_high <= -1.5e0",
        ),
        ("macro_f1.ci_low >= 0.8", "tuned", "macro_f1", "ci_low", ">=", 0.8, "macro_f1.ci_low >= 0.8"),
        ("base.accuracy.ci_high == 1", "base", "accuracy", "ci_high", "==", 1.0, "base.accuracy.ci_high == 1"),
        ("lift >= 0", "tuned", "lift", None, ">=", 0.0, "lift >= 0"),  # a metric that happens to be named lift
    ],
)
def test_parse_gate_forms(
    text: str, source: str, metric: str, bound: str | None, op: str, threshold: float, canonical: str
) -> None:
    gate = parse_gate(text)
    assert (gate.source, gate.metric, gate.bound, gate.op, gate.threshold) == (source, metric, bound, op, threshold)
    assert gate.text == canonical
    assert gate.target == canonical.rsplit(" ", 2)[0]
    assert parse_gate(gate.text) == gate


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("macro_f1 => 0.85", "TARGET OP NUMBER"),
        ("macro_f1", "TARGET OP NUMBER"),
        (">= 0.8", "TARGET OP NUMBER"),
        ("macro_f1 >= high", "TARGET OP NUMBER"),
        ("macro_f1 != 0.5", "TARGET OP NUMBER"),
        ("macro_f1 >= 85%", "fractions in [0, 1]"),
        ("lift.macro_f1.ci_mid > 0", "is not METRIC"),
        ("a.b.c >= 1", "is not METRIC"),
        ("", "TARGET OP NUMBER"),
    ],
)
def test_bad_gates_are_one_line_config_errors(text: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as error:
        parse_gate(text)
    message = str(error.value)
    assert fragment in message and "\n" not in message
    assert f"'{text.strip()}'" in message


def test_parse_gates_reports_the_first_bad_gate_before_anything_runs() -> None:
    assert parse_gates(["accuracy > 0.5", parse_gate("lift.accuracy > 0")])[1].source == "lift"
    with pytest.raises(ConfigError, match="macro_f1 = 0.5"):
        parse_gates(["accuracy > 0.5", "macro_f1 = 0.5"])


def test_check_gates_pass_and_fail() -> None:
    results = check_gates(
        [
            "macro_f1 >= 0.85",
            "lift.macro_f1 > 0.3",
            "lift.macro_f1.ci_low > 0",
            "base.accuracy < 0.75",
            "macro_f1.ci_low >= 0.85",
            "base.macro_f1.ci_high == 0.65",
        ],
        report(),
    )
    assert [r["passed"] for r in results] == [True, False, True, True, False, True]
    first = results[0]
    assert first == {
        "gate": "macro_f1 >= 0.85",
        "metric": "macro_f1",
        "target": "macro_f1",
        "op": ">=",
        "threshold": 0.85,
        "value": 0.87,
        "passed": True,
        "reason": "0.87 is >= 0.85",
    }
    assert results[1]["value"] == 0.27 and results[1]["reason"] == "0.27 is not > 0.3"
    assert results[2]["value"] == 0.2 and results[2]["target"] == "lift.macro_f1.ci_low"
    assert results[4]["value"] == 0.84


def test_unknown_metric_fails_naming_the_closest_ones() -> None:
    (result,) = check_gates(["macro_f2 >= 0.5"], report())
    assert result["passed"] is False and result["value"] is None
    assert "unknown metric 'macro_f2'" in result["reason"] and "macro_f1" in result["reason"]
    (far,) = check_gates(["zzz >= 0.5"], report())
    assert "the report has: accuracy, macro_f1, micro_f1" in far["reason"]
    (lifted,) = check_gates(["lift.micro_f1 > 0"], report())
    assert lifted["passed"] is False and "in the lift" in lifted["reason"]


def test_undefined_values_and_missing_base_fail() -> None:
    (undefined,) = check_gates(["refusal_precision >= 0.5"], report())
    assert undefined["passed"] is False and undefined["value"] is None and "undefined" in undefined["reason"]
    (undefined_lift,) = check_gates(["lift.refusal_precision.ci_low > 0"], report())
    assert undefined_lift["passed"] is False
    # "<" on an undefined value must not pass either
    assert check_gate("refusal_precision < 0.5", report())["passed"] is False

    no_base = report(with_base=False)
    lift, base = check_gates(["lift.macro_f1 > 0", "base.macro_f1 < 1"], no_base)
    assert not lift["passed"] and "no base model was evaluated" in lift["reason"]
    assert not base["passed"] and "base model was not evaluated" in base["reason"]
    (interval,) = check_gates(["accuracy.ci_low > 0.5"], no_base)
    assert not interval["passed"] and "no bootstrap interval" in interval["reason"]


def test_equality_tolerates_float_noise() -> None:
    doc = {"metrics": {"tuned": {"accuracy": 0.1 + 0.2}}}
    assert check_gate("accuracy == 0.3", doc)["passed"] is True
    assert check_gate(Gate("accuracy == 0.31", "tuned", "accuracy", None, "==", 0.31), doc)["passed"] is False


def with_baseline(doc: dict[str, Any]) -> dict[str, Any]:
    """The report with a cheap baseline: TF-IDF at 0.8, so the fine-tune (0.87) beats it by 0.07."""
    return {
        **doc,
        "metrics": {**doc["metrics"], "baseline": {"macro_f1": 0.8, "accuracy": 0.82}},
        "intervals": {**doc["intervals"], "baseline": {"macro_f1": [0.75, 0.85]}},
        "lift_vs_baseline": {
            "macro_f1": {"base": 0.8, "tuned": 0.87, "lift": 0.07, "ci_low": -0.01, "ci_high": 0.15, "better": True}
        },
    }


@pytest.mark.parametrize(
    "text, source, metric, bound, canonical",
    [
        ("baseline.macro_f1 < 0.9", "baseline", "macro_f1", None, "baseline.macro_f1 < 0.9"),
        ("lift_vs_baseline.macro_f1 > 0", "lift_vs_baseline", "macro_f1", None, "lift_vs_baseline.macro_f1 > 0"),
        (
            "lift_vs_baseline.macro_f1.ci_low>0",
            "lift_vs_baseline",
            "macro_f1",
            "ci_low",
            "lift_vs_baseline.macro_f1.ci_low > 0",
        ),
        ("baseline.accuracy.ci_high <= 1", "baseline", "accuracy", "ci_high", "baseline.accuracy.ci_high <= 1"),
    ],
)
def test_baseline_gate_forms(text: str, source: str, metric: str, bound: str | None, canonical: str) -> None:
    gate = parse_gate(text)
    assert (gate.source, gate.metric, gate.bound, gate.text) == (source, metric, bound, canonical)


def test_baseline_gates_read_the_cheap_baseline_and_its_lift() -> None:
    results = check_gates(
        [
            "lift_vs_baseline.macro_f1 > 0",
            "lift_vs_baseline.macro_f1.ci_low > 0",
            "baseline.macro_f1 < 0.85",
            "baseline.macro_f1.ci_low >= 0.75",
        ],
        with_baseline(report()),
    )
    assert [r["value"] for r in results] == [0.07, -0.01, 0.8, 0.75]
    assert [r["passed"] for r in results] == [True, False, True, True]
    (typo,) = check_gates(["lift_vs_baseline.macro_f2 > 0"], with_baseline(report()))
    assert not typo["passed"] and "unknown metric 'macro_f2' in lift_vs_baseline" in typo["reason"]
    assert "closest: macro_f1" in typo["reason"]
    (typo,) = check_gates(["baseline.acuracy > 0"], with_baseline(report()))
    assert not typo["passed"] and "closest: accuracy" in typo["reason"]


def test_baseline_gates_without_a_baseline_fail_with_its_reason() -> None:
    skipped = {**report(), "baselines_skipped": "the evaluated split is train", "baselines": {}}
    lift, metric = check_gates(["lift_vs_baseline.macro_f1 > 0", "baseline.macro_f1 < 1"], skipped)
    assert not lift["passed"] and "the evaluated split is train" in lift["reason"]
    assert not metric["passed"] and "the evaluated split is train" in metric["reason"]
    unavailable = {**report(), "baselines": {"tfidf_logreg": {"title": "TF-IDF", "unavailable": "one class only"}}}
    (lift,) = check_gates(["lift_vs_baseline.macro_f1 > 0"], unavailable)
    assert not lift["passed"] and "tfidf_logreg: one class only" in lift["reason"]
