"""Introspect a source: sample it, profile the sample, let every mapper sniff, gate, rank.

Deterministic first: each registered mapper's ``sniff`` proposes itself with a field map and a
confidence (see the rubric in ``brewslm.mappers``), every proposal is dry-run by the gate, and
the best one is accepted when it reaches ``ACCEPT_THRESHOLD``. When none does and the source is
a JSON document whose rows nest lists of records (SQuAD articles -> paragraphs -> questions), the
source is re-sampled one list level down at a time (``explode``) and sniffed again; the result
then carries that refined locator (``locator``, with ``refined_from`` the one asked for), and
imports should read the refined one. Only when still nothing is accepted, and LLM assist is on
(argument, or ``DATASET_IMPORT_LLM_ASSIST_ENABLED=true``), a local teacher model is asked; its
proposal passes the same gate.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from brewslm.errors import BrewError, ConfigError
from brewslm.introspection.gate import ACCEPT_THRESHOLD, gate
from brewslm.introspection.llm_assist import Teacher, ask_teacher, make_teacher
from brewslm.introspection.nested import (
    Refinement,
    explode_locator,
    find_record_lists,
    parallel_list_fields,
    read_as_content,
    zip_locator,
)
from brewslm.mappers import list_mappers
from brewslm.mappers.base import Proposal
from brewslm.mappers.profile import SampleProfile, profile_rows
from brewslm.sources import open_source

LLM_ASSIST_ENV = "DATASET_IMPORT_LLM_ASSIST_ENABLED"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("", "0", "false", "no", "off")


@dataclass
class IntrospectionResult:
    locator: str  # the locator the proposals apply to: the refined one when nested records were exploded
    sample_rows: int  # rows read for the sample, parse failures included
    parse_failures: int
    proposals: list[Proposal]  # gated, best first
    accepted: Proposal | None
    llm_assist: dict[str, Any] | None = None  # None when LLM assist was off
    warnings: list[str] = field(default_factory=list)  # e.g. a plugin mapper whose sniff failed
    profile: SampleProfile | None = field(default=None, repr=False, compare=False)
    refined_from: str | None = None  # the locator asked for, when ``locator`` had to explode nested records

    def to_dict(self) -> dict[str, Any]:
        return {
            "locator": self.locator,
            "sample_rows": self.sample_rows,
            "parse_failures": self.parse_failures,
            "proposals": [p.to_dict() for p in self.proposals],
            "accepted": self.accepted.to_dict() if self.accepted else None,
            "llm_assist": self.llm_assist,
            "warnings": list(self.warnings),
            "refined_from": self.refined_from,
        }


def llm_assist_enabled(flag: bool | None = None) -> bool:
    """The explicit flag when given, else ``DATASET_IMPORT_LLM_ASSIST_ENABLED``."""
    if flag is not None:
        return bool(flag)
    raw = os.environ.get(LLM_ASSIST_ENV, "").strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ConfigError(f"{LLM_ASSIST_ENV}='{raw}' is not a boolean; use true or false")


def sniff_all(profile: SampleProfile) -> tuple[list[Proposal], list[str]]:
    """Every registered mapper's own proposal (ungated), and warnings for sniffers that failed."""

    proposals: list[Proposal] = []
    warnings: list[str] = []
    for mapper in list_mappers():
        try:
            proposal = mapper.sniff(profile)
        except Exception as exc:  # noqa: BLE001 - one broken (plugin) sniffer must not stop the rest
            warnings.append(
                f"mapper '{mapper.id}' failed to sniff the sample and was skipped: {type(exc).__name__}: {exc}"
            )
            continue
        if proposal is None:
            continue
        if not isinstance(proposal, Proposal):
            warnings.append(
                f"mapper '{mapper.id}' returned a {type(proposal).__name__} from sniff, not a Proposal; skipped"
            )
            continue
        proposals.append(proposal)
    return proposals, warnings


def rank(proposals: list[Proposal]) -> list[Proposal]:
    """Best first: confidence, then mapper id (a stable, deterministic order for ties)."""
    return sorted(proposals, key=lambda p: (-p.confidence, p.mapper_id))


def _sniff_and_gate(profile: SampleProfile, *, locator: str, sample_rows: int | None) -> IntrospectionResult:
    """The deterministic part: every sniffer's proposal, gated and ranked; the best accepted at
    ``ACCEPT_THRESHOLD``."""
    raw, warnings = sniff_all(profile)
    proposals = rank([gate(p, profile) for p in raw])
    best = proposals[0] if proposals and proposals[0].confidence >= ACCEPT_THRESHOLD else None
    return IntrospectionResult(
        locator=locator,
        sample_rows=profile.n_rows + profile.n_parse_failures if sample_rows is None else sample_rows,
        parse_failures=profile.n_parse_failures,
        proposals=proposals,
        accepted=best,
        warnings=warnings,
        profile=profile,
    )


def _assist(
    result: IntrospectionResult, llm_assist: bool | None, teacher: str | dict | Teacher | None
) -> IntrospectionResult:
    """Ask the teacher model when LLM assist is on and nothing was accepted deterministically:
    it chooses among candidates seeded by the sniffers' proposals (``ask_teacher``)."""
    if not llm_assist_enabled(llm_assist):
        return result
    profile = result.profile
    if result.accepted is not None:
        result.llm_assist = {
            "enabled": True,
            "used": False,
            "reason": f"'{result.accepted.mapper_id}' was accepted without it",
        }
    elif profile is None or profile.n_rows == 0:
        result.llm_assist = {
            "enabled": True,
            "used": False,
            "reason": "the sample has no parsed rows to show a teacher",
        }
    else:
        outcome = ask_teacher(profile, make_teacher(teacher), ACCEPT_THRESHOLD, result.proposals)
        result.llm_assist = outcome.report
        if outcome.accepted and outcome.proposal is not None:
            result.accepted = outcome.proposal
            result.proposals = rank([outcome.proposal, *result.proposals])
    return result


def introspect_profile(
    profile: SampleProfile,
    *,
    locator: str = "",
    sample_rows: int | None = None,
    llm_assist: bool | None = None,
    teacher: str | dict | Teacher | None = None,
) -> IntrospectionResult:
    """Introspection over an already profiled sample (``introspect`` without the source)."""
    return _assist(_sniff_and_gate(profile, locator=locator, sample_rows=sample_rows), llm_assist, teacher)


def refine_nested(
    top: IntrospectionResult, source: Any, rows: list[Any], sample_size: int
) -> IntrospectionResult | None:
    """Introspection one list level down at a time, for a JSON source whose rows wrap lists of
    records (see ``brewslm.introspection.nested``): the first level where a proposal is
    accepted, with ``locator`` the refined locator; then, when none fits, the rows' parallel
    lists zipped into one row per position. None when nothing fits (notes go to
    ``top.warnings``)."""
    chain = find_record_lists(rows)
    level, tried = top, []
    for depth in range(1, len(chain) + 1):
        reader = read_as_content(chain[depth - 1], level.proposals)
        if reader is not None:
            break  # e.g. passages or messages that a mapper reads as they are
        refinement = explode_locator(top.locator, source, rows, chain[:depth])
        if refinement is None:
            return None
        level = _refined_level(top, refinement, sample_size, tried)
        if level is None:
            return None
        if level.accepted is not None:
            path = " -> ".join(chain[:depth])
            return _accept_refined(
                top, level, refinement, f"the rows of '{top.locator}' wrap lists of records ({path})"
            )
    parallel = parallel_list_fields(rows)
    if parallel and not any(read_as_content(name, top.proposals) for name in parallel):
        refinement = zip_locator(top.locator, source, parallel)
        level = _refined_level(top, refinement, sample_size, tried) if refinement else None
        if level is not None and level.accepted is not None:
            fields = ", ".join(parallel)
            return _accept_refined(
                top,
                level,
                refinement,  # type: ignore[arg-type]
                f"the rows of '{top.locator}' hold parallel lists ({fields}), one record per position",
            )
    if tried:
        top.warnings.append(
            f"the rows nest lists of records (or parallel lists), but no mapper fits them either (tried {', '.join(tried)})"
        )
    return None


def _refined_level(
    top: IntrospectionResult, refinement: Refinement, sample_size: int, tried: list[str]
) -> IntrospectionResult | None:
    """Sniff and gate a sample of the refined locator; None (with a warning) when it cannot be read."""

    try:
        refined_rows = open_source(refinement.locator).sample(sample_size)
    except BrewError as exc:
        top.warnings.append(f"could not read the nested records with '{refinement.locator}': {exc}")
        return None
    tried.append(refinement.locator)
    return _sniff_and_gate(profile_rows(refined_rows), locator=refinement.locator, sample_rows=len(refined_rows))


def _accept_refined(
    top: IntrospectionResult, level: IntrospectionResult, refinement: Refinement, why: str
) -> IntrospectionResult:
    level.refined_from = top.locator
    assert level.accepted is not None
    level.accepted.evidence.insert(
        0, f"{why}; these are the records of '{refinement.locator}': import with that locator"
    )
    if refinement.note:
        level.warnings.append(refinement.note)
    return level


def introspect(
    locator: str,
    *,
    sample_size: int = 2000,
    llm_assist: bool | None = None,
    teacher: str | dict | Teacher | None = None,
) -> IntrospectionResult:
    """Sample ``locator``, propose mappers best first, and accept the best one at >= 0.8.

    ``llm_assist`` None reads ``DATASET_IMPORT_LLM_ASSIST_ENABLED``; ``teacher`` is a local HF
    model path (None -> the embedded SmolLM2), ``{"url": ..., "model": ...}`` for an
    OpenAI-compatible endpoint, or any object with ``name`` and ``complete(prompt)``.
    A JSON document whose rows wrap lists of records is refined first: ``result.locator`` is then
    the exploding locator the proposals apply to (``result.refined_from`` the one given).
    """

    if isinstance(sample_size, bool) or not isinstance(sample_size, int) or sample_size < 1:
        raise ConfigError(f"sample size must be a positive whole number, not {sample_size!r}")
    llm_assist_enabled(llm_assist)  # a bad environment value fails before the source is read
    source = open_source(locator)
    rows = source.sample(sample_size)
    profile = profile_rows(rows)
    profile.origin = getattr(source, "path", None)  # file sources: where side files (label names) live
    result = _sniff_and_gate(profile, locator=str(locator), sample_rows=len(rows))
    if result.accepted is None:
        result = refine_nested(result, source, rows, sample_size) or result
    _add_source_notes(result, getattr(source, "notes", None))
    return _assist(result, llm_assist, teacher)


def _add_source_notes(result: IntrospectionResult, notes: list[str] | None) -> None:
    """What the source decided from the data (encoding, header, quoting, record unit): first in
    the accepted proposal's evidence, or a warning line when nothing was accepted."""
    if not notes:
        return
    lines = [f"source {note}" for note in notes]
    if result.accepted is not None:
        result.accepted.evidence[:0] = [line for line in lines if line not in result.accepted.evidence]
    else:
        result.warnings.extend(lines)
