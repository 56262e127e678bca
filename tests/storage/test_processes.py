"""The owner checks behind ``running`` records, and SIGTERM as a clean interrupt."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from brewslm.storage.processes import (
    SIGTERM_EXIT,
    Terminated,
    process_alive,
    process_stamp,
    sigterm_interrupts,
    stamp_alive,
    stop_cleanly_on_sigterm,
)


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()  # reaped: the pid names no process now
    return child.pid


def test_a_live_process_and_a_dead_one():
    me = process_stamp()
    assert me["pid"] == os.getpid() and stamp_alive(me) and process_alive(os.getpid())
    dead = _dead_pid()
    assert not process_alive(dead) and not stamp_alive({**me, "pid": dead})
    assert not process_alive(0) and not process_alive(-1)


def test_a_reused_pid_or_a_foreign_command_line_is_not_the_owner():
    me = process_stamp()
    if me["start"] is None:
        pytest.skip("no /proc here")
    assert not stamp_alive({**me, "start": me["start"] + 1})  # same pid, another process's start time
    assert not process_alive(os.getpid(), markers=("brewslm.ui.worker",))


def test_an_owner_this_machine_cannot_judge_counts_as_alive():
    assert stamp_alive(None) and stamp_alive({}) and stamp_alive({"pid": "x"})
    assert stamp_alive({"pid": _dead_pid(), "host": "another-machine", "start": 1})


def test_sigterm_raises_terminated_inside_the_block_only():
    previous = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Terminated):
        with sigterm_interrupts():
            os.kill(os.getpid(), signal.SIGTERM)
            for _ in range(1000):  # the handler runs between bytecodes
                pass
    assert signal.getsignal(signal.SIGTERM) == previous
    assert issubclass(Terminated, KeyboardInterrupt)  # Ctrl-C clean-ups run for it too


def test_stop_cleanly_on_sigterm_exits_143():
    def work():
        os.kill(os.getpid(), signal.SIGTERM)
        for _ in range(1000):  # the handler runs between bytecodes
            pass
        return "not reached"

    with pytest.raises(SystemExit) as stopped:
        stop_cleanly_on_sigterm(work)
    assert stopped.value.code == SIGTERM_EXIT == 143
    assert stop_cleanly_on_sigterm(lambda: "done") == "done"
