from __future__ import annotations

import io

from brewslm.cli.progress import import_progress


def test_progress_bar_counts_rows_on_its_stream():
    stream = io.StringIO()
    with import_progress("importing x", stream=stream, disable=False, delay=0) as bar:
        bar.update(10)
        bar.update(2490)
        assert bar.n == 2500
    text = stream.getvalue()
    assert "importing x" in text and "2.50k rows" in text and "rows/s" in text


def test_progress_bar_stays_quiet_off_a_terminal():
    stream = io.StringIO()  # not a tty: tqdm's disable=None turns the bar off
    with import_progress("importing x", stream=stream) as bar:
        bar.update(100)
    assert stream.getvalue() == ""
