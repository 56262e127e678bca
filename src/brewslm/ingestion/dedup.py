"""An on-disk set of record keys, so de-duplication memory does not grow with the dataset.

Keys live in a throw-away SQLite file (in the version's temporary directory) with a bounded page
cache. Lookups are batched: a batch is inserted with ``INSERT OR IGNORE`` and the rows that were
really inserted are read back by rowid, which tells which keys were new in one round trip.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Iterable, Sequence

CACHE_KIB = 16 * 1024  # SQLite page cache bound; the rest of the index stays on disk / in the OS cache

BATCH_RECORDS = 4096  # records buffered between de-dup lookups: bounds memory, amortises SQLite calls


class KeyIndex:
    def __init__(self, path: Path):
        self.path = Path(path)
        self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False)
        for pragma in (
            "journal_mode=OFF",  # scratch data: a crash discards the whole temporary version anyway
            "synchronous=OFF",
            "locking_mode=EXCLUSIVE",
            "temp_store=FILE",
            f"cache_size=-{CACHE_KIB}",
        ):
            self._db.execute(f"PRAGMA {pragma}")
        self._db.execute("CREATE TABLE IF NOT EXISTS seen (k BLOB PRIMARY KEY, pos INTEGER NOT NULL)")
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def add_many(self, keys: Iterable[bytes]) -> int:
        """Insert keys whose novelty the caller does not need (e.g. the previous version's); returns
        how many were new."""
        before = self._db.total_changes
        self._db.execute("BEGIN")
        self._db.executemany("INSERT OR IGNORE INTO seen (k, pos) VALUES (?, 0)", ((k,) for k in keys))
        self._db.execute("COMMIT")
        added = self._db.total_changes - before
        self._count += added
        return added

    def add_batch(self, keys: Sequence[bytes]) -> list[bool]:
        """Insert a batch; ``result[i]`` is True when ``keys[i]`` was never seen before (neither in an
        earlier batch nor earlier in this one)."""
        if not keys:
            return []
        db = self._db
        db.execute("BEGIN")
        last_rowid = db.execute("SELECT coalesce(max(rowid), 0) FROM seen").fetchone()[0]
        db.executemany("INSERT OR IGNORE INTO seen (k, pos) VALUES (?, ?)", zip(keys, range(len(keys))))
        fresh = db.execute("SELECT pos FROM seen WHERE rowid > ?", (last_rowid,)).fetchall()
        db.execute("COMMIT")
        is_new = [False] * len(keys)
        for (pos,) in fresh:
            is_new[pos] = True
        self._count += len(fresh)
        return is_new

    def close(self) -> None:
        self._db.close()
