"""The shared public-data samples (../shared/datasets), read through the real connectors.

Tests using them carry ``SHARED_DATA`` as ``pytestmark`` (or a decorator list) and skip cleanly when
the folder is absent; point ``BREWSLM_SHARED_DATASETS`` elsewhere to use another copy.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterator

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("BREWSLM_SHARED_DATASETS", REPO.parent / "shared" / "datasets"))

SHARED_DATA = [
    pytest.mark.shared_data,
    pytest.mark.skipif(not SHARED.is_dir(), reason=f"shared datasets not found at {SHARED}"),
]


def locator(spec: str) -> str:
    """``"csv:sentiment_sst2/train.csv"`` -> ``"csv:<SHARED>/sentiment_sst2/train.csv"``."""
    scheme, _, rel = spec.partition(":")
    return f"{scheme}:{SHARED / rel}"


def rows(spec: str) -> Iterator[Any]:
    from brewslm.sources import open_source

    return open_source(locator(spec)).rows()


def profile(spec: str, sample_size: int = 2000):
    """The introspector's view of a shared file: its standard sample, profiled."""
    from brewslm.mappers.profile import profile_rows
    from brewslm.sources import open_source

    return profile_rows(open_source(locator(spec)).sample(sample_size))
