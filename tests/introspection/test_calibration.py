"""Calibration of the introspector across mappers: a table of small dataset shapes, written here,
each introspected through ``introspect("jsonl:<file>")``. The right mapper must be accepted (>= 0.8)
with its key field-map entries and rank above every other proposal; shapes nothing fits (ids and
numbers, a text with a continuous score) must have no accepted proposal.

The shapes include the ambiguous ones that used to be ranked wrongly: a classification table
with an extra label-like metadata column, QA pairs whose answers repeat a few short values, kv
look-alikes that are really classification, instruction/output pairs whose outputs are class
labels, a constant metadata column beside a text corpus.
"""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any, Callable, NamedTuple

import pytest

from brewslm.introspection import ACCEPT_THRESHOLD, introspect

PRODUCTS = ["kettle", "desk lamp", "backpack", "rain jacket", "blender", "office chair", "headphones", "toaster"]
CITIES = ["Lisbon", "Nairobi", "Osaka", "Quito", "Tallinn", "Perth", "Accra", "Bergen", "Cusco", "Hanoi"]
PEOPLE = ["Maria Lopez", "Ken Ito", "Ada Obi", "Lars Berg", "Priya Nair", "Tom Reyes", "Eva Novak", "Sam Cole"]
GOOD = ["works perfectly", "is worth every penny", "arrived early and looks great", "does exactly what it says"]
BAD = ["broke after two days", "arrived scratched", "is far too loud", "stopped charging within a week"]
MEH = ["is fine for the price", "does the job, nothing more", "is okay but the manual is confusing"]
OPENERS = ["Honestly,", "After a month of use,", "Quick note:", "For what it's worth,", "Update:", ""]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> str:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return f"jsonl:{path}"


def review_text(rng: random.Random, product: str, verdict: str) -> str:
    phrase = rng.choice({"positive": GOOD, "negative": BAD, "neutral": MEH}[verdict])
    return f"{rng.choice(OPENERS)} the {product} {phrase}. Order #{rng.randint(1000, 9999)}.".strip()


# --- classification ---------------------------------------------------------------------------


def cls_basic(rng: random.Random) -> list[dict]:
    rows = []
    for _ in range(120):
        verdict = rng.choice(["positive", "negative", "neutral"])
        rows.append({"text": review_text(rng, rng.choice(PRODUCTS), verdict), "label": verdict})
    return rows


def cls_extra_label_column(rng: random.Random) -> list[dict]:
    """An extra label-like column (product, 8 values) beside the real label (sentiment, 2 values)."""
    rows = []
    for i in range(150):
        product, verdict = rng.choice(PRODUCTS), rng.choice(["positive", "negative"])
        rows.append(
            {"id": f"r{i:04d}", "product": product, "review": review_text(rng, product, verdict), "sentiment": verdict}
        )
    return rows


def cls_int_labels(rng: random.Random) -> list[dict]:
    rows = []
    for _ in range(100):
        label = rng.randint(0, 1)
        rows.append(
            {"sentence": review_text(rng, rng.choice(PRODUCTS), ["negative", "positive"][label]), "label": label}
        )
    return rows


def cls_unnamed_multiword_labels(rng: random.Random) -> list[dict]:
    """No usual names: the label column (team) holds multi-word labels."""
    teams = {
        "billing support": "I was charged twice for",
        "shipping desk": "Still waiting on the delivery of",
        "returns team": "I would like to send back",
        "technical help": "I cannot get it to switch on, the",
    }
    rows = []
    for i in range(90):
        team = rng.choice(sorted(teams))
        rows.append(
            {
                "ticket_no": 5000 + i,
                "complaint": f"{teams[team]} my {rng.choice(PRODUCTS)}, ref {rng.randint(100, 999)}.",
                "team": team,
            }
        )
    return rows


def kv_lookalike_utt_y_meta(rng: random.Random) -> list[dict]:
    """Intent words occur in the utterance and a metadata object rides along: classification, not kv."""
    intents = ["refund", "cancel", "upgrade", "invoice", "password", "delivery"]
    rows = []
    for _ in range(120):
        intent = rng.choice(intents)
        channel = rng.choice(["web", "app", "phone"])
        rows.append(
            {
                "utt": f"{rng.choice(['hi', 'hello', 'hey'])} I need help with my {intent} for the "
                f"{rng.choice(PRODUCTS)} please (sent from {channel})",
                "y": intent,
                "meta": {"k": channel},
            }
        )
    return rows


def kv_lookalike_topic_in_text(rng: random.Random) -> list[dict]:
    """Flat columns whose values occur in the text, but all of them are a handful of classes."""
    topics = ["battery", "screen", "shipping", "price"]
    rows = []
    for _ in range(100):
        topic, region = rng.choice(topics), rng.choice(["north", "south", "east"])
        rows.append(
            {
                "message": f"Customer in the {region} region says the {topic} of the "
                f"{rng.choice(PRODUCTS)} is a problem ({rng.randint(1, 99)} days in).",
                "topic": topic,
                "region": region,
            }
        )
    return rows


def instruction_with_label_outputs(rng: random.Random) -> list[dict]:
    """Instruction-style names, but the outputs are three class labels and the inputs are statements."""
    rows = []
    for _ in range(120):
        verdict = rng.choice(["positive", "negative", "neutral"])
        rows.append({"input": review_text(rng, rng.choice(PRODUCTS), verdict), "output": verdict})
    return rows


def question_classification(rng: random.Random) -> list[dict]:
    """Questions labelled with their type (TREC-like): a label column by name beats the question look."""
    kinds = {
        "LOC": "Where is the {p} made?",
        "NUM": "How many {p}s were sold last year?",
        "HUM": "Who designed the {p}?",
        "DESC": "What is a {p} used for?",
    }
    rows = []
    for _ in range(100):
        kind = rng.choice(sorted(kinds))
        rows.append(
            {"text": kinds[kind].format(p=rng.choice(PRODUCTS)) + f" ({rng.randint(1, 500)})", "coarse_label": kind}
        )
    return rows


def statements_with_class_answers(rng: random.Random) -> list[dict]:
    """QA names, but the 'answers' are three classes and the 'questions' are statements."""
    rows = []
    for _ in range(90):
        verdict = rng.choice(["positive", "negative", "neutral"])
        rows.append({"question": review_text(rng, rng.choice(PRODUCTS), verdict), "answer": verdict})
    return rows


# --- QA / RAG ---------------------------------------------------------------------------------


def qa_free_answers(rng: random.Random) -> list[dict]:
    rows = []
    for i in range(80):
        city = rng.choice(CITIES)
        rows.append(
            {
                "question": f"How long does a parcel from our depot take to reach {city} (case {i})?",
                "answer": f"Usually {rng.randint(2, 9)} working days, a little longer around holidays.",
            }
        )
    return rows


def qa_repeated_short_answers(rng: random.Random) -> list[dict]:
    """Questions answered by one of five short values: still QA, not classification."""
    owners = {
        "billing": "the invoice",
        "logistics": "a late parcel",
        "legal": "the contract",
        "support": "a broken device",
        "sales": "a bulk discount",
    }
    rows = []
    for i in range(100):
        team = rng.choice(sorted(owners))
        rows.append({"question": f"Which team should customer {i} contact about {owners[team]}?", "answer": team})
    return rows


def qa_yes_no(rng: random.Random) -> list[dict]:
    rows = []
    for _ in range(100):
        product, city = rng.choice(PRODUCTS), rng.choice(CITIES)
        rows.append(
            {"query": f"Can the {product} be shipped to {city} within a week?", "response": rng.choice(["yes", "no"])}
        )
    return rows


def qa_alpaca(rng: random.Random) -> list[dict]:
    rows = []
    for _ in range(80):
        product = rng.choice(PRODUCTS)
        rows.append(
            {
                "instruction": f"Write a one-line product description for a {product}.",
                "input": "" if rng.random() < 0.5 else f"Tone: {rng.choice(['playful', 'formal', 'short'])}",
                "output": f"A {rng.choice(['sturdy', 'sleek', 'compact'])} {product} that "
                f"{rng.choice(GOOD)} for {rng.randint(2, 9)} years of use.",
            }
        )
    return rows


def unnamed_question_pairs(rng: random.Random) -> list[dict]:
    """Questions and answers under unusual names, plus a counter; the answers repeat words of the
    questions (not an extraction), and without usual names nothing should be accepted."""
    rows = []
    for i in range(80):
        city, days = rng.choice(CITIES), rng.randint(2, 9)
        rows.append(
            {
                "ask": f"Ticket {i}: how many days does shipping to {city} take?",
                "reply": f"Shipping to {city} takes {days} days",
                "n": i,
            }
        )
    return rows


def rag_passages(rng: random.Random) -> list[dict]:
    rows = []
    for i in range(80):
        city, days = rng.choice(CITIES), rng.randint(2, 9)
        passages = [
            f"Parcels to {city} travel by road and air.",
            f"Deliveries to {city} take {days} days on average.",
            f"Returns from {city} are free of charge.",
        ]
        answer = "" if i % 6 == 0 else f"{days} days"
        rows.append({"question": f"How long do deliveries to {city} take?", "passages": passages, "answer": answer})
    return rows


def rag_squad_like(rng: random.Random) -> list[dict]:
    rows = []
    for i in range(90):
        person, city = rng.choice(PEOPLE), rng.choice(CITIES)
        context = (
            f"{person} opened the first shop in {city} in {1950 + i}. "
            f"The shop sold {rng.choice(PRODUCTS)}s and later moved to a larger street."
        )
        impossible = i % 5 == 0
        answer = [] if impossible else [{"text": city, "answer_start": context.index(city)}]
        rows.append(
            {
                "id": f"q{i:05d}",
                "title": person,
                "context": context,
                "question": f"Where did {person} open the first shop?",
                "answers": answer,
                "is_impossible": impossible,
            }
        )
    return rows


# --- text --------------------------------------------------------------------------------------


def text_corpus(rng: random.Random) -> list[dict]:
    rows = []
    for i in range(70):
        paragraphs = [
            f"The {rng.choice(PRODUCTS)} sat in the window of the shop in {rng.choice(CITIES)}."
            for _ in range(rng.randint(2, 4))
        ]
        rows.append({"id": i, "text": "\n\n".join(paragraphs)})
    return rows


def text_with_constant_columns(rng: random.Random) -> list[dict]:
    """A corpus with columns that hold one value everywhere (language, licence): nothing to lose."""
    rows = []
    for i in range(70):
        rows.append(
            {
                "doc_id": f"d{i}",
                "content": f"Notes on the {rng.choice(PRODUCTS)} from {rng.choice(CITIES)}: "
                f"{rng.choice(GOOD + BAD)}, said {rng.choice(PEOPLE)}.",
                "lang": "en",
                "licence": "cc-by-4.0",
            }
        )
    return rows


# --- structured extraction -------------------------------------------------------------------


def kv_flat_invoice(rng: random.Random) -> list[dict]:
    vendors = [
        "ACME TRADING LTD",
        "GLOBEX SDN BHD",
        "INITECH GMBH",
        "UMBRELLA CO",
        "STARK SUPPLY",
        "WAYNE FOODS",
        "HOOLI MART",
        "VANDELAY IMPORTS",
        "SOYLENT STORE",
        "TYRELL PARTS",
    ]
    rows = []
    for i in range(100):
        vendor, day = rng.choice(vendors), rng.randint(1, 28)
        total = f"{rng.randint(5, 400)}.{rng.randint(0, 99):02d}"
        invoice = f"INV-{rng.randint(10000, 99999)}"
        rows.append(
            {
                "text": f"{vendor}\nTAX INVOICE {invoice}\nDATE {day:02d}/03/2024\nITEMS 3\nTOTAL RM {total}\n"
                "THANK YOU, PLEASE COME AGAIN",
                "vendor": vendor,
                "invoice_no": invoice,
                "date": f"{day:02d}/03/2024",
                "total": total,
            }
        )
    return rows


def kv_slots_from_queries(rng: random.Random) -> list[dict]:
    """Slot filling: short values picked out of queries that read as questions are still extraction."""
    rows = []
    for _ in range(100):
        origin, destination = rng.sample(CITIES, 2)
        day = f"{rng.randint(1, 28)} {rng.choice(['May', 'June', 'July'])}"
        rows.append(
            {
                "query": f"what flights go from {origin} to {destination} on {day}?",
                "origin": origin,
                "destination": destination,
                "date": day,
            }
        )
    return rows


def kv_object_fields(rng: random.Random) -> list[dict]:
    rows = []
    for _ in range(80):
        person, city, amount = rng.choice(PEOPLE), rng.choice(CITIES), rng.randint(100, 9000)
        rows.append(
            {
                "document": f"Transfer request\nFrom: {person}\nBranch: {city}\nAmount: {amount} EUR\nSigned.",
                "fields": {"name": person, "branch": city, "amount": amount},
            }
        )
    return rows


def spans(rng: random.Random) -> list[dict]:
    rows = []
    for i in range(80):
        person, city = rng.choice(PEOPLE), rng.choice(CITIES)
        text = f"Ticket {i}: {person} asked for a callback from the {city} office."
        rows.append(
            {
                "text": text,
                "entities": [
                    {"start": text.index(person), "end": text.index(person) + len(person), "label": "PERSON"},
                    {"start": text.index(city), "end": text.index(city) + len(city), "label": "LOCATION"},
                ],
            }
        )
    return rows


def spans_presidio_style(rng: random.Random) -> list[dict]:
    rows = []
    for i in range(80):
        person = rng.choice(PEOPLE)
        phone = f"555-{rng.randint(1000, 9999)}"
        text = f"Please ring {person} on {phone} before noon."
        rows.append(
            {
                "full_text": text,
                "spans": [
                    {
                        "entity_type": "PERSON",
                        "entity_value": person,
                        "start_position": text.index(person),
                        "end_position": text.index(person) + len(person),
                    },
                    {
                        "entity_type": "PHONE_NUMBER",
                        "entity_value": phone,
                        "start_position": text.index(phone),
                        "end_position": text.index(phone) + len(phone),
                    },
                ],
                "template_id": i % 7,
            }
        )
    return rows


def bio_tags(rng: random.Random) -> list[dict]:
    rows = []
    for i in range(100):
        first, last = rng.choice(PEOPLE).split()
        city = rng.choice(CITIES)
        rows.append(
            {
                "id": str(i),
                "tokens": [first, last, "flew", "to", city, "on", "day", str(i)],
                "ner_tags": ["B-PER", "I-PER", "O", "O", "B-LOC", "O", "O", "O"],
            }
        )
    return rows


# --- conversations ---------------------------------------------------------------------------


def chat_openai(rng: random.Random) -> list[dict]:
    rows = []
    for i in range(70):
        product = rng.choice(PRODUCTS)
        rows.append(
            {
                "messages": [
                    {"role": "system", "content": "You are a helpful shop assistant."},
                    {"role": "user", "content": f"Is the {product} in stock in {rng.choice(CITIES)}?"},
                    {"role": "assistant", "content": f"Yes, we have {rng.randint(1, 30)} of them."},
                    {"role": "user", "content": "Great, can I reserve one?"},
                    {"role": "assistant", "content": f"Done, reservation #{i} is waiting for you."},
                ]
            }
        )
    return rows


def chat_sharegpt(rng: random.Random) -> list[dict]:
    rows = []
    for i in range(70):
        rows.append(
            {
                "id": f"conv{i}",
                "conversations": [
                    {"from": "human", "value": f"Can you suggest a gift under {rng.randint(20, 90)} euros?"},
                    {"from": "gpt", "value": f"How about a {rng.choice(PRODUCTS)}?"},
                    {"from": "human", "value": "Something smaller?"},
                    {"from": "gpt", "value": f"Then a {rng.choice(PRODUCTS)} would do."},
                ],
            }
        )
    return rows


def tool_calls(rng: random.Random) -> list[dict]:
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
    for i in range(70):
        order = str(rng.randint(1000, 9999))
        if i % 7 == 0:  # a no-tool turn
            rows.append(
                {
                    "tools": tools,
                    "messages": [
                        {"role": "user", "content": "Thanks, that is all."},
                        {"role": "assistant", "content": "You're welcome!"},
                    ],
                }
            )
            continue
        rows.append(
            {
                "tools": tools,
                "messages": [
                    {"role": "user", "content": f"Where is order {order}?"},
                    {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": f"c{i}",
                                "type": "function",
                                "function": {"name": "get_order", "arguments": json.dumps({"order_id": order})},
                            }
                        ],
                    },
                    {"role": "tool", "tool_call_id": f"c{i}", "content": json.dumps({"status": "shipped"})},
                    {"role": "assistant", "content": f"Order {order} has shipped."},
                ],
            }
        )
    return rows


def preference_with_prompt(rng: random.Random) -> list[dict]:
    rows = []
    for i in range(80):
        product = rng.choice(PRODUCTS)
        rows.append(
            {
                "prompt": f"Summarise order {i} in one line.",
                "chosen": f"Order {i}: one {product}, shipped to {rng.choice(CITIES)}.",
                "rejected": f"I don't know anything about order {i}.",
            }
        )
    return rows


def preference_hh_transcripts(rng: random.Random) -> list[dict]:
    rows = []
    for _ in range(80):
        product = rng.choice(PRODUCTS)
        prefix = f"\n\nHuman: How do I clean my {product}?\n\nAssistant: Unplug it first.\n\nHuman: And then?"
        rows.append(
            {
                "chosen": prefix
                + f"\n\nAssistant: Wipe it with a damp cloth and let it dry for {rng.randint(5, 50)} minutes.",
                "rejected": prefix + "\n\nAssistant: Just throw it in the dishwasher.",
            }
        )
    return rows


# --- nothing fits ----------------------------------------------------------------------------


def ids_and_numbers(rng: random.Random) -> list[dict]:
    return [
        {"id": i, "sensor": rng.randint(1, 5), "reading": round(rng.uniform(0, 100), 3), "count": rng.randint(0, 40)}
        for i in range(120)
    ]


def text_with_continuous_score(rng: random.Random) -> list[dict]:
    """A regression target (a continuous float) is not a class label."""
    rows = []
    for _ in range(120):
        verdict = rng.choice(["positive", "negative", "neutral"])
        rows.append({"text": review_text(rng, rng.choice(PRODUCTS), verdict), "score": round(rng.uniform(0, 5), 3)})
    return rows


class Case(NamedTuple):
    name: str
    make: Callable[[random.Random], list[dict]]
    mapper_id: str | None  # None: nothing may be accepted
    field_map: dict[str, str]  # entries the accepted field map must contain
    also_not: tuple[str, ...] = ()  # source fields that must not be mapped (e.g. the wrong label column)


CASES = [
    Case("classification", cls_basic, "label_to_classification", {"text": "text", "label": "label"}),
    Case(
        "classification + label-like metadata",
        cls_extra_label_column,
        "label_to_classification",
        {"review": "text", "sentiment": "label"},
        ("product",),
    ),
    Case(
        "classification, 0/1 labels", cls_int_labels, "label_to_classification", {"sentence": "text", "label": "label"}
    ),
    Case(
        "classification, unnamed multi-word labels",
        cls_unnamed_multiword_labels,
        "label_to_classification",
        {"complaint": "text", "team": "label"},
    ),
    Case(
        "kv look-alike: utt/y/meta", kv_lookalike_utt_y_meta, "label_to_classification", {"utt": "text", "y": "label"}
    ),
    Case(
        "kv look-alike: classes occur in text",
        kv_lookalike_topic_in_text,
        "label_to_classification",
        {"message": "text", "topic": "label"},
    ),
    Case(
        "input/output with label outputs",
        instruction_with_label_outputs,
        "label_to_classification",
        {"input": "text", "output": "label"},
    ),
    Case(
        "question classification (TREC-like)",
        question_classification,
        "label_to_classification",
        {"text": "text", "coarse_label": "label"},
    ),
    Case(
        "statements with class 'answers'",
        statements_with_class_answers,
        "label_to_classification",
        {"question": "text", "answer": "label"},
    ),
    Case("qa, free answers", qa_free_answers, "qa_pair_passthrough", {"question": "question", "answer": "answer"}),
    Case(
        "qa, five repeated short answers",
        qa_repeated_short_answers,
        "qa_pair_passthrough",
        {"question": "question", "answer": "answer"},
    ),
    Case("qa, yes/no answers", qa_yes_no, "qa_pair_passthrough", {"query": "question", "response": "answer"}),
    Case(
        "qa, alpaca instruction/input/output",
        qa_alpaca,
        "qa_pair_passthrough",
        {"instruction": "question", "output": "answer"},
    ),
    Case("unnamed question/reply pairs", unnamed_question_pairs, None, {}),
    Case(
        "rag, passage lists + refusals",
        rag_passages,
        "rag_passthrough",
        {"question": "question", "passages": "context", "answer": "answer"},
    ),
    Case(
        "rag, squad-like",
        rag_squad_like,
        "rag_passthrough",
        {"question": "question", "context": "context", "answers": "answer", "is_impossible": "unanswerable"},
    ),
    Case("text corpus", text_corpus, "text_only", {"text": "text"}),
    Case("text + constant columns", text_with_constant_columns, "text_only", {"content": "text"}),
    Case(
        "kv, flat fields",
        kv_flat_invoice,
        "kv_to_structured",
        {"text": "text", "vendor": "target.vendor", "invoice_no": "target.invoice_no", "total": "target.total"},
    ),
    Case(
        "kv, slots from questions",
        kv_slots_from_queries,
        "kv_to_structured",
        {"query": "text", "origin": "target.origin", "destination": "target.destination", "date": "target.date"},
    ),
    Case("kv, object field", kv_object_fields, "kv_to_structured", {"document": "text", "fields": "target"}),
    Case("char spans", spans, "span_passthrough", {"text": "text", "entities": "spans"}),
    Case(
        "char spans, presidio spelling",
        spans_presidio_style,
        "span_passthrough",
        {"full_text": "text", "spans": "spans"},
    ),
    Case("BIO tags", bio_tags, "bio_to_spans", {"tokens": "tokens", "ner_tags": "tags"}),
    Case("chat, openai messages", chat_openai, "chat_messages_passthrough", {"messages": "messages"}),
    Case("chat, sharegpt", chat_sharegpt, "chat_messages_passthrough", {"conversations": "messages"}),
    Case("tool calls", tool_calls, "tool_call_passthrough", {"messages": "messages", "tools": "tools"}),
    Case(
        "preference + prompt",
        preference_with_prompt,
        "preference_pair",
        {"prompt": "prompt", "chosen": "chosen", "rejected": "rejected"},
    ),
    Case(
        "preference, hh transcripts",
        preference_hh_transcripts,
        "preference_pair",
        {"chosen": "chosen", "rejected": "rejected"},
    ),
    Case("ids and numbers only", ids_and_numbers, None, {}),
    Case("text + continuous score", text_with_continuous_score, None, {}),
]


def run_case(case: Case, folder: Path):
    rows = case.make(random.Random(case.name))
    assert 60 <= len(rows) <= 200
    return introspect(write_jsonl(folder / "data.jsonl", rows))


def _summary(result) -> str:
    return json.dumps(
        [
            {k: p[k] for k in ("mapper_id", "confidence", "field_map", "evidence")}
            for p in result.to_dict()["proposals"][:3]
        ],
        indent=1,
    )[:4000]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_calibration_table(tmp_path: Path, case: Case) -> None:
    result = run_case(case, tmp_path)
    summary = _summary(result)
    if case.mapper_id is None:
        assert result.accepted is None, summary
        assert all(p.confidence < ACCEPT_THRESHOLD for p in result.proposals), summary
        return
    assert result.accepted is not None, summary
    assert result.accepted.mapper_id == case.mapper_id, summary
    assert result.accepted.confidence >= ACCEPT_THRESHOLD, summary
    for src, dst in case.field_map.items():
        assert result.accepted.field_map.get(src) == dst, summary
    for src in case.also_not:
        assert src not in result.accepted.field_map, summary
    runner_up = next((p for p in result.proposals[1:]), None)
    if runner_up is not None:
        assert runner_up.confidence < result.accepted.confidence, summary


def test_the_shipped_example_names_its_alternative_label() -> None:
    """The packaged example: review -> text, rating -> label (not the product column), and the
    evidence names the product column as the other label candidate."""
    import brewslm

    example = Path(brewslm.__file__).parent / "examples" / "sentiment_reviews.jsonl"
    result = introspect(f"jsonl:{example}")
    accepted = result.accepted
    assert accepted is not None and accepted.mapper_id == "label_to_classification"
    assert accepted.confidence >= ACCEPT_THRESHOLD
    assert accepted.field_map.get("review") == "text" and accepted.field_map.get("rating") == "label"
    assert "product" not in accepted.field_map
    assert any("also label-like" in e and "'product'" in e for e in accepted.evidence), accepted.evidence
