"""structured_extraction · span_set baseline: a linear-chain CRF over word tokens (python-crfsuite).

The classic named-entity tagger an engineer fits before reaching for a neural model: the text is
cut into regex word tokens (letter runs, digit runs, single punctuation marks), each token is
tagged IOB2 from the spans it overlaps, and a CRF learns the tags from hand-written token features
- the lowercased word, its prefixes and suffixes, its shape, case and digit flags, whether it is
glued to the previous token, and the same for the neighbours one and two tokens away. L-BFGS with
fixed elastic-net weights (c1, c2) and a fixed number of iterations: deterministic, seconds for
thousands of sentences on one core (the shared WNUT-17 set's 1,000 train tweets: 6 s of CPU, dev
strict micro-F1 0.17 - tweets are hard; 3,000 short synthetic sentences: 2.4 s).

Predictions are the tag runs turned back into ``{"start", "end", "label"}`` spans in character
offsets of the record's text (a stray ``I-`` starts a span, as seqeval reads it), so the span_set
handler scores them as it scores a model's. A gold span that does not begin and end on token
boundaries (a span inside a word) cannot be tagged exactly; ``fitted`` counts such train spans.
"""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections import Counter
from typing import Any, Mapping, Sequence

from brewslm.evaluation.baselines.base import Baseline, BaselineUnavailable
from brewslm.evaluation.handlers.base import EvalHandler
from brewslm.mappers.bio_to_spans import bio_at_offsets, decode, entities_at_offsets
from brewslm.tasks.structured_extraction import SPAN_SET

_TOKEN = re.compile(r"[^\W\d_]+|\d+|\S")  # letters, digits, or one other visible character
C1, C2 = 0.1, 0.01  # L1 / L2 weights: the usual crfsuite NER settings
MAX_ITERATIONS = 100
NEIGHBOURS = (-2, -1, 1, 2)
_AFFIX = 3


def word_offsets(text: str) -> list[tuple[int, int]]:
    """Character ``[start, end)`` of every regex word token of ``text``."""
    return [match.span() for match in _TOKEN.finditer(text)]


def _shape(word: str) -> str:
    """``Xxxx`` -> ``Xx``, ``AB12`` -> ``Xd``: the character classes with repeats collapsed."""
    classes = ("X" if c.isupper() else "x" if c.islower() else "d" if c.isdigit() else c for c in word)
    shape: list[str] = []
    for c in classes:
        if not shape or shape[-1] != c:
            shape.append(c)
    return "".join(shape)


def _word_features(word: str, prefix: str) -> list[str]:
    return [
        f"{prefix}lower={word.lower()}",
        f"{prefix}title={word.istitle()}",
        f"{prefix}upper={word.isupper()}",
        f"{prefix}shape={_shape(word)}",
    ]


def token_features(text: str, offsets: Sequence[tuple[int, int]]) -> list[list[str]]:
    """crfsuite's attribute strings of every token."""
    words = [text[start:end] for start, end in offsets]
    features = []
    for i, word in enumerate(words):
        glued = i > 0 and offsets[i - 1][1] == offsets[i][0]
        own = ["bias", *_word_features(word, ""), f"digit={word.isdigit()}", f"glued={glued}"]
        own += [f"prefix{n}={word[:n].lower()}" for n in range(1, _AFFIX + 1)]
        own += [f"suffix{n}={word[-n:].lower()}" for n in range(1, _AFFIX + 1)]
        if i == 0:
            own.append("BOS")
        if i == len(words) - 1:
            own.append("EOS")
        for step in NEIGHBOURS:
            if 0 <= i + step < len(words):
                own += _word_features(words[i + step], f"{step:+d}:")
        features.append(own)
    return features


def spans_from_tags(offsets: Sequence[tuple[int, int]], tags: Sequence[str]) -> list[dict[str, Any]]:
    """Character spans of the tag runs (IOB2, a stray ``I-`` beginning a span)."""
    return entities_at_offsets(offsets, decode(list(tags), "iob2", repair=True))


class CrfTagger(Baseline):
    name = "crf"
    title = "CRF over word-token features (python-crfsuite)"
    task = "structured_extraction"
    scoring_mode = SPAN_SET

    def fit(self, records: Sequence[Mapping[str, Any]], handler: EvalHandler) -> "CrfTagger":
        import pycrfsuite

        started = time.perf_counter()
        if not records:
            raise BaselineUnavailable(f"{self.name}: no train records")
        span_counts: Counter[str] = Counter(span["label"] for record in records for span in record["spans"])
        if not span_counts:
            raise BaselineUnavailable(
                f"{self.name}: the train records have no spans; a tagger needs examples of what to extract"
            )
        trainer = pycrfsuite.Trainer(verbose=False)
        untaggable = 0
        for record in records:
            text, spans = record["text"], record["spans"]
            offsets = word_offsets(text)
            tags = bio_at_offsets(offsets, spans)
            exact = {(s["start"], s["end"], s["label"]) for s in spans_from_tags(offsets, tags)}
            untaggable += sum((s["start"], s["end"], s["label"]) not in exact for s in spans)
            trainer.append(token_features(text, offsets), tags)
        trainer.set_params({"c1": C1, "c2": C2, "max_iterations": MAX_ITERATIONS, "feature.possible_transitions": True})
        with tempfile.TemporaryDirectory(prefix="brewslm-crf-") as folder:
            path = os.path.join(folder, "model.crfsuite")
            trainer.train(path)
            with open(path, "rb") as handle:
                self._model = handle.read()  # kept: the tagger reads the model from this buffer
        self._tagger = pycrfsuite.Tagger()
        self._tagger.open_inmemory(self._model)
        self.fitted = {
            "train_records": len(records),
            "train_spans": sum(span_counts.values()),
            "span_labels": dict(sorted(span_counts.items(), key=lambda kv: (-kv[1], kv[0]))),
            # spans inside a word or overlapping another: no tag sequence gives them exactly
            "untaggable_train_spans": untaggable,
            "c1": C1,
            "c2": C2,
            "max_iterations": MAX_ITERATIONS,
            "iterations": len(trainer.logparser.iterations),
            "active_attributes": len(self._tagger.info().attributes),  # non-zero weights (L1 prunes)
            "fit_seconds": round(time.perf_counter() - started, 3),
        }
        return self

    def predict(self, records: Sequence[Mapping[str, Any]]) -> list[Any]:
        if not hasattr(self, "_tagger"):
            raise BaselineUnavailable(f"{self.name}: predict before fit; fit it on the train records first")
        predictions = []
        for record in records:
            text = record["text"]
            offsets = word_offsets(text)
            tags = self._tagger.tag(token_features(text, offsets)) if offsets else []
            predictions.append(spans_from_tags(offsets, tags))
        return predictions


BASELINES = [CrfTagger]
