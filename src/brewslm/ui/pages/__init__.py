"""The UI's tabs, one module per tab, each defining ``router`` (listed once in ``brewslm.ui.app.PAGES``).

Pages call the services the CLI calls and hand plain values to their templates; the helpers here
are the few presentation steps several pages share.
"""

from __future__ import annotations

import json
from typing import Any

from brewslm.output import to_jsonable


def json_text(value: Any, *, indent: int | None = 2) -> str:
    """A record, row or payload as readable JSON text for a ``<pre>`` (the template escapes it):
    non-ASCII kept as is, anything that is not JSON shown by its ``str``. Text (a row the source
    could not parse) is shown as it is, not as a JSON string."""

    if isinstance(value, str):
        return value
    return json.dumps(to_jsonable(value), ensure_ascii=False, indent=indent)
