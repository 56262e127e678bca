"""introspect() with the built-in connectors and mappers on small files written here: the right
mapper is accepted at >= 0.8 with the right field map, and generic mappers rank below it."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any, Callable

import pytest

from brewslm.introspection import ACCEPT_THRESHOLD, introspect

LABELS = ["late delivery", "damaged item", "wrong size"]
PRODUCTS = ["kettle", "lamp", "backpack", "jacket", "blender", "desk"]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return f"jsonl:{path}"


def complaints(tmp_path: Path) -> str:
    """CSV, multi-word string labels, a free-text column with newlines."""
    path = tmp_path / "complaints.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["ticket", "message", "topic"])
        for i in range(60):
            product = PRODUCTS[i % len(PRODUCTS)]
            writer.writerow([f"T{i:04d}", f"Order {i}: the {product} was a problem.\nPlease help.", LABELS[i % 3]])
    return f"csv:{path}"


def star_reviews(tmp_path: Path) -> str:
    """Integer labels 1..5 (type-aware label detection)."""
    return write_jsonl(
        tmp_path / "reviews.jsonl",
        [
            {
                "review": f"The {PRODUCTS[i % 6]} I bought in week {i} was {'great' if i % 5 > 2 else 'poor'} overall.",
                "stars": 1 + i % 5,
            }
            for i in range(80)
        ],
    )


def flags(tmp_path: Path) -> str:
    """Boolean labels."""
    return write_jsonl(
        tmp_path / "flags.jsonl",
        [
            {"text": f"Message number {i} about the {PRODUCTS[i % 6]} and its warranty.", "is_spam": i % 4 == 0}
            for i in range(60)
        ],
    )


def ner_conll(tmp_path: Path) -> str:
    path = tmp_path / "ner.conll"
    blocks = []
    for i in range(30):
        city = ["Paris", "Oslo", "Lima"][i % 3]
        blocks.append(f"Anna\tB-PER\nSmith\tI-PER\nflew\tO\nto\tO\n{city}\tB-LOC\non\tO\nday\tO\n{i}\tO\n")
    path.write_text("-DOCSTART-\tO\n\n" + "\n".join(blocks), encoding="utf-8")
    return f"conll:{path}"


def ner_jsonl(tmp_path: Path) -> str:
    return write_jsonl(
        tmp_path / "ner.jsonl",
        [
            {
                "words": ["Visit", "New", "York", "with", "Bob", str(i)],
                "labels": ["O", "B-LOC", "I-LOC", "O", "B-PER", "O"],
            }
            for i in range(40)
        ],
    )


def char_spans(tmp_path: Path) -> str:
    rows = []
    for i in range(40):
        name = ["Maria Lopez", "Ken Ito", "Ada Obi"][i % 3]
        text = f"Ticket {i}: call {name} at 555-01{i:02d} tomorrow."
        start = text.index(name)
        phone = text.index("555")
        rows.append(
            {
                "text": text,
                "entities": [
                    {"start": start, "end": start + len(name), "label": "PERSON"},
                    {"start": phone, "end": phone + 8, "label": "PHONE"},
                ],
            }
        )
    return write_jsonl(tmp_path / "pii.jsonl", rows)


def invoices(tmp_path: Path) -> str:
    rows = []
    for i in range(40):
        company = ["ACME LTD", "GLOBEX SDN BHD", "INITECH"][i % 3]
        total = f"{10 + i}.50"
        rows.append(
            {
                "ocr": f"{company}\nINVOICE {i}\nDATE 0{1 + i % 9}/03/2024\nTOTAL {total}\nTHANK YOU",
                "fields": {"company": company, "date": f"0{1 + i % 9}/03/2024", "total": total},
            }
        )
    return write_jsonl(tmp_path / "invoices.jsonl", rows)


def faq(tmp_path: Path) -> str:
    return write_jsonl(
        tmp_path / "faq.jsonl",
        [
            {
                "question": f"How long does shipping to zone {i} take?",
                "answer": f"About {2 + i % 5} working days to zone {i}.",
            }
            for i in range(40)
        ],
    )


def rag(tmp_path: Path) -> str:
    rows = []
    for i in range(40):
        passages = [f"Zone {i} parcels travel by road.", f"Zone {i} deliveries take {2 + i % 5} days."]
        answer = "" if i % 5 == 0 else f"{2 + i % 5} days"
        rows.append({"question": f"How long do deliveries to zone {i} take?", "passages": passages, "answer": answer})
    return write_jsonl(tmp_path / "rag.jsonl", rows)


def chats(tmp_path: Path) -> str:
    return write_jsonl(
        tmp_path / "chats.jsonl",
        [
            {
                "messages": [
                    {"role": "system", "content": "You are a helpful shop assistant."},
                    {"role": "user", "content": f"Is the {PRODUCTS[i % 6]} in stock? (#{i})"},
                    {"role": "assistant", "content": f"Yes, we have {i + 1} of them."},
                    {"role": "user", "content": "Great, thanks!"},
                    {"role": "assistant", "content": "You're welcome."},
                ]
            }
            for i in range(40)
        ],
    )


def preferences(tmp_path: Path) -> str:
    return write_jsonl(
        tmp_path / "prefs.jsonl",
        [
            {
                "prompt": f"Summarise order {i} in one line.",
                "chosen": f"Order {i}: one {PRODUCTS[i % 6]}, shipped.",
                "rejected": f"I don't know anything about order {i}.",
            }
            for i in range(40)
        ],
    )


def tool_calls(tmp_path: Path) -> str:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_order",
                "description": "Look an order up",
                "parameters": {
                    "type": "object",
                    "properties": {"order_id": {"type": "string"}},
                    "required": ["order_id"],
                },
            },
        }
    ]
    rows = []
    for i in range(40):
        rows.append(
            {
                "tools": tools,
                "messages": [
                    {"role": "user", "content": f"Where is order {i}?"},
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": f"c{i}",
                                "type": "function",
                                "function": {"name": "get_order", "arguments": json.dumps({"order_id": str(i)})},
                            }
                        ],
                    },
                    {"role": "tool", "tool_call_id": f"c{i}", "content": json.dumps({"status": "shipped"})},
                    {"role": "assistant", "content": f"Order {i} has shipped."},
                ],
            }
        )
    return write_jsonl(tmp_path / "tools.jsonl", rows)


def plain_text(tmp_path: Path) -> str:
    return write_jsonl(
        tmp_path / "corpus.jsonl",
        [
            {"content": f"Chapter {i}.\n\nThe {PRODUCTS[i % 6]} sat on the shelf for {i} days, waiting."}
            for i in range(40)
        ],
    )


CASES: list[tuple[str, Callable[[Path], str], str, dict[str, str]]] = [
    ("csv multi-word labels", complaints, "label_to_classification", {"message": "text", "topic": "label"}),
    ("int labels", star_reviews, "label_to_classification", {"review": "text", "stars": "label"}),
    ("bool labels", flags, "label_to_classification", {"text": "text", "is_spam": "label"}),
    ("conll BIO", ner_conll, "bio_to_spans", {"tokens": "tokens", "tags": "tags"}),
    ("jsonl BIO", ner_jsonl, "bio_to_spans", {"words": "tokens", "labels": "tags"}),
    ("char spans", char_spans, "span_passthrough", {"text": "text", "entities": "spans"}),
    ("key values", invoices, "kv_to_structured", {"ocr": "text"}),
    ("qa pairs", faq, "qa_pair_passthrough", {"question": "question", "answer": "answer"}),
    ("rag", rag, "rag_passthrough", {"question": "question", "passages": "context", "answer": "answer"}),
    ("chat", chats, "chat_messages_passthrough", {"messages": "messages"}),
    ("preference", preferences, "preference_pair", {"prompt": "prompt", "chosen": "chosen", "rejected": "rejected"}),
    ("tool calls", tool_calls, "tool_call_passthrough", {"messages": "messages", "tools": "tools"}),
    ("plain text", plain_text, "text_only", {"content": "text"}),
]


@pytest.mark.parametrize(("name", "make", "mapper_id", "expected"), CASES, ids=[c[0] for c in CASES])
def test_introspect_accepts_the_right_builtin_mapper(tmp_path: Path, name, make, mapper_id, expected) -> None:
    result = introspect(make(tmp_path))
    summary = json.dumps(result.to_dict()["proposals"][:3], indent=1)[:3000]
    assert result.accepted is not None, summary
    assert result.accepted.mapper_id == mapper_id, summary
    assert result.accepted.confidence >= ACCEPT_THRESHOLD
    for src, dst in expected.items():
        assert result.accepted.field_map.get(src) == dst, result.accepted.field_map
    assert any(e.startswith("dry run: ") for e in result.accepted.evidence)
    for other in result.proposals[1:]:
        assert other.confidence < result.accepted.confidence


def test_a_few_bad_rows_do_not_stop_acceptance(tmp_path: Path) -> None:
    path = tmp_path / "reviews.jsonl"
    good = [{"review": f"Review {i} of the {PRODUCTS[i % 6]}: fine.", "stars": 1 + i % 5} for i in range(95)]
    bad = [{"review": "", "stars": 3}, {"review": "no stars"}, {"review": ["a", "list"], "stars": 2}]
    path.write_text("".join(json.dumps(r) + "\n" for r in good + bad) + "{broken json\n", encoding="utf-8")
    result = introspect(f"jsonl:{path}")
    assert result.accepted is not None and result.accepted.mapper_id == "label_to_classification"
    assert result.parse_failures == 1 and result.sample_rows == 99
    run = next(e for e in result.accepted.evidence if e.startswith("dry run: "))
    assert "95/98" in run


def test_llm_assist_is_not_needed_when_a_builtin_is_accepted(tmp_path: Path) -> None:
    class Unused:
        name = "unused"

        def complete(self, prompt: str) -> str:
            raise AssertionError("the teacher must not be asked")

    result = introspect(faq(tmp_path), llm_assist=True, teacher=Unused())
    assert result.llm_assist["used"] is False


def test_the_teacher_chooses_among_builtin_candidates(tmp_path: Path) -> None:
    class Recorder:
        name = "recorder"
        prompt = ""

        def complete(self, prompt: str) -> str:
            Recorder.prompt = prompt
            return "no idea"

    odd = write_jsonl(tmp_path / "odd.jsonl", [{"a": i, "b": f"{i * 2} apples"} for i in range(20)])
    result = introspect(odd, llm_assist=True, teacher=Recorder())
    assert result.accepted is None and result.llm_assist["verdict"] == "rejected"
    assert "A. text_only: b -> text  [language_modeling: " in Recorder.prompt
    numbers = write_jsonl(tmp_path / "numbers.jsonl", [{"a": i, "b": [i, i + 1]} for i in range(10)])
    result = introspect(numbers, llm_assist=True, teacher=Recorder())
    assert "no candidate mapping" in result.llm_assist["reason"]


def test_builtin_sniffers_corroborate_or_refuse_teacher_maps() -> None:
    from brewslm.introspection import profile_rows
    from brewslm.introspection.llm_assist import UNCORROBORATED_CAP, corroborate
    from brewslm.mappers import get_mapper
    from brewslm.mappers.base import Proposal

    rows = [
        {"utt": f"please {verb} my card number {i}", "y": verb, "n": i}
        for i, verb in enumerate(("freeze", "cancel", "renew") * 20)
    ]
    profile = profile_rows(rows)

    def prior(mapper_id: str, field_map: dict[str, str]) -> float:
        return corroborate(Proposal(mapper_id, field_map, 0.0), profile, get_mapper(mapper_id))[0]

    assert prior("label_to_classification", {"utt": "text", "y": "label"}) >= ACCEPT_THRESHOLD
    assert prior("label_to_classification", {"y": "text", "utt": "label"}) <= UNCORROBORATED_CAP  # swapped
    assert prior("text_only", {"utt": "text"}) < ACCEPT_THRESHOLD  # would drop the labels
    assert prior("label_to_classification", {"nope": "text", "y": "label"}) == 0.0  # left to the gate
