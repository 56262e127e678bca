"""Gates: pass/fail conditions on a report's numbers, so a user's CI can refuse a weak fine-tune.

A gate is one line, ``TARGET OP NUMBER``:

- ``macro_f1 >= 0.85``            - the fine-tuned model's metric (``tuned.macro_f1`` says the same)
- ``base.macro_f1 < 0.9``         - the base model's metric
- ``lift.macro_f1 > 0``           - the lift, ``tuned - base``
- ``lift.macro_f1.ci_low > 0``    - the lower end of the lift's bootstrap interval (the lift is
  positive with the report's confidence); ``.ci_high`` is the upper end
- ``baseline.macro_f1 < 0.9``     - the strongest cheap baseline's metric (TF-IDF + logistic
  regression, a CRF...: the report's ``baseline``)
- ``lift_vs_baseline.macro_f1 > 0`` - the fine-tune beats the cheap baseline, ``tuned - baseline``
  (``.ci_low`` / ``.ci_high`` as for ``lift``)
- ``macro_f1.ci_low >= 0.8``      - an end of a model's own metric interval (``base.`` works too)

``OP`` is one of ``>=``, ``>``, ``<=``, ``<``, ``==`` (equal to within 1e-9). Rates are fractions
in [0, 1], never percent. The lift is always ``tuned - base``, so for a lower-is-better metric the
improvement gate is ``lift.perplexity < 0``.

``check_gates(gates, report)`` reads the values from a report document (see ``report.py``) and
returns one result per gate, shaped ``{"gate", "metric", "target", "op", "threshold", "value",
"passed", "reason"}``. A gate on a metric the report does not have fails with a reason naming the
closest metrics it does have; a gate whose value is undefined (None) fails, as does a ``base.`` or
``lift.`` gate when no base model was evaluated, and a ``baseline.`` or ``lift_vs_baseline.`` gate
when no cheap baseline was fitted (the reason says why). A badly written gate is a ``ConfigError`` that
shows the expected form.
"""

from __future__ import annotations

import difflib
import math
import operator
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from brewslm.errors import ConfigError

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    ">": operator.gt,
    "<=": operator.le,
    "<": operator.lt,
    "==": lambda value, threshold: math.isclose(value, threshold, rel_tol=1e-9, abs_tol=1e-9),
}
SOURCES = ("tuned", "base", "lift", "baseline", "lift_vs_baseline")
LIFTS = ("lift", "lift_vs_baseline")  # the sources that are differences (paired_lift sections)
BOUNDS = ("ci_low", "ci_high")

_GATE = re.compile(
    r"^\s*(?P<target>[A-Za-z_][\w.]*)\s*(?P<op>>=|<=|==|>|<)\s*"
    r"(?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$"
)
_FORM = (
    "write TARGET OP NUMBER, e.g. 'macro_f1 >= 0.85', 'base.macro_f1 < 0.9', 'lift.macro_f1 > 0', "
    "'lift.macro_f1.ci_low > 0' or 'lift_vs_baseline.macro_f1 > 0', with OP one of >=, >, <=, <, =="
)


@dataclass(frozen=True)
class Gate:
    """One parsed gate: ``source`` model (or a lift), ``metric``, optional interval ``bound``."""

    text: str  # canonical form, e.g. "lift.macro_f1.ci_low > 0"
    source: str  # one of SOURCES
    metric: str
    bound: str | None  # None (the value itself) | "ci_low" | "ci_high"
    op: str
    threshold: float

    @property
    def target(self) -> str:
        """What the gate reads, e.g. ``macro_f1``, ``base.macro_f1``, ``lift.macro_f1.ci_low``."""
        return _target(self.source, self.metric, self.bound)

    def passes(self, value: float | None) -> bool:
        return value is not None and math.isfinite(value) and OPERATORS[self.op](value, self.threshold)


def parse_gate(text: str) -> Gate:
    """``"lift.macro_f1 > 0"`` -> ``Gate``; anything else raises ``ConfigError`` with the expected form."""
    written = str(text).strip()
    match = _GATE.match(written)
    if not match:
        if re.search(r"\d\s*%\s*$", written):
            raise ConfigError(
                f"gate '{written}': write rates as fractions in [0, 1], e.g. 'accuracy >= 0.9', not percent"
            )
        raise ConfigError(f"gate '{written}' is not understood; {_FORM}")
    parts = match["target"].split(".")
    source = parts.pop(0) if parts[0] in SOURCES and len(parts) > 1 else "tuned"
    bound = parts.pop() if len(parts) > 1 and parts[-1] in BOUNDS else None
    if len(parts) != 1 or not parts[0]:
        raise ConfigError(
            f"gate '{written}': '{match['target']}' is not METRIC, tuned.METRIC, base.METRIC, "
            f"baseline.METRIC, lift.METRIC or lift_vs_baseline.METRIC (optionally ending in "
            f".ci_low or .ci_high); {_FORM}"
        )
    number = match["number"]
    return Gate(
        text=f"{_target(source, parts[0], bound)} {match['op']} {number}",
        source=source,
        metric=parts[0],
        bound=bound,
        op=match["op"],
        threshold=float(number),
    )


def _target(source: str, metric: str, bound: str | None) -> str:
    return ("" if source == "tuned" else f"{source}.") + metric + (f".{bound}" if bound else "")


def parse_gates(texts: Sequence[str | Gate]) -> list[Gate]:
    """Parse every gate up front, so a typo is reported before a model is loaded."""
    return [text if isinstance(text, Gate) else parse_gate(text) for text in texts]


def _closest(metric: str, known: Sequence[str]) -> str:
    close = difflib.get_close_matches(metric, known, n=3, cutoff=0.5)
    if close:
        return "closest: " + ", ".join(close)
    return (
        "the report has: " + ", ".join(sorted(known)[:12]) + (", ..." if len(known) > 12 else "")
        if known
        else "the report has no metrics"
    )


def _lookup(gate: Gate, report: Mapping[str, Any]) -> tuple[float | None, str | None]:
    """The gate's value in the report, or (None, why there is none)."""
    if gate.source in LIFTS:
        section = report.get(gate.source)
        if section is None:
            return None, (
                f"no {gate.source}: {_no_baseline(report)}"
                if gate.source == "lift_vs_baseline"
                else "no lift: no base model was evaluated (baseline 'none')"
            )
        if gate.metric not in section:
            where = "the lift" if gate.source == "lift" else gate.source
            return None, f"unknown metric '{gate.metric}' in {where}; {_closest(gate.metric, list(section))}"
        return section[gate.metric].get(gate.bound or "lift"), None
    metrics = (report.get("metrics") or {}).get(gate.source)
    if metrics is None:
        if gate.source == "baseline":
            return None, f"no baseline metrics: {_no_baseline(report)}"
        return None, f"no {gate.source} metrics: the {gate.source} model was not evaluated"
    if gate.metric not in metrics:
        return None, f"unknown metric '{gate.metric}'; {_closest(gate.metric, list(metrics))}"
    if gate.bound is None:
        return metrics[gate.metric], None
    interval = ((report.get("intervals") or {}).get(gate.source) or {}).get(gate.metric)
    if not interval:
        return None, f"no bootstrap interval for {gate.source} '{gate.metric}' (bootstrap_samples=0?)"
    return interval[BOUNDS.index(gate.bound)], None


def _no_baseline(report: Mapping[str, Any]) -> str:
    """Why a report has no cheap baseline: skipped (and why), or each baseline's reason."""
    if report.get("baselines_skipped"):
        return str(report["baselines_skipped"])
    reasons = [
        f"{name}: {entry.get('unavailable')}"
        for name, entry in (report.get("baselines") or {}).items()
        if isinstance(entry, Mapping)
    ]
    return (
        ("no cheap baseline could be fitted (" + "; ".join(reasons) + ")")
        if reasons
        else "no cheap baseline was fitted"
    )


def _shown(value: float) -> str:
    return f"{value:.6g}"


def check_gate(gate: Gate | str, report: Mapping[str, Any]) -> dict[str, Any]:
    """One gate against a report document -> its result entry."""
    gate = gate if isinstance(gate, Gate) else parse_gate(gate)
    value, missing = _lookup(gate, report)
    number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    number = float(number) if number is not None and math.isfinite(number) else None
    passed = gate.passes(number)
    if missing:
        reason = missing
    elif number is None:
        reason = f"{gate.target} is undefined (None) for this evaluation, so the gate cannot pass"
    else:
        verdict = "" if passed else "not "
        reason = f"{_shown(number)} is {verdict}{gate.op} {_shown(gate.threshold)}"
    return {
        "gate": gate.text,
        "metric": gate.metric,
        "target": gate.target,
        "op": gate.op,
        "threshold": gate.threshold,
        "value": number,
        "passed": passed,
        "reason": reason,
    }


def check_gates(gates: Sequence[Gate | str], report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every gate's result, in the given order (``report["passed"]`` is all of them passing)."""
    return [check_gate(gate, report) for gate in parse_gates(gates)]


__all__ = ["BOUNDS", "LIFTS", "OPERATORS", "SOURCES", "Gate", "check_gate", "check_gates", "parse_gate", "parse_gates"]
