"""The Playground tab: chat with a served model, or call its task endpoint, through the server's
own API.

Routes::

    GET  /playground             the served models (``GET /v1/models``); pick one (``?model=ID``)
    POST /playground/chat        one chat turn: ``POST /v1/chat/completions`` with the conversation
    POST /playground/task        one call of the model's task endpoint (``/v1/classify``,
                                 ``/v1/extract``, ``/v1/spans``, ``/v1/tool_call``, ``/v1/rag/answer``)

Nothing here runs a model or reads a reply: every request goes to the OpenAI-compatible and task
endpoints of the app serving this page (``brewslm.serving``), as an HTTP request through the
app's own ASGI interface (``httpx.ASGITransport``) - the same routes, validation, limits, API key
and error shapes a client gets, with no network hop and no server address to guess. A UI app
that serves no models answers ``/v1/models`` with 404: the page then says how to start one that
does. API errors (OpenAI's ``{"error": {"message"}}``) are shown as their one line.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from brewslm.errors import ConfigError
from brewslm.ui.app import current_settings, render
from brewslm.ui.pages import json_text

router = APIRouter()

API_TIMEOUT_S = 300.0  # the server's own request timeout answers first (a 504 in the error shape)
NO_MODELS = (
    "no model served: start the UI with a model to try, e.g. `brewslm ui --model RUN` (a run name or "
    "folder, an export or a model folder)"
)
CHAT_ENDPOINT = "/v1/chat/completions"
# the task endpoints and the inputs each one's form asks for (request fields: see serving.tasks_api)
TASK_INPUTS: dict[str, tuple[str, ...]] = {
    "/v1/classify": ("input",),
    "/v1/extract": ("input", "constrained"),
    "/v1/spans": ("input", "constrained"),
    "/v1/tool_call": ("message", "tools", "constrained"),
    "/v1/rag/answer": ("question", "top_k"),
}


@dataclass(frozen=True)
class ApiReply:
    """An API response: its status and JSON body, and the error's one line when it failed."""

    status: int
    body: Any
    error: str | None = None

    @property
    def pretty(self) -> str:
        return json_text(self.body)


@dataclass(frozen=True)
class ServedCard:
    """A model of ``/v1/models``."""

    id: str
    task: str | None
    scoring_mode: str | None
    kind: str | None
    endpoints: list[str] = field(default_factory=list)

    @property
    def task_endpoint(self) -> str | None:
        return next((e for e in self.endpoints if e in TASK_INPUTS), None)

    @property
    def task_inputs(self) -> tuple[str, ...]:
        return TASK_INPUTS.get(self.task_endpoint or "", ())

    @property
    def chats(self) -> bool:
        return CHAT_ENDPOINT in self.endpoints


async def call_api(request: Request, method: str, path: str, payload: Mapping[str, Any] | None = None) -> ApiReply:
    """``method path`` on the app serving this request, with the UI's API key as the bearer."""
    import httpx

    settings = current_settings(request)
    headers = {"Authorization": f"Bearer {settings.api_key}"} if settings.api_key else {}
    transport = httpx.ASGITransport(app=request.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", timeout=API_TIMEOUT_S) as client:
        response = await client.request(
            method, path, json=dict(payload) if payload is not None else None, headers=headers
        )
    try:
        body = response.json()
    except ValueError:
        body = {"text": response.text}
    error = None
    if response.status_code >= 400:  # OpenAI's {"error": {"message"}}, or a framework's {"detail"}
        fields = body if isinstance(body, dict) else {}
        detail = fields.get("error")
        message = detail.get("message") if isinstance(detail, dict) else fields.get("detail")
        error = f"{response.status_code}: {message or response.reason_phrase}"
    return ApiReply(response.status_code, body, error)


async def served_models(request: Request) -> tuple[list[ServedCard], str | None]:
    """The served models, or why there are none to show."""
    reply = await call_api(request, "GET", "/v1/models")
    if reply.status == 404 or not isinstance(reply.body, dict) or "data" not in reply.body:
        return [], NO_MODELS if reply.status in (200, 404) else reply.error
    if reply.error:
        return [], reply.error
    cards = [
        ServedCard(
            id=str(m.get("id")),
            task=m.get("task"),
            scoring_mode=m.get("scoring_mode"),
            kind=m.get("kind"),
            endpoints=list(m.get("endpoints") or []),
        )
        for m in reply.body["data"]
        if isinstance(m, dict)
    ]
    return cards, None if cards else NO_MODELS


def _pick(cards: list[ServedCard], model_id: str) -> ServedCard | None:
    return next((c for c in cards if c.id == model_id), cards[0] if cards else None)


# --- requests from the forms ---------------------------------------------------------------------


def _json_field(text: str, name: str, expected: type) -> Any:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise ConfigError(
            f"{name} is not valid JSON ({exc.args[0].split(':')[0]}); write e.g. "
            + ('[{"role": "user", "content": "hi"}]' if expected is list else "{}")
        ) from None
    if not isinstance(value, expected):
        raise ConfigError(f"{name} must be a JSON {expected.__name__}, not {type(value).__name__}")
    return value


def chat_history(text: str) -> list[dict[str, Any]]:
    """The conversation so far, as the page keeps it (a JSON list of ``{role, content}``)."""
    return _json_field(text, "the conversation", list) if text.strip() else []


def chat_request(
    model: str, history: list[dict[str, Any]], message: str, max_tokens: int | None, temperature: float | None
) -> dict[str, Any]:
    if not message.strip():
        raise ConfigError("the message is empty; write something to send")
    body: dict[str, Any] = {"model": model, "messages": [*history, {"role": "user", "content": message}]}
    if max_tokens:
        body["max_tokens"] = max_tokens
    if temperature is not None:
        body["temperature"] = temperature
    return body


def task_request(endpoint: str, model: str, form: Mapping[str, str]) -> dict[str, Any]:
    """The task endpoint's request body from the form's inputs (``TASK_INPUTS``)."""
    if endpoint not in TASK_INPUTS:
        raise ConfigError(f"'{endpoint}' is not a task endpoint; one of {', '.join(TASK_INPUTS)}")
    body: dict[str, Any] = {"model": model}
    inputs = TASK_INPUTS[endpoint]
    for name in ("input", "question"):
        if name in inputs:
            body[name] = form.get(name, "")
    if "constrained" in inputs:
        body["constrained"] = form.get("constrained") == "true"
    if "top_k" in inputs and form.get("top_k", "").strip():
        body["top_k"] = int(form["top_k"]) if form["top_k"].strip().isdigit() else form["top_k"]
    if "message" in inputs:
        body["messages"] = [{"role": "user", "content": form.get("message", "")}]
        body["tools"] = _json_field(form.get("tools") or "[]", "tools", list)
    return body


def task_summary(endpoint: str, body: Any) -> list[tuple[str, str]]:
    """The lines of a task reply worth reading first (the whole JSON is shown below them)."""
    if not isinstance(body, dict):
        return []
    if endpoint == "/v1/classify":
        lines = []
        for result in body.get("results") or []:
            routed = f" (routed to {result['routed_label']})" if result.get("routed") else ""
            lines.append(("label", f"{result.get('label')} · confidence {result.get('confidence', 0):.3f}{routed}"))
        return lines
    if endpoint == "/v1/extract":
        return [("output", json.dumps(body.get("output"), ensure_ascii=False)), ("valid", str(body.get("valid")))]
    if endpoint == "/v1/spans":
        spans = [
            f"{s.get('label')}: {s.get('text')} [{s.get('start')}, {s.get('end')})" for s in body.get("spans") or []
        ]
        return [("spans", "; ".join(spans) or "none"), ("valid", str(body.get("valid")))]
    if endpoint == "/v1/tool_call":
        calls = [json.dumps(c, ensure_ascii=False) for c in body.get("calls") or []]
        return [
            ("calls", "; ".join(calls) or "none"),
            ("answer", str(body.get("answer") or "-")),
            ("valid", str(body.get("valid"))),
        ]
    if endpoint == "/v1/rag/answer":
        return [
            ("answer", str(body.get("answer"))),
            ("refused", str(body.get("refused"))),
            ("citations", ", ".join(str(c) for c in body.get("citations") or []) or "none"),
        ]
    return []


# --- routes ------------------------------------------------------------------------------------------


@router.get("/playground", response_class=HTMLResponse)
async def playground_page(request: Request, model: str = "") -> HTMLResponse:
    cards, problem = await served_models(request)
    return render(
        request,
        "playground.html",
        cards=cards,
        problem=problem,
        card=_pick(cards, model),
        history=[],
        history_json="[]",
        reply=None,
        error=None,
    )


@router.post("/playground/chat", response_class=HTMLResponse)
async def playground_chat(request: Request) -> HTMLResponse:
    form = await request.form()
    text = {key: value for key, value in form.items() if isinstance(value, str)}
    model = text.get("model", "")
    error = None
    history: list[dict[str, Any]] = []
    try:
        history = chat_history(text.get("history", ""))
        max_tokens = int(text["max_tokens"]) if text.get("max_tokens", "").strip() else None
        temperature = float(text["temperature"]) if text.get("temperature", "").strip() else None
        body = chat_request(model, history, text.get("message", ""), max_tokens, temperature)
    except (ConfigError, ValueError) as exc:
        error = str(exc)
    else:
        reply = await call_api(request, "POST", CHAT_ENDPOINT, body)
        if reply.error:
            error = reply.error
        else:
            choice = (reply.body.get("choices") or [{}])[0]
            answer = (choice.get("message") or {}).get("content", "")
            history = [*body["messages"], {"role": "assistant", "content": answer}]
    return render(
        request,
        "playground_chat.html",
        model=model,
        history=history,
        history_json=json.dumps(history, ensure_ascii=False),
        error=error,
        max_tokens=text.get("max_tokens", ""),
        temperature=text.get("temperature", ""),
    )


@router.post("/playground/task", response_class=HTMLResponse)
async def playground_task(request: Request) -> HTMLResponse:
    form = await request.form()
    text = {key: value for key, value in form.items() if isinstance(value, str)}
    endpoint = text.get("endpoint", "")
    reply, error = None, None
    try:
        body = task_request(endpoint, text.get("model", ""), text)
    except ConfigError as exc:
        error = str(exc)
    else:
        reply = await call_api(request, "POST", endpoint, body)
        error = reply.error
    return render(
        request,
        "playground_task_reply.html",
        endpoint=endpoint,
        reply=reply,
        error=error,
        summary=task_summary(endpoint, reply.body) if reply and not reply.error else [],
    )


__all__ = [
    "ApiReply",
    "ServedCard",
    "TASK_INPUTS",
    "call_api",
    "chat_request",
    "router",
    "served_models",
    "task_request",
    "task_summary",
]
