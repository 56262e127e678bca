"""The app's published schema: ``GET /openapi.json`` needs the key like every API path, is a
structurally valid OpenAPI 3.1 document (every ``$ref`` resolves, every schema is valid JSON
Schema), and documents on each route the errors it answers, in OpenAI's error shape."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse
from fastapi.testclient import TestClient
from jsonschema import Draft202012Validator

from brewslm.serving.app import API_PREFIXES, create_app
from brewslm.serving.security import api_paths_only
from brewslm.serving.served import ServedModels
from brewslm.serving.settings import server_settings

KEY = "schema-key"
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


@pytest.fixture(scope="module")
def models(served_base_dir: Path) -> ServedModels:
    return ServedModels.load([str(served_base_dir)])


@pytest.fixture(scope="module")
def schema(models: ServedModels) -> dict[str, Any]:
    client = TestClient(create_app(models, server_settings(api_key=KEY)))
    reply = client.get("/openapi.json", headers={"Authorization": f"Bearer {KEY}"})
    assert reply.status_code == 200, reply.text
    return reply.json()


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def resolve(document: dict[str, Any], ref: str) -> Any:
    assert ref.startswith("#/"), f"a $ref outside the document: {ref}"
    node: Any = document
    for part in ref[2:].split("/"):
        assert isinstance(node, dict) and part in node, f"unresolved $ref {ref}"
        node = node[part]
    return node


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield path, method, operation


def test_the_schema_needs_the_key(models: ServedModels) -> None:
    client = TestClient(create_app(models, server_settings(api_key=KEY)))
    refused = client.get("/openapi.json")
    assert refused.status_code == 401 and refused.json()["error"]["code"] == "invalid_api_key"
    assert client.get("/docs").status_code == 401  # the interactive pages stay off (404 behind the key)
    assert client.get("/docs", headers={"Authorization": f"Bearer {KEY}"}).status_code == 404
    assert api_paths_only(API_PREFIXES)("/openapi.json")  # beside the web UI too
    open_schema = TestClient(create_app(models, server_settings(api_key=""))).get("/openapi.json").json()
    assert "security" not in open_schema and "securitySchemes" not in open_schema.get("components", {})


def test_the_schema_is_valid_openapi(schema: dict[str, Any]) -> None:
    assert schema["openapi"].startswith("3.1.") and schema["info"]["title"] and schema["info"]["version"]
    for ref in set(refs(schema)):
        resolve(schema, ref)
    for name, component in schema["components"]["schemas"].items():
        Draft202012Validator.check_schema(component)  # OpenAPI 3.1 schemas are JSON Schema 2020-12
    ids = [operation["operationId"] for _, _, operation in operations(schema)]
    assert len(ids) == len(set(ids))
    for path, method, operation in operations(schema):
        assert operation["responses"], f"{method} {path} documents no response"
        for status, response in operation["responses"].items():
            assert status.isdigit() and response["description"], (path, status)
        declared = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
        assert declared == {part[1:-1] for part in path.split("/") if part.startswith("{")}, path
    assert schema["components"]["securitySchemes"] == {"bearer": {"type": "http", "scheme": "bearer"}}
    assert schema["security"] == [{"bearer": []}]
    assert schema["paths"]["/healthz"]["get"]["security"] == []  # the probe needs no key


def test_every_route_documents_its_errors_in_openai_shape(schema: dict[str, Any]) -> None:
    paths = schema["paths"]
    assert {
        "/v1/models",
        "/v1/models/{model_id}",
        "/v1/chat/completions",
        "/v1/completions",
        "/v1/classify",
        "/v1/extract",
        "/v1/spans",
        "/v1/tool_call",
        "/v1/rag/answer",
        "/metrics",
    } <= set(paths)
    error_ref = "#/components/schemas/ErrorResponse"
    for path, method, operation in operations(schema):
        responses = operation["responses"]
        expected = {"503"} if path == "/healthz" else {"401"}
        if method == "post":
            expected |= {"400", "401", "404", "413", "422"}
            assert operation["requestBody"]["required"] is True, path
        if "{" in path:
            expected |= {"404", "422"}
        assert expected <= set(responses), f"{method} {path}: {sorted(responses)}"
        for status, response in responses.items():
            if status.startswith(("4", "5")):
                assert response["content"]["application/json"]["schema"] == {"$ref": error_ref}, (path, status)
    assert "HTTPValidationError" not in schema["components"]["schemas"]  # no 422 in FastAPI's own shape


def test_answered_errors_fit_the_documented_model(schema: dict[str, Any], models: ServedModels) -> None:
    client = TestClient(create_app(models, server_settings(api_key=KEY, max_request_bytes=64)))
    headers = {"Authorization": f"Bearer {KEY}"}
    answers = [
        client.get("/v1/models"),  # 401
        client.post(
            "/v1/chat/completions",
            content=b"{",  # 400
            headers={**headers, "Content-Type": "application/json"},
        ),
        client.post("/v1/chat/completions", headers=headers, json={"messages": "x" * 100}),  # 413
        client.post("/v1/completions", headers=headers, json={}),  # 422
        client.get("/v1/models/nope", headers=headers),
    ]  # 404
    validator = Draft202012Validator({"$ref": "#/components/schemas/ErrorResponse", "components": schema["components"]})
    assert [a.status_code for a in answers] == [401, 400, 413, 422, 404]
    for answer in answers:
        validator.validate(answer.json())


def test_with_pages_mounted_beside_it_the_schema_and_the_key_are_the_api_alone(models: ServedModels) -> None:
    """``mount`` (how the web UI joins the API) adds routes the API's key does not guard and its
    schema does not list."""

    def mount(app: FastAPI) -> None:
        app.add_api_route("/page", lambda: PlainTextResponse("a mounted page"), methods=["GET"])

    app = create_app(models, server_settings(api_key=KEY), mount=mount)
    client = TestClient(app)
    assert client.get("/page").text == "a mounted page"  # its own access rules, not the API key
    assert client.get("/v1/models").status_code == 401
    assert client.get("/openapi.json").status_code == 401  # the mounted open pages do not open the schema
    paths = client.get("/openapi.json", headers={"Authorization": f"Bearer {KEY}"}).json()["paths"]
    assert "/v1/chat/completions" in paths
    assert all(path.startswith(("/v1/", "/healthz", "/metrics")) for path in paths), sorted(paths)
