"""Handing a model its key/value cache and reading the updated one back, on any transformers.

transformers 5 renamed the forward argument ``past_key_values`` to ``cache`` (and the output
field alike). The old names still work there, but every call then warns - a ``FutureWarning``
for the argument, a logged warning for the output field - and they go away in a later release;
older transformers (``>=4.50`` is supported) and remote-code models only know
``past_key_values``. So the argument's name is read from the forward signature of the model
actually called (once per class), and the output's field from the output's own fields. The cache
itself is always a ``transformers.Cache`` (a ``DynamicCache`` unless the model says otherwise),
never the legacy tuple of tuples.

    out = body(input_ids=ids, use_cache=True, **cache_argument(body, cache))
    cache = output_cache(out)
"""

from __future__ import annotations

import functools
import inspect
from typing import Any

CURRENT, LEGACY = "cache", "past_key_values"


@functools.lru_cache(maxsize=None)
def _argument_name(forward_owner: type) -> str | None:
    """``"cache"`` or ``"past_key_values"`` when the class's forward names one, else None."""
    try:
        parameters = inspect.signature(forward_owner.forward).parameters
    except (AttributeError, TypeError, ValueError):
        return None
    return CURRENT if CURRENT in parameters else LEGACY if LEGACY in parameters else None


def cache_argument(model: Any, cache: Any) -> dict[str, Any]:
    """The keyword argument that hands ``cache`` to ``model``'s forward: ``{}`` for no cache (even
    ``past_key_values=None`` warns on transformers 5), else under the name the model takes."""
    if cache is None:
        return {}
    module = model
    while True:  # a wrapper (peft) forwards **kwargs: its wrapped model's signature decides
        name = _argument_name(type(module))
        get_base = getattr(module, "get_base_model", None)
        if name is not None or not callable(get_base) or get_base() is module:
            return {name or LEGACY: cache}
        module = get_base()


def output_cache(out: Any) -> Any:
    """The updated cache of a forward pass run with ``use_cache=True``."""
    return getattr(out, CURRENT) if CURRENT in getattr(out, "__dataclass_fields__", {}) else getattr(out, LEGACY)


__all__ = ["cache_argument", "output_cache"]
