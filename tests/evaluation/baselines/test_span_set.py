"""span_set baseline: a CRF over word tokens, scored by the real span_set handler (equal to
seqeval on the same IOB2 sequences), deterministic, with exact character offsets."""

from __future__ import annotations

import random

import pytest
from seqeval.metrics import f1_score as seqeval_f1

from brewslm.evaluation.baselines import BaselineUnavailable, baseline_classes
from brewslm.evaluation.baselines.span_set import CrfTagger, spans_from_tags, word_offsets
from brewslm.evaluation.handlers import get_eval_handler
from brewslm.evaluation.metrics.common import sum_stats
from brewslm.mappers.bio_to_spans import bio_at_offsets, spans_to_bio
from brewslm.tasks.rendering import RenderContext

NAMES = [
    "Ada",
    "Bob",
    "Chen",
    "Dana",
    "Emil",
    "Farah",
    "Goran",
    "Hana",
    "Ivan",
    "Jonas",
    "Kemal",
    "Lena",
    "Mira",
    "Nora",
    "Omar",
    "Petra",
]
SURNAMES = ["Lovelace", "Smith", "Okafor", "Novak", "Berg"]
CITIES = ["Oslo", "Lima", "Paris", "Cairo", "Quito", "Riga", "Sofia", "Tunis", "Vienna", "Warsaw", "Zagreb", "Accra"]
TEMPLATES = [
    "yesterday {PER} flew to {LOC} .",
    "{PER} lives in {LOC} now",
    "we met {PER} near {LOC} last week",
    "the train to {LOC} left without {PER}",
    "nothing happened here today",
    "ask {PER} about it",
    "it rained in {LOC} all day",
]


def synthetic(rows: int, seed: int, names=NAMES, cities=CITIES) -> list[dict]:
    """Space-joined tokens with IOB2 tags (so the handler also scores seqeval) and their spans."""
    rng = random.Random(seed)
    records = []
    for _ in range(rows):
        tokens, tags = [], []
        for word in rng.choice(TEMPLATES).split():
            if word == "{PER}":
                person = [rng.choice(names)] + ([rng.choice(SURNAMES)] if rng.random() < 0.4 else [])
                tokens += person
                tags += ["B-PER"] + ["I-PER"] * (len(person) - 1)
            elif word == "{LOC}":
                tokens.append(rng.choice(cities))
                tags.append("B-LOC")
            else:
                tokens.append(word)
                tags.append("O")
        text = " ".join(tokens)
        spans = spans_from_tags(word_offsets(text), tags)
        records.append({"text": text, "spans": spans, "tokens": tokens, "tags": tags})
    return records


TRAIN = synthetic(120, seed=1, names=NAMES[:12], cities=CITIES[:9])
TEST = synthetic(40, seed=2)  # a quarter of the names and cities never seen in training


def handler():
    return get_eval_handler(
        "structured_extraction", "span_set", context=RenderContext(span_labels=("LOC", "PER"), scoring_mode="span_set")
    )


@pytest.fixture(scope="module")
def crf() -> CrfTagger:
    return CrfTagger().fit(TRAIN, handler())


def test_registered_for_span_set():
    assert baseline_classes("structured_extraction", "span_set") == [CrfTagger]


def test_handler_micro_f1_equals_seqeval_on_the_same_tags_and_is_high(crf):
    h = handler()
    predictions = crf.predict(TEST)
    metrics = h.metrics(sum_stats(h.score_example(r, p).stats for r, p in zip(TEST, predictions)))
    gold_tags = [r["tags"] for r in TEST]
    predicted_tags = [spans_to_bio(r["tokens"], p) for r, p in zip(TEST, predictions)]
    expected = seqeval_f1(gold_tags, predicted_tags)
    assert metrics["micro_f1"] == pytest.approx(expected, abs=1e-12)
    assert metrics["seqeval_f1"] == pytest.approx(expected, abs=1e-12)
    assert expected > 0.8


def test_deterministic_across_fits(crf):
    again = CrfTagger().fit(TRAIN, handler())
    assert again.predict(TEST) == crf.predict(TEST)
    assert {k: v for k, v in again.fitted.items() if k != "fit_seconds"} == {
        k: v for k, v in crf.fitted.items() if k != "fit_seconds"
    }
    assert crf.fitted["train_spans"] == sum(len(r["spans"]) for r in TRAIN)
    assert crf.fitted["untaggable_train_spans"] == 0


def test_predicted_offsets_are_characters_of_the_record_text(crf):
    text = "Yesterday,  Ada Lovelace flew to Oslo!\nThen Hana lives in   Paris now"
    spans = crf.predict([{"text": text}])[0]
    assert {(text[s["start"] : s["end"]], s["label"]) for s in spans} >= {("Ada Lovelace", "PER"), ("Oslo", "LOC")}
    assert all(text[s["start"] : s["end"]] == text[s["start"] : s["end"]].strip() for s in spans)
    assert spans == sorted(spans, key=lambda s: (s["start"], s["end"]))


def test_token_tags_round_trip_to_the_same_character_spans():
    text = "Dr. O'Neil  met\tJean-Luc in São Paulo (2024)."
    gold = [
        {"start": 4, "end": 10, "label": "PER"},
        {"start": 16, "end": 24, "label": "PER"},
        {"start": 28, "end": 37, "label": "LOC"},
        {"start": 39, "end": 43, "label": "DATE"},
    ]
    offsets = word_offsets(text)
    assert [text[a:b] for a, b in offsets][:4] == ["Dr", ".", "O", "'"]
    assert spans_from_tags(offsets, bio_at_offsets(offsets, gold)) == gold
    assert [text[s["start"] : s["end"]] for s in gold] == ["O'Neil", "Jean-Luc", "São Paulo", "2024"]


def test_records_without_spans_train_and_spans_inside_a_word_are_counted():
    records = TRAIN[:20] + [
        {"text": "no entities at all", "spans": []},
        {"text": "Lovelaces are many", "spans": [{"start": 0, "end": 8, "label": "PER"}]},
    ]
    crf = CrfTagger().fit(records, handler())
    assert crf.fitted["train_records"] == 22 and crf.fitted["untaggable_train_spans"] == 1


@pytest.mark.parametrize(
    "records, reason",
    [
        ([], "no train records"),
        ([{"text": "nothing to find", "spans": []}] * 3, "no spans"),
    ],
)
def test_unavailable_without_spans(records, reason):
    with pytest.raises(BaselineUnavailable, match=reason) as caught:
        CrfTagger().fit(records, handler())
    assert "\n" not in str(caught.value)
