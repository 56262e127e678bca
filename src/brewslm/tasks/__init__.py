"""Task profiles, one module each (``PROFILE``), in a ``brewslm.registry.Registry`` behind small
functions; plugins are ``brewslm.tasks`` entry points naming a profile.

Profiles: classification, structured_extraction (span_set / field_match scoring modes), qa,
rag_qa, chat_sft, language_modeling, dpo (preference pairs), tool_call.
"""

from __future__ import annotations

from brewslm.errors import ConfigError
from brewslm.registry import Registry
from brewslm.tasks.base import CanonicalRecord, Summary, TaskProfile

REGISTRY: Registry[TaskProfile] = Registry(
    "task profile",
    __name__,
    "PROFILE",
    key=lambda profile: profile.id,
    entry_points="brewslm.tasks",
    accept=lambda profile: isinstance(profile, TaskProfile),
)


def register_task_profile(profile: TaskProfile, *, replace: bool = False) -> None:
    REGISTRY.register(profile, replace=replace)


def get_task_profile(profile_id: str) -> TaskProfile:
    profile = REGISTRY.find(profile_id)
    if profile is None:
        raise ConfigError(
            f"unknown task profile '{profile_id}'; known profiles: {', '.join(map(str, REGISTRY.keys()))}"
        )
    return profile


def list_task_profiles() -> list[TaskProfile]:
    return REGISTRY.entries()


__all__ = [
    "REGISTRY",
    "CanonicalRecord",
    "Summary",
    "TaskProfile",
    "get_task_profile",
    "list_task_profiles",
    "register_task_profile",
]
