"""``json:...?path=a.b&with=f`` (issue 15, class 11 and nested records): fields BESIDE the selected
collection (keys of the object that holds it) carried into every row read from it, e.g. the tools
offered next to a list of tool-use conversations. Fixtures are written here; none comes from the
corpus."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from brewslm.errors import SourceError
from brewslm.sources import open_source

TOOLS = [
    {"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}},
    {"name": "Finish", "parameters": {"type": "object"}},
]
CONVERSATIONS = [
    [
        {"role": "user", "content": "Weather in Oslo?"},
        {"role": "assistant", "content": "", "function_call": {"name": "get_weather", "arguments": '{"city": "Oslo"}'}},
    ],
    [
        {"role": "user", "content": "And in Rome?"},
        {"role": "assistant", "content": "", "function_call": {"name": "get_weather", "arguments": '{"city": "Rome"}'}},
        {"role": "function", "name": "get_weather", "content": '{"t": 21}'},
        {"role": "assistant", "content": "21 degrees."},
    ],
]


def write(tmp_path: Path, doc) -> Path:
    path = tmp_path / "trace.json"
    path.write_text(json.dumps(doc, indent=2), encoding="utf-8")
    return path


def trace(tools_first: bool = True) -> dict:
    inner = {"query": "weather", "function": TOOLS, "train_messages": CONVERSATIONS, "valid": True}
    if not tools_first:
        inner = {"train_messages": CONVERSATIONS, "query": "weather", "function": TOOLS}
    return {"tree": {"size": 3, "children": [{"x": 1}]}, "answer_generation": inner}


@pytest.mark.parametrize("tools_first", [True, False])
def test_with_carries_the_tools_beside_the_conversations(tmp_path: Path, tools_first: bool):
    path = write(tmp_path, trace(tools_first))
    rows = list(open_source(f"json:{path}?path=answer_generation.train_messages&with=function,query").rows())
    assert len(rows) == 2
    for row, conversation in zip(rows, CONVERSATIONS):
        assert row["col_1"] == conversation
        assert row["function"] == TOOLS and row["query"] == "weather"
    rows[0]["function"].append("x")  # each row holds its own copy
    assert rows[1]["function"] == TOOLS


def test_without_with_a_note_names_the_fields_beside(tmp_path: Path):
    path = write(tmp_path, trace())
    source = open_source(f"json:{path}?path=answer_generation.train_messages")
    rows = list(source.rows())
    assert "function" not in rows[0]
    assert any("query, function" in n and "&with=" in n for n in source.notes), source.notes


def test_the_row_keeps_its_own_field_on_a_clash(tmp_path: Path):
    doc = {
        "meta": {"lang": "en", "source": "wiki"},
        "data": {"lang": "xx", "items": [{"text": "a", "lang": "fr"}, {"text": "b"}]},
    }
    path = write(tmp_path, doc)
    rows = list(open_source(f"json:{path}?path=data.items&with=lang").rows())
    assert rows == [{"lang": "fr", "text": "a"}, {"lang": "xx", "text": "b"}]


def test_with_at_the_top_level_key(tmp_path: Path):
    path = write(tmp_path, {"labels": ["neg", "pos"], "rows": [{"text": "x", "label": 1}]})
    assert list(open_source(f"json:{path}?path=rows&with=labels").rows()) == [
        {"labels": ["neg", "pos"], "text": "x", "label": 1}
    ]


def test_with_errors_are_one_line(tmp_path: Path):
    path = write(tmp_path, trace())
    with pytest.raises(SourceError, match="no field 'tools' beside 'answer_generation.train_messages'.*query"):
        list(open_source(f"json:{path}?path=answer_generation.train_messages&with=tools").rows())
    with pytest.raises(SourceError, match="option 'with'.*empty"):
        open_source(f"json:{path}?path=answer_generation.train_messages&with=")
    top = tmp_path / "top.json"
    top.write_text(json.dumps([{"text": "a"}]), encoding="utf-8")
    with pytest.raises(SourceError, match="top level"):
        list(open_source(f"json:{top}?with=function").rows())
    lines = tmp_path / "lines.json"
    lines.write_text('{"text": "a"}\n{"text": "b"}\n', encoding="utf-8")
    with pytest.raises(SourceError, match="JSON Lines"):
        open_source(f"json:{lines}?with=function")


VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**6), 10**6)
    | st.text(max_size=8)
    | st.sampled_from(["[0, 1]", '{"a": 1}', " ", "null", "12"]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    VALUES,
    st.lists(
        st.dictionaries(st.sampled_from(["text", "beside", "n"]), VALUES, min_size=1, max_size=3),
        min_size=1,
        max_size=4,
    ),
)
def test_with_fidelity_property(tmp_path: Path, beside, records):
    path = write(tmp_path, {"holder": {"beside": beside, "records": records}})
    rows = list(open_source(f"json:{path}?path=holder.records&with=beside").rows())
    assert len(rows) == len(records)
    for row, record in zip(rows, records):
        assert row == {"beside": beside, **record}
