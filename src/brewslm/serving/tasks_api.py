"""Task endpoints: structured answers from a fine-tune, in the shape its task promises.

Each endpoint serves the models fine-tuned for one task profile (``TASK_ENDPOINTS``); a request
for a model of another task is a 400 naming the task the model serves and the models that fit.
Without ``model``, the first served model of the endpoint's task answers. Every endpoint renders
the request as the task profile renders a record (``ServedModel.render`` / ``task_prompt_ids``:
the prompt training and evaluation used) and reads the reply with the task profile's reply
reader (``ServedModel.reader``: ``tasks.replies``, the reader evaluation scores with) - no second
copy of either.

- ``POST /v1/classify`` ``{input | inputs, confidence_threshold?, fallback_label?}``: label
  scoring (every candidate label's likelihood; one forward per text), per text the label, its
  probability, every label's probability and the *routed* label: the fallback (the intent
  router's ``talk_to_human``) when the confidence is below the threshold - the bundle's tuned one,
  or the request's. Routing is the classification task's (``tasks.classification.LabelRouter``,
  as evaluation routes).
- ``POST /v1/extract`` ``{input, constrained?}`` (field_match): the JSON object the model
  extracts, validated against the target schema (the bundle's ``json_schema``) with jsonschema:
  ``valid`` and the ``errors``. ``constrained: true`` decodes under the schema, so the reply is
  always a valid document.
- ``POST /v1/spans`` ``{input, constrained?}`` (span_set): the entities as ``{start, end, label,
  text}`` (offsets recovered with ``rendering.locate_spans``); a quoted text the input does not
  contain is listed under ``unplaced``, not dropped.
- ``POST /v1/tool_call`` ``{messages, tools, constrained?}``: the model's decision - ``calls``
  (``{"tool", "arguments"}``, several for parallel calls) or a direct ``answer``; each call is
  checked against the offered tools (``tasks.tool_call.call_problem``: an offered name, arguments
  valid against its JSON schema) into ``valid`` / ``errors``. ``constrained`` decodes calls under
  the tools' schemas while a direct answer stays possible.
- ``POST /v1/rag/answer`` ``{question, top_k?, passages?}``: retrieves ``top_k`` passages from the
  model's indexed documents (the bundle's retrieval settings; or takes the request's
  ``passages``), asks the rag_qa prompt, and returns the answer or the refusal (``refused``), the
  passages it was given (numbered as in the prompt) and ``citations``: the passages that
  support the answer's sentences (``tasks.rag_qa.lexical_faithfulness``; none for a refusal).

Generation endpoints take ``max_tokens`` (default: the task reader's budget) and report
``usage``, ``finish_reason`` and the ``raw`` reply.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Mapping, Sequence

import anyio
from fastapi import APIRouter, Request
from jsonschema import exceptions as jsonschema_errors
from jsonschema import validators
from pydantic import BaseModel, ConfigDict, Field, model_validator

from brewslm.inference.constrained import JsonConstraint
from brewslm.serving.engine import GenerateRequest, GenerateResult
from brewslm.serving.errors import BODY_ERRORS, ApiRoute, bad_request, unprocessable
from brewslm.serving.state import ServerState, Usage, generate, reply_budget, server_state, within_timeout
from brewslm.tasks.classification import LabelRouter
from brewslm.tasks.rag_qa import is_refusal, lexical_faithfulness
from brewslm.tasks.tool_call import as_decision, call_problem

router = APIRouter(route_class=ApiRoute, responses=BODY_ERRORS)

OPENAI_ENDPOINTS = ("/v1/chat/completions", "/v1/completions")
DEFAULT_TOP_K = 3


@dataclass(frozen=True)
class TaskEndpoint:
    path: str
    task: str
    scoring_mode: str | None = None

    @property
    def task_name(self) -> str:
        return f"{self.task} ({self.scoring_mode})" if self.scoring_mode else self.task

    def fits(self, served: Any) -> bool:
        return served.task == self.task and (self.scoring_mode is None or served.scoring_mode == self.scoring_mode)


CLASSIFY = TaskEndpoint("/v1/classify", "classification")
EXTRACT = TaskEndpoint("/v1/extract", "structured_extraction", "field_match")
SPANS = TaskEndpoint("/v1/spans", "structured_extraction", "span_set")
TOOL_CALL = TaskEndpoint("/v1/tool_call", "tool_call")
RAG_ANSWER = TaskEndpoint("/v1/rag/answer", "rag_qa")
TASK_ENDPOINTS = (CLASSIFY, EXTRACT, SPANS, TOOL_CALL, RAG_ANSWER)


def model_endpoints(served: Any) -> list[str]:
    """The endpoints a served model answers: chat and completions, plus its task's endpoint."""
    return [*OPENAI_ENDPOINTS, *(e.path for e in TASK_ENDPOINTS if e.fits(served))]


def task_model(state: ServerState, model_id: str | None, endpoint: TaskEndpoint) -> Any:
    """The model that answers ``endpoint``: the one named (400 when its task does not fit), else
    the first served model of the endpoint's task."""
    fitting = [served.id for served in state.models if endpoint.fits(served)]
    if not model_id:
        if not fitting:
            raise bad_request(
                f"{endpoint.path} needs a {endpoint.task_name} fine-tune and no served model is one; "
                f"served: {_served_tasks(state)}",
                code="task_not_served",
            )
        return state.models.get(fitting[0])
    served = state.models.get(model_id)
    if not endpoint.fits(served):
        serves = f"serves task '{_task_name(served)}'" if served.task else "is a plain model without a task"
        where = f"models that do: {', '.join(fitting)}" if fitting else "no served model does"
        raise bad_request(
            f"model '{served.id}' {serves}; {endpoint.path} needs a {endpoint.task_name} fine-tune ({where})",
            param="model",
            code="task_mismatch",
        )
    if served.reader is None:
        raise bad_request(f"model '{served.id}' has no reader for {endpoint.task_name} replies", param="model")
    return served


def _task_name(served: Any) -> str:
    return f"{served.task} ({served.scoring_mode})" if served.scoring_mode else str(served.task)


def _served_tasks(state: ServerState) -> str:
    return ", ".join(f"{s.id} ({_task_name(s) if s.task else 'no task'})" for s in state.models)


async def _reply(
    state: ServerState,
    served: Any,
    record: Mapping[str, Any],
    max_tokens: int | None,
    constraint: JsonConstraint | None = None,
) -> GenerateResult:
    """The model's reply to ``record`` rendered as its task renders it."""
    budget = reply_budget(state, max_tokens, served.reader.max_new_tokens)
    prompt = served.task_prompt_ids(record, reserve=budget)
    return await generate(
        state, GenerateRequest(model=served.id, prompt_ids=prompt, max_new_tokens=budget, constraint=constraint)
    )


def _schema_constraint(schema: Mapping[str, Any] | None, *, allow_text: bool = False) -> JsonConstraint:
    return JsonConstraint(dict(schema) if schema is not None else {"type": "object"}, allow_text=allow_text)


def _check_record(served: Any, record: Mapping[str, Any]) -> None:
    """Client-built task records (tool_call messages and tools, rag passages) are checked by the
    task profile's own record schema: a problem is a 422 naming the field."""
    rejection = served.profile.validate(dict(record))
    if rejection is not None:
        raise unprocessable(rejection.detail.removeprefix(f"{served.profile.id} record "))


# --- request and response shapes -------------------------------------------------------------------


class TaskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(None, description="A served model id of the endpoint's task; default: the first.")


class GenerationRequest(TaskRequest):
    max_tokens: int | None = Field(None, ge=1, description="Reply budget in tokens; default: the task's.")


class GeneratedReply(BaseModel):
    raw: str  # the model's reply as generated
    finish_reason: str
    usage: Usage

    @classmethod
    def fields_of(cls, result: Any) -> dict[str, Any]:
        return {
            "raw": result.text,
            "finish_reason": result.finish_reason,
            "usage": Usage.of(result.prompt_tokens, result.completion_tokens),
        }


class ClassifyRequest(TaskRequest):
    input: str | None = Field(None, min_length=1)
    inputs: list[str] | None = Field(None, min_length=1)
    confidence_threshold: float | None = Field(None, ge=0.0, le=1.0)
    fallback_label: str | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _one_of(self) -> "ClassifyRequest":
        if (self.input is None) == (self.inputs is None):
            raise ValueError("send exactly one of 'input' (a text) and 'inputs' (a list of texts)")
        if self.inputs is not None and any(not text for text in self.inputs):
            raise ValueError("'inputs' holds an empty text")
        return self

    def texts(self) -> list[str]:
        return [self.input] if self.input is not None else list(self.inputs or [])


class LabelResult(BaseModel):
    index: int
    label: str  # the most likely label
    confidence: float  # its probability
    routed_label: str  # the label, or the fallback label when the confidence is below the threshold
    routed: bool  # the fallback was chosen
    probabilities: dict[str, float]  # every candidate label, most likely first


class ClassifyResponse(BaseModel):
    object: Literal["classification"] = "classification"
    model: str
    results: list[LabelResult]
    confidence_threshold: float | None
    fallback_label: str | None


class ExtractRequest(GenerationRequest):
    input: str = Field(min_length=1)
    constrained: bool = Field(False, description="Decode under the target schema (the reply is always valid).")


class ExtractResponse(GeneratedReply):
    object: Literal["extraction"] = "extraction"
    model: str
    output: Any  # the parsed JSON (None when the reply is not JSON)
    valid: bool  # output is an object valid against json_schema
    errors: list[str]
    json_schema: dict[str, Any] | None


class SpansRequest(ExtractRequest):
    pass


class Span(BaseModel):
    start: int
    end: int
    label: str
    text: str


class UnplacedSpan(BaseModel):
    text: str  # quoted by the model, but not found in the input
    label: str


class SpansResponse(GeneratedReply):
    object: Literal["spans"] = "spans"
    model: str
    spans: list[Span]
    unplaced: list[UnplacedSpan]
    valid: bool  # the reply parsed as a span list
    errors: list[str]


class ToolCallRequest(GenerationRequest):
    messages: list[dict[str, Any]] = Field(min_length=1)
    tools: list[dict[str, Any]] = Field(default_factory=list)
    constrained: bool = Field(False, description="Decode calls under the offered tools' schemas.")


class Call(BaseModel):
    tool: str
    arguments: dict[str, Any]


class ToolCallResponse(GeneratedReply):
    object: Literal["tool_call"] = "tool_call"
    model: str
    calls: list[Call]  # empty: no call (see answer)
    answer: str | None  # the direct answer when the model calls nothing
    valid: bool  # the reply parsed and every call names an offered tool with valid arguments
    errors: list[str]


class RagRequest(GenerationRequest):
    question: str = Field(min_length=1)
    top_k: int | None = Field(None, ge=1, le=50, description="Passages to retrieve; default: the bundle's.")
    passages: list[str] | None = Field(None, min_length=1, description="Answer from these instead of retrieving.")


class Passage(BaseModel):
    index: int  # its number in the prompt ([1], [2]...)
    text: str
    cited: bool  # supports a sentence of the answer
    doc_id: str | None = None
    start: int | None = None
    end: int | None = None
    score: float | None = None  # retrieval score


class RagResponse(GeneratedReply):
    object: Literal["rag_answer"] = "rag_answer"
    model: str
    answer: str
    refused: bool
    passages: list[Passage]
    citations: list[int]


# --- routes -------------------------------------------------------------------------------------


@router.post(CLASSIFY.path, response_model=ClassifyResponse)
async def classify(body: ClassifyRequest, request: Request) -> ClassifyResponse:
    state = server_state(request)
    served = task_model(state, body.model, CLASSIFY)
    texts = body.texts()
    if len(texts) > state.settings.max_inputs:
        raise bad_request(
            f"{len(texts)} inputs; this server classifies at most {state.settings.max_inputs} per request",
            param="inputs",
        )
    threshold = (
        body.confidence_threshold if body.confidence_threshold is not None else served.serving.confidence_threshold
    )
    fallback = body.fallback_label or served.serving.fallback_label
    router = LabelRouter(threshold, fallback)
    labels = served.reader.candidate_labels()
    rendered = [served.render({"text": text, "label": labels[0]}) for text in texts]  # the label is not shown
    scores = await within_timeout(
        state, state.engine.score_labels(served.id, rendered, labels, served.reader.label_replies())
    )
    results = []
    for index, score in enumerate(scores):
        routed_label = router.routed_answer(score.best, score.confidence)
        results.append(
            LabelResult(
                index=index,
                label=score.best,
                confidence=score.confidence,
                routed_label=routed_label,
                routed=routed_label != score.best,
                probabilities=dict(sorted(score.probabilities.items(), key=lambda kv: -kv[1])),
            )
        )
    return ClassifyResponse(
        model=served.id, results=results, confidence_threshold=threshold, fallback_label=router.fallback_label
    )


@router.post(EXTRACT.path, response_model=ExtractResponse)
async def extract(body: ExtractRequest, request: Request) -> ExtractResponse:
    state = server_state(request)
    served = task_model(state, body.model, EXTRACT)
    record = {"text": body.input, "target": {}}
    schema = served.reader.json_schema(record)
    result = await _reply(
        state, served, record, body.max_tokens, _schema_constraint(schema) if body.constrained else None
    )
    output = served.reader.parse(result.text, record)
    errors = object_problems(output, schema)
    return ExtractResponse(
        model=served.id,
        output=output,
        valid=not errors,
        errors=errors,
        json_schema=schema,
        **GeneratedReply.fields_of(result),
    )


def object_problems(value: Any, schema: Mapping[str, Any] | None) -> list[str]:
    """Why ``value`` is not a JSON object valid against ``schema`` (every problem, in document order)."""
    if value is None:
        return ["the reply is not JSON"]
    if not isinstance(value, dict):
        return [f"the reply is a JSON {type(value).__name__}, not an object"]
    if schema is None:
        return []
    try:
        validator = validators.validator_for(schema)(schema)
        validator.check_schema(schema)
    except jsonschema_errors.SchemaError as exc:
        return [f"the model's target schema is invalid, so the reply cannot be checked: {exc.message}"]
    problems = sorted(validator.iter_errors(value), key=lambda e: [str(p) for p in e.absolute_path])
    return [f"{'.'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message}" for e in problems]


@router.post(SPANS.path, response_model=SpansResponse)
async def spans(body: SpansRequest, request: Request) -> SpansResponse:
    state = server_state(request)
    served = task_model(state, body.model, SPANS)
    record = {"text": body.input, "spans": []}
    constraint = _schema_constraint(served.reader.json_schema(record)) if body.constrained else None
    result = await _reply(state, served, record, body.max_tokens, constraint)
    found, unplaced = spans_of(body.input, served.reader.parse(result.text, record))
    return SpansResponse(
        model=served.id,
        spans=found or [],
        unplaced=unplaced,
        valid=found is not None,
        errors=[] if found is not None else ['the reply is not a JSON list of {"text", "label"} objects'],
        **GeneratedReply.fields_of(result),
    )


def spans_of(text: str, parsed: list[dict[str, Any]] | None) -> tuple[list[Span] | None, list[UnplacedSpan]]:
    """The span_set reader's parse of a reply as placed spans (with their text) and the quoted
    texts the input does not contain; None for a reply that did not parse."""
    if parsed is None:
        return None, []
    placed = [Span(**s, text=text[s["start"] : s["end"]]) for s in parsed if "start" in s]
    return placed, [UnplacedSpan(**s) for s in parsed if "start" not in s]


@router.post(TOOL_CALL.path, response_model=ToolCallResponse)
async def tool_call(body: ToolCallRequest, request: Request) -> ToolCallResponse:
    state = server_state(request)
    served = task_model(state, body.model, TOOL_CALL)
    record = {"messages": body.messages, "tools": body.tools, "calls": []}
    _check_record(served, record)
    schema = served.reader.json_schema(record) if body.constrained else None
    constraint = _schema_constraint(schema, allow_text=True) if schema is not None else None
    result = await _reply(state, served, record, body.max_tokens, constraint)
    calls, answer, errors = tool_decision(served.reader.parse(result.text, record), body.tools)
    return ToolCallResponse(
        model=served.id, calls=calls, answer=answer, valid=not errors, errors=errors, **GeneratedReply.fields_of(result)
    )


def tool_decision(parsed: Any, tools: Sequence[Mapping[str, Any]]) -> tuple[list[Call], str | None, list[str]]:
    """The tool_call reader's parse of a reply as (calls, direct answer, problems): each call is
    checked against the offered tools (``tasks.tool_call.call_problem``)."""
    decision = as_decision(parsed)
    if decision is None:
        return [], None, ['the reply opens a JSON document but is not a {"tool", "arguments"} call or a list of them']
    problems = [problem for call in decision.calls if (problem := call_problem(call, tools))]
    return [Call(tool=c["tool"], arguments=dict(c["arguments"])) for c in decision.calls], decision.answer, problems


@router.post(RAG_ANSWER.path, response_model=RagResponse)
async def rag_answer(body: RagRequest, request: Request) -> RagResponse:
    state = server_state(request)
    served = task_model(state, body.model, RAG_ANSWER)
    if body.passages is not None:
        passages = [Passage(index=i, text=text, cited=False) for i, text in enumerate(body.passages, 1)]
    else:
        passages = await _retrieve(state, served, body.question, body.top_k)
    record = {"question": body.question, "passages": [p.text for p in passages], "answer": "", "is_refusal": True}
    _check_record(served, record)
    result = await _reply(state, served, record, body.max_tokens)
    answer = served.reader.parse(result.text, record)
    refused = is_refusal(answer)
    for passage, cited in zip(passages, [False] * len(passages) if refused else supports(answer, record["passages"])):
        passage.cited = cited
    return RagResponse(
        model=served.id,
        answer=answer,
        refused=refused,
        passages=passages,
        citations=[p.index for p in passages if p.cited],
        **GeneratedReply.fields_of(result),
    )


def supports(answer: str, passages: Sequence[str]) -> list[bool]:
    """Per passage, whether it supports a sentence of ``answer`` (the lexical faithfulness scorer
    the rag_qa evaluation uses: enough of the sentence's content words are in the passage)."""
    return [lexical_faithfulness(answer, [passage]).supported > 0 for passage in passages]


async def _retrieve(state: ServerState, served: Any, question: str, top_k: int | None) -> list[Passage]:
    if served.retriever is None:
        raise bad_request(
            f"model '{served.id}' has no indexed documents (its bundle has no retrieval settings); "
            "send the passages to answer from as 'passages'",
            param="passages",
        )
    k = top_k or int((served.serving.retrieval or {}).get("top_k") or DEFAULT_TOP_K)
    # retrieval embeds the question on a worker thread: the event loop keeps serving meanwhile
    hits = await within_timeout(state, anyio.to_thread.run_sync(served.retriever.search, question, k))
    chunks = served.retriever.chunks
    return [
        Passage(
            index=i,
            text=chunks[hit.index].text,
            cited=False,
            doc_id=chunks[hit.index].doc_id,
            start=chunks[hit.index].start,
            end=chunks[hit.index].end,
            score=hit.score,
        )
        for i, hit in enumerate(hits, 1)
    ]


__all__ = [
    "TASK_ENDPOINTS",
    "TaskEndpoint",
    "model_endpoints",
    "object_problems",
    "router",
    "spans_of",
    "supports",
    "task_model",
    "tool_decision",
]
