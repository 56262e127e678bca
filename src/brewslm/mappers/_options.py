"""Parse a mapper's options once per import instead of once per row.

``map_row`` receives the same options dict for every row of an import; turning it into a checked,
ready-to-use form (sets of allowed labels, tag-name tables) each time would cost more than the
mapping itself. ``OptionsCache`` keeps the last parsed form and reuses it while the options
compare equal (a deep copy is kept, so changing the dict in place is noticed).
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Generic, Mapping, TypeVar

Parsed = TypeVar("Parsed")


class OptionsCache(Generic[Parsed]):
    def __init__(self, parse: Callable[[Mapping[str, Any]], Parsed]):
        self._parse = parse
        self._last: tuple[dict[str, Any], Parsed] | None = None

    def __call__(self, options: Mapping[str, Any]) -> Parsed:
        last = self._last  # one read: another thread may replace it meanwhile
        if last is not None and last[0] == options:
            return last[1]
        parsed = self._parse(options)
        self._last = (copy.deepcopy(dict(options)), parsed)
        return parsed
