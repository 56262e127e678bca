"""The worker process of one background job: ``python -m brewslm.ui.worker JOB_ID``.

Started by ``jobs.submit_job`` in its own session. It claims the job (queued -> running), runs its
kind's function with a ``JobProgress`` writing to the job's row, and records the outcome:
``succeeded`` with the result, ``failed`` with one line (a ``BrewError``'s message as is; anything
else as ``Type: message``, its traceback in the job's log file), or ``cancelled``. SIGTERM (a
cancel) becomes a ``KeyboardInterrupt`` inside the running service, which cleans up the way it
does for Ctrl-C. It always exits 0 once the outcome is recorded; a worker that dies before that
is noticed by ``jobs`` and marked ``interrupted``.
"""

from __future__ import annotations

import os
import signal
import sys
import traceback

from brewslm.errors import BrewError
from brewslm.ui import jobs


class Cancelled(KeyboardInterrupt):
    """SIGTERM arrived: the job was cancelled."""


def _on_sigterm(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # one interrupt: the clean-up itself must not be cut short
    raise Cancelled()


def run_job(job_id: int) -> int:

    job = jobs.get_job(job_id)
    if job.cancel_requested_at is not None:
        jobs.mark_finished(job_id, jobs.CANCELLED, error="cancelled before it started")
        return 0
    if not jobs.claim_job(job_id, os.getpid()):
        return 0  # settled elsewhere (cancelled, or claimed by another worker)
    progress = jobs.JobProgress(job_id)
    try:
        result = jobs.JOB_KINDS[job.kind](job.params, progress)
    except Cancelled:
        _quiet_finish(progress)
        jobs.mark_finished(job_id, jobs.CANCELLED, error="cancelled")
    except BrewError as exc:
        _quiet_finish(progress)
        jobs.mark_finished(job_id, jobs.FAILED, error=str(exc))
    except BaseException as exc:  # noqa: BLE001 - every outcome is recorded; the log keeps the traceback
        traceback.print_exc()
        _quiet_finish(progress)
        message = " ".join(str(exc).split())
        jobs.mark_finished(
            job_id, jobs.FAILED, error=f"{type(exc).__name__}: {message}" if message else type(exc).__name__
        )
    else:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # done: a late cancel must not lose the result
        _quiet_finish(progress)
        jobs.mark_finished(job_id, jobs.SUCCEEDED, result=result if isinstance(result, dict) else {"value": result})
    return 0


def _quiet_finish(progress: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        progress.flush()  # type: ignore[attr-defined]
    except Exception:  # the outcome matters more than the last progress line
        traceback.print_exc()


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGTERM, _on_sigterm)  # first thing: a cancel during start-up is a clean cancel
    if len(argv) != 1 or not argv[0].isdigit():
        print("usage: python -m brewslm.ui.worker JOB_ID", file=sys.stderr)
        return 2
    try:
        return run_job(int(argv[0]))
    except Cancelled:
        jobs.mark_finished(int(argv[0]), jobs.CANCELLED, error="cancelled")
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
