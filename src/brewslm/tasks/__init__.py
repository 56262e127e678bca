"""Task profiles, one module each; registry as a plain dict behind small functions.

Profiles: classification, structured_extraction (span_set / field_match scoring modes), qa,
rag_qa, chat_sft, language_modeling, dpo (preference pairs), tool_call.
"""

from __future__ import annotations


from brewslm.errors import ConfigError
from brewslm.registry import package_members
from brewslm.tasks.base import CanonicalRecord, Summary, TaskProfile

_PROFILES: dict[str, TaskProfile] = {}
_loaded = False


def register_task_profile(profile: TaskProfile, *, replace: bool = False) -> None:
    if profile.id in _PROFILES and not replace:
        raise ConfigError(f"task profile '{profile.id}' is already registered; pass replace=True to override it")
    _PROFILES[profile.id] = profile


def _ensure_loaded() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for profile in package_members(__name__, __path__, "PROFILE"):
        if isinstance(profile, TaskProfile):
            _PROFILES.setdefault(profile.id, profile)


def get_task_profile(profile_id: str) -> TaskProfile:
    _ensure_loaded()
    try:
        return _PROFILES[profile_id]
    except KeyError:
        raise ConfigError(
            f"unknown task profile '{profile_id}'; known profiles: {', '.join(sorted(_PROFILES))}"
        ) from None


def list_task_profiles() -> list[TaskProfile]:
    _ensure_loaded()
    return [_PROFILES[k] for k in sorted(_PROFILES)]


__all__ = ["CanonicalRecord", "Summary", "TaskProfile", "get_task_profile", "list_task_profiles", "register_task_profile"]
