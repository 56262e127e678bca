"""The import service: source -> mapper -> task-profile check -> de-dup -> split -> a new dataset version.

Everything streams: rows are mapped and written straight to the split files of a temporary
version directory, the de-duplication set lives on disk (``KeyIndex``), and the only per-import
state in memory is counters and a bounded batch. The version is published atomically at the end;
any failure discards it, leaves the previous version as it was and logs ``dataset_import_failed``.

The pieces: ``planning`` (everything checked before a row is written, the dry run), ``keys``
(record keys and JSON lines: the key decides de-duplication and, with the seed, the split, so a
record keeps its split across re-imports), ``dedup`` (the on-disk key set), ``carry_over``
(appending onto the previous version), ``manifest`` (the version's manifest.json), ``stats``
(counters). This module runs them: the streaming core, publishing, and the audit events.

Errors inside a mapper: a ``BrewError`` is deliberate and stops the import; any other exception
from one row is that row's rejection (``mapper_error``, with the exception's message), so a bug a
plugin mapper hits on one row of a million does not lose the other rows. When the first
``MAPPER_ERROR_ABORT`` rows all fail that way the import stops early: the mapper is broken.
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable

from brewslm.errors import BrewError, ImportFailed
from brewslm.ingestion.carry_over import carry_over
from brewslm.ingestion.dedup import BATCH_RECORDS, KeyIndex
from brewslm.ingestion.keys import KEY_BYTES, canonical_json, json_line, serialise_record
from brewslm.ingestion.manifest import build_manifest, nothing_accepted_message
from brewslm.ingestion.planning import ImportPlan, plan_import
from brewslm.ingestion.spec import SPLIT_RATIOS, ImportResult, ImportSpec
from brewslm.ingestion.stats import ImportStats, RunState
from brewslm.mappers.base import MISSING, Rejection, get_path
from brewslm.sources.base import ParseFailure, Source
from brewslm.storage import catalog
from brewslm.storage.datasets import (
    DatasetVersion,
    VersionWriter,
    current_version,
    dataset_lock,
    next_version,
    open_dataset,
    pending_marker,
)
from brewslm.storage.events import default_actor, new_event, record_event
from brewslm.storage.recovery import reconcile_dataset
from brewslm.workspace import crash_point

STAGE = catalog.STAGE
RUN_OK = catalog.IMPORT_RUN
RUN_FAILED = catalog.IMPORT_FAILED
MAPPER_ERROR = "mapper_error"
SPLIT_GROUP_MISSING = "split_group_missing"  # split_group is set and a row has no value there
MAPPER_ERROR_ABORT = 1000  # consecutive leading rows a mapper may crash on before the import stops
PROGRESS_EVERY = 1000


Progress = Callable[[int], Any]


# --- planning: everything that can be checked before a row is written -------------------------


# --- running ----------------------------------------------------------------------------------


def run_import(spec: ImportSpec, progress: Progress | Any = None) -> ImportResult:
    """Run one import and publish a new dataset version; log a RunEvent either way.

    ``progress`` is a tqdm-like object (its ``update(n)`` gets the rows processed since the last
    call) or a plain callable (called with the total rows processed so far).
    """
    if not isinstance(spec, ImportSpec):
        spec = ImportSpec.model_validate(spec)
    state = RunState(spec=spec, actor=spec.actor or default_actor(), dataset=spec.dataset)
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


def _as_brew_error(exc: BaseException, state: RunState) -> BrewError | None:
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


def _log_failure(state: RunState, exc: BaseException) -> None:
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
    event = new_event(
        STAGE, RUN_FAILED, payload, actor=state.actor, dataset=state.dataset, config_id=state.spec.config_id
    )
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


def _run(spec: ImportSpec, state: RunState, report: Callable[[int, int], None] | None) -> ImportResult:
    plan = plan_import(spec)
    spec = state.spec = plan.spec  # the introspector may have refined the locator
    state.mapper_id = plan.mapper.id
    state.task_profile = plan.profile.id
    state.dataset = plan.dataset
    fingerprint = source_fingerprint(plan.source)

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
            manifest = build_manifest(plan, writer, stats, parent, fingerprint, state)
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
        event_id = catalog.finish_version(
            plan.dataset, version, status=catalog.PUBLISHED, event=event, task_profile=plan.profile.id, **details
        )
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


def source_fingerprint(source: Source) -> str | None:
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


def _raw_for_rejection(row: Any) -> Any:
    if isinstance(row, ParseFailure):
        return row.raw
    return row


def _write_version(
    plan: ImportPlan,
    writer: VersionWriter,
    parent: DatasetVersion | None,
    state: RunState,
    report: Callable[[int, int], None] | None,
) -> ImportStats:
    summary = plan.profile.new_summary(plan.output_schema)
    stats = ImportStats(summary=summary)
    index = KeyIndex(writer.scratch_dir / "keys.sqlite")
    try:
        if parent is not None:
            carry_over(parent, writer, index, summary, stats)
        _stream_new(plan, writer, index, summary, stats, state, report)
    finally:
        index.close()
    return stats


def _stream_new(
    plan: ImportPlan,
    writer: VersionWriter,
    index: KeyIndex,
    summary: Any,
    stats: ImportStats,
    state: RunState,
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
                write_line(choose_split(group), json_line(digest, body))
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
                    outcome = Rejection(
                        SPLIT_GROUP_MISSING,
                        f"no value at '{group_field}' (split_group); give every row one, or import without split_group",
                    )
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
                            digest, body = serialise_record(record)
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
        raise ImportFailed(nothing_accepted_message(plan, stats))


def _split_group(row: Any, path: str) -> bytes | None:
    """The split group of a source row with ``split_group``: a digest of the value at ``path``
    (its canonical JSON, so 7 and "7" are different groups), or None when the row has no value."""
    value = get_path(row, path)
    if value is MISSING or value is None or value == "":
        return None
    try:
        encoded = canonical_json(value)
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
    return Rejection(
        MAPPER_ERROR, f"mapper '{mapper_id}' returned a {type(outcome).__name__}, not records or a Rejection"
    )


__all__ = [
    "source_fingerprint",
    "DETAIL_LIMIT",
    "MAPPER_ERROR",
    "MAPPER_ERROR_ABORT",
    "PROGRESS_EVERY",
    "RUN_FAILED",
    "RUN_OK",
    "SPLIT_GROUP_MISSING",
    "STAGE",
    "Progress",
    "run_import",
]
