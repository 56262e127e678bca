"""span_passthrough on span objects whose keys are found by their VALUES (issue 15): offsets as one
[start, end] list or two whole-number keys under unusual names, the label as the short recurring
string, the stated text checked against the offsets; and texts given as token lists with token
offsets (text = tokens joined with single spaces, inclusive/exclusive end read from evidence)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from brewslm.mappers.base import Rejection
from brewslm.mappers.profile import profile_rows
from brewslm.mappers.span_passthrough import MAPPER
from helpers.mapping import run_mapper


def cut(record):
    return [(record["text"][s["start"] : s["end"]], s["label"]) for s in record["spans"]]


# --- offsets as a [start, end] list under another name ---------------------------------------------

SENTENCES = [
    {
        "sent": "Ada Lovelace wrote for Babbage 's engine .",
        "ents": [
            {"surface_form": "Ada Lovelace", "kind": "person", "where": [0, 12]},
            {"surface_form": "Babbage", "kind": "person", "where": [23, 30]},
        ],
    },
    {
        "sent": "Prolog was designed in Marseille .",
        "ents": [
            {"surface_form": "Prolog", "kind": "language", "where": [0, 6]},
            {"surface_form": "Marseille", "kind": "place", "where": [23, 32]},
        ],
    },
    {
        "sent": "LISP came from MIT .",
        "ents": [
            {"surface_form": "LISP", "kind": "language", "where": [0, 4]},
            {"surface_form": "MIT", "kind": "place", "where": [15, 18]},
        ],
    },
    {
        "sent": "Turing worked in Manchester .",
        "ents": [
            {"surface_form": "Turing", "kind": "person", "where": [0, 6]},
            {"surface_form": "Manchester", "kind": "place", "where": [17, 27]},
        ],
    },
]


def test_sniff_reads_an_offset_list_label_and_stated_text_from_values():
    proposal = MAPPER.sniff(profile_rows(SENTENCES))
    assert proposal is not None and proposal.confidence >= 0.8
    assert proposal.field_map == {"sent": "text", "ents": "spans"}
    assert proposal.options == {"offsets_key": "where", "label_key": "kind", "value_key": "surface_form"}
    out = run_mapper("span_passthrough", SENTENCES, proposal.field_map, proposal.options)
    assert len(out.records) == 4
    assert cut(out.records[1]) == [("Prolog", "language"), ("Marseille", "place")]


def test_offset_list_without_options_and_mismatched_stated_text():
    rows = [{"text": "Paris is big", "spans": [{"where": [0, 5], "type": "city"}]}]
    out = run_mapper("span_passthrough", rows, {"text": "text", "spans": "spans"})
    assert cut(out.records[0]) == [("Paris", "city")]
    bad = [{"text": "Paris is big", "spans": [{"where": [0, 5], "kind": "city", "surface_form": "Rome"}]}]
    opts = {"offsets_key": "where", "label_key": "kind", "value_key": "surface_form"}
    assert run_mapper("span_passthrough", bad, {"text": "text", "spans": "spans"}, opts).reasons == {
        "span_text_mismatch": 1
    }
    short = [{"text": "Paris", "spans": [{"where": [0], "kind": "city"}]}]
    assert run_mapper("span_passthrough", short, {"text": "text", "spans": "spans"}, opts).reasons == {"wrong_type": 1}


def test_sniff_reads_two_whole_number_keys_as_start_and_end():
    rows = [
        {
            "utt": s["sent"],
            "m": [{"b": e["where"][1], "a": e["where"][0], "t": e["kind"], "s": e["surface_form"]} for e in s["ents"]],
        }
        for s in SENTENCES
    ]
    proposal = MAPPER.sniff(profile_rows(rows))
    assert proposal is not None and proposal.confidence >= 0.8
    assert proposal.options == {"start_key": "a", "end_key": "b", "label_key": "t", "value_key": "s"}
    # the same numbers with no stated text to check them: proposed, but below acceptance
    bare = [{"utt": r["utt"], "m": [{k: v for k, v in e.items() if k != "s"} for e in r["m"]]} for r in rows]
    weak = MAPPER.sniff(profile_rows(bare))
    assert weak is not None and weak.confidence < 0.8 and weak.options["start_key"] == "a"
    out = run_mapper("span_passthrough", rows, proposal.field_map, proposal.options)
    assert cut(out.records[3]) == [("Turing", "person"), ("Manchester", "place")]


# --- token lists with token offsets ----------------------------------------------------------------


def tokens_rows(inclusive: bool):
    rows = []
    for s in SENTENCES:
        tokens = s["sent"].split(" ")
        spans = []
        for e in s["ents"]:
            first = len(s["sent"][: e["where"][0]].split())
            last = first + len(e["surface_form"].split()) - 1
            spans.append([first, last if inclusive else last + 1, e["kind"]])
        rows.append({"toks": tokens, "ner": spans})
    return rows


def test_token_offsets_inclusive_end_from_one_token_spans():
    rows = tokens_rows(inclusive=True)  # one-token spans have start == end: only inclusive fits
    proposal = MAPPER.sniff(profile_rows(rows))
    assert proposal is not None and proposal.confidence >= 0.8
    assert proposal.field_map == {"toks": "text", "ner": "spans"}
    assert proposal.options == {"text_tokens": True, "end_inclusive": True}
    out = run_mapper("span_passthrough", rows, proposal.field_map, proposal.options)
    assert out.records[0]["text"] == SENTENCES[0]["sent"]
    assert cut(out.records[0]) == [("Ada Lovelace", "person"), ("Babbage", "person")]


def test_token_offsets_exclusive_end_from_a_span_ending_at_the_token_count():
    rows = tokens_rows(inclusive=False)
    rows.append({"toks": ["see", "Alan", "Kay"], "ner": [[1, 3, "person"]]})
    proposal = MAPPER.sniff(profile_rows(rows))
    assert proposal is not None and proposal.confidence >= 0.8
    assert proposal.options == {"text_tokens": True}
    out = run_mapper("span_passthrough", rows, proposal.field_map, proposal.options)
    assert cut(out.records[-1]) == [("Alan Kay", "person")]


def test_token_offsets_without_evidence_stay_below_acceptance():
    rows = [
        {"toks": ["New", "York", "is", "far", "away"], "ner": [[0, 2, "city"]]},
        {"toks": ["I", "like", "San", "Jose", "a", "lot"], "ner": [[2, 4, "city"]]},
    ]
    proposal = MAPPER.sniff(profile_rows(rows))
    assert proposal is not None and proposal.confidence < 0.8
    assert any("end_inclusive yourself" in e for e in proposal.evidence)


def test_token_rejections():
    fm = {"toks": "text", "ner": "spans"}
    opts = {"text_tokens": True}
    assert run_mapper("span_passthrough", [{"toks": ["a", 3], "ner": []}], fm, opts).reasons == {"wrong_type": 1}
    assert run_mapper("span_passthrough", [{"toks": ["a", "b"], "ner": [[1, 3, "x"]]}], fm, opts).reasons == {
        "span_out_of_bounds": 1
    }
    assert run_mapper("span_passthrough", [{"toks": [" ", ""], "ner": []}], fm, opts).reasons == {"missing_text": 1}


TOKENS = st.lists(st.text(max_size=5) | st.sampled_from(["[0, 1]", "{", "null", " ", "12"]), max_size=6)
TOKEN_SPAN = st.tuples(st.integers(-1, 7), st.integers(-1, 8), st.sampled_from(["a", "b"]))


@settings(max_examples=80, deadline=None)
@given(TOKENS, st.lists(TOKEN_SPAN.map(list), max_size=3), st.booleans())
def test_token_fidelity_property(tokens, spans, inclusive):
    options = {"text_tokens": True, "end_inclusive": inclusive}
    [outcome] = run_mapper(
        "span_passthrough", [{"toks": tokens, "ner": spans}], {"toks": "text", "ner": "spans"}, options
    ).per_row
    if isinstance(outcome, Rejection):
        return
    [record] = outcome
    assert record["text"] == " ".join(tokens)
    expected = set()
    for start, end, label in spans:
        end = end + 1 if inclusive else end
        expected.add((" ".join(tokens[start:end]).strip(), label))
    assert set(cut(record)) == expected
    for piece, _ in cut(record):
        assert piece and piece == piece.strip()


OBJ_SPAN = st.fixed_dictionaries(
    {"where": st.lists(st.integers(-1, 12), min_size=1, max_size=3), "kind": st.text(max_size=3)},
    optional={"surface_form": st.text(max_size=4)},
)


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=10) | st.sampled_from(["[0, 1]", '{"a": 1}', " 12 "]), st.lists(OBJ_SPAN, max_size=3))
def test_offset_list_fidelity_property(text, spans):
    opts = {"offsets_key": "where", "label_key": "kind", "value_key": "surface_form"}
    [outcome] = run_mapper(
        "span_passthrough", [{"text": text, "spans": spans}], {"text": "text", "spans": "spans"}, opts
    ).per_row
    if isinstance(outcome, Rejection):
        return
    [record] = outcome
    assert record["text"] == text
    for span, source in zip(record["spans"], sorted(spans, key=lambda s: tuple(s["where"]))):
        piece = text[span["start"] : span["end"]]
        assert piece and piece == piece.strip()
    for source in spans:
        if "surface_form" in source:
            s, e = source["where"]
            assert source["surface_form"].split() == text[s:e].split()


def test_two_numbers_and_a_recurring_string_without_stated_text_stay_below_acceptance():
    rows = [
        {
            "review": f"The order number {i} arrived late and the box was torn open at one corner.",
            "items": [{"sku": i % 5, "qty": i % 5 + 3, "category": ["toys", "books"][i % 2]}],
        }
        for i in range(30)
    ]
    proposal = MAPPER.sniff(profile_rows(rows))
    assert proposal is None or proposal.confidence < 0.8
