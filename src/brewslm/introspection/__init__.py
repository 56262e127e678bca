"""Introspection: which mapper and field map fit a source, with what confidence, and why.

``introspect(locator)`` samples the source, profiles the sample (``profile_rows``), asks every
registered mapper to ``sniff`` it, dry-runs each proposal through ``gate`` and ranks them; the best
is accepted at ``ACCEPT_THRESHOLD`` (0.8). With LLM assist on, a teacher model (local, or an
OpenAI-compatible endpoint) chooses among candidate mappings when nothing is accepted, and its
choice passes the same gate.
"""

from brewslm.introspection.gate import ACCEPT_THRESHOLD, FULL_CREDIT_RATE, adjusted_confidence, gate
from brewslm.introspection.introspector import (
    LLM_ASSIST_ENV,
    IntrospectionResult,
    introspect,
    introspect_profile,
    llm_assist_enabled,
)
from brewslm.introspection.llm_assist import ChoosingTeacher, HFTeacher, OpenAITeacher, RankingTeacher, Teacher
from brewslm.mappers.profile import FieldProfile, SampleProfile, profile_rows

__all__ = [
    "ACCEPT_THRESHOLD",
    "ChoosingTeacher",
    "FULL_CREDIT_RATE",
    "LLM_ASSIST_ENV",
    "OpenAITeacher",
    "RankingTeacher",
    "FieldProfile",
    "HFTeacher",
    "IntrospectionResult",
    "SampleProfile",
    "Teacher",
    "adjusted_confidence",
    "gate",
    "introspect",
    "introspect_profile",
    "llm_assist_enabled",
    "profile_rows",
]
