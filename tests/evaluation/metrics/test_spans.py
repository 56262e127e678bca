"""metrics.spans: strict set match, relaxed overlap match, seqeval entity F1 equal to the seqeval package."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from seqeval.metrics import classification_report as seqeval_report
from seqeval.metrics.sequence_labeling import get_entities

from brewslm.errors import ConfigError
from brewslm.evaluation.metrics.common import sum_stats
from brewslm.evaluation.metrics.spans import (
    per_type,
    predicted_tags,
    relaxed_match,
    score_spans,
    span_metrics,
    strict_match,
    tag_entities,
    token_joiner,
)
from brewslm.mappers.bio_to_spans import Entity, encode, entities_to_spans

TEXT = "Ada met Bob in Oslo."


def span(start, end, label="PER"):
    return {"start": start, "end": end, "label": label}


def metrics_of(*scores):
    totals = sum_stats(s.stats for s in scores)
    totals["examples"] = float(len(scores))
    return span_metrics(totals), totals


def test_off_by_one_is_one_miss_and_one_hallucination():
    score = score_spans(TEXT, [span(0, 3)], [span(0, 4)])
    assert score.stats["fn:PER"] == 1 and score.stats["fp:PER"] == 1 and "tp:PER" not in score.stats
    assert score.stats["relaxed_tp:PER"] == 1
    assert score.detail["missed"] == [{"start": 0, "end": 3, "label": "PER", "text": "Ada"}]
    assert score.detail["hallucinated"] == [{"start": 0, "end": 4, "label": "PER", "text": "Ada "}]
    assert score.detail["overlapping"][0]["gold"]["text"] == "Ada"
    metrics, _ = metrics_of(score)
    assert (metrics["precision"], metrics["recall"], metrics["f1"]) == (0.0, 0.0, 0.0)
    assert (metrics["relaxed_precision"], metrics["relaxed_recall"], metrics["relaxed_f1"]) == (1.0, 1.0, 1.0)
    assert metrics["exact_set_match"] == 0.0


def test_wrong_type_is_neither_strict_nor_relaxed_match():
    score = score_spans(TEXT, [span(15, 19, "LOC")], [span(15, 19, "ORG")])
    assert score.stats == {"exact_set": 0.0, "fn:LOC": 1.0, "fp:ORG": 1.0, "relaxed_fn:LOC": 1.0, "relaxed_fp:ORG": 1.0}


def test_empty_gold_and_empty_prediction_is_perfect():
    score = score_spans(TEXT, [], [])
    metrics, _ = metrics_of(score, score)
    assert score.stats == {"exact_set": 1.0}
    for name in ("precision", "recall", "f1", "micro_f1", "macro_f1", "relaxed_f1"):
        assert metrics[name] == 1.0
    assert metrics["exact_set_match"] == 1.0
    assert metrics["seqeval_f1"] is None  # no record carried tokens and tags


def test_hallucination_on_a_hard_negative():
    metrics, _ = metrics_of(score_spans(TEXT, [], [span(0, 3)]))
    assert metrics["precision"] == 0.0 and metrics["recall"] == 0.0 and metrics["exact_set_match"] == 0.0


def test_unparseable_misses_every_gold_span():
    score = score_spans(TEXT, [span(0, 3), span(15, 19, "LOC")], None)
    assert score.stats["fn:PER"] == 1 and score.stats["fn:LOC"] == 1 and score.stats["exact_set"] == 0
    unparseable_negative = score_spans(TEXT, [], None)
    assert unparseable_negative.stats["exact_set"] == 0.0


def test_unplaced_and_out_of_range_spans_are_hallucinations_kept_in_detail():
    predicted = [span(0, 3), {"text": "Carol", "label": "PER"}, span(15, 99, "LOC")]
    score = score_spans(TEXT, [span(0, 3)], predicted, tokens=TEXT.split(" "), tags=["B-PER", "O", "O", "O", "O"])
    assert score.stats["tp:PER"] == 1 and score.stats["fp:PER"] == 1 and score.stats["fp:LOC"] == 1
    assert score.stats["relaxed_fp:PER"] == 1 and score.stats["relaxed_fp:LOC"] == 1
    assert score.stats["seqeval_tp:PER"] == 1 and "seqeval_fp:PER" not in score.stats  # no offsets, no tags
    assert {"text": "Carol", "label": "PER"} in score.detail["hallucinated"]


def test_duplicates_count_once():
    score = score_spans(TEXT, [span(0, 3)], [span(0, 3), span(0, 3)])
    assert score.stats["tp:PER"] == 1 and "fp:PER" not in score.stats and score.detail["duplicates"] == 1
    assert score.stats["exact_set"] == 1.0


def test_bad_span_shapes_raise_one_line_errors():
    with pytest.raises(ConfigError, match="predicted span 0 needs integer 'start'"):
        score_spans(TEXT, [], [{"start": "0", "end": 3, "label": "PER"}])
    with pytest.raises(ConfigError, match="predicted span 1 has no text 'label'"):
        score_spans(TEXT, [], [span(0, 3), {"start": 0, "end": 3}])


def test_relaxed_matching_is_one_to_one_and_prefers_exact_matches():
    gold = {("PER", 0, 10), ("PER", 8, 20)}
    predicted = {("PER", 8, 20), ("PER", 0, 20), ("PER", 9, 12)}
    pairs = relaxed_match(gold, predicted)
    assert pairs == [(("PER", 0, 10), ("PER", 0, 20)), (("PER", 8, 20), ("PER", 8, 20))]


_spans = st.lists(st.tuples(st.sampled_from(["A", "B"]), st.integers(0, 15), st.integers(1, 6)), max_size=6).map(
    lambda items: {(label, start, start + length) for label, start, length in items}
)


@settings(max_examples=300, deadline=None)
@given(_spans, _spans)
def test_match_invariants(gold, predicted):
    matched, missed, hallucinated = strict_match(gold, predicted)
    assert set(matched) == gold & predicted and set(missed) | set(matched) == gold
    pairs = relaxed_match(gold, predicted)
    assert len({g for g, _ in pairs}) == len({p for _, p in pairs}) == len(pairs)
    assert all(g[0] == p[0] and min(g[2], p[2]) > max(g[1], p[1]) for g, p in pairs)
    assert len(pairs) >= len(matched)
    assert all((key, key) in pairs for key in matched)


# --- seqeval ------------------------------------------------------------------------------------

TYPES = ["PER", "LOC", "creative-work"]


def random_entities(rng: random.Random, n_tokens: int) -> list[Entity]:
    entities, t = [], 0
    while t < n_tokens:
        if rng.random() < 0.35:
            length = min(rng.randint(1, 3), n_tokens - t)
            entities.append(Entity(t, t + length, rng.choice(TYPES)))
            t += length + rng.randint(0, 1)  # adjacent entities happen
        else:
            t += 1
    return entities


def perturb(rng: random.Random, entities: list[Entity], n_tokens: int) -> list[Entity]:
    """A model's guess: some entities kept, dropped, relabelled, boundary-shifted or invented."""
    out = []
    for e in entities:
        roll = rng.random()
        if roll < 0.45:
            out.append(e)
        elif roll < 0.6:
            out.append(Entity(e.start, e.end, rng.choice(TYPES)))
        elif roll < 0.75 and e.end < n_tokens:
            out.append(Entity(e.start, e.end + 1, e.label))
    if rng.random() < 0.5:
        out.extend(random_entities(rng, n_tokens)[:1])
    kept, last_end = [], 0
    for e in sorted(out, key=lambda e: (e.start, e.end)):  # tags hold one entity per token
        if e.start >= last_end:
            kept.append(e)
            last_end = e.end
    return kept


def seqeval_equal(ours_totals, gold_tags, pred_tags, view):
    report = seqeval_report(gold_tags, pred_tags, output_dict=True, zero_division=0)
    table = per_type(ours_totals, view)
    types = [k for k in report if not k.endswith(" avg")]
    assert sorted(table) == sorted(types)
    for name in types:
        assert table[name]["precision"] == pytest.approx(report[name]["precision"], abs=1e-9)
        assert table[name]["recall"] == pytest.approx(report[name]["recall"], abs=1e-9)
        assert table[name]["f1"] == pytest.approx(report[name]["f1-score"], abs=1e-9)
        assert table[name]["support"] == report[name]["support"]
    metrics = span_metrics(ours_totals)
    prefix = "seqeval_" if view == "seqeval" else ""
    assert metrics[f"{prefix}precision"] == pytest.approx(report["micro avg"]["precision"], abs=1e-9)
    assert metrics[f"{prefix}recall"] == pytest.approx(report["micro avg"]["recall"], abs=1e-9)
    assert metrics[f"{prefix}f1"] == pytest.approx(report["micro avg"]["f1-score"], abs=1e-9)
    if view == "strict":
        assert metrics["macro_f1"] == pytest.approx(report["macro avg"]["f1-score"], abs=1e-9)


@pytest.mark.parametrize("seed", range(12))
def test_token_aligned_predictions_equal_seqeval_in_every_view(seed):
    """Spans that cover whole tokens: strict span scores and the seqeval view both equal seqeval."""
    rng = random.Random(seed)
    gold_tags, pred_tags, scores = [], [], []
    for _ in range(30):
        tokens = [rng.choice(["Ada", "met", "Bob", "in", "Oslo", ".", "x"]) for _ in range(rng.randint(1, 12))]
        text = " ".join(tokens)
        gold = random_entities(rng, len(tokens))
        predicted = perturb(rng, gold, len(tokens))
        tags = encode(len(tokens), gold)
        gold_tags.append(tags)
        pred_tags.append(encode(len(tokens), predicted))
        scores.append(
            score_spans(
                text, entities_to_spans(tokens, gold), entities_to_spans(tokens, predicted), tokens=tokens, tags=tags
            )
        )
        assert scores[-1].detail["predicted_tags"] == pred_tags[-1]
    totals = sum_stats(s.stats for s in scores)
    seqeval_equal(totals, gold_tags, pred_tags, "strict")
    seqeval_equal(totals, gold_tags, pred_tags, "seqeval")


@pytest.mark.parametrize("seed", range(8))
def test_character_spans_equal_seqeval_on_their_tags(seed):
    """Spans off token boundaries (a model quoting part of a word): the seqeval view equals seqeval
    on the tags those spans give the tokens."""
    rng = random.Random(1000 + seed)
    gold_tags, pred_tags, scores = [], [], []
    for _ in range(25):
        tokens = [rng.choice(["Ada", "met", "Bob", "in", "Oslo", "New-York"]) for _ in range(rng.randint(1, 10))]
        text = " ".join(tokens)
        tags = encode(len(tokens), random_entities(rng, len(tokens)))
        predicted = []
        for _ in range(rng.randint(0, 3)):
            start = rng.randrange(len(text))
            predicted.append(span(start, rng.randint(start + 1, len(text)), rng.choice(TYPES)))
        score = score_spans(
            text,
            entities_to_spans(tokens, [Entity(*e[1:], e[0]) for e in tag_entities(tags)]),
            predicted,
            tokens=tokens,
            tags=tags,
        )
        gold_tags.append(tags)
        pred_tags.append(predicted_tags(text, tokens, predicted))
        scores.append(score)
    seqeval_equal(sum_stats(s.stats for s in scores), gold_tags, pred_tags, "seqeval")


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]), min_size=1, max_size=12))
def test_tag_entities_read_tags_like_seqeval_default_mode(tags):
    """Including sequences that break IOB2 (a stray I- begins an entity, as conlleval reads it)."""
    expected = {(label, start, end + 1) for label, start, end in get_entities(tags)}
    assert tag_entities(tags) == expected


def test_token_joiner():
    assert token_joiner("Ada met Bob", ["Ada", "met", "Bob"]) == " "
    assert token_joiner("Ada_met_Bob", ["Ada", "met", "Bob"]) == "_"
    assert token_joiner("AdametBob", ["Ada", "met", "Bob"]) == ""
    assert token_joiner("Ada", ["Ada"]) == " "
    assert token_joiner("Ada  met Bob", ["Ada", "met", "Bob"]) is None
    assert token_joiner("Ada met", []) is None


def test_records_whose_text_is_not_their_tokens_skip_the_seqeval_view():
    score = score_spans(
        "Ada  met Bob", [span(0, 3)], [span(0, 3)], tokens=["Ada", "met", "Bob"], tags=["B-PER", "O", "O"]
    )
    assert "seqeval_examples" not in score.stats and score.detail["seqeval"].startswith("skipped")


def test_bad_gold_tags_are_a_one_line_error():
    with pytest.raises(ConfigError, match="record tags"):
        tag_entities(["O", "X-PER"])
