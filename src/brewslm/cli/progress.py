"""A progress bar for long imports, on stderr so ``--json`` output on stdout stays one document."""

from __future__ import annotations

import sys
from typing import TextIO

from tqdm import tqdm


def import_progress(
    description: str, *, stream: TextIO | None = None, disable: bool | None = None, delay: float = 1.0
) -> tqdm:
    """A tqdm bar (rows, rows/s) to pass as ``run_import(progress=...)``.

    It appears only after ``delay`` seconds, so short imports print nothing, and only on a
    terminal unless ``disable=False`` is given: logs and pipes get no carriage-return noise.
    """
    return tqdm(
        desc=description,
        unit=" rows",
        unit_scale=True,
        file=stream or sys.stderr,
        disable=disable,
        delay=delay,
        dynamic_ncols=True,
    )
