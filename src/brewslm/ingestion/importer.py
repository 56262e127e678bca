"""The import service: source -> mapper -> task-profile check -> de-dup -> split -> a new dataset version.

Everything streams: rows are mapped and written straight to the split files of a temporary
version directory, the de-duplication set lives on disk (``KeyIndex``), and the only per-import
state in memory is counters and a bounded batch. The version is published atomically at the end;
any failure discards it, leaves the previous version as it was and logs ``dataset_import_failed``.

Record keys: ``_key`` is the first 128 bits (hex) of the sha256 of the record's canonical JSON
(sorted keys, compact, UTF-8) without its provenance fields ``id`` and ``meta`` - two rows with
the same content are the same training example whatever their source ids. The key decides
de-duplication and, with the seed, the split, so a record keeps its split across re-imports.
Each JSON line is ``{"_key": ..., <content fields, sorted>, "id": ..., "meta": ...}``.

Errors inside a mapper: a ``BrewError`` is deliberate and stops the import; any other exception
from one row is that row's rejection (``mapper_error``, with the exception's message), so a bug a
plugin mapper hits on one row of a million does not lose the other rows. When the first
``MAPPER_ERROR_ABORT`` rows all fail that way the import stops early: the mapper is broken.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Iterable, Iterator, Mapping

from brewslm import __version__
from brewslm.errors import BrewError, ImportFailed, MapperError
from brewslm.ingestion.dedup import KeyIndex
from brewslm.ingestion.spec import ImportResult, ImportSpec
from brewslm.mappers import get_mapper
from brewslm.mappers.base import MISSING, Mapper, Rejection, get_path
from brewslm.sources import open_source
from brewslm.sources.base import ParseFailure, Source, SourceRow
from brewslm.storage import catalog
from brewslm.storage.datasets import (
    KEY_FIELD,
    SPLITS,
    DatasetVersion,
    VersionWriter,
    current_version,
    dataset_lock,
    dataset_name_from,
    next_version,
    open_dataset,
    pending_marker,
    validate_dataset_name,
)
from brewslm.storage.events import default_actor, new_event, record_event
from brewslm.storage.recovery import reconcile_dataset
from brewslm.workspace import crash_point
from brewslm.tasks import get_task_profile
from brewslm.tasks.base import TaskProfile

STAGE = catalog.STAGE
RUN_OK = catalog.IMPORT_RUN
RUN_FAILED = catalog.IMPORT_FAILED
MAPPER_ERROR = "mapper_error"
SPLIT_GROUP_MISSING = "split_group_missing"  # split_group is set and a row has no value there
MAPPER_ERROR_ABORT = 1000  # consecutive leading rows a mapper may crash on before the import stops
SPLIT_RATIOS = {"train": 0.8, "validation": 0.1, "test": 0.1}
SAMPLE_ROWS = 200  # rows read up front to check the field map against the source's fields
SAMPLE_SCAN = 2000
BATCH_RECORDS = 4096  # records buffered between de-dup lookups: bounds memory, amortises SQLite calls
PROGRESS_EVERY = 1000
KEY_BYTES = 16

PROVENANCE_FIELDS = ("id", "meta")  # kept in the record, left out of its key
KEY_EXCLUDED = frozenset({KEY_FIELD, *PROVENANCE_FIELDS})


def _not_json(value: Any) -> Any:
    raise TypeError(f"a {type(value).__name__} value is not JSON")


def _canonical_encoder() -> Callable[[Any], str]:
    """Compact, key-sorted, UTF-8-preserving JSON; NaN/Infinity and non-JSON objects raise.

    The C encoder is called directly when available: ``JSONEncoder.encode`` rebuilds it on every
    call, which is most of the cost for small records (it runs once per record).
    """
    c_make_encoder = getattr(json.encoder, "c_make_encoder", None)
    if c_make_encoder is None:  # pragma: no cover - CPython always has the accelerator
        return json.JSONEncoder(ensure_ascii=False, sort_keys=True, separators=(",", ":"), allow_nan=False).encode
    encoder = c_make_encoder(None, _not_json, json.encoder.encode_basestring, None, ":", ",", True, False, False)
    join = "".join

    def encode(value: Any) -> str:
        return join(encoder(value, 0))

    return encode


_encode = _canonical_encoder()

Progress = Callable[[int], Any]


# --- planning: everything that can be checked before a row is written -------------------------

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
    from brewslm.introspection.gate import dry_run
    from brewslm.mappers.profile import profile_rows

    return dry_run(plan.mapper, dict(plan.field_map), dict(plan.options), profile_rows(plan.sample),
                   keep_examples=keep_examples)


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
    try:
        from brewslm.introspection import introspect
    except ImportError as exc:  # pragma: no cover - introspection ships with the package
        raise MapperError(f"no mapper given and the introspector is unavailable ({exc}); pass a mapper id") from exc
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


# --- running ----------------------------------------------------------------------------------

@dataclass
class _RunState:
    """What the failure event reports when an import stops part way."""

    spec: ImportSpec
    actor: str
    mapper_id: str | None = None
    task_profile: str | None = None
    dataset: str | None = None
    version: int | None = None
    version_started: bool = False
    published: bool = False
    failure_logged: bool = False
    rows_read: int = 0
    rejection_counts: dict[str, int] = field(default_factory=dict)


def run_import(spec: ImportSpec, progress: Progress | Any = None) -> ImportResult:
    """Run one import and publish a new dataset version; log a RunEvent either way.

    ``progress`` is a tqdm-like object (its ``update(n)`` gets the rows processed since the last
    call) or a plain callable (called with the total rows processed so far).
    """
    if not isinstance(spec, ImportSpec):
        spec = ImportSpec.model_validate(spec)
    state = _RunState(spec=spec, actor=spec.actor or default_actor(), dataset=spec.dataset)
    try:
        return _run(spec, state, _progress_reporter(progress))
    except BaseException as exc:
        failure = _as_brew_error(exc, state)
        if not state.failure_logged:
            _log_failure(state, failure if failure is not None else exc)
        if failure is not None and failure is not exc:
            raise failure from exc
        raise


DETAIL_LIMIT = 500  # characters of an exception message kept in a rejection or error line


def _exception_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if len(text) > DETAIL_LIMIT:
        text = text[:DETAIL_LIMIT] + "…"
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _as_brew_error(exc: BaseException, state: _RunState) -> BrewError | None:
    if isinstance(exc, BrewError):
        return exc
    if not isinstance(exc, Exception):  # KeyboardInterrupt, SystemExit: cleaned up, logged, re-raised as is
        return None
    if state.published:
        return ImportFailed(
            f"dataset '{state.dataset}' v{state.version} was published but recording it in the database failed: "
            f"{_exception_line(exc)}"
        )
    where = f" at row {state.rows_read}" if state.rows_read else ""
    kept = f"; dataset '{state.dataset}' is unchanged" if state.dataset else ""
    return ImportFailed(f"import of '{state.spec.locator}' failed{where}: {_exception_line(exc)}{kept}")


def _log_failure(state: _RunState, exc: BaseException) -> None:
    error = str(exc) if isinstance(exc, BrewError) else f"{type(exc).__name__}: interrupted"
    payload = {
        "source_id": state.spec.locator,
        "mapper_id": state.mapper_id or state.spec.mapper_id,
        "task_profile": state.task_profile,
        "accepted_count": 0,
        "rejection_counts": dict(state.rejection_counts),
        "rows_read": state.rows_read,
        "config_id": state.spec.config_id,
        "dataset": state.dataset,
        "version": state.version,
        "mode": state.spec.mode,
        "error": error,
        "error_type": type(exc).__name__,
    }
    event = new_event(STAGE, RUN_FAILED, payload, actor=state.actor, dataset=state.dataset, config_id=state.spec.config_id)
    try:
        if state.version_started and not state.published and state.dataset and state.version:
            catalog.finish_version(state.dataset, state.version, status=catalog.FAILED, event=event, error=error)
        else:
            record_event(
                STAGE, RUN_FAILED, payload, actor=state.actor, dataset=state.dataset, config_id=state.spec.config_id
            )
    except Exception:  # the audit log being down must not hide why the import failed
        import logging

        logging.getLogger(__name__).exception("could not record %s for %s", RUN_FAILED, state.spec.locator)


def _progress_reporter(progress: Any) -> Callable[[int, int], None] | None:
    if progress is None:
        return None
    update = getattr(progress, "update", None)
    if callable(update):
        return lambda total, delta: update(delta)
    if callable(progress):
        return lambda total, delta: progress(total)
    raise TypeError("progress must be a callable or have an update(n) method (e.g. a tqdm bar)")


def _run(spec: ImportSpec, state: _RunState, report: Callable[[int, int], None] | None) -> ImportResult:
    plan = plan_import(spec)
    spec = state.spec = plan.spec  # the introspector may have refined the locator
    state.mapper_id = plan.mapper.id
    state.task_profile = plan.profile.id
    state.dataset = plan.dataset
    fingerprint = _fingerprint(plan.source)

    with dataset_lock(plan.dataset):
        # settle what a crashed import left first, so the parent is the committed CURRENT version
        reconcile_dataset(plan.dataset)
        parent_number = current_version(plan.dataset)
        parent = open_dataset(plan.dataset, parent_number) if parent_number is not None else None
        if parent is not None and spec.mode == "append":
            _check_append_fits(plan, parent)
        version = next_version(plan.dataset)
        state.version = version
        writer = VersionWriter(plan.dataset, version, spec.format)
        pending = pending_marker(plan.dataset, version)  # removed once the catalogue holds the outcome
        try:
            catalog.begin_version(
                plan.dataset,
                version,
                task_profile=plan.profile.id,
                path=str(writer.final_path),
                output_format=spec.format,
                mapper_id=plan.mapper.id,
                source_locator=spec.locator,
                config_id=spec.config_id,
                actor=state.actor,
            )
            state.version_started = True
            stats = _write_version(plan, writer, parent if spec.mode == "append" else None, state, report)
            manifest = _manifest(plan, writer, stats, parent, fingerprint, state)
            crash_point("after_rows_written")
            published = writer.publish(manifest)  # CURRENT moved: committed (see storage/datasets.py)
        except BaseException as exc:
            writer.discard()
            # logged under the lock, so crash recovery in another process never races this failure
            state.failure_logged = True
            failure = _as_brew_error(exc, state)
            _log_failure(state, failure if failure is not None else exc)
            pending.unlink(missing_ok=True)
            raise
        state.published = True
        # The catalogue follows the committed files. Recorded under the lock so another process's
        # crash recovery cannot adopt this version first; if this process dies before it, that
        # recovery adopts the version from its manifest with the same event.
        payload, details = catalog.import_outcome(manifest)
        event = new_event(STAGE, RUN_OK, payload, actor=state.actor, dataset=plan.dataset, config_id=spec.config_id)
        event_id = catalog.finish_version(plan.dataset, version, status=catalog.PUBLISHED, event=event,
                                          task_profile=plan.profile.id, **details)
        pending.unlink(missing_ok=True)
        crash_point("after_catalogue")
    return ImportResult(
        dataset=plan.dataset,
        version=version,
        path=published.path,
        accepted=stats.accepted,
        rejected_counts=dict(stats.rejection_counts),
        duplicates=stats.duplicates,
        split_counts=dict(writer.split_counts),
        manifest=manifest,
        event_id=event_id,
        rows_read=stats.rows_read,
        records=payload["records"],
        carried_over=stats.carried_over,
        warnings=list(manifest["warnings"]),
    )


def _fingerprint(source: Source) -> str | None:
    try:
        return source.fingerprint()
    except Exception:  # an identity hint only; its absence must not stop an import
        return None


def _check_append_fits(plan: ImportPlan, parent: DatasetVersion) -> None:
    """Appending only makes sense onto a dataset of the same task profile and scoring mode."""
    if parent.task_profile != plan.profile.id:
        raise ImportFailed(
            f"dataset '{plan.dataset}' holds task profile '{parent.task_profile}' records but mapper "
            f"'{plan.mapper.id}' produces '{plan.profile.id}'; import into another dataset (--dataset) or use mode replace"
        )
    before = (parent.manifest.get("output_schema") or {}).get("scoring_mode")
    now = plan.output_schema.get("scoring_mode")
    if before and now and before != now:
        raise ImportFailed(
            f"dataset '{plan.dataset}' is scored as '{before}' but this import produces '{now}' records; "
            "import into another dataset (--dataset) or use mode replace"
        )


# --- the streaming core -----------------------------------------------------------------------

@dataclass
class _Stats:
    rows_read: int = 0
    valid: int = 0  # records that passed mapper and profile (duplicates included)
    accepted: int = 0  # records this import added
    duplicates: int = 0
    carried_over: int = 0
    rejection_counts: dict[str, int] = field(default_factory=dict)
    first_detail: dict[str, str] = field(default_factory=dict)
    summary: Any = None  # the task profile's streaming Summary over every record of the new version


def _split_chooser(spec: ImportSpec) -> Callable[[bytes], str]:
    if spec.split != "auto":
        fixed = spec.split
        return lambda digest: fixed
    seed_key = hashlib.sha256(f"brewslm-split:{spec.seed}".encode()).digest()[:32]
    train_cut = int(SPLIT_RATIOS["train"] * 10_000)
    validation_cut = train_cut + int(SPLIT_RATIOS["validation"] * 10_000)
    blake2b = hashlib.blake2b
    from_bytes = int.from_bytes

    def choose(digest: bytes) -> str:
        bucket = from_bytes(blake2b(digest, digest_size=8, key=seed_key).digest(), "big") % 10_000
        return "train" if bucket < train_cut else "validation" if bucket < validation_cut else "test"

    return choose


def record_key(record: Mapping[str, Any]) -> str:
    """The content-hash key of a canonical record (what ``_key`` holds)."""
    content = {k: v for k, v in record.items() if k not in KEY_EXCLUDED}
    return hashlib.sha256(_encode(content).encode("utf-8")).digest()[:KEY_BYTES].hex()


def _serialise(record: dict[str, Any]) -> tuple[bytes, bytes]:
    """(key digest, the record's JSON without ``_key``): the content fields sorted, then the
    provenance fields. Raises ValueError/TypeError/RecursionError when the record is not JSON
    (NaN, a Python object, a cycle) and UnicodeEncodeError for unpaired surrogates."""
    if KEY_EXCLUDED.isdisjoint(record):
        body = _encode(record).encode("utf-8")
        return hashlib.sha256(body).digest()[:KEY_BYTES], body
    content = dict(record)
    content.pop(KEY_FIELD, None)
    provenance = [(name, content.pop(name)) for name in PROVENANCE_FIELDS if name in content]
    content_json = _encode(content)
    digest = hashlib.sha256(content_json.encode("utf-8")).digest()[:KEY_BYTES]
    parts = [content_json[1:-1]] if content_json != "{}" else []
    parts.extend(f'"{name}":{_encode(value)}' for name, value in provenance)
    return digest, ("{" + ",".join(parts) + "}").encode("utf-8")


def _line(digest: bytes, body: bytes) -> bytes:
    head = b'{"' + KEY_FIELD.encode() + b'":"' + digest.hex().encode() + b'"'
    return head + (b"}\n" if body == b"{}" else b"," + body[1:] + b"\n")


def _raw_for_rejection(row: Any) -> Any:
    if isinstance(row, ParseFailure):
        return row.raw
    return row


def _write_version(
    plan: ImportPlan,
    writer: VersionWriter,
    parent: DatasetVersion | None,
    state: _RunState,
    report: Callable[[int, int], None] | None,
) -> _Stats:
    summary = plan.profile.new_summary(plan.output_schema)
    stats = _Stats(summary=summary)
    index = KeyIndex(writer.scratch_dir / "keys.sqlite")
    try:
        if parent is not None:
            _carry_over(parent, writer, index, summary, stats)
        _stream_new(plan, writer, index, summary, stats, state, report)
    finally:
        index.close()
    return stats


def _carry_over(parent: DatasetVersion, writer: VersionWriter, index: KeyIndex, summary: Any, stats: _Stats) -> None:
    """Copy the previous version's records into the new one, each in the split it had."""
    for split in SPLITS:
        pending: list[tuple[bytes, dict[str, Any], bytes]] = []
        for record, line in _previous_records(parent, split):
            key_hex = record.pop(KEY_FIELD, None)
            digest = _digest_from_hex(key_hex)
            if digest is None:  # a record without a usable key (edited by hand): key it afresh
                digest, body = _serialise(record)
                line = _line(digest, body)
            pending.append((digest, record, line))
            if len(pending) >= BATCH_RECORDS:
                _flush_carried(split, pending, writer, index, summary, stats)
        _flush_carried(split, pending, writer, index, summary, stats)


def _flush_carried(
    split: str,
    pending: list[tuple[bytes, dict[str, Any], bytes]],
    writer: VersionWriter,
    index: KeyIndex,
    summary: Any,
    stats: _Stats,
) -> None:
    fresh = index.add_batch([digest for digest, _, _ in pending])
    for (_digest, record, line), new in zip(pending, fresh):
        if new:
            writer.write_line(split, line)
            summary.add(record)
            stats.carried_over += 1
        else:  # the previous version held it twice (edited by hand); keep one
            stats.duplicates += 1
    pending.clear()


def _digest_from_hex(key_hex: Any) -> bytes | None:
    if not isinstance(key_hex, str) or len(key_hex) != 2 * KEY_BYTES:
        return None
    try:
        return bytes.fromhex(key_hex)
    except ValueError:
        return None


def _previous_records(parent: DatasetVersion, split: str) -> Iterator[tuple[dict[str, Any], bytes]]:
    """(record, its JSON line) for each record of one split of the previous version."""
    if parent.output_format == "jsonl":
        with open(parent.split_path(split), "rb") as handle:
            for line in handle:
                if line.strip():
                    yield json.loads(line), line if line.endswith(b"\n") else line + b"\n"
        return
    for record in parent.iter_records(split):
        # Parquet has one schema for all records and fills fields a record lacked with null.
        record = {k: v for k, v in record.items() if v is not None}
        digest = _digest_from_hex(record.get(KEY_FIELD))
        fresh_digest, body = _serialise({k: v for k, v in record.items() if k != KEY_FIELD})
        yield record, _line(digest or fresh_digest, body)


def _stream_new(
    plan: ImportPlan,
    writer: VersionWriter,
    index: KeyIndex,
    summary: Any,
    stats: _Stats,
    state: _RunState,
    report: Callable[[int, int], None] | None,
) -> None:
    apply = plan.mapper.apply
    canonical = plan.mapper.canonical_map(plan.field_map)
    options = plan.options
    validate = plan.profile.validate
    choose_split = _split_chooser(plan.spec)
    group_field = plan.spec.split_group
    write_line = writer.write_line
    rejection_counts = stats.rejection_counts
    first_detail = stats.first_detail
    # (digest, record, body, split group): the group is the key of the row's first valid record,
    # so every record one source row yields (conversation paths, tool-call decision points)
    # lands in one split and no text leaks from train into validation or test.
    pending: list[tuple[bytes, dict[str, Any], bytes, bytes]] = []

    def reject(row_number: int, row: Any, rejection: Rejection) -> None:
        reason = rejection.reason
        rejection_counts[reason] = rejection_counts.get(reason, 0) + 1
        if reason not in first_detail:
            first_detail[reason] = f"row {row_number}: {rejection.detail}" if rejection.detail else f"row {row_number}"
        entry: dict[str, Any] = {"row": row_number, "reason": reason, "detail": rejection.detail}
        if isinstance(row, ParseFailure):
            entry["position"] = row.position
        entry["raw"] = _raw_for_rejection(row)
        writer.write_rejected(entry)

    def flush() -> None:
        fresh = index.add_batch([entry[0] for entry in pending])
        for (digest, record, body, group), new in zip(pending, fresh):
            if new:
                write_line(choose_split(group), _line(digest, body))
                summary.add(record)
                stats.accepted += 1
            else:
                stats.duplicates += 1
        pending.clear()

    rows = plan.source.records()  # rows checked for depth: a 10,000-deep record is one too_deep row
    row_number = 0
    valid = 0
    next_report = PROGRESS_EVERY
    reported = 0
    try:
        for row in rows:
            row_number += 1
            try:
                outcome = apply(row, canonical, options)
            except BrewError:
                raise
            except Exception as exc:
                outcome = Rejection(MAPPER_ERROR, _exception_line(exc))
            if type(outcome) is not list:
                outcome = _normalise_outcome(outcome, plan.mapper.id)
            group = None
            if type(outcome) is list and group_field is not None:
                group = _split_group(row, group_field)
                if group is None:
                    outcome = Rejection(SPLIT_GROUP_MISSING, f"no value at '{group_field}' (split_group); give every "
                                                             "row one, or import without split_group")
            if type(outcome) is list:
                for record in outcome:
                    if not isinstance(record, dict):
                        problem = Rejection(
                            MAPPER_ERROR, f"mapper '{plan.mapper.id}' produced a {type(record).__name__}, not a record"
                        )
                    else:
                        try:
                            problem = validate(record)
                        except Exception as exc:  # a task-profile bug on one record: same policy as a mapper bug
                            problem = Rejection(MAPPER_ERROR, f"task profile check crashed: {_exception_line(exc)}")
                    if problem is None:
                        try:
                            digest, body = _serialise(record)
                        except UnicodeEncodeError:
                            problem = Rejection(
                                "invalid_record", "text holds an unpaired UTF-16 surrogate; fix the source's encoding"
                            )
                        except (TypeError, ValueError, RecursionError) as exc:
                            problem = Rejection("invalid_record", f"record is not valid JSON ({_exception_line(exc)})")
                    if problem is None:
                        valid += 1
                        group = group or digest
                        pending.append((digest, record, body, group))
                    else:
                        reject(row_number, row, problem)
                if len(pending) >= BATCH_RECORDS:
                    stats.rows_read = row_number
                    flush()
            else:
                reject(row_number, row, outcome)
                if valid == 0 and row_number >= MAPPER_ERROR_ABORT and rejection_counts.get(MAPPER_ERROR) == row_number:
                    raise ImportFailed(
                        f"mapper '{plan.mapper.id}' crashed on each of the first {row_number} rows "
                        f"({first_detail[MAPPER_ERROR]}); fix the mapper or its field map"
                    )
            if row_number >= next_report:
                next_report += PROGRESS_EVERY
                if report is not None:
                    report(row_number, row_number - reported)
                    reported = row_number
        stats.rows_read = row_number
        flush()
    finally:
        state.rows_read = row_number
        state.rejection_counts = dict(rejection_counts)
        close = getattr(rows, "close", None)
        if close is not None:
            close()
    stats.valid = valid
    if report is not None and row_number > reported:
        report(row_number, row_number - reported)
    if valid == 0:
        raise ImportFailed(_nothing_accepted_message(plan, stats))


def _split_group(row: Any, path: str) -> bytes | None:
    """The split group of a source row with ``split_group``: a digest of the value at ``path``
    (its canonical JSON, so 7 and "7" are different groups), or None when the row has no value."""
    value = get_path(row, path)
    if value is MISSING or value is None or value == "":
        return None
    try:
        encoded = _encode(value)
    except (TypeError, ValueError):  # NaN or another value JSON cannot hold: its text still names the group
        encoded = repr(value)
    return hashlib.blake2b(encoded.encode("utf-8"), digest_size=KEY_BYTES).digest()


def _normalise_outcome(outcome: Any, mapper_id: str) -> "list[dict[str, Any]] | Rejection":
    if isinstance(outcome, Rejection):
        return outcome
    if isinstance(outcome, dict):
        return [outcome]
    if isinstance(outcome, tuple):
        return list(outcome)
    return Rejection(MAPPER_ERROR, f"mapper '{mapper_id}' returned a {type(outcome).__name__}, not records or a Rejection")


def _top_reasons(stats: _Stats, limit: int = 3) -> str:
    ranked = sorted(stats.rejection_counts.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return "; ".join(f"{reason} x{count} (e.g. {stats.first_detail.get(reason, '')})" for reason, count in ranked)


def _nothing_accepted_message(plan: ImportPlan, stats: _Stats) -> str:
    if stats.rows_read == 0:
        return f"source '{plan.spec.locator}' yielded no rows; nothing was imported"
    return (
        f"mapper '{plan.mapper.id}' accepted none of the {stats.rows_read} rows of '{plan.spec.locator}': "
        f"{_top_reasons(stats)}; check the field map (--field-map SOURCE=FIELD) or pick another mapper"
    )


def _warnings(stats: _Stats, drop_reasons: Iterable[str], rejected_path: str) -> list[str]:
    expected = set(drop_reasons)
    out = []
    for reason, count in sorted(stats.rejection_counts.items(), key=lambda item: (-item[1], item[0])):
        if reason in expected:
            continue
        out.append(f"{count} rejected as {reason} (e.g. {stats.first_detail.get(reason, '')}); see {rejected_path}")
    return out


def _manifest(
    plan: ImportPlan,
    writer: VersionWriter,
    stats: _Stats,
    parent: DatasetVersion | None,
    fingerprint: str | None,
    state: _RunState,
) -> dict[str, Any]:
    spec = plan.spec
    summary_result = stats.summary.result() or {}
    output_schema = dict(summary_result.get("output_schema") or plan.output_schema)
    split_policy: dict[str, Any] = {"assign": spec.split, "seed": spec.seed}
    if spec.split == "auto" and spec.split_group is not None:
        split_policy.update(
            policy="group_hash",
            group_field=spec.split_group,
            ratios=dict(SPLIT_RATIOS),
            detail=(
                f"blake2b(the source row's '{spec.split_group}' value, key=seed) bucket: all rows with one "
                "value share a split (the ratios hold for groups, not rows), and a group keeps its split "
                "across re-imports"
            ),
        )
    elif spec.split == "auto":
        split_policy.update(
            policy="content_hash",
            ratios=dict(SPLIT_RATIOS),
            detail=(
                "blake2b(key of the source row's first record, key=seed) bucket: all records of one "
                "row share a split, and a record keeps its split across re-imports"
            ),
        )
    else:
        split_policy["policy"] = "fixed"
    rejected_path = str(writer.final_path / "rejected.jsonl")
    return {
        "format_version": 1,
        "name": plan.dataset,
        "version": writer.version,
        "parent_version": parent.version if parent is not None else None,
        "mode": spec.mode,
        "task_profile": plan.profile.id,
        "mapper_id": plan.mapper.id,
        "field_map": dict(plan.field_map),
        "options": dict(plan.options),
        "output_schema": output_schema,
        "source": {"locator": spec.locator, "name": plan.source.name, "fingerprint": fingerprint},
        "introspection": plan.introspected,
        "counts": {
            "rows_read": stats.rows_read,
            "valid": stats.valid,
            "accepted": stats.accepted,
            "duplicates": stats.duplicates,
            "carried_over": stats.carried_over,
            "rejected": dict(sorted(stats.rejection_counts.items(), key=lambda item: (-item[1], item[0]))),
            "rejected_total": sum(stats.rejection_counts.values()),
            "records": sum(writer.split_counts.values()),
            "splits": dict(writer.split_counts),
        },
        "summary": summary_result.get("stats", {}),
        "content_hash": writer.content_hash(),
        "record_key": f"sha256 of the record's canonical JSON without {', '.join(sorted(KEY_EXCLUDED - {KEY_FIELD}))}, first {KEY_BYTES * 8} bits, hex, in '{KEY_FIELD}'",
        "split": split_policy,
        "drop_reasons": sorted(set(spec.drop_reasons)),
        "warnings": _warnings(stats, spec.drop_reasons, rejected_path),
        "format": spec.format,
        "files": {**{split: f"{split}.{spec.format}" for split in SPLITS}, "rejected": "rejected.jsonl"},
        "config_id": spec.config_id,
        "actor": state.actor,
        "created_at": datetime.now(timezone.utc).isoformat(),
        "brewslm_version": __version__,
    }
