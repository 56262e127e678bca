"""introspect(): sample, sniff, gate, rank, accept; LLM-assist switching; the JSON shape."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brewslm.errors import ConfigError, SourceError
from brewslm.introspection import ACCEPT_THRESHOLD, introspect, introspect_profile, llm_assist_enabled, profile_rows
from introspection.toy import review_rows, write_jsonl

pytestmark = pytest.mark.usefixtures("isolated_registry")


class ScriptedTeacher:
    """A stand-in teacher that answers from a script and records what it was asked."""

    name = "scripted"

    def __init__(self, answer: str):
        self.answer = answer
        self.prompts: list[str] = []

    def complete(self, prompt: str) -> str:
        self.prompts.append(prompt)
        return self.answer


def test_picks_the_specific_mapper_and_ranks_the_generic_one_lower(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "reviews.jsonl", review_rows(40))
    result = introspect(f"toy:{path}")
    assert [p.mapper_id for p in result.proposals] == ["toy_label", "toy_plain"]
    assert result.accepted is not None and result.accepted.mapper_id == "toy_label"
    assert result.accepted.field_map == {"review": "text", "stars": "label"}
    assert result.accepted.confidence >= ACCEPT_THRESHOLD
    assert result.proposals[1].confidence < ACCEPT_THRESHOLD
    assert result.sample_rows == 40 and result.parse_failures == 0
    assert result.llm_assist is None


def test_sample_size_bounds_the_rows_read(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "reviews.jsonl", review_rows(300))
    result = introspect(f"toy:{path}", sample_size=120)
    assert result.sample_rows == 120
    assert result.profile is not None and result.profile.n_rows == 120


def test_parse_failures_are_counted_not_fatal(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "reviews.jsonl", review_rows(30) + ['{"review": "cut off', "[1, 2]"])
    result = introspect(f"toy:{path}")
    assert result.sample_rows == 32 and result.parse_failures == 2
    assert result.accepted is not None and result.accepted.mapper_id == "toy_label"


def test_nothing_accepted_when_only_generic_proposals_fit(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "notes.jsonl", [{"body": f"note {i}\nline two"} for i in range(20)])
    result = introspect(f"toy:{path}")
    assert [p.mapper_id for p in result.proposals] == ["toy_plain"]
    assert result.accepted is None


def test_a_broken_sniffer_is_reported_and_skipped(tmp_path: Path) -> None:
    result = introspect(f"toy:{write_jsonl(tmp_path / 'r.jsonl', review_rows(10))}")
    assert result.accepted is not None
    assert any("toy_broken_sniff" in w and "sniffer bug" in w for w in result.warnings)


def test_only_parse_failures(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "junk.jsonl", ["not json", "{also not"])
    teacher = ScriptedTeacher("{}")
    result = introspect(f"toy:{path}", llm_assist=True, teacher=teacher)
    assert result.proposals == [] and result.accepted is None and result.parse_failures == 2
    assert result.llm_assist == {
        "enabled": True,
        "used": False,
        "reason": "the sample has no parsed rows to show a teacher",
    }
    assert teacher.prompts == []


def test_bad_sample_size_and_unknown_source() -> None:
    with pytest.raises(ConfigError, match="sample size"):
        introspect("toy:/x", sample_size=0)
    with pytest.raises(SourceError, match="unknown source 'nope'"):
        introspect("nope:/x")


def test_to_dict_is_the_documented_json_document(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "reviews.jsonl", review_rows(20))
    doc = json.loads(json.dumps(introspect(f"toy:{path}").to_dict()))
    assert list(doc) == [
        "locator",
        "sample_rows",
        "parse_failures",
        "proposals",
        "accepted",
        "llm_assist",
        "warnings",
        "refined_from",
    ]
    assert doc["locator"] == f"toy:{path}" and doc["refined_from"] is None
    assert doc["accepted"] == doc["proposals"][0]
    for proposal in doc["proposals"]:
        assert set(proposal) == {"mapper_id", "field_map", "options", "confidence", "evidence"}
        assert isinstance(proposal["confidence"], float) and all(isinstance(e, str) for e in proposal["evidence"])


# --- LLM assist switching ----------------------------------------------------------------------

HARD_ROWS = [
    {"utterance": f"please {verb} my card number {i}", "intent_code": verb}
    for i, verb in enumerate(("freeze", "cancel", "renew") * 10)
]
GOOD_ANSWER = '{"mapper_id": "toy_label", "field_map": {"utterance": "text", "intent_code": "label"}}'


def test_teacher_is_asked_only_when_nothing_is_accepted(tmp_path: Path) -> None:
    teacher = ScriptedTeacher(GOOD_ANSWER)
    result = introspect(f"toy:{write_jsonl(tmp_path / 'r.jsonl', review_rows(10))}", llm_assist=True, teacher=teacher)
    assert teacher.prompts == []
    assert result.llm_assist == {"enabled": True, "used": False, "reason": "'toy_label' was accepted without it"}


def test_env_var_enables_llm_assist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_jsonl(tmp_path / "hard.jsonl", HARD_ROWS)
    teacher = ScriptedTeacher(GOOD_ANSWER)
    assert introspect(f"toy:{path}", teacher=teacher).llm_assist is None
    assert teacher.prompts == []

    monkeypatch.setenv("DATASET_IMPORT_LLM_ASSIST_ENABLED", "true")
    result = introspect(f"toy:{path}", teacher=teacher)
    assert len(teacher.prompts) == 1
    assert result.accepted is not None and result.accepted.mapper_id == "toy_label"
    assert result.llm_assist["verdict"] == "accepted"

    assert introspect(f"toy:{path}", llm_assist=False, teacher=teacher).llm_assist is None  # the flag wins
    assert len(teacher.prompts) == 1


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("TRUE", True),
        ("1", True),
        ("on", True),
        ("false", False),
        ("0", False),
        ("", False),
    ],
)
def test_llm_assist_env_values(monkeypatch: pytest.MonkeyPatch, raw: str, expected: bool) -> None:
    monkeypatch.setenv("DATASET_IMPORT_LLM_ASSIST_ENABLED", raw)
    assert llm_assist_enabled() is expected
    assert llm_assist_enabled(not expected) is (not expected)


def test_bad_env_value_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DATASET_IMPORT_LLM_ASSIST_ENABLED", "maybe")
    with pytest.raises(ConfigError, match="DATASET_IMPORT_LLM_ASSIST_ENABLED='maybe' is not a boolean"):
        introspect("toy:/whatever")


def test_introspect_profile_works_without_a_source() -> None:
    result = introspect_profile(profile_rows(review_rows(10)), locator="memory")
    assert result.accepted is not None and result.sample_rows == 10 and result.locator == "memory"
