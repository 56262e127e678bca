"""label_to_classification, labels in other shapes (issue 15): several labels joined in one value
(multi-label rows of a single-label import are rejected as ``multi_label``, never kept as classes
of their own) and a label given as scores per class (one-hot ``{"baking": 0.0, "not_baking": 1.0}``).
Fixtures are written here, not taken from the corpus."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tests.mappers.test_label_to_classification import FIELDS, reason, run

from brewslm.errors import MapperError
from brewslm.introspection import introspect
from brewslm.mappers.base import Rejection, label_to_str
from brewslm.mappers.label_to_classification import MAPPER, label_from_scores, split_labels
from brewslm.mappers.profile import profile_rows
from helpers.workspace import private_workspace

SETTINGS = settings(max_examples=80, deadline=None)


@pytest.fixture()
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return private_workspace(tmp_path, monkeypatch)


# --- several labels joined in one value -----------------------------------------------------------


def test_split_labels():
    assert split_labels("3,10", ",") == ["3", "10"]
    assert split_labels("a | b |c", "|") == ["a", "b", "c"]
    assert split_labels("a,", ",") is None and split_labels("a", ",") is None and split_labels(",", ",") is None


def test_the_delimiter_option_rejects_multi_label_rows_as_a_defect():
    names = {"0": "joy", "1": "anger", "2": "fear"}
    outcome = run({"text": "t", "label": "0,2"}, multi_label_delimiter=",", label_names=names)
    assert reason(outcome) == "multi_label" and outcome.defect and "2 labels" in outcome.detail
    assert run({"text": "t", "label": "2"}, multi_label_delimiter=",", label_names=names)[0]["label"] == "fear"
    assert run({"text": "t", "label": 1}, multi_label_delimiter=",")[0]["label"] == "1"
    # one label with the delimiter and a blank part is one label, kept as written (stripped)
    assert run({"text": "t", "label": "x,"}, multi_label_delimiter=",")[0]["label"] == "x,"


def test_without_the_option_parts_that_are_all_named_are_multi_label():
    names = {"0": "joy", "1": "anger"}
    assert reason(run({"text": "t", "label": "0,1"}, label_names=names)) == "multi_label"
    assert reason(run({"text": "t", "label": "joy|anger"}, label_names=names)) == "multi_label"
    assert reason(run({"text": "t", "label": "0,7"}, label_names=names)) == "label_not_allowed"


@pytest.mark.parametrize("bad", ["", 3, [","]])
def test_bad_delimiter_option(bad):
    with pytest.raises(MapperError, match="multi_label_delimiter"):
        MAPPER.parse_options({"multi_label_delimiter": bad})


def texts(n: int) -> list[str]:
    return [f"comment number {i} says something about the game" for i in range(n)]


def test_sniff_finds_labels_joined_from_the_columns_own_labels():
    singles = ["sports", "politics", "science"]
    labels = [singles[i % 3] for i in range(50)] + ["sports,politics"] * 6 + ["science,sports"] * 4
    rows = [{"text": t, "label": y} for t, y in zip(texts(60), labels)]
    proposal = MAPPER.sniff(profile_rows(rows))
    assert proposal.options == {"multi_label_delimiter": ","}
    said = next(e for e in proposal.evidence if "multi-label" in e)
    assert "10 of 60 rows" in said and "'sports,politics'" in said and "multi_label" in said


@pytest.mark.parametrize(
    "labels",
    [
        ["positive", "negative", "very positive", "very negative"] * 10,  # "very" is no label of its own
        ["Sci, Tech", "World", "Sports"] * 10,  # a label with a comma whose parts are not labels
        ["a", "b"] * 20,
    ],
)
def test_sniff_reads_single_labels_with_delimiters_as_single(labels):
    rows = [{"text": t, "label": y} for t, y in zip(texts(len(labels)), labels)]
    assert "multi_label_delimiter" not in MAPPER.sniff(profile_rows(rows)).options


def test_sniff_ids_joined_by_a_space():
    labels = [str(i % 4) for i in range(40)] + ["1 3", "0 2 3"] * 3
    rows = [{"text": t, "label": y} for t, y in zip(texts(len(labels)), labels)]
    assert MAPPER.sniff(profile_rows(rows)).options == {"multi_label_delimiter": " "}


def write_tsv(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f, delimiter="\t").writerows(rows)
    return path


def test_headerless_ids_with_multi_label_rows_and_a_names_file_of_another_name(tmp_path, workspace):
    """Class ids (0-based, the last class unused by this split) in a headerless TSV, some rows
    with several ids ("1,4"), the names one per line in a file named like nothing usual."""
    moods = ["joy", "anger", "fear", "sadness", "surprise", "neutral", "disgust"]
    (tmp_path / "moods.txt").write_text("\n".join(moods), encoding="utf-8")
    ids = [str(i % 6) for i in range(60)] + ["1,4", "0,5", "2,3"] * 5
    rows = [[t, y, f"r{i:03d}"] for i, (t, y) in enumerate(zip(texts(len(ids)), ids))]
    data = write_tsv(tmp_path / "test.tsv", rows)
    accepted = introspect(f"csv:{data}").accepted
    assert accepted is not None and accepted.mapper_id == MAPPER.id and accepted.confidence >= 0.8
    assert accepted.options["label_names"] == {str(i): name for i, name in enumerate(moods)}
    assert accepted.options["multi_label_delimiter"] == ","
    assert any("moods.txt" in e and "subset" in e for e in accepted.evidence)
    assert any("15 of 75 rows are multi-label" in e for e in accepted.evidence)
    fields = MAPPER.canonical_map(accepted.field_map)
    label_col = next(src for src, dst in accepted.field_map.items() if dst == "label")
    outcomes = [MAPPER.apply(dict(zip(["col_1", "col_2", "col_3"], r)), fields, accepted.options) for r in rows]
    kept = [o[0] for o in outcomes if not isinstance(o, Rejection)]
    assert label_col == "col_2" and len(kept) == 60
    assert {r["label"] for r in kept} == set(moods[:6])
    assert all(o.reason == "multi_label" and o.defect for o in outcomes if isinstance(o, Rejection))


# --- a label given as scores per class ------------------------------------------------------------


@pytest.mark.parametrize(
    "scores, expected",
    [
        ({"baking": 0.0, "not_baking": 1.0}, "not_baking"),
        ({"POS": True, "NEG": False}, "POS"),
        ({"a": 0.2, "b": 0.7, "c": 0.1}, "b"),  # soft scores: the highest
        ({" spaced ": 1, "other": 0}, "spaced"),  # a key is read as any label is (stripped)
    ],
)
def test_the_label_is_the_class_scored_highest(scores, expected):
    assert run({"text": "t", "label": scores})[0]["label"] == expected


@pytest.mark.parametrize(
    "scores, why",
    [
        ({"a": 1.0, "b": 1.0}, "ambiguous_label"),  # a tie: several classes on
        ({"a": 0.0, "b": 0.0}, "ambiguous_label"),  # none on
        ({"a": False, "b": False}, "ambiguous_label"),
        ({"a": "1", "b": 0}, "wrong_type"),  # a score that is not a number
        ({"a": float("nan"), "b": 1.0}, "wrong_type"),
        ({}, "missing_label"),
    ],
)
def test_scores_that_name_no_single_class_are_rejected(scores, why):
    outcome = run({"text": "t", "label": scores})
    assert reason(outcome) == why
    assert outcome.defect == (why == "ambiguous_label")


def cooking(n=30, **extra):
    rows = []
    for i in range(n):
        on = i % 3 == 0
        rows.append(
            {
                "cats": {"baking": float(on), "not_baking": float(not on)},
                "meta": {"id": str(i)},
                "text": f"How long do I bake thing {i} in the oven?\nSome more words about it.\n",
                **extra,
            }
        )
    return rows


def test_sniff_proposes_a_one_hot_score_object_as_the_label():
    proposal = MAPPER.sniff(profile_rows(cooking()))
    assert proposal.field_map == {"text": "text", "cats": "label", "meta.id": "id"}
    assert proposal.confidence >= 0.8 and proposal.options == {}
    assert any("scores per class" in e and "one-hot in 30/30" in e for e in proposal.evidence)
    record = run(cooking()[0], MAPPER.canonical_map(proposal.field_map))[0]
    assert record == {"text": cooking()[0]["text"], "label": "baking", "id": "0"}


def test_sniff_does_not_read_metric_scores_as_a_label():
    rows = [
        {"text": f"a generated summary number {i} of the article", "scores": {"bleu": 0.1 * (i % 7), "rouge": 0.3}}
        for i in range(30)
    ]
    assert MAPPER.sniff(profile_rows(rows)) is None


def test_a_scalar_label_by_name_wins_over_a_score_object():
    rows = [dict(r, label="x" if i % 2 else "y") for i, r in enumerate(cooking())]
    assert MAPPER.sniff(profile_rows(rows)).field_map["label"] == "label"


# --- fidelity properties --------------------------------------------------------------------------

KEY = st.one_of(st.text(max_size=6), st.sampled_from(["0", "1", "[1]", '{"a": 1}', " ", "NaN"]))
SCORE = st.one_of(
    st.sampled_from([0, 1, 0.0, 1.0, 0.5, -1]), st.booleans(), st.floats(allow_nan=True), st.text(max_size=2), st.none()
)


@SETTINGS
@given(scores=st.dictionaries(KEY, SCORE, max_size=4))
def test_scores_property(scores):
    outcome = label_from_scores(scores, "cats")
    if isinstance(outcome, Rejection):
        assert outcome.reason in ("missing_label", "wrong_type", "ambiguous_label") and "\n" not in outcome.detail
        return
    top = max(float(v) for v in scores.values())
    [winner] = [k for k, v in scores.items() if float(v) == top]  # exactly one class has the top score
    assert top > 0 and outcome == label_to_str(winner, "cats")


LABEL = st.one_of(st.text(max_size=12), st.sampled_from(["3,10", "a, b", ",", "a,", "x|y", "1 2"]), st.integers(-2, 12))


@SETTINGS
@given(label=LABEL, delimiter=st.sampled_from([",", ";", "|", " "]), named=st.booleans())
def test_multi_label_property(label, delimiter, named):
    names = {str(i): f"class {i}" for i in range(11)} if named else None
    options = {"multi_label_delimiter": delimiter, **({"label_names": names} if names else {})}
    outcome = MAPPER.apply({"text": "t", "label": label}, FIELDS, options)
    raw = label_to_str(label, "label")
    if isinstance(outcome, Rejection):
        assert outcome.reason in ("missing_label", "multi_label", "label_not_allowed")
        if outcome.reason == "multi_label":
            assert split_labels(raw, delimiter) is not None
        return
    [record] = outcome
    assert split_labels(raw, delimiter) is None  # never a joined label kept as a class
    assert record["label"] == (names.get(raw, raw) if names else raw)
