"""Rendering: one canonical record -> the chat messages a model is trained on, evaluated on and served with.

Every task profile's ``render(record, context)`` returns a ``Rendered``: chat messages plus which
assistant turns are trained on. Training tokenises all of it; evaluation and serving send
``Rendered.prompt`` (with the chat template's generation prompt) and compare the model's reply with
``Rendered.completion``. There is exactly one rendering per record, so the three never drift apart.

The pieces every profile shares live here: the JSON style of structured completions
(``to_json``), the refusal sentence (``REFUSAL``), the render context taken from a dataset
manifest (labels, span labels, field names), and ``locate_spans``, which turns a rendered span list
back into character offsets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Iterable, Mapping, Sequence

from brewslm.errors import BrewError

REFUSAL = "I don't have that information."
"""The one reply for questions the given passages do not answer (rag_qa refusal records)."""

MAX_LISTED_LABELS = 50
"""Classification prompts list the allowed labels up to this many classes; beyond it the list
would dominate every prompt, so the model learns the label names from the completions alone."""


def label_reply_texts(labels: Sequence[str]) -> tuple[str, ...] | None:
    """The words identifier-style labels spell, as the replies a model is trained to give:
    ``card_arrival`` -> ``card arrival``. ``None`` when the labels are already words (no label has
    an underscore) or when spelling them out would make two labels read the same or make one read
    as another label (then every label is its own reply).

    Why: a tokenizer splits ``card_arrival`` into pieces no pretrained text uses
    (``card`` ``_`` ``arr`` ``ival``), while ``card arrival`` is two words the base model knows;
    the replies are also ~40% fewer tokens, which label scoring pays for on every example and label.
    """
    texts = tuple(" ".join(label.replace("_", " ").split()) or label for label in labels)
    if texts == tuple(labels):
        return None
    others = set(labels)
    if len(set(texts)) != len(texts) or any(text != label and text in others for text, label in zip(texts, labels)):
        return None
    return texts


class NotRenderable(BrewError):
    """A valid record that has nothing to train on (e.g. a no-call tool record without a known
    answer). Training skips such records and reports how many; it is never a silent drop."""

    reason = "no_completion"


@dataclass(frozen=True)
class RenderContext:
    """Dataset-level facts a prompt may mention, taken from the manifest (and saved with a run so
    serving renders prompts exactly as training did)."""

    labels: tuple[str, ...] | None = None  # classification: the allowed labels, sorted
    span_labels: tuple[str, ...] | None = None  # span_set: the span types seen
    fields: tuple[str, ...] | None = None  # field_match: the target's top-level fields, in schema order
    scoring_mode: str | None = None
    max_listed_labels: int = MAX_LISTED_LABELS
    label_texts: tuple[str, ...] | None = (
        None  # classification: the reply for each of ``labels`` (None: the label itself)
    )

    @classmethod
    def from_manifest(cls, manifest: Mapping[str, Any] | None) -> "RenderContext":
        manifest = manifest or {}
        schema = manifest.get("output_schema") or {}
        stats = manifest.get("summary") or manifest.get("stats") or {}
        labels = schema.get("labels") or list((stats.get("label_counts") or {}).keys())
        span_labels = list((stats.get("span_label_counts") or {}).keys())
        properties = (schema.get("json_schema") or {}).get("properties") or {}
        sorted_labels = tuple(sorted(str(label) for label in labels))
        return cls(
            labels=sorted_labels or None,
            span_labels=tuple(sorted(str(label) for label in span_labels)) or None,
            fields=tuple(str(name) for name in properties) or None,
            scoring_mode=schema.get("scoring_mode"),
            label_texts=label_reply_texts(sorted_labels),
        )

    def reply_text(self, label: str) -> str:
        """The reply a model gives for ``label`` (its words, see ``label_reply_texts``)."""
        return self._text_of_label.get(label, label)

    def label_of_reply(self, text: str) -> str | None:
        """The label whose reply is ``text`` exactly (a label's own name counts too); else None."""
        return self._label_of_text.get(text, text if self.labels and text in self.labels else None)

    @property
    def reply_texts(self) -> tuple[str, ...] | None:
        """The replies of ``labels``, in order (the labels themselves when they are already words)."""
        return self.label_texts if self.label_texts is not None else self.labels

    @cached_property
    def _text_of_label(self) -> dict[str, str]:
        return dict(zip(self.labels or (), self.label_texts or ()))

    @cached_property
    def _label_of_text(self) -> dict[str, str]:
        return dict(zip(self.label_texts or (), self.labels or ()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "labels": list(self.labels) if self.labels is not None else None,
            "span_labels": list(self.span_labels) if self.span_labels is not None else None,
            "fields": list(self.fields) if self.fields is not None else None,
            "scoring_mode": self.scoring_mode,
            "max_listed_labels": self.max_listed_labels,
            "label_texts": list(self.label_texts) if self.label_texts is not None else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> "RenderContext":
        data = dict(data or {})
        return cls(
            labels=tuple(data["labels"]) if data.get("labels") is not None else None,
            span_labels=tuple(data["span_labels"]) if data.get("span_labels") is not None else None,
            fields=tuple(data["fields"]) if data.get("fields") is not None else None,
            scoring_mode=data.get("scoring_mode"),
            max_listed_labels=int(data.get("max_listed_labels", MAX_LISTED_LABELS)),
            # a context saved before label_texts existed renders every label as itself, as it trained
            label_texts=tuple(data["label_texts"]) if data.get("label_texts") is not None else None,
        )


@dataclass(frozen=True)
class Rendered:
    """A record as chat messages (``{"role", "content"}`` dicts) and the assistant turns to learn.

    - ``messages``: the whole conversation, the trained replies included.
    - ``trained_turns``: indexes into ``messages`` of the assistant turns whose tokens (with their
      end-of-turn token) carry the loss; every other token is context.
    - ``text``: language modelling only: raw text trained on as is, no chat template, no messages.
    - ``rejected``: preference pairs only: the rejected reply, an alternative to the last message.
    """

    messages: tuple[dict[str, str], ...] = ()
    trained_turns: tuple[int, ...] = ()
    text: str | None = None
    rejected: str | None = None

    def __post_init__(self) -> None:
        if self.text is None:
            if not self.trained_turns:
                raise ValueError("a rendered conversation needs at least one trained assistant turn")
            for index in self.trained_turns:
                if self.messages[index]["role"] != "assistant":
                    raise ValueError(f"trained turn {index} is a {self.messages[index]['role']} message")

    @property
    def is_chat(self) -> bool:
        return self.text is None

    @property
    def prompt(self) -> list[dict[str, str]]:
        """The conversation up to the last trained reply: what a model is asked at serving time."""
        return [dict(m) for m in self.messages[: self.trained_turns[-1]]] if self.is_chat else []

    @property
    def completion(self) -> str:
        """The reply a model should produce for ``prompt`` (the raw text for language modelling)."""
        return self.messages[self.trained_turns[-1]]["content"] if self.is_chat else (self.text or "")

    def with_completion(self, reply: str) -> "Rendered":
        """The same prompt with another final reply (e.g. the rejected side of a preference pair)."""
        if not self.is_chat:
            raise ValueError("raw-text renderings have no reply to replace")
        last = self.trained_turns[-1]
        messages = list(self.messages)
        messages[last] = {"role": "assistant", "content": reply}
        return Rendered(messages=tuple(messages), trained_turns=self.trained_turns)

    def to_dict(self) -> dict[str, Any]:
        if self.text is not None:
            out: dict[str, Any] = {"text": self.text}
        else:
            out = {"messages": [dict(m) for m in self.messages], "trained_turns": list(self.trained_turns)}
        if self.rejected is not None:
            out["rejected"] = self.rejected
        return out


# --- building blocks ----------------------------------------------------------------------------


def message(role: str, content: str) -> dict[str, str]:
    return {"role": role, "content": content}


def single_turn(user: str, reply: str, *, system: str | None = None) -> Rendered:
    """A one-question, one-answer rendering: [system], user, trained assistant reply."""
    messages = ([message("system", system)] if system else []) + [message("user", user), message("assistant", reply)]
    return Rendered(messages=tuple(messages), trained_turns=(len(messages) - 1,))


def conversation(messages: Iterable[Mapping[str, Any]], *, train: str = "all") -> Rendered:
    """A conversation as given; ``train="all"`` trains every assistant turn, ``"last"`` only the final one."""
    plain = tuple(message(str(m["role"]), str(m["content"])) for m in messages)
    turns = [i for i, m in enumerate(plain) if m["role"] == "assistant"]
    if train == "last":
        turns = turns[-1:]
    return Rendered(messages=plain, trained_turns=tuple(turns))


def to_json(value: Any) -> str:
    """The JSON text of every structured completion: compact separators with spaces, keys in the
    record's order, non-ASCII kept as is (fewer tokens than ``\\u`` escapes)."""
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "))


def bullet_list(items: Sequence[str]) -> str:
    return ", ".join(items)


def locate_spans(text: str, items: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Recover ``{"start", "end", "label"}`` offsets from a rendered span list ``[{"text", "label"}]``.

    Spans are rendered in offset order, so each one is searched from the previous span's start
    (overlapping and nested spans allowed; the same text with the same label again means a later
    occurrence). This is exact for every span except a repeated string whose earlier, unannotated
    occurrence comes first (``structured_extraction.span_offsets_recoverable`` tells which records
    those are). Items whose text does not occur are skipped (a model's hallucinated span has no
    offsets).
    """
    out: list[dict[str, Any]] = []
    cursor = 0
    previous: dict[str, Any] | None = None
    for item in items:
        needle, label = item.get("text"), str(item.get("label", ""))
        if not isinstance(needle, str) or not needle:
            continue
        start = text.find(needle, cursor)
        if (
            previous is not None
            and start >= 0
            and (start, start + len(needle), label) == (previous["start"], previous["end"], previous["label"])
        ):
            start = text.find(needle, start + 1)
        if start < 0:
            start = text.find(needle)  # out-of-order model output: fall back to the first occurrence
            if start < 0:
                continue
        else:
            cursor = start
        previous = {"start": start, "end": start + len(needle), "label": label}
        out.append(previous)
    return out


__all__ = [
    "MAX_LISTED_LABELS",
    "NotRenderable",
    "REFUSAL",
    "RenderContext",
    "Rendered",
    "bullet_list",
    "conversation",
    "locate_spans",
    "message",
    "single_turn",
    "to_json",
]
