from __future__ import annotations

import json

from brewslm.sources.class_labels import feature_decoder, features_from_parquet_metadata, row_decoder

FEATURES = {
    "text": {"dtype": "string", "_type": "Value"},
    "label": {"names": ["neg", "pos"], "_type": "ClassLabel"},
    "ner_tags": {"feature": {"names": ["O", "B-PER", "I-PER"], "_type": "ClassLabel"}, "_type": "Sequence"},
    "nested": {"inner": {"names": ["x", "y"], "_type": "ClassLabel"}, "other": {"dtype": "int32", "_type": "Value"}},
    "answers": {
        "feature": {
            "kind": {"names": ["short", "long"], "_type": "ClassLabel"},
            "text": {"dtype": "string", "_type": "Value"},
        },
        "_type": "Sequence",
    },
    "old_style": [{"names": ["a", "b"], "_type": "ClassLabel"}],
}


def test_row_decoder_names_labels_everywhere():
    decode = row_decoder(FEATURES)
    row = {
        "text": "t",
        "label": 1,
        "ner_tags": [0, 1, 2],
        "nested": {"inner": 0, "other": 5},
        "answers": {"kind": [1, 0], "text": ["p", "q"]},  # HF: a sequence of structs is a struct of lists
        "old_style": [1, 1],
    }
    assert decode(row) == {
        "text": "t",
        "label": "pos",
        "ner_tags": ["O", "B-PER", "I-PER"],
        "nested": {"inner": "x", "other": 5},
        "answers": {"kind": ["long", "short"], "text": ["p", "q"]},
        "old_style": ["b", "b"],
    }


def test_no_label_and_out_of_range_values():
    decode = feature_decoder(FEATURES["label"])
    assert decode(-1) is None  # HF's "no label"
    assert decode(7) == 7  # not a known class: left for the mapper to judge
    assert decode(None) is None and decode("pos") == "pos" and decode(True) is True


def test_no_labels_means_no_decoder():
    assert row_decoder({"text": {"dtype": "string", "_type": "Value"}}) is None
    assert row_decoder(None) is None


def test_features_from_parquet_metadata():
    meta = {b"huggingface": json.dumps({"info": {"features": FEATURES}}).encode()}
    assert features_from_parquet_metadata(meta) == FEATURES
    assert features_from_parquet_metadata({b"pandas": b"{}"}) is None
    assert features_from_parquet_metadata({b"huggingface": b"not json"}) is None
    assert features_from_parquet_metadata(None) is None
