"""The gate: dry-run a proposal on the sample, reject what cannot work, scale by acceptance."""

from __future__ import annotations

import pytest

from brewslm.introspection import ACCEPT_THRESHOLD, adjusted_confidence, gate, profile_rows
from brewslm.mappers.base import Proposal
from brewslm.sources.base import ParseFailure
from introspection.toy import review_rows

pytestmark = pytest.mark.usefixtures("isolated_registry")


def rejected(proposal: Proposal) -> str:
    assert proposal.confidence == 0.0
    lines = [e for e in proposal.evidence if e.startswith("rejected by the gate: ")]
    assert lines, proposal.evidence
    return lines[-1]


def test_a_clean_proposal_keeps_its_confidence_and_gets_the_dry_run_evidence() -> None:
    profile = profile_rows(review_rows(40))
    out = gate(Proposal("toy_label", {"review": "text", "stars": "label"}, 0.9, ["sniffed"]), profile)
    assert out.confidence == pytest.approx(0.9)
    assert out.evidence[0] == "sniffed"
    assert "dry run: 40/40 sample rows map cleanly (100.0%)" in out.evidence


def test_gate_returns_a_new_proposal() -> None:
    original = Proposal("toy_label", {"review": "text", "stars": "label"}, 0.9, ["sniffed"])
    gate(original, profile_rows(review_rows(5)))
    assert original.evidence == ["sniffed"] and original.confidence == 0.9


def test_unknown_mapper_is_rejected() -> None:
    out = gate(Proposal("no_such_mapper", {"review": "text"}, 0.95), profile_rows(review_rows(5)))
    assert "unknown mapper 'no_such_mapper'" in rejected(out)


def test_source_field_not_in_the_data_is_rejected() -> None:
    out = gate(Proposal("toy_label", {"comment": "text", "stars": "label"}, 0.95), profile_rows(review_rows(5)))
    reason = rejected(out)
    assert "source field 'comment' is not in the data" in reason and "review, stars" in reason


def test_unknown_canonical_field_is_rejected() -> None:
    out = gate(Proposal("toy_label", {"review": "body", "stars": "label"}, 0.95), profile_rows(review_rows(5)))
    assert "'body' is not a field of mapper 'toy_label'" in rejected(out)


def test_missing_required_field_is_rejected() -> None:
    rows = [{"utterance": "hello there", "code": 1}] * 3
    out = gate(Proposal("toy_label", {"utterance": "text"}, 0.9), profile_rows(rows))
    assert "needs a source for label" in rejected(out)


def test_unknown_option_is_rejected() -> None:
    proposal = Proposal("toy_label", {"review": "text", "stars": "label"}, 0.9, options={"shout": True})
    assert "has no option 'shout'" in rejected(gate(proposal, profile_rows(review_rows(5))))


def test_known_option_is_used_in_the_dry_run() -> None:
    proposal = Proposal("toy_label", {"review": "text", "stars": "label"}, 0.9, options={"lowercase": True})
    assert gate(proposal, profile_rows(review_rows(5))).confidence == pytest.approx(0.9)


def test_malformed_field_map_is_rejected() -> None:
    out = gate(Proposal("toy_label", {"review": 3}, 0.9), profile_rows(review_rows(5)))  # type: ignore[dict-item]
    assert "strings" in rejected(out)


def test_field_map_is_completed_from_default_names() -> None:
    out = gate(Proposal("toy_label", {"review": "text"}, 0.9), profile_rows(review_rows(5)))
    assert out.field_map == {"stars": "label", "review": "text"}
    assert out.confidence == pytest.approx(0.9)


def test_nested_source_fields_are_found() -> None:
    rows = [{"doc": {"body": f"text {i}", "meta": {"tag": f"t{i % 2}"}}} for i in range(10)]
    out = gate(Proposal("toy_label", {"doc.body": "text", "doc.meta.tag": "label"}, 0.9), profile_rows(rows))
    assert out.confidence == pytest.approx(0.9)


def test_a_few_bad_rows_do_not_cost_confidence() -> None:
    rows = review_rows(95) + [{"review": "", "stars": 1}] * 3 + [{"review": "no stars"}] * 2
    out = gate(Proposal("toy_label", {"review": "text", "stars": "label"}, 0.9), profile_rows(rows))
    assert out.confidence == pytest.approx(0.9)
    assert out.confidence >= ACCEPT_THRESHOLD
    run = next(e for e in out.evidence if e.startswith("dry run"))
    assert "95/100" in run and "missing_text x3 (sample row 96: field 'review' is empty)" in run
    assert "missing_label x2" in run


def test_many_bad_rows_scale_confidence_by_the_formula() -> None:
    rows = review_rows(60) + [{"review": 12345, "stars": 2}] * 40
    out = gate(Proposal("toy_label", {"review": "text", "stars": "label"}, 0.9), profile_rows(rows))
    assert out.confidence == pytest.approx(0.9 * 0.6 / 0.9)
    assert out.confidence < ACCEPT_THRESHOLD
    assert any("wrong_type x40" in e for e in out.evidence)
    assert any(e.startswith("confidence 0.90 x min(1, 0.600 / 0.9) = 0.60") for e in out.evidence)


def test_parse_failures_do_not_count_against_the_mapper() -> None:
    rows = review_rows(20) + [ParseFailure(i, "{oops", "bad JSON") for i in range(30)]
    profile = profile_rows(rows)
    assert profile.n_parse_failures == 30
    assert gate(Proposal("toy_label", {"review": "text", "stars": "label"}, 0.9), profile).confidence == pytest.approx(
        0.9
    )


def test_no_clean_row_is_a_rejection() -> None:
    rows = [{"review": 1, "stars": 2}] * 10
    proposal = Proposal("toy_label", {"review": "text", "stars": "label"}, 0.9)
    assert "no sample row maps cleanly" in rejected(gate(proposal, profile_rows(rows)))


def test_empty_sample_is_a_rejection() -> None:
    assert "no parsed rows" in rejected(gate(Proposal("toy_label", {"review": "text"}, 0.9), profile_rows([])))


def test_records_the_task_profile_rejects_count_as_invalid() -> None:
    out = gate(Proposal("toy_bad_records", {"review": "text", "stars": "label"}, 0.9), profile_rows(review_rows(5)))
    assert out.confidence == 0.0
    assert any("invalid_record x5" in e for e in out.evidence)


def test_a_crashing_mapper_is_contained() -> None:
    rows = [{"text": f"fine {i}", "label": "a"} for i in range(8)] + [{"text": "boom", "label": "b"}] * 2
    out = gate(Proposal("toy_crashing", {"text": "text", "label": "label"}, 0.9), profile_rows(rows))
    assert out.confidence == pytest.approx(0.9 * 0.8 / 0.9)
    assert any("mapper_error x2 (sample row 9: ValueError: boom)" in e for e in out.evidence)


def test_unused_fields_are_named() -> None:
    rows = [dict(r, id=i, source="web") for i, r in enumerate(review_rows(5))]
    out = gate(Proposal("toy_label", {"review": "text", "stars": "label"}, 0.9), profile_rows(rows))
    assert "fields not used by this map: id, source" in out.evidence


@pytest.mark.parametrize(
    ("prior", "rate", "expected"),
    [
        (0.9, 1.0, 0.9),
        (0.9, 0.9, 0.9),
        (0.9, 0.8, 0.8),
        (0.9, 0.45, 0.45),
        (0.8, 0.9, 0.8),
        (0.8, 0.85, 0.8 * 0.85 / 0.9),
        (1.5, 1.0, 1.0),
        (0.9, 0.0, 0.0),
    ],
)
def test_adjusted_confidence(prior: float, rate: float, expected: float) -> None:
    assert adjusted_confidence(prior, rate) == pytest.approx(expected)


def test_a_constant_column_feeding_a_required_field_halves_confidence() -> None:
    rows = [{"review": f"review {i}", "author": "ann"} for i in range(25)]
    out = gate(Proposal("toy_label", {"review": "text", "author": "label"}, 0.9), profile_rows(rows))
    assert out.confidence == pytest.approx(0.45)
    assert any(
        "field 'author' feeds required 'label' but has the same value ('ann') in all 25 sample rows" in e
        for e in out.evidence
    )


def test_a_constant_column_in_a_small_sample_is_not_judged() -> None:
    rows = [{"review": f"review {i}", "author": "ann"} for i in range(5)]
    proposal = Proposal("toy_label", {"review": "text", "author": "label"}, 0.9)
    assert gate(proposal, profile_rows(rows)).confidence == pytest.approx(0.9)
