"""Planning an import: everything that can be checked before a row is written (the source opens,
the mapper and field map fit a sample, the dataset name, the task profile), and the dry run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

from brewslm.errors import ImportFailed, MapperError
from brewslm.ingestion.spec import ImportSpec
from brewslm.introspection import introspect
from brewslm.introspection.gate import dry_run
from brewslm.mappers import get_mapper
from brewslm.mappers.base import MISSING, Mapper, get_path
from brewslm.mappers.profile import profile_rows
from brewslm.sources import open_source
from brewslm.sources.base import ParseFailure, Source, SourceRow
from brewslm.storage.datasets import (
    dataset_name_from,
    validate_dataset_name,
)
from brewslm.tasks import get_task_profile
from brewslm.tasks.base import TaskProfile

SAMPLE_ROWS = 200  # rows read up front to check the field map against the source's fields


SAMPLE_SCAN = 2000


@dataclass
class ImportPlan:
    """A checked import: the source is open, the mapper and field map fit its fields."""

    spec: ImportSpec
    source: Source
    mapper: Mapper
    field_map: dict[str, str]
    options: dict[str, Any]
    profile: TaskProfile
    output_schema: dict[str, Any]
    dataset: str
    source_fields: list[str]
    introspected: dict[str, Any] | None = None
    sample: list[SourceRow] = field(default_factory=list)  # the rows the field map was checked on


def dry_run_plan(plan: ImportPlan, *, keep_examples: int = 0) -> Any:
    """The introspector's dry run (``gate.dry_run``) of the plan's mapping over the plan's own
    sample: what the import would accept and reject, by reason, before anything is written."""

    return dry_run(
        plan.mapper, dict(plan.field_map), dict(plan.options), profile_rows(plan.sample), keep_examples=keep_examples
    )


def sample_fields(rows: Iterable[SourceRow]) -> list[str]:
    """Field names of sampled rows, top level and one object level down (``key.company``)."""
    names: dict[str, None] = {}
    for row in rows:
        if isinstance(row, dict):
            for key, value in row.items():
                names[str(key)] = None
                if isinstance(value, dict):
                    for sub in value:
                        names[f"{key}.{sub}"] = None
    return list(names)


def _check_field_sources(field_map: Mapping[str, str], sample: list[SourceRow], fields: list[str]) -> None:
    dict_rows = [row for row in sample if isinstance(row, dict)]
    for src, dst in field_map.items():
        if not any(get_path(row, src) is not MISSING for row in dict_rows):
            raise MapperError(
                f"field map '{src}={dst}': the source has no field '{src}' in the {len(sample)} rows sampled; "
                f"its fields: {', '.join(fields) or 'none'}"
            )


def _introspect(locator: str) -> tuple[str, dict[str, str], dict[str, Any], dict[str, Any], str]:
    """(mapper id, field map, options, the accepted proposal, the locator to read): the locator is
    the introspector's refined one when it had to look inside nested JSON lists."""
    result = introspect(locator)
    accepted = result.accepted
    if accepted is None:
        best = ""
        if result.proposals:
            top = result.proposals[0]
            best = f" (best: '{top.mapper_id}' at {top.confidence:.2f})"
        raise MapperError(
            f"no mapper fits '{locator}' with enough confidence{best}; "
            "pass a mapper id (--mapper) and a field map, or try --llm-assist"
        )
    proposal = accepted.to_dict()
    if result.refined_from:
        proposal["refined_from"] = result.refined_from
    return accepted.mapper_id, dict(accepted.field_map), dict(accepted.options), proposal, result.locator


def _merge_field_maps(proposed: Mapping[str, str], user: Mapping[str, str] | None) -> dict[str, str]:
    """The user's entries win, by canonical field: a user map for ``text`` replaces the proposed one."""
    user = dict(user or {})
    targets = set(user.values())
    merged = {src: dst for src, dst in proposed.items() if dst not in targets and src not in user}
    merged.update(user)
    return merged


def _open_and_sample(locator: str) -> tuple[Source, list[Any]]:
    """The source and a sample of it; an empty or wholly unparseable source stops here."""
    source = open_source(locator)
    sample = source.sample(SAMPLE_ROWS, scan_limit=SAMPLE_SCAN)
    if not sample:
        raise ImportFailed(f"source '{locator}' has no rows; nothing to import")
    if all(isinstance(row, ParseFailure) for row in sample):
        first = sample[0]
        raise ImportFailed(
            f"none of the {len(sample)} rows sampled from '{locator}' could be parsed "
            f"(row {first.position}: {first.error}); check the file and the locator's format prefix"
        )
    return source, sample


def plan_import(spec: ImportSpec) -> ImportPlan:
    """Open the source, pick the mapper, resolve the field map and options; raise on any misfit.

    Without a mapper id the introspector picks one first; when it refined the locator (nested JSON
    lists), the returned plan's spec carries the refined locator, which is what gets read and recorded.
    """
    source, sample = _open_and_sample(spec.locator)
    introspected = None
    if not spec.mapper_id:
        mapper_id, proposed_map, proposed_options, introspected, locator = _introspect(spec.locator)
        if locator != spec.locator:
            spec = spec.model_copy(update={"locator": locator})
            source, sample = _open_and_sample(locator)
    fields = sample_fields(sample)

    if spec.mapper_id:
        mapper = get_mapper(spec.mapper_id)
        field_map = dict(spec.field_map or {})
        options = dict(spec.options)
    else:
        mapper = get_mapper(mapper_id)
        field_map = _merge_field_maps(proposed_map, spec.field_map)
        options = {**proposed_options, **spec.options}

    _check_field_sources(field_map, sample, fields)
    resolved = mapper.resolve_field_map(field_map, fields)
    options = mapper.check_options(options)
    profile = get_task_profile(mapper.task_profile)
    output_schema = dict(mapper.output_schema(options) or {})
    dataset = validate_dataset_name(spec.dataset) if spec.dataset else dataset_name_from(source.name)
    return ImportPlan(
        spec=spec,
        source=source,
        mapper=mapper,
        field_map=resolved,
        options=options,
        profile=profile,
        output_schema=output_schema,
        dataset=dataset,
        source_fields=fields,
        introspected=introspected,
        sample=sample,
    )


__all__ = [
    "SAMPLE_ROWS",
    "SAMPLE_SCAN",
    "ImportPlan",
    "dry_run_plan",
    "plan_import",
    "sample_fields",
]
