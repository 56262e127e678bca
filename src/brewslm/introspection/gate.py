"""The gate every proposal passes before it may be accepted: a dry run of the mapper on the sample.

A sniffer's confidence says how well the data *looks* like the mapper's input; the gate checks
that the mapper actually *works* on it. It resolves the field map against the sample (an unknown
mapper, an unknown canonical field or a source field that is not in the data rejects the proposal
outright, confidence 0), maps every parsed sample row, validates each record against the task
profile, and scales the confidence by the share of rows that came through:

    confidence = prior * min(1, accept_rate / FULL_CREDIT_RATE)        (FULL_CREDIT_RATE = 0.9)

so a proposal keeps its full confidence while at least 90% of the sample maps cleanly (a correct
mapper on data with a few genuinely bad rows is not punished), and loses confidence linearly
below that: at 80% a 0.9 proposal drops to exactly 0.8, at 50% to 0.5. Rows a mapper rejects as
defects of the data itself (``Rejection.defect``: the row has the mapped shape, its own content
is unusable, e.g. an unanswered question or call arguments encoded twice) are left out of the
rate once at least five rows and a quarter of the sample map cleanly (``mappers.base.fit_share``):
they are the rows a correct import must reject, not a sign of a wrong mapping. Sample rows the source
could not parse (``ParseFailure``) are a property of the file, not of the mapper, and are left
out of the rate. Teacher-model proposals carry no confidence of their own; the prior they enter
with comes from the proposed mapper's own sniffer (see ``llm_assist.corroborate``).

One more check applies to every proposal: a required canonical field fed by a scalar column that
holds a single value across the sample (a "label" that is always the same) halves the confidence,
because every record would carry that value; sniffers avoid such maps by design, a teacher may not.
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from typing import Any

from brewslm.errors import BrewError
from brewslm.mappers import get_mapper
from brewslm.mappers.base import MISSING, Mapper, Proposal, Rejection, fit_share, get_path
from brewslm.mappers.profile import SampleProfile
from brewslm.tasks import get_task_profile

ACCEPT_THRESHOLD = 0.8
FULL_CREDIT_RATE = 0.9
CONSTANT_FIELD_FACTOR = 0.5  # a required field fed by a constant column halves the confidence
CONSTANT_MIN_ROWS = 20  # ... once the sample is large enough for that to mean something
_SHOWN_FIELDS = 12
_SHOWN_REASONS = 4
_DETAIL_CHARS = 160


@dataclasses.dataclass(frozen=True)
class DryRun:
    """What happened when the mapper ran over the parsed sample rows."""

    rows: int
    accepted: int
    records: int
    rejections: Counter
    first_detail: dict[str, str]
    # Kept only when ``dry_run`` is asked for examples (the web wizard's dry-run preview):
    examples: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # first accepted records
    # reason -> its first rejected rows: {"row": 1-based sample row, "detail": ..., "raw": the row}
    rejected_examples: dict[str, list[dict[str, Any]]] = dataclasses.field(default_factory=dict)
    defects: int = 0  # rejected rows whose rejection is a defect of the data (Rejection.defect)

    @property
    def accept_rate(self) -> float:
        return self.accepted / self.rows if self.rows else 0.0

    @property
    def fit_rate(self) -> float:
        """The rate the gate scales by: data-defect rows left out once enough rows map cleanly."""
        return fit_share(self.accepted, self.rows, self.defects)


def adjusted_confidence(prior: float, accept_rate: float) -> float:
    """``prior * min(1, accept_rate / FULL_CREDIT_RATE)``, clamped to [0, 1]."""
    prior = min(1.0, max(0.0, float(prior)))
    return prior * min(1.0, max(0.0, accept_rate) / FULL_CREDIT_RATE)


def gate(proposal: Proposal, profile: SampleProfile) -> Proposal:
    """Dry-run ``proposal`` on the profiled sample; return a new proposal with the resolved field
    map, the adjusted confidence and the gate's evidence appended (confidence 0 when rejected)."""

    evidence = list(proposal.evidence)

    def reject(why: str, field_map: dict[str, str] | None = None) -> Proposal:
        return dataclasses.replace(
            proposal,
            field_map=dict(field_map if field_map is not None else proposal.field_map),
            confidence=0.0,
            evidence=evidence + [f"rejected by the gate: {why}"],
        )

    try:
        mapper = get_mapper(proposal.mapper_id)
    except BrewError as exc:
        return reject(str(exc))
    if not isinstance(proposal.field_map, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in proposal.field_map.items()
    ):
        return reject("the field map must map source field names to canonical field names (strings)")
    if profile.n_rows == 0:
        return reject("the sample has no parsed rows to try the mapper on")

    missing = [src for src in proposal.field_map if not field_in_sample(profile, src)]
    if missing:
        return reject(f"source field '{missing[0]}' is not in the data; sample fields: {_field_list(profile)}")
    try:
        field_map = mapper.resolve_field_map(proposal.field_map, list(profile.fields))
        options = mapper.check_options(proposal.options)
    except BrewError as exc:
        return reject(str(exc))

    run = dry_run(mapper, field_map, options, profile)
    rate = run.fit_rate
    confidence = adjusted_confidence(proposal.confidence, rate)
    evidence.append(_describe_run(run))
    if rate != run.accept_rate:
        evidence.append(
            f"{run.defects} rejected rows are defects of the data itself (the mapped shape is there, its content is "
            f"unusable): left out of the rate, {run.accepted}/{run.rows - run.defects} = {rate:.1%}"
        )
    if run.accepted == 0:
        return dataclasses.replace(
            proposal,
            field_map=field_map,
            options=options,
            confidence=0.0,
            evidence=evidence + ["rejected by the gate: no sample row maps cleanly"],
        )
    if confidence < proposal.confidence:
        evidence.append(
            f"confidence {proposal.confidence:.2f} x min(1, {rate:.3f} / {FULL_CREDIT_RATE}) = {confidence:.2f}"
        )
    constant = _constant_required_fields(mapper, field_map, profile)
    if constant:
        before = confidence
        confidence *= CONSTANT_FIELD_FACTOR
        src, dst, value = constant[0]
        evidence.append(
            f"field '{src}' feeds required '{dst}' but has the same value ({value!r}) in all "
            f"{profile.field(src).present} sample rows, so every record would carry it: "
            f"confidence {before:.2f} x {CONSTANT_FIELD_FACTOR} = {confidence:.2f}"
        )
    unused = [
        p for p in profile.top_level() if p not in field_map and not any(src.startswith(p + ".") for src in field_map)
    ]
    if unused:
        evidence.append(
            f"fields not used by this map: {', '.join(unused[:_SHOWN_FIELDS])}"
            + (" ..." if len(unused) > _SHOWN_FIELDS else "")
        )
    return dataclasses.replace(proposal, field_map=field_map, options=options, confidence=confidence, evidence=evidence)


def _constant_required_fields(
    mapper: Mapper, field_map: dict[str, str], profile: SampleProfile
) -> list[tuple[str, str, str]]:
    """Scalar source columns with one value across the sample that feed a required canonical
    field (a 'label' that is always 'ann'): a mapping no person would choose."""
    required = {spec.name for spec in mapper.fields if spec.required}
    found = []
    for src, dst in field_map.items():
        fp = profile.field(src)
        if dst not in required or fp is None or fp.present < CONSTANT_MIN_ROWS:
            continue
        scalar = fp.main_type in ("string", "number", "boolean") and not fp.list_count and not fp.json_like
        if scalar and fp.distinct == 1 and not fp.distinct_overflow:
            found.append((src, dst, next(iter(fp.values))))
    return found


def field_in_sample(profile: SampleProfile, path: str) -> bool:
    """Whether a (possibly dotted) source field occurs in at least one parsed sample row."""
    if path in profile.fields:
        return True
    return any(get_path(row, path) is not MISSING for row in profile.rows)


def dry_run(
    mapper: Mapper,
    field_map: dict[str, str],
    options: dict[str, Any],
    profile: SampleProfile,
    *,
    keep_examples: int = 0,
) -> DryRun:
    """Map every parsed sample row and validate the records against the mapper's task profile.

    A row counts as accepted when it yields at least one record and every record it yields is
    valid. A mapper that raises on a row (a plugin bug, a teacher's odd map) counts that row as
    rejected with ``mapper_error`` instead of stopping introspection. ``keep_examples`` > 0 also
    keeps that many accepted records and, per rejection reason, that many rejected rows.
    """

    task = get_task_profile(mapper.task_profile)
    fields = mapper.canonical_map(field_map)
    rejections: Counter = Counter()
    first_detail: dict[str, str] = {}
    examples: list[dict[str, Any]] = []
    rejected_examples: dict[str, list[dict[str, Any]]] = {}
    accepted = records = defects = 0
    for index, row in enumerate(profile.rows, start=1):
        try:
            outcome = mapper.apply(row, fields, options)
            problem = _check_outcome(outcome, task)
        except Exception as exc:  # noqa: BLE001 - a crashing mapper must not crash introspection
            problem = Rejection("mapper_error", f"{type(exc).__name__}: {exc}")
        if problem is None:
            accepted += 1
            records += len(outcome)
            examples.extend(outcome[: max(0, keep_examples - len(examples))])
            continue
        rejections[problem.reason] += 1
        defects += problem.defect
        detail = problem.detail if len(problem.detail) <= _DETAIL_CHARS else problem.detail[:_DETAIL_CHARS] + "…"
        first_detail.setdefault(problem.reason, f"sample row {index}: {detail}")
        if keep_examples and len(rejected_examples.setdefault(problem.reason, [])) < keep_examples:
            rejected_examples[problem.reason].append({"row": index, "detail": problem.detail, "raw": row})
    return DryRun(len(profile.rows), accepted, records, rejections, first_detail, examples, rejected_examples, defects)


def _check_outcome(outcome: Any, task: Any) -> Rejection | None:
    if isinstance(outcome, Rejection):
        return outcome
    if not isinstance(outcome, list) or not outcome:
        return Rejection("no_records", "the mapper produced no record for this row")
    for record in outcome:
        problem = task.validate(record)
        if problem is not None:
            return problem
    return None


def _describe_run(run: DryRun) -> str:
    text = f"dry run: {run.accepted}/{run.rows} sample rows map cleanly ({run.accept_rate:.1%})"
    if run.records != run.accepted:
        text += f", {run.records} records"
    if run.rejections:
        parts = [
            f"{reason} x{count} ({run.first_detail[reason]})" if i == 0 else f"{reason} x{count}"
            for i, (reason, count) in enumerate(run.rejections.most_common(_SHOWN_REASONS))
        ]
        text += "; rejected: " + ", ".join(parts)
    return text


def _field_list(profile: SampleProfile) -> str:
    names = profile.top_level()
    shown = ", ".join(names[:_SHOWN_FIELDS]) or "none"
    return shown + (" ..." if len(names) > _SHOWN_FIELDS else "")
