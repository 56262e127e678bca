"""classification: one text, one class label.

Record: ``{"text": str, "label": str}``. Labels are strings whatever the source held (``0``,
``true``, ``not entailment``); the manifest keeps their counts so class balance is visible before
training. Rendered as an instruction + the text, answered by the label alone.

Reading a reply (``ClassificationReader``): the candidate labels and the reply each is spelt as
(``label_replies``: what label scoring scores), and ``parse``, which is strict: the reply, stripped
of surrounding whitespace and quotes and a trailing period and compared without case, must be
exactly one candidate label (its name or its words); anything else ("not positive", "positive, I
think") is unparseable, never guessed. ``LabelRouter`` is the intent router's rule: an answer whose
confidence is below a threshold is routed to a fallback label (``talk_to_human``) instead.
"""

from __future__ import annotations

from collections import Counter
from functools import cached_property
from typing import Any, Mapping

from pydantic import StrictStr, field_validator

from brewslm.errors import ConfigError
from brewslm.records import Record
from brewslm.tasks.base import CanonicalRecord, Summary, TaskProfile
from brewslm.tasks.rendering import RenderContext, Rendered, single_turn
from brewslm.tasks.replies import ReplyReader

_QUOTES = "\"'`“”‘’«»"
DEFAULT_FALLBACK_LABEL = "talk_to_human"


class ClassificationRecord(CanonicalRecord):
    text: StrictStr
    label: StrictStr

    @field_validator("text")
    @classmethod
    def _text_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("empty text")
        return value

    @field_validator("label")
    @classmethod
    def _label_is_clean(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("empty label")
        if value != value.strip():
            raise ValueError("label has surrounding whitespace")
        return value


class ClassificationSummary(Summary):
    """Label counts, the number of classes and the majority-class share (the accuracy of always
    guessing the most common label, the floor a trained model has to beat)."""

    def __init__(self, output_schema: Mapping[str, Any]):
        super().__init__(output_schema)
        self.label_counts: Counter[str] = Counter()
        self.text_chars = 0

    def add(self, record: Record) -> None:
        super().add(record)
        self.label_counts[record["label"]] += 1
        self.text_chars += len(record["text"])

    def result(self) -> dict[str, Any]:
        out = super().result()
        majority = self.label_counts.most_common(1)
        out["stats"].update(
            {
                # most common first, ties by name, so manifests of the same data are identical
                "label_counts": dict(sorted(self.label_counts.items(), key=lambda kv: (-kv[1], kv[0]))),
                "num_classes": len(self.label_counts),
                "majority_label": majority[0][0] if majority else None,
                "majority_share": round(majority[0][1] / self.count, 4) if majority else 0.0,
                "mean_text_chars": round(self.text_chars / self.count, 1) if self.count else 0.0,
            }
        )
        return out


def normalise_label(text: str) -> str:
    """Casefolded, without surrounding whitespace, matching quotes or trailing periods."""
    value = text
    while True:
        before = value
        value = value.strip().rstrip(".").strip()
        if len(value) >= 2 and value[0] in _QUOTES and value[-1] in _QUOTES:
            value = value[1:-1]
        if value == before:
            return value.casefold()


class ClassificationReader(ReplyReader):
    """A label, nothing else (see the module docstring)."""

    task = "classification"
    max_new_tokens = 32  # a label, nothing else

    def candidate_labels(self) -> list[str]:
        """The labels a reply may be: the render context's, else the dataset manifest's."""
        labels = self.context.labels or RenderContext.from_manifest(self.manifest).labels
        if not labels:
            raise ConfigError(
                "classification scoring needs the label set, but neither the run's render context nor "
                "the dataset manifest (output_schema.labels, summary.label_counts) names any labels; "
                "re-import the dataset so its manifest counts them"
            )
        return list(labels)

    def label_replies(self) -> list[str]:
        """The reply text of each of ``candidate_labels()``, in order (the labels themselves unless
        the render context spells them out)."""
        return [self.context.reply_text(label) for label in self.candidate_labels()]

    @cached_property
    def _by_reply(self) -> dict[str, str]:
        """Every candidate's reply text (``card arrival``) and its own name -> the label."""
        labels = self.candidate_labels()
        return {
            **{reply: label for label, reply in zip(labels, self.label_replies())},
            **{label: label for label in labels},
        }

    @cached_property
    def _by_normal_form(self) -> dict[str, list[str]]:
        table: dict[str, set[str]] = {}
        for reply, label in sorted(self._by_reply.items()):
            table.setdefault(normalise_label(reply), set()).add(label)
        return {form: sorted(labels) for form, labels in table.items()}

    def parse(self, text: str, record: Mapping[str, Any]) -> str | None:
        """The one candidate label the reply is (its name or the words it is spelt as), or None. An
        exact match wins; otherwise the normalised reply must equal exactly one label's normal form."""
        stripped = text.strip()
        if stripped in self._by_reply:
            return self._by_reply[stripped]
        matches = self._by_normal_form.get(normalise_label(text), [])
        return matches[0] if len(matches) == 1 else None


class LabelRouter:
    """The intent router's rule: an answer whose confidence is below ``confidence_threshold`` is
    routed to ``fallback_label`` instead ("ask a human"; default ``talk_to_human`` once a threshold
    is set). Without a threshold nothing is routed."""

    def __init__(self, confidence_threshold: float | None = None, fallback_label: str | None = None):
        threshold = confidence_threshold
        if threshold is not None and (
            isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0.0 <= threshold <= 1.0
        ):
            raise ConfigError(
                f"handler option 'confidence_threshold' must be a probability between 0 and 1, not {threshold!r}"
            )
        self.confidence_threshold = None if threshold is None else float(threshold)
        # the label low-confidence answers are routed to; None when no routing is configured
        self.fallback_label = str(fallback_label) if fallback_label is not None else None
        if self.fallback_label is None and self.confidence_threshold is not None:
            self.fallback_label = DEFAULT_FALLBACK_LABEL

    def routed_answer(self, label: str | None, confidence: float | None) -> str | None:
        """What the router answers: the fallback below the confidence threshold, else the label."""
        threshold = self.confidence_threshold
        if threshold is not None and confidence is not None and confidence < threshold:
            return self.fallback_label
        return label


class ClassificationProfile(TaskProfile):
    id = "classification"
    description = "Text -> one class label."
    record_model = ClassificationRecord
    summary_class = ClassificationSummary
    readers = {None: ClassificationReader}

    def render(self, record: Record, context: RenderContext | None = None) -> Rendered:
        """User: the instruction (with the allowed labels when the manifest knows them and there are
        at most ``max_listed_labels``) and the text; assistant: the label, nothing else - as the
        words it spells when the labels are identifiers (``RenderContext.reply_text``)."""
        context = context or RenderContext()
        replies = context.reply_texts
        if replies and len(replies) <= context.max_listed_labels:
            ask = f"Classify the text into one of these labels: {', '.join(replies)}. Reply with the label only."
        else:
            ask = "Classify the text. Reply with the label only."
        return single_turn(f"{ask}\n\nText: {record['text']}", context.reply_text(record["label"]))


PROFILE = ClassificationProfile()
