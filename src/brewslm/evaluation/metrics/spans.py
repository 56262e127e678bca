"""Span-set metrics: strict ``(type, start, end)`` set match, relaxed overlap match, seqeval entity F1.

A span is ``{"start", "end", "label"}`` with end-exclusive character offsets into the record's
text. Three views of one prediction, each as additive per-label counts (see ``metrics.common``):

- strict (keys ``tp:<type>``, ``fp:<type>``, ``fn:<type>``): a predicted span counts only when the
  identical ``(type, start, end)`` is in the gold set; an off-by-one boundary is therefore one miss
  *and* one hallucination. Both sides are sets (a span predicted twice counts once; the detail
  says how many duplicates there were).
- relaxed (``relaxed_tp:<type>``...): a predicted span matches a gold span of the same type whose
  character range overlaps it, one to one; pairs are taken greedily, exact matches first, then by
  overlap length (longest first), then by position, so relaxed counts are never below strict ones.
- seqeval (``seqeval_tp:<type>``...), for records that carry ``tokens`` and IOB2 ``tags``: the gold
  entities are the entities of the record's tags, the predicted ones those of the tags
  ``mappers.bio_to_spans.spans_to_bio`` gives the predicted spans (a token overlapping a span joins
  it), both read the way ``seqeval`` reads tags in its default mode (conlleval chunking; a stray
  ``I-`` begins an entity). Per type and micro these equal
  ``seqeval.metrics.classification_report`` on the same tag sequences.

A predicted span that cannot be placed in the text - text the model quoted that is not in the
input (``{"text", "label"}`` without offsets, as ``parse`` leaves it), or offsets outside the text
- is a hallucination in the strict and relaxed views and has no tags, so seqeval never sees it.

Nothing to find and nothing found (no counts at all, e.g. every example a hard negative answered
with ``[]``) is perfect: precision, recall and F1 are 1.0 in all three views (sklearn and seqeval
would report 0.0 with a warning there, which would make a perfect model look broken).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from brewslm.errors import ConfigError
from brewslm.evaluation.metrics.common import (
    LabelCounts,
    averaged_scores,
    count_key,
    label_counts,
    per_label_scores,
    ratio,
)
from brewslm.mappers.bio_to_spans import BadSequence, decode, spans_to_bio

SpanKey = tuple[str, int, int]
"""``(label, start, end)``: a span's identity for set matching."""

STRICT = ""
RELAXED = "relaxed_"
SEQEVAL = "seqeval_"
VIEWS = {"strict": STRICT, "relaxed": RELAXED, "seqeval": SEQEVAL}  # view name -> statistics namespace


@dataclass(frozen=True)
class SpanScore:
    """One example's additive span statistics and its detail for the predictions file."""

    stats: dict[str, float]
    detail: dict[str, Any] = field(default_factory=dict)


def span_key(span: Mapping[str, Any], where: str = "span") -> SpanKey | None:
    """``(label, start, end)`` of a span, or None when it has no offsets (a ``{"text", "label"}``
    span the model quoted from nowhere). Raises ConfigError for a span of the wrong shape."""
    if not isinstance(span, Mapping):
        raise ConfigError(f'{where} is a {type(span).__name__}; spans are {{"start", "end", "label"}} objects')
    label = span.get("label")
    if not isinstance(label, str):
        raise ConfigError(f'{where} has no text \'label\'; spans are {{"start", "end", "label"}} objects')
    start, end = span.get("start"), span.get("end")
    if start is None and end is None and "text" in span:
        return None
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (start, end)):
        raise ConfigError(f"{where} needs integer 'start' and 'end' character offsets, got {start!r} and {end!r}")
    return label, start, end


def _span_dict(key: SpanKey, text: str) -> dict[str, Any]:
    label, start, end = key
    return {"start": start, "end": end, "label": label, "text": text[start:end]}


def strict_match(gold: set[SpanKey], predicted: set[SpanKey]) -> tuple[list[SpanKey], list[SpanKey], list[SpanKey]]:
    """``(matched, missed, hallucinated)``, each sorted by position."""
    order = _position
    return (
        sorted(gold & predicted, key=order),
        sorted(gold - predicted, key=order),
        sorted(predicted - gold, key=order),
    )


def relaxed_match(gold: set[SpanKey], predicted: set[SpanKey]) -> list[tuple[SpanKey, SpanKey]]:
    """One-to-one ``(gold, predicted)`` pairs of the same type with overlapping ranges, chosen
    greedily: exact matches first, then the longest overlap, then the earliest position."""
    candidates = []
    for g in gold:
        for p in predicted:
            overlap = min(g[2], p[2]) - max(g[1], p[1])
            if g[0] == p[0] and overlap > 0:
                candidates.append((g != p, -overlap, _position(g), _position(p), g, p))
    candidates.sort()
    used_gold: set[SpanKey] = set()
    used_pred: set[SpanKey] = set()
    pairs = []
    for *_, g, p in candidates:
        if g not in used_gold and p not in used_pred:
            used_gold.add(g)
            used_pred.add(p)
            pairs.append((g, p))
    return sorted(pairs, key=lambda pair: _position(pair[0]))


def _position(key: SpanKey) -> tuple[int, int, str]:
    return key[1], key[2], key[0]


def _count(stats: dict[str, float], kind: str, label: str, namespace: str) -> None:
    key = count_key(kind, label, namespace)
    stats[key] = stats.get(key, 0.0) + 1.0


def tag_entities(tags: Sequence[str]) -> set[SpanKey]:
    """The ``(type, first_token, end_token)`` entities of a tag sequence, read like seqeval's
    default mode (``bio_to_spans.decode`` with ``repair``: a stray ``I-`` begins an entity)."""
    try:
        return {(e.label, e.start, e.end) for e in decode(list(tags), "auto", repair=True)}
    except BadSequence as exc:
        raise ConfigError(f"record tags: {exc}; tags are IOB2 (O, B-X, I-X)") from None


def token_joiner(text: str, tokens: Sequence[str]) -> str | None:
    """The string the record's text puts between its tokens (a space for every bio_to_spans
    import), or None when the text is not the tokens joined by one repeated string."""
    if not tokens:
        return None
    gaps = len(tokens) - 1
    extra = len(text) - sum(len(t) for t in tokens)
    if gaps == 0:
        return " " if text == tokens[0] else None
    if extra < 0 or extra % gaps:
        return None
    start = len(tokens[0])
    joiner = text[start : start + extra // gaps]
    return joiner if joiner.join(tokens) == text else None


def predicted_tags(text: str, tokens: Sequence[str], spans: Sequence[Mapping[str, Any]]) -> list[str] | None:
    """IOB2 tags of predicted character spans over the record's tokens (None when the text is not
    a join of the tokens, so tokens and characters cannot be lined up). Where spans overlap, the
    earlier, then the longer, then the alphabetically first label keeps a token (the spans are
    ordered first, so the tags never depend on the order a model listed them in)."""
    joiner = token_joiner(text, tokens)
    if joiner is None:
        return None
    ordered = sorted(spans, key=lambda s: (s["start"], -s["end"], s["label"]))
    return spans_to_bio(tokens, ordered, joiner=joiner)


def score_spans(
    text: str,
    gold: Sequence[Mapping[str, Any]],
    predicted: Sequence[Mapping[str, Any]] | None,
    *,
    tokens: Sequence[str] | None = None,
    tags: Sequence[str] | None = None,
) -> SpanScore:
    """Strict, relaxed and (with tokens and tags) seqeval statistics of one example.

    ``predicted`` None is an unparseable prediction: every gold span is missed. Statistics:
    the three views' per-type counts, ``exact_set`` (1 when the predicted set is exactly the gold
    set) and ``seqeval_examples`` (1 when the seqeval view scored this example)."""
    gold_keys = {key for i, span in enumerate(gold) if (key := span_key(span, f"gold span {i}")) is not None}
    placed: set[SpanKey] = set()
    unplaced: list[dict[str, Any]] = []
    duplicates = 0
    for i, span in enumerate(predicted or []):
        key = span_key(span, f"predicted span {i}")
        if key is None or not 0 <= key[1] < key[2] <= len(text):
            unplaced.append(dict(span))
        elif key in placed:
            duplicates += 1
        else:
            placed.add(key)

    stats: dict[str, float] = {
        "exact_set": 1.0 if predicted is not None and placed == gold_keys and not unplaced else 0.0
    }
    matched, missed, hallucinated = strict_match(gold_keys, placed)
    for kind, keys in (("tp", matched), ("fn", missed), ("fp", hallucinated)):
        for key in keys:
            _count(stats, kind, key[0], STRICT)
    pairs = relaxed_match(gold_keys, placed)
    paired_gold = {g for g, _ in pairs}
    paired_pred = {p for _, p in pairs}
    for g, _ in pairs:
        _count(stats, "tp", g[0], RELAXED)
    for g in gold_keys - paired_gold:
        _count(stats, "fn", g[0], RELAXED)
    for p in placed - paired_pred:
        _count(stats, "fp", p[0], RELAXED)
    for span in unplaced:  # cannot be placed, so cannot match in either view
        _count(stats, "fp", span["label"], STRICT)
        _count(stats, "fp", span["label"], RELAXED)

    detail: dict[str, Any] = {
        "matched": [_span_dict(k, text) for k in matched],
        "missed": [_span_dict(k, text) for k in missed],
        "hallucinated": [_span_dict(k, text) for k in hallucinated] + unplaced,
        "overlapping": [{"gold": _span_dict(g, text), "predicted": _span_dict(p, text)} for g, p in pairs if g != p],
    }
    if duplicates:
        detail["duplicates"] = duplicates

    if tokens is not None and tags is not None:
        pred_tags = predicted_tags(text, tokens, [_span_dict(k, text) for k in placed])
        if pred_tags is not None:
            stats["seqeval_examples"] = 1.0
            gold_entities, pred_entities = tag_entities(tags), tag_entities(pred_tags)
            for kind, keys in (
                ("tp", gold_entities & pred_entities),
                ("fn", gold_entities - pred_entities),
                ("fp", pred_entities - gold_entities),
            ):
                for key in keys:
                    _count(stats, kind, key[0], SEQEVAL)
            detail["predicted_tags"] = pred_tags
        else:
            detail["seqeval"] = "skipped: the text is not the record's tokens joined by one separator"
    return SpanScore(stats, detail)


def view_counts(totals: Mapping[str, float], view: str = "strict") -> dict[str, LabelCounts]:
    """Per-type counts of one view (``strict``, ``relaxed`` or ``seqeval``)."""
    return label_counts(totals, VIEWS[view])


def view_scores(totals: Mapping[str, float], view: str = "strict") -> dict[str, float]:
    """Micro / macro / weighted P, R, F1 of one view; all 1.0 when it has no counts at all."""
    counts = view_counts(totals, view)
    scores = averaged_scores(counts)
    if not counts:  # nothing to find and nothing found
        scores = dict.fromkeys(scores, 1.0)
    return scores


def per_type(totals: Mapping[str, float], view: str = "strict") -> dict[str, dict[str, float]]:
    """``{type: {"precision", "recall", "f1", "support"}}`` of one view, types sorted."""
    return per_label_scores(view_counts(totals, view))


def span_metrics(totals: Mapping[str, float]) -> dict[str, float | None]:
    """Strict micro / macro / weighted P, R, F1 (``precision``, ``recall``, ``f1`` are the strict
    micro values), ``relaxed_precision/recall/f1`` and ``seqeval_precision/recall/f1`` (micro;
    None when no example carried tokens and tags), ``exact_set_match`` (share of examples whose
    predicted set is exactly the gold set)."""
    strict = view_scores(totals, "strict")
    relaxed = view_scores(totals, "relaxed")
    tagged = totals.get("seqeval_examples", 0.0) > 0
    seqeval = view_scores(totals, "seqeval") if tagged else {}
    out: dict[str, float | None] = {
        "precision": strict["micro_precision"],
        "recall": strict["micro_recall"],
        "f1": strict["micro_f1"],
        **strict,
        "exact_set_match": ratio(totals.get("exact_set", 0.0), totals.get("examples", 0.0)),
    }
    for name in ("precision", "recall", "f1"):
        out[f"relaxed_{name}"] = relaxed[f"micro_{name}"]
    for name in ("precision", "recall", "f1"):
        out[f"seqeval_{name}"] = seqeval.get(f"micro_{name}")
    return out


__all__ = [
    "SpanKey",
    "SpanScore",
    "VIEWS",
    "per_type",
    "predicted_tags",
    "relaxed_match",
    "score_spans",
    "span_key",
    "span_metrics",
    "strict_match",
    "tag_entities",
    "token_joiner",
    "view_counts",
    "view_scores",
]
