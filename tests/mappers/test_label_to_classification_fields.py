"""label_to_classification, issue 15: several text fields joined into ``text`` (class 1, the mapper
side) and class ids named from a label-name file beside the data (class 2). Fixtures are our own."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from brewslm.errors import MapperError
from brewslm.introspection import introspect
from brewslm.mappers import get_mapper
from brewslm.mappers.base import Rejection
from brewslm.mappers.label_to_classification import MAPPER
from brewslm.mappers.profile import profile_rows
from brewslm.options import parse_field_map
from brewslm.tasks import get_task_profile
from helpers.workspace import private_workspace

TASK = get_task_profile("classification")
PAIR_MAP = {"title": "text", "body": "text", "label": "label"}


@pytest.fixture(autouse=True)
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return private_workspace(tmp_path, monkeypatch)


def run(row, field_map=PAIR_MAP, **options):
    outcome = MAPPER.apply(row, MAPPER.canonical_map(field_map), options)
    if not isinstance(outcome, Rejection):
        for record in outcome:
            assert TASK.validate(record) is None, record
    return outcome


# --- several source fields feed text ------------------------------------------------------------


def test_text_fields_are_joined_in_field_map_order_with_the_joiner():
    row = {"label": "a", "body": " the body\n", "title": "Title "}
    assert run(row)[0] == {"text": "Title \n\n the body\n", "label": "a"}
    assert run(row, {"body": "text", "title": "text", "label": "label"})[0]["text"] == " the body\n\n\nTitle "
    assert run(row, joiner=" | ")[0]["text"] == "Title  |  the body\n"
    # one source is the old behaviour, exactly
    assert run(row, {"body": "text", "label": "label"})[0]["text"] == " the body\n"


@pytest.mark.parametrize(
    "row, reason, detail",
    [
        ({"title": "t", "label": "a"}, "missing_text", "'body' is missing"),
        ({"title": "t", "body": None, "label": "a"}, "missing_text", "'body' is missing"),
        ({"title": 3, "body": "b", "label": "a"}, "wrong_type", "'title' is a number"),
        ({"title": " ", "body": "\n", "label": "a"}, "missing_text", "all empty"),
        ({"title": "t", "body": "b"}, "missing_label", ""),
    ],
)
def test_joined_text_rejections(row, reason, detail):
    outcome = run(row)
    assert isinstance(outcome, Rejection) and outcome.reason == reason and detail in outcome.detail


def test_an_empty_part_is_kept_so_the_join_stays_reversible():
    assert run({"title": "", "body": "b", "label": "a"})[0]["text"] == "\n\nb"
    assert run({"title": "t", "body": "", "label": "a"})[0]["text"] == "t\n\n"


@pytest.mark.parametrize("joiner", ["", 3, None, ["\n"]])
def test_bad_joiner(joiner):
    with pytest.raises(MapperError, match="joiner"):
        MAPPER.check_options({"joiner": joiner})


def test_field_maps_with_several_sources_for_text():
    # the CLI syntax: the target named once per source (repeat --field-map or give several)
    assert parse_field_map(["title=text", "body=text", "label=label"]) == PAIR_MAP
    assert list(parse_field_map(["body=text", "title=text"])) == ["body", "title"]
    assert MAPPER.resolve_field_map(PAIR_MAP, ["label", "title", "body"]) == PAIR_MAP
    assert MAPPER.canonical_map(PAIR_MAP) == {"text": ("title", "body"), "label": "label"}
    assert MAPPER.describe()["fields"][0]["joinable"] is True
    # a target that takes one source says so instead of dropping the second one silently
    with pytest.raises(MapperError, match="'label' 2 sources"):
        MAPPER.resolve_field_map({"a": "text", "b": "label", "c": "label"})
    with pytest.raises(MapperError, match="takes one source for 'text'"):
        get_mapper("text_only").resolve_field_map({"a": "text", "b": "text"})


def test_the_ui_editor_accepts_several_sources_in_column_order():
    from brewslm.ui.pages.data import MappingForm

    form = MappingForm(
        locator="csv:x.csv",
        mapper_id=MAPPER.id,
        pairs=[("col_1", "label"), ("col_2", "text"), ("col_3", "text"), ("", "")],
    )
    assert form.field_map() == {"col_1": "label", "col_2": "text", "col_3": "text"}
    assert form.spec().field_map == {"col_1": "label", "col_2": "text", "col_3": "text"}


# --- sniffing several text fields ---------------------------------------------------------------

COMPANIES = [
    "Brightwater Ales",
    "Kestrel Robotics",
    "Ostrava Steelworks",
    "Mira Publishing",
    "Velo Parts",
    "Northwind Shipping",
    "Harbor Lights Inn",
    "Quill and Ink",
    "Saffron Foods",
    "Tidewater Mills",
]


def encyclopedia(n=60):
    """Headerless-style columns: a class id, a short title, a body that starts with the title."""
    return [
        {
            "col_1": str(1 + i % 3),
            "col_2": f"{COMPANIES[i % 10]} {i}",
            "col_3": f" {COMPANIES[i % 10]} {i} is a company founded in {1900 + i} that makes things for many people.",
        }
        for i in range(n)
    ]


def test_sniff_joins_a_short_title_that_recurs_in_the_body():
    proposal = MAPPER.sniff(profile_rows(encyclopedia()))
    assert list(proposal.field_map.items()) == [("col_2", "text"), ("col_3", "text"), ("col_1", "label")]
    assert proposal.confidence >= 0.8
    joined = next(e for e in proposal.evidence if "free-text fields" in e)
    assert "'col_2'" in joined and "'col_3'" in joined and "recurs in 'col_3'" in joined and "column order" in joined


def test_sniff_joins_sentence_pairs():
    rows = [
        {
            "pair_id": str(i),
            "premise": f"a man in a red coat walks his dog along the river number {i}",
            "hypothesis": f"someone is outside with an animal {i} today",
            "label": ["entailment", "neutral", "contradiction"][i % 3],
        }
        for i in range(90)
    ]
    proposal = MAPPER.sniff(profile_rows(rows))
    assert proposal.field_map == {"premise": "text", "hypothesis": "text", "label": "label"}
    assert proposal.confidence >= 0.8


def test_sniff_joins_unspaced_cjk_sentences():
    rows = [
        {
            "sentence1": f"猫が窓のそばで静かに眠っています{i}。",
            "sentence2": f"動物が家の中で休んでいる様子です{i}。",
            "label": ["entailment", "neutral"][i % 2],
        }
        for i in range(60)
    ]
    proposal = MAPPER.sniff(profile_rows(rows))
    assert proposal.field_map == {"sentence1": "text", "sentence2": "text", "label": "label"}
    assert proposal.confidence >= 0.9  # CJK sentences are not "very short" text


def test_sniff_leaves_metadata_beside_the_text_out():
    authors = ["Ron Dicker", "Andy McDonald", "Mary Papenfuss", "Cole Delbyck"]
    rows = [
        {
            "category": ["CRIME", "POLITICS", "WORLD"][i % 3],
            "headline": f"Something happened in the city on day {i} and people talked",
            "authors": authors[i % 4] + (f" and {authors[(i + 1) % 4]}" if i % 5 == 0 else ""),
            "link": f"https://news.example.com/entry/story-{i}-{i * 7919:x}",
            "short_description": f"A longer description of what happened on day {i}, with more words.",
            "date": f"2018-05-{1 + i % 28:02d}",
            "posted": f"Mon Apr {1 + i % 28:02d} 22:{i % 60:02d}:45 PDT 2009",
        }
        for i in range(80)
    ]
    proposal = MAPPER.sniff(profile_rows(rows))
    assert proposal.field_map == {"headline": "text", "short_description": "text", "category": "label"}


def test_sniff_does_not_join_role_fields_of_other_mappers():
    rows = [
        {
            "question": f"what is the capital of country number {i}?",
            "answer": f"the city called place {i} by most people",
            "category": ["geo", "history"][i % 2],
        }
        for i in range(60)
    ]
    proposal = MAPPER.sniff(profile_rows(rows))
    assert "answer" not in proposal.field_map and proposal.confidence < 0.9


def test_sniff_one_text_field_stays_one():
    rows = [{"text": f"just one review of the film number {i}", "label": i % 2, "user": f"user{i}"} for i in range(50)]
    assert MAPPER.sniff(profile_rows(rows)).field_map == {"text": "text", "label": "label"}


# --- class ids named from a file beside the data --------------------------------------------------


def write_csv(path: Path, rows: list[list[str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows(rows)
    return path


def headerless(tmp_path: Path, ids=(1, 2, 3, 4), n=60) -> Path:
    rows = [
        [str(ids[i % len(ids)]), f"Headline number {i} about things", f"The story {i} tells of many events and people."]
        for i in range(n)
    ]
    return write_csv(tmp_path / "train.csv", rows)


def test_introspect_names_ids_from_classes_txt(tmp_path):
    data = headerless(tmp_path)
    (tmp_path / "classes.txt").write_text("World\nSports\nBusiness\nSci/Tech\n", encoding="utf-8")
    accepted = introspect(f"csv:{data}").accepted
    assert accepted.mapper_id == MAPPER.id and accepted.confidence >= 0.8
    assert accepted.options == {"label_names": {"1": "World", "2": "Sports", "3": "Business", "4": "Sci/Tech"}}
    said = next(e for e in accepted.evidence if "class ids" in e)
    assert "classes.txt" in said and "1-based" in said and "1 = 'World'" in said


def test_introspect_zero_based_ids_with_a_names_file_found_by_shape(tmp_path):
    data = headerless(tmp_path, ids=(0, 1, 2))
    (tmp_path / "topics").write_text("low\nmid\nhigh\n", encoding="utf-8")
    (tmp_path / "README.txt").write_text(
        "Collected in 2020.\nThree levels.\nSee the paper.\nThanks to all.\n", encoding="utf-8"
    )
    accepted = introspect(f"csv:{data}").accepted
    assert accepted.options == {"label_names": {"0": "low", "1": "mid", "2": "high"}}
    assert any("'topics'" in e and "0-based" in e and "shape" in e for e in accepted.evidence)


def test_introspect_keeps_ids_without_a_names_file_and_says_so(tmp_path):
    data = headerless(tmp_path)
    (tmp_path / "classes.txt").write_text("World\nSports\n", encoding="utf-8")  # too few names
    accepted = introspect(f"csv:{data}").accepted
    assert accepted.options == {}
    assert any("class ids without names (1..4)" in e and "ids are kept" in e for e in accepted.evidence)


def test_names_are_not_looked_for_when_labels_are_names(tmp_path):
    rows = [["pos" if i % 2 else "neg", f"a review of the product number {i} here"] for i in range(40)]
    data = write_csv(tmp_path / "reviews.csv", [["label", "text"], *rows])
    (tmp_path / "classes.txt").write_text("x\ny\n", encoding="utf-8")
    accepted = introspect(f"csv:{data}").accepted
    assert accepted.options == {} and not any("class ids" in e for e in accepted.evidence)


def test_import_keeps_the_id_to_name_mapping_in_the_manifest(tmp_path, monkeypatch):
    from brewslm.ingestion import ImportSpec, open_dataset, run_import
    from helpers.database import fresh_database

    data = headerless(tmp_path, n=40)
    (tmp_path / "classes.txt").write_text("World\nSports\nBusiness\nSci/Tech\n", encoding="utf-8")
    with fresh_database(monkeypatch):
        result = run_import(ImportSpec(locator=f"csv:{data}", dataset="topics"))
        assert result.accepted == 40
        ds = open_dataset("topics")
        manifest = json.loads((ds.path / "manifest.json").read_text(encoding="utf-8"))
        names = manifest["options"]["label_names"]
        assert names == {"1": "World", "2": "Sports", "3": "Business", "4": "Sci/Tech"}
        inverse = {name: key for key, name in names.items()}
        assert len(inverse) == len(names)  # reversible
        records = [r for split in ("train", "validation", "test") for r in ds.iter_records(split)]
        by_text = {r["text"]: r["label"] for r in records}
        for row in csv.reader(open(data, encoding="utf-8", newline="")):
            assert inverse[by_text["\n\n".join(row[1:])]] == row[0]


def test_a_saved_mapping_keeps_several_sources_in_their_order(tmp_path, monkeypatch):
    from brewslm.ingestion import open_dataset
    from brewslm.ingestion.mappings import get_mapping, rerun_mapping, save_mapping
    from helpers.database import fresh_database

    data = headerless(tmp_path, n=20)
    body_first = {"col_3": "text", "col_2": "text", "col_1": "label"}  # deliberately not column order
    with fresh_database(monkeypatch):
        saved = save_mapping(
            "topics",
            f"csv:{data}",
            mapper_id=MAPPER.id,
            field_map=body_first,
            options={"joiner": " || "},
            dataset="topics",
        )
        assert list(saved.field_map.items()) == list(body_first.items())
        assert list(get_mapping("topics").field_map.items()) == list(body_first.items())
        assert rerun_mapping("topics").accepted == 20
        ds = open_dataset("topics")
        texts = {r["text"] for split in ("train", "validation", "test") for r in ds.iter_records(split)}
        for row in csv.reader(open(data, encoding="utf-8", newline="")):
            assert f"{row[2]} || {row[1]}" in texts


def test_timestamps_beside_the_text_neither_join_it_nor_hold_it_back():
    # a headerless tweet-sentiment layout: polarity, tweet id, timestamp, query, user, text
    rows = [
        {
            "col_1": str(4 * (i % 2)),
            "col_2": str(1467810369 + i),
            "col_3": f"Mon Apr {1 + i % 28:02d} 22:{i % 60:02d}:45 PDT 2009",
            "col_4": "NO_QUERY",
            "col_5": f"user{i}",
            "col_6": f"@friend that is so sad, I missed the show again today {i}",
        }
        for i in range(200)
    ]
    proposal = MAPPER.sniff(profile_rows(rows))
    assert proposal.field_map == {"col_6": "text", "col_1": "label"}
    assert proposal.confidence >= 0.8
    assert any("dates or codes" in e and "col_3" in e for e in proposal.evidence)


def test_unnamed_chinese_text_is_found_by_its_characters():
    reviews_zh = [
        "这家酒店的服务非常好，房间也很干净",
        "位置不错但是早餐太差了，不会再来",
        "性价比很高，推荐给大家",
        "前台态度恶劣，体验很糟糕",
        "环境安静，适合休息",
    ]
    rows = [{"col_1": str(i % 2), "col_2": f"{reviews_zh[i % 5]}{i}"} for i in range(100)]
    proposal = MAPPER.sniff(profile_rows(rows))
    assert proposal.field_map == {"col_2": "text", "col_1": "label"} and proposal.confidence >= 0.8
