"""rejected.jsonl is strict JSON (issue 14): NaN/Infinity, which strict parsers refuse, are
written as strings with a note, and nothing of the rejected row is lost."""

from __future__ import annotations

import json

import numpy as np
import pytest

from brewslm.storage.datasets import NON_FINITE_NOTE, rejected_line


def strict_loads(line: bytes):
    def refuse(token: str):
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(line, parse_constant=refuse)


def test_nan_and_infinity_become_strings_with_a_note():
    entry = {
        "row": 3,
        "reason": "invalid_record",
        "raw": {"score": float("nan"), "xs": [float("inf"), -float("inf"), 1.5], "np": np.array([np.nan, 2.0])},
    }
    got = strict_loads(rejected_line(entry))
    assert got["raw"] == {"score": "NaN", "xs": ["Infinity", "-Infinity", 1.5], "np": ["NaN", 2.0]}
    assert got["note"] == NON_FINITE_NOTE and got["row"] == 3


def test_a_finite_entry_is_written_as_it_is():
    entry = {"row": 1, "reason": "parse_error", "raw": "{bad", "position": 1}
    assert strict_loads(rejected_line(entry)) == entry


@pytest.mark.parametrize("raw", ["x\udcff", {"k": "x\ud800", "v": float("nan")}])
def test_unpaired_surrogates_are_kept_escaped(raw):
    line = rejected_line({"row": 1, "raw": raw})
    line.decode("ascii")
    got = strict_loads(line)
    assert got["raw"] == raw if isinstance(raw, str) else got["raw"] == {"k": "x\ud800", "v": "NaN"}


def test_a_raw_row_too_deep_to_encode_does_not_raise():
    deep: list = []
    node = deep
    for _ in range(5000):
        node.append([])
        node = node[0]
    got = strict_loads(rejected_line({"row": 1, "reason": "mapper_error", "raw": deep}))
    assert got["raw"] is None and "too deeply" in got["note"]
