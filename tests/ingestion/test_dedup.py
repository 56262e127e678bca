"""The on-disk key index, and the import's memory staying flat as the dataset grows."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
import tracemalloc
from pathlib import Path

from brewslm.ingestion.dedup import KeyIndex


def _keys(start: int, stop: int) -> list[bytes]:
    return [hashlib.sha256(str(i).encode()).digest()[:16] for i in range(start, stop)]


def test_add_batch_reports_first_occurrences_only(tmp_path):
    index = KeyIndex(tmp_path / "keys.sqlite")
    a, b, c = _keys(0, 3)
    assert index.add_batch([a, b, a, c, b]) == [True, True, False, True, False]
    assert index.add_batch([c, _keys(3, 4)[0], a]) == [False, True, False]
    assert index.add_batch([]) == []
    assert len(index) == 4
    assert index.add_many([a, _keys(10, 11)[0]]) == 1
    assert index.add_batch(_keys(10, 11)) == [False]
    index.close()


def test_the_key_set_does_not_live_in_python_memory(tmp_path):
    index = KeyIndex(tmp_path / "keys.sqlite")
    tracemalloc.start()
    try:
        for start in range(0, 200_000, 4096):
            batch = _keys(start, min(start + 4096, 200_000))
            assert all(index.add_batch(batch))
            del batch
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(index) == 200_000
    # one batch of keys and flags is all Python holds; 200k keys in a set would take ~15 MB
    assert peak < 3 * 1024 * 1024, peak
    assert index.add_batch(_keys(0, 4096)) == [False] * 4096
    index.close()


MEMORY_SCRIPT = textwrap.dedent(
    """
    import json, os, resource, sys
    from brewslm.ingestion import ImportSpec, run_import
    from brewslm.mappers import register_mapper
    from brewslm.mappers.base import FieldSpec, Mapper, Rejection, read_label, read_text
    from brewslm.sources import register_source
    from brewslm.sources.base import Source

    class Mapping(Mapper):
        id = "memtest_cls"
        task_profile = "classification"
        fields = (FieldSpec("text", candidates=("text",)), FieldSpec("label", candidates=("label",)))

        def map_row(self, row, fields, options):
            text = read_text(row, fields.get("text"), "missing_text")
            if isinstance(text, Rejection):
                return text
            label = read_label(row, fields.get("label"))
            return label if isinstance(label, Rejection) else [{"text": text, "label": label}]

    class Generated(Source):
        def rows(self):
            n = int(self.locator.target)
            for i in range(n):
                yield {"text": f"generated review {i} with a little more text to carry " + "x" * (i % 40), "label": i % 5}

    register_mapper(Mapping())
    register_source("generated", Generated)

    def peak_mb():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    run_import(ImportSpec(locator="generated:20000", mapper_id="memtest_cls", dataset="warm"))
    before = peak_mb()
    result = run_import(ImportSpec(locator="generated:200000", mapper_id="memtest_cls", dataset="big"))
    after = peak_mb()
    print(json.dumps({"before": before, "after": after, "accepted": result.accepted}))
    """
)


def test_a_200k_row_import_runs_in_flat_memory(tmp_path):
    env = {
        "BREWSLM_HOME": str(tmp_path / "home"),
        "BREWSLM_CACHE_DIR": str(tmp_path / "cache"),
        "PATH": "/usr/bin:/bin",
    }
    script = tmp_path / "memory_probe.py"
    script.write_text(MEMORY_SCRIPT, encoding="utf-8")
    proc = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["accepted"] == 200_000
    # Holding the 200k records (or their keys) would add 40+ MB; SQLite's bounded page cache and
    # one batch are all that may grow.
    assert report["after"] - report["before"] < 30, report
    assert Path(tmp_path / "home" / "datasets" / "big" / "v1" / "train.jsonl").stat().st_size > 10_000_000
