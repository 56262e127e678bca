"""``?join=<file>&on=<key>`` — left-join a small companion file onto any source's rows.

Handled once for every connector by ``open_source``: the options are taken off the locator,
the source is opened without them and wrapped here. Used e.g. for BFCL, whose answers live
beside the questions: ``jsonl:train.jsonl?join=train_possible_answer.jsonl&on=id``.

- ``join`` is a path (format from its extension; relative paths are relative to the main file's
  folder, or to the working directory for non-file sources) or a locator such as
  ``jsonl:/x/answers.jsonl``. It is read once, on first use, into a dict keyed by ``on``: it is
  meant to be small (answers, labels, metadata), not a second dataset.
- Each main row gets the companion row's fields (except ``on``); a field the main row already
  has keeps the main value and the companion's is added as ``<field>_joined``. A row with no
  match (or without the ``on`` field) is kept unchanged; ``ParseFailure`` rows pass through.
- Keys compare by value across formats: ``7``, ``7.0`` and ``"7"`` match.
- A companion row that cannot be parsed, lacks the key, or repeats a key is a one-line
  ``SourceError`` (the join would otherwise silently drop or pick data).
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterator

from brewslm.errors import SourceError
from brewslm.sources.base import Locator, ParseFailure, Source, SourceRow

JOIN_OPTIONS = ("join", "on")
Opener = Callable[[Locator], Source]
JOINED_SUFFIX = "_joined"


def join_key(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def split_join(locator: Locator) -> tuple[Locator, tuple[str, str] | None]:
    """The locator without the join options, and ``(join target, key)`` when asked for."""
    if not any(k in locator.options for k in JOIN_OPTIONS):
        return locator, None
    target = locator.options.get("join", "").strip()
    key = locator.options.get("on", "").strip()
    if not target:
        raise SourceError(f"locator '{locator}' has on={key} but no join=<file> to join")
    if not key:
        raise SourceError(f"locator '{locator}' has join={target} but no on=<key field>; add &on=id (for example)")
    options = {k: v for k, v in locator.options.items() if k not in JOIN_OPTIONS}
    return replace(locator, options=options), (target, key)


class JoinedSource(Source):
    """``inner``'s rows with the companion's fields; ``open_any`` opens the companion (the
    package's ``open_source``, passed in so this module never imports its own package) and
    ``known`` lists the schemes that make ``join=`` a locator rather than a path."""

    def __init__(
        self,
        locator: Locator,
        inner: Source,
        target: str,
        key: str,
        *,
        open_any: Opener,
        known: Callable[[], list[str]],
    ):
        super().__init__(locator)
        self.inner = inner
        self.key = key
        self.companion = self._open_companion(target, open_any, known)
        self._table: dict[str, dict[str, Any]] | None = None

    @property
    def path(self) -> Path | None:
        return getattr(self.inner, "path", None)

    def _open_companion(self, target: str, open_any: Opener, known: Callable[[], list[str]]) -> Source:
        scheme, sep, _ = target.partition(":")
        if sep and len(scheme) > 1 and scheme.lower() in known():
            return open_any(Locator.parse(target))
        path = Path(target).expanduser()
        if not path.is_absolute():
            base = self.path.parent if isinstance(self.path, Path) else Path.cwd()
            path = base / path
        return open_any(Locator(scheme="file", target=str(path), raw=f"file:{path}"))

    def _load(self) -> dict[str, dict[str, Any]]:
        where = f"join file {self.companion.locator.target}"
        table: dict[str, dict[str, Any]] = {}
        for index, row in enumerate(self.companion.rows(), start=1):
            if isinstance(row, ParseFailure):
                raise SourceError(f"{where}, record {row.position}: {row.error}; fix it or drop ?join=")
            key = join_key(row.get(self.key))
            if key is None:
                raise SourceError(f"{where}, row {index}: no '{self.key}' field to join on (locator '{self.locator}')")
            if key in table:
                raise SourceError(f"{where}: key {self.key}={key} appears twice; a join needs one row per key")
            table[key] = {k: v for k, v in row.items() if k != self.key}
        return table

    def rows(self) -> Iterator[SourceRow]:
        if self._table is None:
            self._table = self._load()
        table = self._table
        for row in self.inner.rows():
            if isinstance(row, ParseFailure) or not isinstance(row, dict):
                yield row
                continue
            match = table.get(join_key(row.get(self.key)))  # type: ignore[arg-type]
            if match is None:
                yield row
                continue
            merged = dict(row)
            for field, value in match.items():
                merged[f"{field}{JOINED_SUFFIX}" if field in merged else field] = value
            yield merged

    @property
    def name(self) -> str:
        return self.inner.name

    def fingerprint(self) -> str | None:
        inner, companion = self.inner.fingerprint(), self.companion.fingerprint()
        if inner is None or companion is None:
            return None
        return f"{inner}+join({self.key}):{companion}"


def with_join(locator: Locator, open_plain: Opener, *, open_any: Opener, known: Callable[[], list[str]]) -> Source:
    """Open ``locator`` through ``open_plain`` (the plain connector lookup), joined if asked; the
    companion file opens through ``open_any`` (which handles its own ``?join=`` too)."""
    plain, join = split_join(locator)
    source = open_plain(plain)
    if join is None:
        return source
    return JoinedSource(locator, source, *join, open_any=open_any, known=known)
