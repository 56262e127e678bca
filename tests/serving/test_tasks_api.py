"""The task endpoints against a real server: a LoRA classification run plus export folders of the
tiny model for every other task (each with the serving settings a recipe's twist would record:
a confidence threshold and fallback label, a target schema, an indexed document collection), and
the pure pieces that turn replies into answers."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Callable, Iterator

import httpx
import jsonschema
import pytest

from brewslm.export.bundle import EXPORT_RECORD, ModelBundle, ServingSettings, export_record
from brewslm.inference import score_labels
from brewslm.retrieval import CHUNKS_FILE, Document, chunk_documents, write_chunks
from brewslm.serving.app import create_app
from brewslm.serving.served import ServedModels
from brewslm.serving.settings import server_settings
from brewslm.serving.tasks_api import object_problems, spans_of, supports, tool_decision
from brewslm.tasks import get_task_profile
from brewslm.tasks.rendering import REFUSAL
from helpers.tiny_model import save_tiny_causal_lm

ORDER_SCHEMA = {
    "type": "object",
    "properties": {"paid": {"type": "boolean"}, "size": {"enum": ["S", "M", "L"]}},
    "required": ["paid", "size"],
    "additionalProperties": False,
}
WEATHER = {
    "name": "get_weather",
    "description": "Weather of a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
DOCUMENTS = [
    Document("refunds", "Refunds are paid back to your card within five working days of the return."),
    Document("shipping", "Parcels leave the depot every morning and arrive in two days."),
    Document("accounts", "To reset a password, open the login page and follow the link."),
]


def export_folder(
    root: Path,
    base: Path,
    name: str,
    task: str,
    *,
    scoring_mode: str | None = None,
    context: dict[str, Any] | None = None,
    serving: ServingSettings | None = None,
    chunks: list[Any] | None = None,
) -> Path:
    """An export folder (as ``brewslm export`` writes one) of the tiny model fine-tuned for ``task``."""
    folder = root / name
    shutil.copytree(base, folder)
    bundle = ModelBundle(
        name=name,
        kind="run",
        model_dir=folder,
        is_adapter=False,
        base_model=None,
        task=task,
        scoring_mode=scoring_mode,
        render_context={**(context or {}), "scoring_mode": scoring_mode},
        recipe=None,
        eval_report=None,
        serving=serving or ServingSettings(),
    )
    (folder / EXPORT_RECORD).write_text(json.dumps(export_record(bundle, base_model=str(base))), encoding="utf-8")
    if chunks is not None:
        write_chunks(folder / CHUNKS_FILE, chunks)
    return folder


@pytest.fixture(scope="module")
def server(
    sentiment_run: Path, tmp_path_factory: pytest.TempPathFactory, serve: Callable[..., Any]
) -> Iterator[SimpleNamespace]:
    root = tmp_path_factory.mktemp("task-exports")
    # the exports hold the plain tiny model (small init: near-uniform next-token probabilities, so
    # a random "router" is never sure of a label)
    plain = save_tiny_causal_lm(root / "plain-tiny")
    retrieval = {"chunks_file": "chunks.jsonl", "mode": "bm25", "top_k": 2}
    exports = [
        # labels of three tokens each in the tiny tokenizer, so no label wins on length alone
        export_folder(
            root,
            plain,
            "router",
            "classification",
            context={"labels": ["answer", "question", "refund"]},
            serving=ServingSettings(confidence_threshold=0.99, fallback_label="ask_a_human"),
        ),
        export_folder(
            root,
            plain,
            "orders",
            "structured_extraction",
            scoring_mode="field_match",
            context={"fields": ["paid", "size"]},
            serving=ServingSettings(json_schema=ORDER_SCHEMA),
        ),
        export_folder(
            root,
            plain,
            "entities",
            "structured_extraction",
            scoring_mode="span_set",
            context={"span_labels": ["ORG", "PER"]},
        ),
        export_folder(root, plain, "tools", "tool_call"),
        export_folder(
            root,
            plain,
            "faq",
            "rag_qa",
            serving=ServingSettings(retrieval=retrieval),
            chunks=chunk_documents(DOCUMENTS, chunk_chars=200),
        ),
        export_folder(root, plain, "faq-bare", "rag_qa"),
    ]
    models = ServedModels.load([str(sentiment_run), *(str(folder) for folder in exports)])
    with (
        serve(create_app(models, server_settings(api_key="", max_inputs=4))) as url,
        httpx.Client(base_url=url, timeout=120) as http,
    ):
        yield SimpleNamespace(http=http, models=models)


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return response.json()["error"]


# --- /v1/classify --------------------------------------------------------------------------------


def test_classify_gives_label_scoring_probabilities(server: SimpleNamespace) -> None:
    text = "a wonderful, moving film"
    body = ok(server.http.post("/v1/classify", json={"input": text}))
    assert body["model"] == "sentiment" and body["object"] == "classification"  # the first classification model
    (result,) = body["results"]
    probabilities = result["probabilities"]
    assert set(probabilities) == {"negative", "positive"} and math.isclose(sum(probabilities.values()), 1.0)
    assert list(probabilities) == sorted(probabilities, key=lambda label: -probabilities[label])
    assert result["label"] == next(iter(probabilities)) and result["confidence"] == probabilities[result["label"]]
    assert result["routed_label"] == result["label"] and not result["routed"]  # the run has no threshold
    served = server.models.get("sentiment")
    with served.active():  # the server is idle: the same scoring, called directly
        (direct,) = score_labels(
            served.model,
            served.tokenizer,
            [served.render({"text": text, "label": ""})],
            ["negative", "positive"],
            max_seq_len=served.max_seq_len,
        )
    assert all(math.isclose(probabilities[label], p, abs_tol=1e-5) for label, p in direct.probabilities.items())


def test_classify_routes_low_confidence_to_the_fallback(server: SimpleNamespace) -> None:
    texts = ["my card was charged twice", "where is my parcel", "my card was charged twice"]
    body = ok(server.http.post("/v1/classify", json={"model": "router", "inputs": texts}))
    assert body["confidence_threshold"] == 0.99 and body["fallback_label"] == "ask_a_human"  # the bundle's
    assert [r["index"] for r in body["results"]] == [0, 1, 2]
    assert body["results"][0] == {**body["results"][2], "index": 0}
    for result in body["results"]:  # three labels from a random model: never 99% sure
        assert result["routed"] and result["routed_label"] == "ask_a_human" and result["confidence"] < 0.99
    kept = ok(server.http.post("/v1/classify", json={"model": "router", "input": texts[0], "confidence_threshold": 0}))
    assert not kept["results"][0]["routed"] and kept["results"][0]["routed_label"] == kept["results"][0]["label"]
    routed = ok(
        server.http.post("/v1/classify", json={"model": "sentiment", "input": texts[0], "confidence_threshold": 1.0})
    )
    assert routed["results"][0]["routed_label"] == "talk_to_human"  # the classification router's default
    named = ok(
        server.http.post(
            "/v1/classify",
            json={"model": "sentiment", "input": texts[0], "confidence_threshold": 1.0, "fallback_label": "human"},
        )
    )
    assert named["results"][0]["routed_label"] == "human"


def test_classify_refuses_bad_requests(server: SimpleNamespace) -> None:
    both = error_of(server.http.post("/v1/classify", json={"input": "a", "inputs": ["b"]}), 422)
    assert "exactly one of 'input'" in both["message"]
    assert error_of(server.http.post("/v1/classify", json={}), 422)
    assert error_of(server.http.post("/v1/classify", json={"input": ""}), 422)["param"] == "input"
    assert error_of(server.http.post("/v1/classify", json={"input": "a", "confidence_threshold": 2}), 422)
    too_many = error_of(server.http.post("/v1/classify", json={"inputs": ["a"] * 5}), 400)
    assert too_many["param"] == "inputs" and "at most 4" in too_many["message"]
    wrong = error_of(server.http.post("/v1/classify", json={"model": "orders", "input": "a"}), 400)
    assert wrong["code"] == "task_mismatch"
    assert "serves task 'structured_extraction (field_match)'" in wrong["message"]
    assert "models that do: sentiment, router" in wrong["message"]
    plain = error_of(server.http.post("/v1/classify", json={"model": "tiny-base", "input": "a"}), 400)
    assert "plain model without a task" in plain["message"]
    assert (
        error_of(server.http.post("/v1/classify", json={"model": "nope", "input": "a"}), 404)["code"]
        == "model_not_found"
    )


def test_models_list_the_task_endpoints(server: SimpleNamespace) -> None:
    endpoints = {m["id"]: m["endpoints"][2:] for m in ok(server.http.get("/v1/models"))["data"]}
    assert endpoints == {
        "sentiment": ["/v1/classify"],
        "router": ["/v1/classify"],
        "orders": ["/v1/extract"],
        "entities": ["/v1/spans"],
        "tools": ["/v1/tool_call"],
        "faq": ["/v1/rag/answer"],
        "faq-bare": ["/v1/rag/answer"],
        "tiny-base": [],
    }  # the run's shared base


# --- /v1/extract ---------------------------------------------------------------------------------


def test_constrained_extraction_is_valid_against_the_schema(server: SimpleNamespace) -> None:
    body = ok(server.http.post("/v1/extract", json={"input": "Paid order, size M.", "constrained": True}))
    assert body["model"] == "orders" and body["json_schema"] == ORDER_SCHEMA
    assert body["valid"] and body["errors"] == [] and body["finish_reason"] == "stop"
    jsonschema.validate(body["output"], ORDER_SCHEMA)
    assert json.loads(body["raw"]) == body["output"]
    free = ok(server.http.post("/v1/extract", json={"input": "Paid order, size M.", "max_tokens": 16}))
    assert free["valid"] == (free["errors"] == []) == (object_problems(free["output"], ORDER_SCHEMA) == [])
    assert free["usage"]["completion_tokens"] <= 16


def test_object_problems_lists_every_violation() -> None:
    assert object_problems({"paid": True, "size": "S"}, ORDER_SCHEMA) == []
    assert object_problems(None, ORDER_SCHEMA) == ["the reply is not JSON"]
    assert object_problems([1], ORDER_SCHEMA) == ["the reply is a JSON list, not an object"]
    problems = object_problems({"paid": "yes", "colour": "red"}, ORDER_SCHEMA)
    assert any(p.startswith("paid: 'yes' is not of type 'boolean'") for p in problems)
    assert any("'size' is a required property" in p for p in problems)
    assert any("Additional properties" in p for p in problems)
    assert object_problems({"a": 1}, None) == []
    assert "schema is invalid" in object_problems({}, {"type": "frob"})[0]


# --- /v1/spans -----------------------------------------------------------------------------------


def test_spans_endpoint_returns_offsets_into_the_input(server: SimpleNamespace) -> None:
    text = "Ann Lee joined Acme in May."
    body = ok(server.http.post("/v1/spans", json={"input": text, "max_tokens": 24}))
    assert body["model"] == "entities" and body["valid"] == (body["errors"] == [])
    for span in body["spans"]:
        assert text[span["start"] : span["end"]] == span["text"]
    assert all(item["text"] not in text for item in body["unplaced"])
    assert (
        error_of(server.http.post("/v1/spans", json={"model": "orders", "input": text}), 400)["code"] == "task_mismatch"
    )


def test_spans_of_places_located_spans_and_keeps_the_rest() -> None:
    text = "Ann Lee joined Acme in May."
    record = {"text": text, "spans": []}
    reader = get_task_profile("structured_extraction").reply_reader("span_set")
    reply = (
        '[{"text": "Ann Lee", "label": "PER"}, {"text": "Globex", "label": "ORG"}, {"text": "Acme", "label": "ORG"}]'
    )
    placed, unplaced = spans_of(text, reader.parse(reply, record))
    assert [(s.start, s.end, s.label, s.text) for s in placed] == [(0, 7, "PER", "Ann Lee"), (15, 19, "ORG", "Acme")]
    assert [(u.text, u.label) for u in unplaced] == [("Globex", "ORG")]
    assert spans_of(text, reader.parse("not json", record)) == (None, [])


# --- /v1/tool_call -------------------------------------------------------------------------------


def test_tool_call_endpoint_decides_and_checks_calls(server: SimpleNamespace) -> None:
    request = {"messages": [{"role": "user", "content": "Weather in Paris?"}], "tools": [WEATHER], "max_tokens": 24}
    body = ok(server.http.post("/v1/tool_call", json=request))
    assert body["model"] == "tools" and body["valid"] == (body["errors"] == [])
    assert (body["answer"] is None) == bool(body["calls"]) or body["errors"]
    constrained = ok(server.http.post("/v1/tool_call", json={**request, "constrained": True, "max_tokens": 200}))
    for call in constrained["calls"]:  # a call, when the model makes one, is always a valid one
        assert call["tool"] == "get_weather" and constrained["valid"]


def test_tool_call_requests_are_checked_by_the_task_schema(server: SimpleNamespace) -> None:
    ends_with_assistant = {
        "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}],
        "tools": [WEATHER],
    }
    error = error_of(server.http.post("/v1/tool_call", json=ends_with_assistant), 422)
    assert "messages" in error["message"]
    bad_tool = {
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"name": "f", "parameters": {"type": "array"}}],
    }
    assert "tools" in error_of(server.http.post("/v1/tool_call", json=bad_tool), 422)["message"]
    assert error_of(server.http.post("/v1/tool_call", json={"messages": []}), 422)["param"] == "messages"


def test_tool_decision_reads_calls_answers_and_problems() -> None:
    reader = get_task_profile("tool_call").reply_reader()
    record = {"messages": [], "tools": [WEATHER], "calls": []}

    def decide(reply: str) -> tuple[Any, ...]:
        calls, answer, problems = tool_decision(reader.parse(reply, record), [WEATHER])
        return [c.model_dump() for c in calls], answer, problems

    assert decide('{"tool": "get_weather", "arguments": {"city": "Paris"}}') == (
        [{"tool": "get_weather", "arguments": {"city": "Paris"}}],
        None,
        [],
    )
    assert decide("It is sunny.") == ([], "It is sunny.", [])
    calls, _, problems = decide('{"tool": "get_weather", "arguments": {}}')
    assert calls and "'city' is a required property" in problems[0]
    assert "not an offered tool" in decide('{"tool": "book_taxi", "arguments": {}}')[2][0]
    assert decide('{"tool": "get_weather"')[2] == [
        'the reply opens a JSON document but is not a {"tool", "arguments"} call or a list of them'
    ]


# --- /v1/rag/answer ------------------------------------------------------------------------------


def test_rag_answer_retrieves_from_the_indexed_documents(server: SimpleNamespace) -> None:
    body = ok(
        server.http.post(
            "/v1/rag/answer", json={"question": "How long do refunds take to be paid back?", "max_tokens": 16}
        )
    )
    assert body["model"] == "faq" and len(body["passages"]) == 2  # the bundle's top_k
    first = body["passages"][0]
    assert first["index"] == 1 and first["doc_id"] == "refunds" and first["text"] == DOCUMENTS[0].text
    assert first["score"] >= body["passages"][1]["score"]
    assert body["citations"] == [p["index"] for p in body["passages"] if p["cited"]]
    assert not (body["refused"] and body["citations"])
    one = ok(server.http.post("/v1/rag/answer", json={"question": "password reset", "top_k": 1, "max_tokens": 4}))
    assert [p["doc_id"] for p in one["passages"]] == ["accounts"]


def test_rag_answer_from_given_passages_and_its_errors(server: SimpleNamespace) -> None:
    given = ok(
        server.http.post(
            "/v1/rag/answer",
            json={
                "model": "faq-bare",
                "question": "When do parcels leave?",
                "passages": ["Parcels leave at dawn.", "Cats sleep."],
                "max_tokens": 8,
            },
        )
    )
    assert [(p["index"], p["text"], p["doc_id"]) for p in given["passages"]] == [
        (1, "Parcels leave at dawn.", None),
        (2, "Cats sleep.", None),
    ]
    no_index = error_of(server.http.post("/v1/rag/answer", json={"model": "faq-bare", "question": "x"}), 400)
    assert no_index["param"] == "passages" and "no indexed documents" in no_index["message"]
    empty = error_of(
        server.http.post("/v1/rag/answer", json={"model": "faq-bare", "question": "x", "passages": ["  "]}), 422
    )
    assert "passages" in empty["message"]
    assert error_of(server.http.post("/v1/rag/answer", json={"question": ""}), 422)["param"] == "question"


def test_supports_marks_the_passages_an_answer_draws_on() -> None:
    passages = [doc.text for doc in DOCUMENTS]
    assert supports("Refunds are paid back within five working days.", passages) == [True, False, False]
    assert supports("Parcels arrive in two days. Refunds take five working days.", passages) == [True, True, False]
    assert supports(REFUSAL, passages) == [False, False, False]
