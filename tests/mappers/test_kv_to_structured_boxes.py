"""kv_to_structured with labelled OCR boxes (issue 15, class 12): forms and receipts given as
``[{box, text, label}]`` build the text in reading order and the target from the labelled boxes."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from brewslm.errors import MapperError
from brewslm.mappers.base import Rejection
from brewslm.mappers.kv_to_structured import MAPPER, _cached_options, box_rectangle, read_boxes, reading_order
from brewslm.mappers.profile import profile_rows
from helpers.mapping import run_mapper


def box(x1, y1, x2, y2, text, label):
    return {"box": [x1, y1, x2, y2], "text": text, "label": label}


# a small receipt, boxes listed out of reading order on purpose
RECEIPT = [
    box(300, 100, 380, 120, "12.50", "total"),
    box(10, 10, 200, 30, "CORNER SHOP", "company"),
    box(10, 100, 90, 121, "TOTAL", "other"),
    box(10, 50, 120, 70, "2024-03-01", "date"),
    box(130, 52, 180, 68, "10:41", "other"),
    box(10, 130, 60, 150, "Thanks", "O"),
]


def map_boxes(rows, **options):
    return run_mapper("kv_to_structured", rows, {"annotations": "boxes"}, options)


def test_text_in_reading_order_and_target_from_labelled_boxes():
    out = map_boxes([{"annotations": RECEIPT}])
    [record] = out.records
    assert record["text"] == "CORNER SHOP\n2024-03-01 10:41\nTOTAL 12.50\nThanks"
    # "other" and "O" name no field: left out of the target, kept in the text
    assert record["target"] == {"company": ["CORNER SHOP"], "date": ["2024-03-01"], "total": ["12.50"]}


def test_repeated_labels_become_lists_in_reading_order():
    boxes = [box(0, 40, 50, 60, "Tea", "item"), box(0, 0, 50, 20, "Cake", "item"), box(60, 0, 90, 20, "3.00", "price")]
    [record] = map_boxes([{"annotations": boxes}]).records
    assert record["target"] == {"item": ["Cake", "Tea"], "price": ["3.00"]}


def test_box_shapes_points_eight_numbers_and_xywh():
    assert box_rectangle([1, 2, 3, 4]) == (1, 2, 3, 4)
    assert box_rectangle([3, 4, 1, 2]) == (1, 2, 3, 4)
    assert box_rectangle([10, 20, 5, 6], "xywh") == (10, 20, 15, 26)
    assert box_rectangle([550.0, 190.0, 937.0, 190.0, 937.0, 104.0, 550.0, 104.0]) == (550, 104, 937, 190)
    assert box_rectangle([[0, 0], [10, 0], [10, 5], [0, 5]]) == (0, 0, 10, 5)
    for bad in ([1, 2, 3], [1, 2, "3", 4], "1,2,3,4", [1, 2, True, 4], [float("nan")] * 4, None):
        assert box_rectangle(bad) is None


def test_reading_order_groups_lines_by_vertical_centres():
    opts = _cached_options({})
    boxes = read_boxes(
        [box(100, 12, 150, 28, "b", "x"), box(0, 10, 50, 30, "a", "x"), box(0, 40, 50, 60, "c", "x")], opts, "boxes"
    )
    assert [[b.text for b in line] for line in reading_order(boxes)] == [["a", "b"], ["c"]]


def test_class_ids_named_by_label_names_and_ignore_labels():
    boxes = [box(0, 0, 10, 10, "ACME", 1), box(0, 20, 10, 30, "junk", 0), box(0, 40, 10, 50, "9.99", "2")]
    [record] = map_boxes([{"annotations": boxes}], label_names=["Others", "company", "total"]).records
    assert record["target"] == {"company": ["ACME"], "total": ["9.99"]}
    [kept] = map_boxes([{"annotations": boxes}], label_names=["Others", "company", "total"], ignore_labels=[]).records
    assert kept["target"]["Others"] == ["junk"]
    [ids] = map_boxes([{"annotations": boxes}]).records  # no names: ids stay ids, nothing ignored
    assert ids["target"] == {"1": ["ACME"], "0": ["junk"], "2": ["9.99"]}
    out = map_boxes([{"annotations": boxes}], label_names={"1": "company"})
    assert out.reasons == {"label_not_allowed": 1}


@pytest.mark.parametrize(
    "annotations, reason",
    [
        ([], "no_fields_extracted"),
        ([box(0, 0, 1, 1, "only other", "other")], "no_fields_extracted"),
        ([box(0, 0, 1, 1, "   ", "company")], "no_fields_extracted"),
        ([{"box": [0, 0, 1], "text": "x", "label": "a"}], "wrong_type"),
        ([{"box": [0, 0, 1, 1], "text": 5, "label": "a"}], "wrong_type"),
        ([{"box": [0, 0, 1, 1], "text": "x", "label": ["a"]}], "wrong_type"),
        ([{"text": "x", "label": "a"}], "wrong_type"),
        (["x"], "wrong_type"),
        ("not a list", "wrong_type"),
    ],
)
def test_rejections(annotations, reason):
    out = map_boxes([{"annotations": annotations}])
    assert out.reasons == {reason: 1}, out.per_row


def test_field_map_and_options():
    resolved = MAPPER.resolve_field_map({"annotations": "boxes"}, ["annotations", "text", "key"])
    assert resolved == {"annotations": "boxes"}  # text/target are built, not guessed
    with pytest.raises(MapperError, match="box_format"):
        MAPPER.check_options({"box_format": "xy"})
    with pytest.raises(MapperError, match="ignore_labels"):
        MAPPER.check_options({"ignore_labels": "other"})
    with pytest.raises(MapperError, match="label_names"):
        MAPPER.check_options({"label_names": [1, 2]})


def test_a_mapped_text_field_is_used_as_the_text():
    out = run_mapper(
        "kv_to_structured", [{"ocr": "full text", "annotations": RECEIPT}], {"ocr": "text", "annotations": "boxes"}
    )
    assert out.records[0]["text"] == "full text"


# --- sniffing ------------------------------------------------------------------------------------


def receipts(label_of=lambda name: name):
    rows = []
    for i in range(6):
        boxes = [
            box(10, 10, 200, 30, f"SHOP {i}", label_of("company")),
            box(10, 50, 120, 70, f"2024-03-0{i + 1}", label_of("date")),
            box(10, 100, 90, 121, "TOTAL", label_of("other")),
            box(300, 100, 380, 120, f"{i}.50", label_of("total")),
        ]
        rows.append({"file_name": f"r{i}.jpg", "annotations": boxes})
    return rows


def test_sniff_labelled_boxes_from_values():
    # keys named unusually: told apart by their values
    rows = [
        {"doc": f"d{i}", "items": [{"pos": b["box"], "str": b["text"], "cls": b["label"]} for b in r["annotations"]]}
        for i, r in enumerate(receipts())
    ]
    proposal = MAPPER.sniff(profile_rows(rows))
    assert proposal is not None and proposal.confidence >= 0.85
    assert proposal.field_map["items"] == "boxes"
    assert proposal.options["box_key"] == "pos" and proposal.options["text_key"] == "str"
    assert proposal.options["label_key"] == "cls" and proposal.options["ignore_labels"] == ["other"]
    out = run_mapper("kv_to_structured", rows, proposal.field_map, proposal.options)
    assert out.records[0]["target"] == {"company": ["SHOP 0"], "date": ["2024-03-01"], "total": ["0.50"]}


def test_sniff_class_ids_named_by_a_class_list_beside_the_data(tmp_path):
    ids = {"other": 0, "company": 1, "date": 2, "total": 3}
    rows = receipts(lambda name: ids[name])
    data = tmp_path / "data.txt"
    data.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    profile = profile_rows(rows)
    bare = MAPPER.sniff(profile)
    assert bare is not None and bare.confidence < 0.85 and "label_names" not in bare.options
    assert any("without names" in e for e in bare.evidence)
    (tmp_path / "class_list.txt").write_text("0 Others\t\n1 company\n2 date\t\n3 total", encoding="utf-8")
    profile.origin = data
    named = MAPPER.sniff(profile)
    assert named.options["label_names"] == {"0": "Others", "1": "company", "2": "date", "3": "total"}
    assert named.options["ignore_labels"] == ["Others"] and named.confidence >= 0.85
    out = run_mapper("kv_to_structured", rows, named.field_map, named.options)
    assert out.records[1]["target"] == {"company": ["SHOP 1"], "date": ["2024-03-02"], "total": ["1.50"]}


def test_sniff_reads_four_number_boxes_as_xywh_when_they_end_before_they_start():
    rows = [
        {
            "annotations": [
                {"box": [100, 10 + 40 * j, 30, 20], "text": f"v{i}{j}", "label": "ab"[j % 2]} for j in range(4)
            ]
        }
        for i in range(4)
    ]
    proposal = MAPPER.sniff(profile_rows(rows))
    assert proposal.options.get("box_format") == "xywh"


def test_no_boxes_no_box_proposal():
    rows = [{"text": f"Invoice {i} from ACME", "items": [{"sku": "a", "qty": i}]} for i in range(5)]
    proposal = MAPPER.sniff(profile_rows(rows))
    assert proposal is None or "boxes" not in proposal.field_map.values()


# --- fidelity: every target value is a box's text, exactly; the text holds every kept box -------

TEXTS = st.text(max_size=8) | st.sampled_from(["[0, 1]", '{"a": 1}', " x ", "12", "\n", "[Verse 1]", "other"])
LABELS = st.sampled_from(["company", "total", "other", "O", 0, 1, 2, "3"]) | st.none() | st.text(max_size=4)
COORD = st.integers(-5, 50) | st.floats(-5, 50, allow_nan=False)
BOXES = st.lists(
    st.fixed_dictionaries(
        {
            "box": st.lists(COORD, min_size=4, max_size=4) | st.lists(COORD, min_size=8, max_size=8),
            "text": TEXTS,
            "label": LABELS,
        }
    ),
    max_size=8,
)


@settings(max_examples=80, deadline=None)
@given(BOXES, st.sampled_from([{}, {"label_names": ["other", "company", "total"]}, {"ignore_labels": []}]))
def test_fidelity_property(boxes, options):
    out = map_boxes([{"annotations": boxes}], **options)
    [outcome] = out.per_row
    if isinstance(outcome, Rejection):
        return
    [record] = outcome
    texts = [b["text"] for b in boxes if isinstance(b["text"], str) and b["text"].strip()]
    values = [v for vs in record["target"].values() for v in vs]
    pool = list(texts)
    for value in values:  # a multiset of box texts
        assert value in pool
        pool.remove(value)
    # the text is exactly the kept box texts, in some order, each followed by one space or newline
    text = record["text"]
    assert all(t in text for t in texts)
    assert len(text) == sum(map(len, texts)) + len(texts) - 1
    separators = Counter(text) - Counter("".join(texts))
    assert set(separators) <= {" ", "\n"} and sum(separators.values()) == len(texts) - 1


# --- fidelity of the text + key-values path -------------------------------------------------------

JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(allow_nan=True, allow_infinity=True) | TEXTS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=80, deadline=None)
@given(
    TEXTS | st.none() | st.integers(),
    st.dictionaries(st.sampled_from(["company", "total", "date"]), JSONISH, max_size=3) | TEXTS,
    JSONISH,
)
def test_key_values_fidelity_property(text, key, flat):
    row = {"ocr": text, "key": key, "amount": flat}
    [outcome] = run_mapper(
        "kv_to_structured", [row], {"ocr": "text", "key": "target", "amount": "target.amount"}
    ).per_row
    if isinstance(outcome, Rejection):
        return
    [record] = outcome
    assert record["text"] == text  # exactly, whatever it looks like
    expected = dict(key) if isinstance(key, dict) else json.loads(key)
    expected["amount"] = flat
    for name, value in record["target"].items():
        assert value == expected[name] and type(value) is type(expected[name])


def test_sniff_a_funsd_like_form():
    """Entities with their own ids, word lists and links beside box/text/label: the label is the key
    whose few values repeat, not the per-form running id."""
    rows = []
    for f in range(8):
        form = [
            {
                "id": 0,
                "box": [20, 10, 300, 30],
                "text": "REGISTRATION FORM",
                "label": "header",
                "words": [],
                "linking": [],
            },
            {"id": 1, "box": [20, 50, 80, 66], "text": "Name:", "label": "question", "words": [], "linking": [[1, 2]]},
            {
                "id": 2,
                "box": [90, 50, 200, 66],
                "text": f"Person {f}",
                "label": "answer",
                "words": [],
                "linking": [[1, 2]],
            },
            {"id": 3, "box": [20, 80, 80, 96], "text": "Date:", "label": "question", "words": [], "linking": [[3, 4]]},
            {
                "id": 4,
                "box": [90, 80, 200, 96],
                "text": f"0{f}/01/98",
                "label": "answer",
                "words": [],
                "linking": [[3, 4]],
            },
            {"id": 5, "box": [20, 120, 90, 136], "text": "page 1", "label": "other", "words": [], "linking": []},
        ]
        rows.append({"form": form})
    proposal = MAPPER.sniff(profile_rows(rows))
    assert proposal.field_map == {"form": "boxes"} and proposal.confidence >= 0.85
    assert proposal.options["label_key"] == "label" and "box_format" not in proposal.options
    [record] = run_mapper("kv_to_structured", rows[:1], proposal.field_map, proposal.options).records
    assert record["text"] == "REGISTRATION FORM\nName: Person 0\nDate: 00/01/98\npage 1"
    assert record["target"] == {
        "header": ["REGISTRATION FORM"],
        "question": ["Name:", "Date:"],
        "answer": ["Person 0", "00/01/98"],
    }
