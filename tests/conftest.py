"""Suite-wide test options.

Tests marked ``slow`` (they load the real embedded SmolLM2) run only when asked for with
``-m slow`` (or any ``-m`` expression naming ``slow``); a plain run skips them.
"""

from __future__ import annotations

import pytest


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "slow" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="slow: loads the real embedded SmolLM2; run with -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
