"""Label-name files beside the data (issue 15, class 2): found by name and shape, or by shape alone;
0- or 1-based ids read from the values; nothing guessed when the file does not fit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from brewslm.sources.class_labels import class_ids, find_label_names


def folder(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
    data = tmp_path / "train.csv"
    data.write_text("1,some text\n", encoding="utf-8")
    return data


TOPICS = ["World", "Sports", "Business", "Sci/Tech"]


@pytest.mark.parametrize(
    "values, expected",
    [
        ([1, 2, 4], {1, 2, 4}),
        (["1", " 3 ", ""], {1, 3}),
        ([0, "0", 7], {0, 7}),
        (["03", "1"], None),
        ([-1, 1], None),
        ([True, 1], None),
        (["pos", "1"], None),
        ([1.5], None),
        (["", " "], None),
        (["１"], None),
    ],
)
def test_class_ids(values, expected):
    assert class_ids(values) == expected


def test_classes_txt_one_based(tmp_path):
    data = folder(
        tmp_path, {"classes.txt": "\n".join(TOPICS) + "\n", "readme.txt": "About this data.\nFour classes.\n"}
    )
    found = find_label_names(data, {1, 2, 4})
    assert found.path.name == "classes.txt" and found.base == 1 and found.by_name
    assert found.names == {"1": "World", "2": "Sports", "3": "Business", "4": "Sci/Tech"}
    assert "1-based" in found.describe() and "classes.txt" in found.describe()
    # a sample that shows only some ids still gets every name (the file is named for it)
    assert find_label_names(data, {1}).names["4"] == "Sci/Tech"


def test_zero_based_when_an_id_zero_occurs(tmp_path):
    data = folder(tmp_path, {"classes.txt": "\r\n".join(TOPICS)})  # CRLF, no final newline
    found = find_label_names(data, {0, 3})
    assert found.base == 0 and found.names == {"0": "World", "1": "Sports", "2": "Business", "3": "Sci/Tech"}
    assert "0-based" in found.describe()


def test_too_few_names_is_no_match(tmp_path):
    data = folder(tmp_path, {"classes.txt": "\n".join(TOPICS)})
    assert find_label_names(data, {1, 5}) is None  # 1-based needs 5 names
    assert find_label_names(data, {0, 4}) is None  # 0-based needs 5 names


@pytest.mark.parametrize(
    "content",
    [
        {"0": "neg", "1": "pos", "2": "neutral"},
        {"neg": 0, "pos": 1, "neutral": 2},
        {"id2label": {"0": "neg", "1": "pos", "2": "neutral"}},
    ],
)
def test_labels_json_with_explicit_ids(tmp_path, content):
    data = folder(tmp_path, {"labels.json": json.dumps(content)})
    found = find_label_names(data, {0, 1, 2})
    assert found.names == {"0": "neg", "1": "pos", "2": "neutral"} and found.base is None
    assert "names its ids" in found.describe()


def test_labels_json_list_and_names_file(tmp_path):
    data = folder(tmp_path, {"labels.json": json.dumps({"names": ["neg", "pos"]})})
    assert find_label_names(data, {0, 1}).names == {"0": "neg", "1": "pos"}
    other = tmp_path / "b"
    other.mkdir()
    data = folder(other, {"coco.names": "person\nbicycle\ncar\n"})
    assert find_label_names(data, {1, 2, 3}).names == {"1": "person", "2": "bicycle", "3": "car"}


def test_found_by_shape_alone_only_when_the_count_matches_exactly(tmp_path):
    data = folder(tmp_path, {"topics.txt": "\n".join(TOPICS) + "\n"})
    found = find_label_names(data, {1, 2, 3, 4})
    assert found.path.name == "topics.txt" and not found.by_name and "shape" in found.describe()
    assert find_label_names(data, {1, 2, 3}) is None  # 4 names for ids up to 3: not sure enough
    assert find_label_names(data, {0, 1, 2, 3}).base == 0


def test_found_by_shape_with_more_names_than_the_ids_seen_only_when_zero_based(tmp_path):
    """A test split that does not use the last classes: ids 0..4 seen, 7 names in ``moods.txt``."""
    moods = ["joy", "anger", "fear", "sadness", "surprise", "neutral", "disgust"]
    data = folder(tmp_path, {"moods.txt": "\n".join(moods)})  # no final newline
    found = find_label_names(data, {0, 1, 2, 4})
    assert found is not None and found.base == 0 and not found.by_name
    assert found.names == {str(i): name for i, name in enumerate(moods)}
    assert "7 distinct names" in found.describe() and "4 ids seen" in found.describe()
    assert find_label_names(data, {1, 2, 3, 4}) is None  # no id 0: 0- or 1-based cannot be told
    assert find_label_names(data, {0, 1, 2}) is None  # 3 ids seen of 7 names: too few to be sure
    assert find_label_names(data, {0, 1, 2, 3, 4, 5, 6, 7}) is None  # more ids than names


def test_a_file_that_fits_exactly_comes_before_one_with_more_names(tmp_path):
    data = folder(
        tmp_path,
        {
            "levels": "low\nmid\nhigh\n",
            "notes.txt": "Collected in 2020.\nThree levels.\nSee the paper.\nThanks to all.\n",
        },
    )
    assert find_label_names(data, {0, 1, 2}).path.name == "levels"
    (tmp_path / "levels").unlink()
    (tmp_path / "more.txt").write_text("a\nb\nc\nd\ne\n", encoding="utf-8")
    assert find_label_names(data, {0, 1, 2}) is None  # two files with more names: a guess


def test_two_files_of_the_right_shape_are_a_guess_not_taken(tmp_path):
    data = folder(tmp_path, {"a.txt": "x\ny\n", "b.txt": "p\nq\n"})
    assert find_label_names(data, {1, 2}) is None


@pytest.mark.parametrize(
    "text",
    [
        "World\n\nSports\nBusiness\nSci/Tech\n",  # a blank line in the middle: line numbers are ambiguous
        "World\nSports\nWorld\nSci/Tech\n",  # a repeated name
        "This dataset was collected from news sites over many years by volunteers\nSports\nBusiness\nSci/Tech\n",
        "1\tWorld\n2\tSports\nBusiness\n4\tSci/Tech\n",  # ids on some lines only
        json.dumps({"meta": 1, "names": TOPICS}),
        json.dumps([1, 2, 3, 4]),
    ],
)
def test_files_of_another_shape_are_not_names(tmp_path, text):
    data = folder(tmp_path, {"classes.txt": text})
    assert find_label_names(data, {1, 2, 3, 4}) is None


def test_the_data_file_itself_big_files_and_missing_folders(tmp_path):
    data = tmp_path / "labels.txt"  # the data, named like a names file
    data.write_text("a\nb\n", encoding="utf-8")
    assert find_label_names(data, {1, 2}) is None
    (tmp_path / "classes.txt").write_text("x\n" * 70_000, encoding="utf-8")
    assert find_label_names(data, {1}) is None
    assert find_label_names(tmp_path / "nowhere" / "train.csv", {1}) is None
    assert find_label_names(None, {1}) is None
    assert find_label_names(data, set()) is None


def test_utf8_bom_and_non_utf8(tmp_path):
    (tmp_path / "classes.txt").write_bytes("\ufeffnégatif\npositif\n".encode("utf-8"))
    data = tmp_path / "d.csv"
    data.write_text("1,x\n", encoding="utf-8")
    assert find_label_names(data, {1, 2}).names == {"1": "négatif", "2": "positif"}
    (tmp_path / "classes.txt").write_bytes(b"n\xe9gatif\npositif\n")  # Latin-1: not read, no guess
    assert find_label_names(data, {1, 2}) is None


def test_id_and_name_per_line(tmp_path):
    data = folder(tmp_path, {"classes.txt": "1\tWorld\n2\tSports\n3 Business\n4 Sci/Tech\n"})
    found = find_label_names(data, {1, 4})
    assert found.names == {"1": "World", "2": "Sports", "3": "Business", "4": "Sci/Tech"} and found.base is None


# --- property: a names file that fits maps every id to its own line, reversibly -------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

NAME = (
    st.text(
        st.characters(blacklist_characters="\n\r\t\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029", blacklist_categories=("Cs",)),
        min_size=1,
        max_size=20,
    )
    .map(str.strip)
    .filter(lambda s: s and len(s.split()) <= 8)
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(NAME, min_size=2, max_size=12, unique=True), base=st.sampled_from([0, 1]), data=st.data())
def test_names_file_property(tmp_path_factory, names, base, data):
    folder_ = tmp_path_factory.mktemp("names")
    (folder_ / "classes.txt").write_text("\n".join(names) + "\n", encoding="utf-8")
    data_file = folder_ / "train.csv"
    data_file.write_text("x\n", encoding="utf-8")
    ids = set(data.draw(st.lists(st.integers(base, base + len(names) - 1), min_size=1, max_size=5)))
    if base == 0:
        ids.add(0)  # 0-based ids show an id 0 somewhere
    found = find_label_names(data_file, ids)
    assert found is not None and found.base == (0 if 0 in ids else 1)
    assert [found.names[str(i + found.base)] for i in range(len(names))] == names  # line n = id n (+ base)
    assert len(set(found.names.values())) == len(found.names)  # reversible
