"""field_match baseline: the value after each field's most frequent cue, hand-computed on tiny
documents and scored by the field_match handler."""

from __future__ import annotations

import pytest

from brewslm.evaluation.baselines import BaselineUnavailable, baseline_classes
from brewslm.evaluation.baselines.field_match import CueRule
from brewslm.evaluation.handlers.field_match import FieldMatchHandler
from helpers.scoring import metrics_of

TRAIN = [
    {
        "text": "INVOICE\nDate: 2024-01-05\nTotal: $12.50\nVendor:\nAcme Corp",
        "target": {"date": "2024-01-05", "total": 12.5, "vendor": "Acme Corp"},
    },
    {
        "text": "Invoice no. 7\nDate: 03/02/2024\nTotal: $8\nVendor:\n\nBolt Ltd\nThank you",
        "target": {"date": "03/02/2024", "total": 8, "vendor": "Bolt Ltd"},
    },
    {
        "text": "Receipt\nTotal: 1,200.00 USD\ndate: 2024-02-10 (paid)\nVendor:\nCity Cafe",
        "target": {"date": "2024-02-10", "total": 1200, "vendor": "City Cafe", "note": None},
    },
]
TEST = [
    {
        "text": "Date: 2024-03-01\nTotal: $5.25\nVendor:\nDelta Inc",
        "target": {"date": "2024-03-01", "total": 5.25, "vendor": "Delta Inc"},
    },
    {
        "text": "Total: 99 EUR\nDate: 1 May 2024\nSeller: Echo",
        "target": {"date": "1 May 2024", "total": 99, "vendor": "Echo"},
    },
]


def test_registered():
    assert baseline_classes("structured_extraction", "field_match") == [CueRule]


def test_cues_and_readers_learnt_on_train():
    baseline = CueRule().fit(TRAIN, FieldMatchHandler())
    fields = baseline.fitted["fields"]
    # "Date :" precedes all three dates (case-insensitively); the first word recovers all three,
    # the rest of the line only two ("2024-02-10 (paid)")
    assert fields["date"] == {
        "cue": "Date :",
        "cue_words": ["Date", ":"],
        "cue_on_line_above": False,
        "reader": "first_word",
        "as_number": False,
        "train_values": 3,
        "cue_before_value_on_train": 3,
        "recovered_on_train": 3,
        "predicted": True,
    }
    # "Total : $" precedes 2 totals (12.50, 8), "Total :" only 1 ("1,200.00 USD"), but "Total :" and the
    # first number recover all three ("$12.50", "$8", "1,200.00 USD"); numbers stay numbers
    assert fields["total"] == {
        "cue": "Total :",
        "cue_words": ["Total", ":"],
        "cue_on_line_above": False,
        "reader": "first_number",
        "as_number": True,
        "train_values": 3,
        "cue_before_value_on_train": 1,
        "recovered_on_train": 3,
        "predicted": True,
    }
    # the vendor opens its line: the cue is the line above (blank lines skipped)
    assert fields["vendor"]["cue"] == "Vendor :" and fields["vendor"]["cue_on_line_above"] is True
    assert fields["vendor"]["reader"] == "rest_of_line" and fields["vendor"]["recovered_on_train"] == 3
    # a field that is null wherever it occurs has nothing to learn from
    assert fields["note"]["cue"] is None and fields["note"]["train_values"] == 0
    assert fields["note"]["predicted"] is False


def test_predictions_and_their_handler_metrics():
    handler = FieldMatchHandler()
    predictions = CueRule().fit(TRAIN, handler).predict(TEST)
    # the second document has no "Vendor :" cue: the field is left out
    assert predictions == [{"date": "2024-03-01", "total": 5.25, "vendor": "Delta Inc"}, {"date": "1", "total": 99}]
    metrics, _ = metrics_of(handler, TEST, predictions)
    assert metrics["field_accuracy"] == pytest.approx(4 / 6)
    assert metrics["exact_record_accuracy"] == pytest.approx(1 / 2) and metrics["valid_json_rate"] == 1.0


def test_a_cue_is_a_label_not_digits_or_punctuation():
    rows = [
        {"text": f"{n},{n + 7},ITEM\n{n + 1},{n + 9},{v}", "target": {"total": v}}
        for n, v in ((10, "4.10"), (20, "5.20"))
    ]
    rule = CueRule().fit(rows, FieldMatchHandler()).fitted["fields"]["total"]
    # the same-line words before each value are coordinates ("11,19,"): the cue is the label above
    # (", ITEM" and "ITEM" both precede 2 values: the longer wins), the value that line's last number
    assert (rule["cue"], rule["cue_on_line_above"], rule["reader"]) == (", ITEM", True, "last_number")
    assert rule["recovered_on_train"] == 2


def test_deterministic():
    first, second = CueRule().fit(TRAIN, FieldMatchHandler()), CueRule().fit(TRAIN, FieldMatchHandler())
    assert first.describe() == second.describe() and first.predict(TEST) == second.predict(TEST)


def test_unavailable_when_no_value_appears_in_its_text():
    rows = [{"text": "nothing here", "target": {"total": 3}}]
    with pytest.raises(BaselineUnavailable, match="no target value"):
        CueRule().fit(rows, FieldMatchHandler())
