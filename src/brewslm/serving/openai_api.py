"""The OpenAI-compatible routes: ``GET /v1/models``, ``POST /v1/chat/completions``, ``POST /v1/completions``.

The official ``openai`` client works unchanged against them (``base_url="http://127.0.0.1:8000/v1"``):

    client.chat.completions.create(model="sentiment", messages=[{"role": "user", "content": "..."}])
    for chunk in client.chat.completions.create(..., stream=True): ...        # server-sent events

- ``model`` picks the served model (a run, recipe, export or adapter id from ``/v1/models``);
  left out, the first served model answers.
- chat messages go through the model's chat template (``ServedModel.chat_prompt_ids``), a
  completion prompt is tokenised as it is;
- ``max_tokens`` (or ``max_completion_tokens``) defaults to the server's ``default_max_tokens``
  for chat and to 16 (OpenAI's default) for completions; above ``max_tokens_limit`` it is a 400;
- ``temperature`` defaults to 0 (greedy): a small fine-tune answers best greedily, and a client
  that wants samples says so; ``seed`` makes sampling repeatable (without one, each request draws
  a fresh seed); ``top_p`` below 1 samples from a nucleus: sampling draws from the 50 most likely
  tokens (transformers' default top-k), and ``top_p`` keeps the fewest of those, most likely first,
  whose probabilities renormalised over the 50 add up to it (``generation.nucleus``; greedy
  decoding ignores it: the most likely token is in every nucleus); ``stop`` takes up to 4 strings;
- ``n`` choices (at most the server's ``max_inputs``): greedy choices are one reply, generated
  once and repeated (as OpenAI's are alike); sampled choices each draw with their own seed -
  choice 0 with the request's, choice ``i`` with one derived from it and ``i`` - so a seeded
  request repeats, and choice 0 of ``n`` is the reply to ``n: 1``. ``usage`` counts the prompt
  once and every choice's completion tokens. ``/v1/completions`` takes ``n`` too (choices
  prompt by prompt);
- ``response_format`` ``{"type": "json_object"}`` or ``{"type": "json_schema", "json_schema":
  {"schema": ...}}`` constrains decoding so the reply is a JSON document (of that schema);
- ``stream: true`` answers ``text/event-stream``: one ``data: {chunk}`` per text delta (the first
  carries the role), a last chunk with the ``finish_reason``, with ``stream_options:
  {"include_usage": true}`` a usage chunk (``choices: []``), then ``data: [DONE]``. A stream that
  fails or times out midway ends with a ``data: {"error": ...}`` event (the status line has gone
  out already). A chat stream with ``n`` > 1, ``logprobs`` or tools shown to the model is sent
  once the replies are whole (a reply must be whole to tell a call from an answer, and log-probs
  are scored over it): per choice its opening chunk, one chunk with all its content (and
  log-probs) or its ``tool_calls``, its finishing chunk - the same events, not token by token.
  ``stream_options`` without ``stream`` is a 400, as at OpenAI.
- ``finish_reason`` is ``stop`` (end of turn or a stop string), ``length`` (``max_tokens`` hit) or
  ``tool_calls``.
- chat ``logprobs: true`` (with ``top_logprobs``: 0-20) returns OpenAI's ``choices[i].logprobs.content``:
  per reply token its text, log-probability, ``bytes`` (the token's own bytes: a token may hold
  part of a character) and the ``top_logprobs`` most likely tokens at its position, most likely
  first. ``top_logprobs`` without ``logprobs`` is a 400.
- ``/v1/completions`` takes a prompt as text, token ids, or a list of either (one choice each);
  ``logprobs: k`` returns each reply token's log-probability and the ``k`` most likely tokens at
  its position (OpenAI's ``tokens`` / ``token_logprobs`` / ``top_logprobs`` / ``text_offset``),
  ``echo: true`` puts the prompt before the reply (with ``logprobs``, the prompt tokens' too: the
  first has none), and ``echo`` with ``max_tokens: 0`` scores a text without generating - what an
  engine in front of another server scores labels with (``serving.upstream``). Log-probs (chat and
  completions) are the model's own distribution, teacher-forced over prompt + reply
  (``sequence_scores.token_logprobs``), whatever the temperature or ``top_p``.
  ``response_format`` works here too, as vLLM's completions take it. A completions stream takes
  one prompt, one choice, and no ``logprobs`` or ``echo`` (400 otherwise).
- ``tools`` (function tools) and ``tool_choice`` (``none`` | ``auto`` | ``required`` | a named
  function): the tools are rendered the way the served model knows them - a tool_call fine-tune by
  its own task rendering, the prompt ``/v1/tool_call`` asks; another model by its chat template's
  ``tools`` support, else by the tool_call task's system message - and the reply is read with the
  code ``/v1/tool_call`` reads it with (``serving.chat_tools`` has the details). A reply that reads
  as calls comes back as ``message.tool_calls`` (``id``, ``type: function``, ``function: {name,
  arguments}``: arguments as JSON text), ``content: null`` and ``finish_reason: tool_calls``; any
  other reply is ``content``. ``none`` shows no tools; ``required`` / a named function cannot force
  a call without constrained decoding: one wanted function gets its call started for the model
  (``{"tool": "<name>", "arguments":`` where the reply format is the task's), and a reply that is
  still no call comes back as content. ``parallel_tool_calls: false`` keeps the first call. Assistant
  messages carrying ``tool_calls`` (content may be null) and ``tool`` messages are rendered as the
  tool_call task renders calls and results. ``response_format`` together with shown tools is a 400.

- every chat message needs its ``content`` (a string or text parts; null is a 400 naming
  ``messages[i].content``; an assistant message with ``tool_calls`` may leave it null) and a
  ``tool`` message its ``tool_call_id``, as OpenAI requires. Problems in the values of ``n``,
  ``top_logprobs``, ``tools``, ``tool_choice`` and ``tool_calls`` are 400s naming the field
  (``tools[0].function.name``, ``messages[2].tool_calls[0].function.arguments``).

OpenAI parameters this server does not implement are refused with a 400 naming them when set to
anything but their neutral value (``presence_penalty``, ``frequency_penalty``, ``logit_bias``;
completions' ``suffix`` and ``best_of``), never silently ignored; bookkeeping fields (``user``,
``metadata``, ``store``) are accepted. Unknown fields are 422, like any other schema violation.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import re
import secrets
import time
import uuid
from typing import Any, AsyncIterator, Callable, Literal, Union

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from brewslm.errors import BrewError
from brewslm.inference.constrained import JsonConstraint, JsonPrefixChecker
from brewslm.inference.sequence_scores import TokenLogprobs
from brewslm.serving.chat_tools import ChatPrompt, Turn, chat_prompt, read_calls, read_tool_choice, read_tools
from brewslm.serving.engine import GenerateRequest, GenerateResult, TextStream
from brewslm.serving.errors import (
    API_ERRORS,
    BODY_ERRORS,
    ApiRoute,
    bad_request,
    error_for,
    error_responses,
    field_path,
    timed_out,
)
from brewslm.serving.state import ServerState, Usage, generate, reply_budget, server_state, within_timeout
from brewslm.serving.tasks_api import model_endpoints

COMPLETIONS_DEFAULT_MAX_TOKENS = 16  # OpenAI's default for /v1/completions
MAX_TOP_LOGPROBS = 20  # OpenAI allows 5 for completions, vLLM 20
MAX_STOP_STRINGS = 4

router = APIRouter(route_class=ApiRoute, responses=API_ERRORS)


# --- requests -------------------------------------------------------------------------------------


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TextPart(_Request):
    type: Literal["text"]
    text: str


class ChatMessage(_Request):
    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: Union[str, list[TextPart], None] = None
    name: str | None = None
    tool_call_id: str | None = None
    tool_calls: list[dict[str, Any]] | None = None  # an assistant's calls (checked by chat_tools.read_calls)
    refusal: str | None = None  # sent back by clients that replay a reply; the text of a refusal

    def text(self) -> str:
        if isinstance(self.content, list):
            return "".join(part.text for part in self.content)
        return self.content if self.content is not None else (self.refusal or "")

    def turn(self, index: int) -> Turn:
        """The message as a turn ("developer" is the newer name of the system role), calls read."""
        calls = read_calls(self.tool_calls, f"messages[{index}].tool_calls") if self.tool_calls else ()
        role = "system" if self.role == "developer" else self.role
        return Turn(role=role, content=self.text(), calls=calls, tool_call_id=self.tool_call_id)


class StreamOptions(_Request):
    include_usage: bool = False


class JsonSchemaFormat(_Request):
    name: str = "reply"
    description: str | None = None
    schema_: dict[str, Any] = Field(alias="schema")
    strict: bool | None = None


class ResponseFormat(_Request):
    type: Literal["text", "json_object", "json_schema"]
    json_schema: JsonSchemaFormat | None = None


Stop = Union[str, list[str], None]


class _Sampling(_Request):
    """The generation parameters both endpoints share, and OpenAI's ones this server refuses."""

    model: str | None = None
    max_tokens: int | None = Field(None, ge=1)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    seed: int | None = None
    stop: Stop = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int | None = Field(None, ge=1)
    top_p: float | None = Field(None, gt=0.0, le=1.0)
    presence_penalty: float | None = Field(None, ge=-2.0, le=2.0)
    frequency_penalty: float | None = Field(None, ge=-2.0, le=2.0)
    logit_bias: dict[str, float] | None = None
    user: str | None = None

    @field_validator("stop")
    @classmethod
    def _stops(cls, value: Stop) -> Stop:
        stops = [value] if isinstance(value, str) else (value or [])
        if len(stops) > MAX_STOP_STRINGS:
            raise ValueError(f"at most {MAX_STOP_STRINGS} stop strings")
        if any(not stop for stop in stops):
            raise ValueError("a stop string is empty")
        return value

    def stop_strings(self) -> tuple[str, ...]:
        return (self.stop,) if isinstance(self.stop, str) else tuple(self.stop or ())

    def unsupported(self) -> list[str]:
        """The parameters set to something this server does not do."""
        found = []
        if self.presence_penalty not in (None, 0.0):
            found.append("presence_penalty")
        if self.frequency_penalty not in (None, 0.0):
            found.append("frequency_penalty")
        if self.logit_bias:
            found.append("logit_bias")
        return found


class ChatCompletionRequest(_Sampling):
    messages: list[ChatMessage] = Field(min_length=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    response_format: ResponseFormat | None = None
    logprobs: bool | None = None
    top_logprobs: int | None = None
    tools: list[dict[str, Any]] | None = None  # checked by chat_tools.read_tools (400 naming the field)
    tool_choice: Any = None  # none | auto | required | {"type": "function", "function": {"name"}}
    parallel_tool_calls: bool | None = None
    metadata: dict[str, str] | None = None
    store: bool | None = None

    def message_problem(self) -> tuple[str, str] | None:
        """The first message OpenAI would refuse, as (field path, why); None when all are fine.
        Without this check a content-less message renders as an empty turn and the model answers it."""
        for index, message in enumerate(self.messages):
            if message.content is None and not (
                message.role == "assistant" and (message.tool_calls or message.refusal)
            ):
                return (
                    field_path(("messages", index, "content")),
                    f"a {message.role} message needs its content (a string or a list of text parts; "
                    "an assistant message may carry tool_calls instead)",
                )
            if message.role == "tool" and not message.tool_call_id:
                return (
                    field_path(("messages", index, "tool_call_id")),
                    "a tool message needs the tool_call_id it answers",
                )
        return None

    def top_logprobs_asked(self) -> int | None:
        """The most likely tokens to list per reply token; None: no log-probs asked for."""
        if self.top_logprobs is not None and not 0 <= self.top_logprobs <= MAX_TOP_LOGPROBS:
            raise bad_request(
                f"top_logprobs is {self.top_logprobs}; ask for 0 to {MAX_TOP_LOGPROBS}", param="top_logprobs"
            )
        if not self.logprobs:
            if self.top_logprobs:
                raise bad_request("top_logprobs needs logprobs: true", param="top_logprobs")
            return None
        return self.top_logprobs or 0


Prompt = Union[str, list[str], list[int], list[list[int]]]  # OpenAI: text, token ids, or a list of either


class CompletionRequest(_Sampling):
    prompt: Prompt
    max_tokens: int | None = Field(None, ge=0)  # 0: with echo, score the prompt without generating
    echo: bool | None = None
    suffix: str | None = None
    best_of: int | None = Field(None, ge=1)
    logprobs: int | None = Field(None, ge=0, le=MAX_TOP_LOGPROBS)
    response_format: ResponseFormat | None = None
    return_token_ids: bool | None = None  # vLLM's: each choice's reply tokens as ``token_ids``

    @field_validator("prompt")
    @classmethod
    def _prompts(cls, value: Prompt) -> Prompt:
        if isinstance(value, list) and value and all(isinstance(item, int) for item in value):
            return value  # one prompt of token ids
        prompts = [value] if isinstance(value, str) else value
        if not prompts or any(not prompt for prompt in prompts):
            raise ValueError("a prompt is empty")
        if any(isinstance(prompt, list) and not all(isinstance(t, int) for t in prompt) for prompt in prompts):
            raise ValueError("a prompt is a string or a list of token ids")
        return value

    def prompts(self) -> list[str | list[int]]:
        """Each prompt: a text or a list of token ids."""
        if isinstance(self.prompt, str):
            return [self.prompt]
        if all(isinstance(item, int) for item in self.prompt):
            return [list(self.prompt)]  # type: ignore[arg-type]
        return list(self.prompt)  # type: ignore[arg-type]

    def unsupported(self) -> list[str]:
        found = super().unsupported()
        if self.suffix:
            found.append("suffix")
        if self.best_of not in (None, 1):
            found.append("best_of")
        if self.stream and (self.logprobs is not None or self.echo):
            found.append("logprobs or echo in a stream (ask without stream)")
        return found


# --- responses ------------------------------------------------------------------------------------


class FunctionCall(BaseModel):
    name: str
    arguments: str  # the arguments object as JSON text, as OpenAI sends them


class ToolCall(BaseModel):
    id: str
    type: Literal["function"] = "function"
    function: FunctionCall


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str | None  # None when the reply is tool calls
    tool_calls: list[ToolCall] | None = None


class TopLogprob(BaseModel):
    token: str
    logprob: float
    bytes: list[int]  # the token's own bytes (a token may hold part of a character)


class TokenLogprob(TopLogprob):
    top_logprobs: list[TopLogprob]  # the most likely tokens at its position, most likely first


class ChatLogprobs(BaseModel):
    """OpenAI's chat log-probs: one entry per token of the reply (teacher-forced, see the notes)."""

    content: list[TokenLogprob]
    refusal: None = None


class ChatChoice(BaseModel):
    index: int
    # "stop" (end of turn or a stop string) | "length" (max_tokens reached) | "tool_calls"
    finish_reason: str
    message: AssistantMessage
    logprobs: ChatLogprobs | None = None


class CompletionLogprobs(BaseModel):
    """OpenAI's completion log-probs: one entry per token of the choice's text."""

    tokens: list[str]
    token_logprobs: list[float | None]  # None: the first prompt token (nothing before it)
    top_logprobs: list[dict[str, float] | None]
    text_offset: list[int]


class CompletionChoice(BaseModel):
    index: int
    finish_reason: str
    text: str
    logprobs: CompletionLogprobs | None = None
    token_ids: list[int] | None = None  # with return_token_ids: the reply's tokens (end of turn left out)


class _Reply(BaseModel):
    id: str
    created: int
    model: str  # the served id that answered
    usage: Usage


class ChatCompletion(_Reply):
    object: Literal["chat.completion"] = "chat.completion"
    choices: list[ChatChoice]


class Completion(_Reply):
    object: Literal["text_completion"] = "text_completion"
    choices: list[CompletionChoice]


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "brewslm"
    task: str | None = None  # the task profile the model was fine-tuned for (None: a plain model)
    scoring_mode: str | None = None
    kind: str  # export | recipe | run | model (ModelBundle.kind; a base served beside its adapters: model)
    adapter: bool = False  # a LoRA adapter over a base served beside it
    base: str | None = None  # an adapter's base id
    endpoints: list[str]  # the endpoints this model answers


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


# --- routes ---------------------------------------------------------------------------------------


@router.get("/v1/models", response_model=ModelList)
async def list_models(request: Request) -> ModelList:
    state = server_state(request)
    return ModelList(
        data=[
            ModelCard(**served.describe(), created=state.created, endpoints=model_endpoints(served))
            for served in state.models
        ]
    )


@router.get("/v1/models/{model_id:path}", response_model=ModelCard, responses=error_responses(404, 422))
async def get_model(model_id: str, request: Request) -> ModelCard:
    server_state(request).models.get(model_id)  # 404 for an unknown id
    listing = await list_models(request)
    return next(card for card in listing.data if card.id == model_id)


@router.post("/v1/chat/completions", response_model=ChatCompletion, responses=BODY_ERRORS)
async def chat_completions(body: ChatCompletionRequest, request: Request) -> Any:
    state = server_state(request)
    problem = body.message_problem()
    if problem is not None:
        raise bad_request(f"{problem[0]}: {problem[1]}", param=problem[0])
    _refuse_unsupported(body.unsupported())
    _check_stream_options(body)
    _check_choices(state, body, 1)
    top = body.top_logprobs_asked()
    turns = [message.turn(index) for index, message in enumerate(body.messages)]
    tools = read_tools(body.tools)
    tool_choice = read_tool_choice(body.tool_choice, tools)
    served = state.models.get(body.model)
    budget = reply_budget(
        state,
        body.max_completion_tokens or body.max_tokens,
        state.settings.default_max_tokens,
        "max_completion_tokens" if body.max_completion_tokens else "max_tokens",
    )
    prompt = chat_prompt(served, turns, tools, tool_choice, budget)
    constraint = _constraint(body.response_format)
    if constraint is not None and prompt.reads_calls:
        raise bad_request(
            "response_format with tools: a JSON reply leaves no room for a tool call; drop one of them "
            "(or send tool_choice: none)",
            param="response_format",
        )
    requests = _generate_requests(served.id, [*prompt.ids, *prompt.prefix_ids], budget, body, constraint)
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    if body.stream and len(requests) == 1 and top is None and not prompt.reads_calls:
        # the engine checks the request now: a bad one is an ordinary error response, not a broken stream
        stream = state.engine.stream(requests[0])
        return _sse(_chat_chunks(state, requests[0], stream, completion_id, _include_usage(body)))
    results = await _generate_choices(state, requests)
    logprobs: list[ChatLogprobs | None] = [None] * len(results)
    if top is not None:
        logprobs = await _chat_logprobs(state, served, prompt, results, top)
    completion = ChatCompletion(
        id=completion_id,
        created=int(time.time()),
        model=served.id,
        choices=[
            _chat_choice(index, served, prompt, result, logprobs[index], body.parallel_tool_calls)
            for index, result in enumerate(results)
        ],
        usage=Usage.of(results[0].prompt_tokens, sum(r.completion_tokens for r in results)),
    )
    if body.stream:  # n > 1, logprobs or tools: the whole reply is needed first (see the notes)
        return _sse(_replayed_chunks(completion, _include_usage(body)))
    return completion


@router.post("/v1/completions", response_model=Completion, responses=BODY_ERRORS)
async def completions(body: CompletionRequest, request: Request) -> Any:
    state = server_state(request)
    _refuse_unsupported(body.unsupported())
    _check_stream_options(body)
    served = state.models.get(body.model)
    budget = reply_budget(state, body.max_tokens, COMPLETIONS_DEFAULT_MAX_TOKENS)
    prompts = body.prompts()
    if len(prompts) > state.settings.max_inputs:
        raise bad_request(
            f"{len(prompts)} prompts; this server completes at most {state.settings.max_inputs} per request",
            param="prompt",
        )
    n = _check_choices(state, body, len(prompts))
    prompt_ids = [served.text_prompt_ids(p) if isinstance(p, str) else list(p) for p in prompts]
    owners = [ids for ids in prompt_ids for _ in range(n)]  # each choice's prompt (OpenAI: prompt-major)
    completion_id = f"cmpl-{uuid.uuid4().hex}"
    if budget == 0:
        if not body.echo:
            raise bad_request("max_tokens is 0: there is nothing to return without echo", param="max_tokens")
        for ids in prompt_ids:
            state.engine.check_ids(served, ids, "prompt")
        results = [
            GenerateResult(text="", prompt_tokens=len(ids), completion_tokens=0, finish_reason="length")
            for ids in owners
        ]
    else:
        constraint = _constraint(body.response_format)
        groups = [_generate_requests(served.id, ids, budget, body, constraint) for ids in prompt_ids]
        if body.stream:
            if len(groups) > 1 or n > 1:
                raise bad_request(
                    "streaming takes one prompt and one choice; send the prompts as separate requests "
                    "(or stream /v1/chat/completions, which takes n)",
                    param="n" if n > 1 else "prompt",
                )
            stream = state.engine.stream(groups[0][0])
            return _sse(_completion_chunks(state, groups[0][0], stream, completion_id, _include_usage(body)))
        answered = await asyncio.gather(*(_generate_choices(state, group) for group in groups))
        results = [result for group in answered for result in group]
    logprobs: list[CompletionLogprobs | None] = [None] * len(results)
    if body.logprobs is not None:
        sequences = [[*ids, *result.token_ids] for ids, result in zip(owners, results)]
        scored = await within_timeout(state, state.engine.token_logprobs(served.id, sequences, top=body.logprobs))
        logprobs = [
            _completion_logprobs(served.tokenizer, sequence, len(ids), score, echo=bool(body.echo))
            for sequence, ids, score in zip(sequences, owners, scored)
        ]
    return Completion(
        id=completion_id,
        created=int(time.time()),
        model=served.id,
        choices=[
            CompletionChoice(
                index=i,
                text=(_decode(served.tokenizer, ids) + r.text) if body.echo else r.text,
                finish_reason=r.finish_reason,
                logprobs=logprobs[i],
                token_ids=list(r.token_ids) if body.return_token_ids else None,
            )
            for i, (ids, r) in enumerate(zip(owners, results))
        ],
        usage=Usage.of(sum(len(ids) for ids in prompt_ids), sum(r.completion_tokens for r in results)),
    )


def _decode(tokenizer: Any, ids: list[int]) -> str:
    return tokenizer.decode(ids, skip_special_tokens=False, clean_up_tokenization_spaces=False)


def _completion_logprobs(
    tokenizer: Any, sequence: list[int], prompt_length: int, score: TokenLogprobs, *, echo: bool
) -> CompletionLogprobs:
    """OpenAI's log-probs object over the choice's tokens: the reply's, after the prompt's with echo."""
    first = 0 if echo else prompt_length
    tokens, values, tops, offsets = [], [], [], []
    offset = 0
    for position in range(first, len(sequence)):
        text = _decode(tokenizer, [sequence[position]])
        tokens.append(text)
        offsets.append(offset)
        offset += len(text)
        if position == 0:  # nothing predicts the first token
            values.append(None)
            tops.append(None)
            continue
        values.append(score.logprobs[position - 1])
        top: dict[str, float] = {}
        for token, value in score.top[position - 1]:
            top.setdefault(_decode(tokenizer, [token]), value)
        tops.append(top)
    return CompletionLogprobs(tokens=tokens, token_logprobs=values, top_logprobs=tops, text_offset=offsets)


# --- pieces ---------------------------------------------------------------------------------------


def _refuse_unsupported(names: list[str]) -> None:
    if names:
        raise bad_request(
            f"not supported by this server: {', '.join(names)}; leave them out or at their defaults",
            param=names[0].split(" ")[0],
        )


def _constraint(response_format: ResponseFormat | None) -> JsonConstraint | None:
    """The JSON constraint a ``response_format`` asks for (None: free text); a schema the
    constrained decoder cannot compile is a 400 here, before any model runs."""
    if response_format is None or response_format.type == "text":
        return None
    if response_format.type == "json_object":
        return JsonConstraint({"type": "object"})
    if response_format.json_schema is None:
        raise bad_request(
            "response_format of type json_schema needs a 'json_schema' object with a 'schema'",
            param="response_format.json_schema",
        )
    schema = response_format.json_schema.schema_
    try:
        JsonPrefixChecker(schema)
    except BrewError as exc:
        raise bad_request(f"response_format schema: {exc}", param="response_format.json_schema.schema") from None
    return JsonConstraint(schema)


def _check_stream_options(body: _Sampling) -> None:
    if body.stream_options is not None and not body.stream:
        raise bad_request("stream_options is only allowed with stream: true", param="stream_options")


def _check_choices(state: ServerState, body: _Sampling, prompts: int) -> int:
    """The choices per prompt (``n``); 400 when the request's choices exceed ``max_inputs``."""
    n = body.n or 1
    if n > 1 and n * prompts > state.settings.max_inputs:
        raise bad_request(
            f"n is {n} for {prompts} prompt(s); this server returns at most {state.settings.max_inputs} "
            "choices per request",
            param="n",
        )
    return n


def _generate_requests(
    model_id: str, prompt: list[int], budget: int, body: _Sampling, constraint: JsonConstraint | None
) -> list[GenerateRequest]:
    """One request per choice (``n``): sampled choices each with their own seed (``_choice_seeds``)."""
    temperature = body.temperature or 0.0
    return [
        GenerateRequest(
            model=model_id,
            prompt_ids=list(prompt),
            max_new_tokens=budget,
            temperature=temperature,
            top_p=body.top_p if body.top_p is not None else 1.0,
            seed=seed,
            constraint=constraint,
            stop=body.stop_strings(),
        )
        for seed in _choice_seeds(body.seed, body.n or 1, sampling=temperature > 0)
    ]


def _choice_seeds(seed: int | None, n: int, *, sampling: bool) -> list[int]:
    """Each choice's seed: choice 0 takes the request's (so ``n: 1`` answers as choice 0 of ``n``),
    the others one derived from it and their index; sampling without a seed draws a fresh one per
    request (greedy ignores seeds)."""
    if not sampling:
        return [0] * n
    first = seed if seed is not None else secrets.randbits(31)
    derived = (int.from_bytes(hashlib.sha256(f"{first}:{i}".encode()).digest()[:4], "big") >> 1 for i in range(1, n))
    return [first, *derived]


async def _generate_choices(state: ServerState, requests: list[GenerateRequest]) -> list[GenerateResult]:
    """The choices of one prompt: greedy ones are all the same reply (generated once), sampled ones
    are generated together (the engine batches them)."""
    if len(requests) > 1 and requests[0].temperature == 0:
        result = await generate(state, requests[0])
        return [result] * len(requests)
    return list(await asyncio.gather(*(generate(state, r) for r in requests)))


def _chat_choice(
    index: int,
    served: Any,
    prompt: ChatPrompt,
    result: GenerateResult,
    logprobs: ChatLogprobs | None,
    parallel_tool_calls: bool | None,
) -> ChatChoice:
    """A reply as OpenAI's choice: its tool calls (``finish_reason: tool_calls``) when the prompt
    offered tools and the reply reads as calls, else its text."""
    calls = prompt.calls(served, result.text)
    if parallel_tool_calls is False:
        calls = calls[:1]
    if not calls:
        message = AssistantMessage(content=prompt.prefix + result.text)
        return ChatChoice(index=index, message=message, finish_reason=result.finish_reason, logprobs=logprobs)
    tool_calls = [
        ToolCall(
            id=f"call_{uuid.uuid4().hex[:24]}",
            function=FunctionCall(name=call["tool"], arguments=json.dumps(call["arguments"], ensure_ascii=False)),
        )
        for call in calls
    ]
    message = AssistantMessage(content=None, tool_calls=tool_calls)
    return ChatChoice(index=index, message=message, finish_reason="tool_calls", logprobs=logprobs)


async def _chat_logprobs(
    state: ServerState, served: Any, prompt: ChatPrompt, results: list[GenerateResult], top: int
) -> list[ChatLogprobs | None]:
    """Each reply's token log-probs, teacher-forced over prompt + reply (a forced reply start
    included); a reply shared by greedy choices is scored once."""
    sequences = [(*prompt.ids, *prompt.prefix_ids, *result.token_ids) for result in results]
    distinct = list(dict.fromkeys(sequences))
    scored = await within_timeout(state, state.engine.token_logprobs(served.id, [list(s) for s in distinct], top=top))
    by_sequence = dict(zip(distinct, scored))
    return [_chat_logprobs_of(served.tokenizer, s, len(prompt.ids), by_sequence[s]) for s in sequences]


def _chat_logprobs_of(tokenizer: Any, sequence: tuple[int, ...], start: int, score: TokenLogprobs) -> ChatLogprobs:
    def entry(token: int, logprob: float) -> dict[str, Any]:
        return {"token": _decode(tokenizer, [token]), "logprob": logprob, "bytes": token_bytes(tokenizer, token)}

    return ChatLogprobs(
        content=[
            TokenLogprob(
                **entry(sequence[position], score.logprobs[position - 1]),
                top_logprobs=[TopLogprob(**entry(t, value)) for t, value in score.top[position - 1]],
            )
            for position in range(start, len(sequence))
        ]
    )


_BYTE_TOKEN = re.compile(r"<0x([0-9A-Fa-f]{2})>")


def token_bytes(tokenizer: Any, token: int) -> list[int]:
    """The bytes of one token: its text's UTF-8, or - for a token holding part of a character - its
    raw bytes (a sentencepiece ``<0xNN>`` byte token, a byte-level BPE token's bytes)."""
    text = _decode(tokenizer, [token])
    if "\ufffd" not in text:
        return list(text.encode("utf-8"))
    piece = tokenizer.convert_ids_to_tokens(token)
    if isinstance(piece, str):
        match = _BYTE_TOKEN.fullmatch(piece)
        if match:
            return [int(match.group(1), 16)]
        decoder = _byte_decoder()
        if piece and all(char in decoder for char in piece):
            return [decoder[char] for char in piece]
    return list(text.encode("utf-8"))


@functools.lru_cache(maxsize=1)
def _byte_decoder() -> dict[str, int]:
    """Byte-level BPE's printable stand-in for each byte (GPT-2's ``bytes_to_unicode``), inverted."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1), *range(ord("®"), ord("ÿ") + 1)]
    shifted = [b for b in range(256) if b not in printable]
    table = {chr(b): b for b in printable}
    table.update({chr(256 + i): b for i, b in enumerate(shifted)})
    return table


def _include_usage(body: _Sampling) -> bool:
    return bool(body.stream_options and body.stream_options.include_usage)


def _sse(events: AsyncIterator[dict[str, Any] | str]) -> StreamingResponse:
    async def encoded() -> AsyncIterator[str]:
        async with contextlib.aclosing(events):  # a client that leaves closes the engine stream too
            async for event in events:
                yield f"data: {event if isinstance(event, str) else json.dumps(event, ensure_ascii=False)}\n\n"

    return StreamingResponse(
        encoded(), media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )


async def _stream_deltas(
    state: ServerState, request: GenerateRequest, stream: TextStream
) -> AsyncIterator[tuple[str, Any]]:
    """``("delta", text)`` per piece of the reply, then ``("end", GenerateResult)``, or
    ``("error", body)`` when generation fails or the request times out midway. Leaving early
    (the client went away) closes the engine stream, which takes the row out of its batch."""
    deadline = time.monotonic() + state.settings.request_timeout_s
    try:
        while True:
            try:
                delta = await asyncio.wait_for(stream.__anext__(), max(deadline - time.monotonic(), 0.0))
            except StopAsyncIteration:
                break
            yield "delta", delta
        result = stream.result
        state.metrics.observe_tokens(request.model, result.prompt_tokens, result.completion_tokens)
        yield "end", result
    except asyncio.TimeoutError:
        yield "error", timed_out(state.settings.request_timeout_s).body()
    except Exception as exc:
        yield "error", error_for(exc).body()
    finally:
        await stream.aclose()


async def _chunks(
    state: ServerState,
    request: GenerateRequest,
    stream: TextStream,
    include_usage: bool,
    chunk: Callable[[str | None, str | None], dict[str, Any]],
) -> AsyncIterator[dict[str, Any] | str]:
    """The events of one stream: ``chunk(text, None)`` per delta (``chunk(None, None)`` first: the
    opening chunk), ``chunk(None, finish_reason)`` at the end, the usage chunk when asked for, and
    ``[DONE]``; an error event instead of the end when generation fails."""
    yield chunk(None, None)
    async with contextlib.aclosing(_stream_deltas(state, request, stream)) as events:
        async for kind, value in events:
            if kind == "delta":
                if value:
                    yield chunk(value, None)
            elif kind == "end":
                yield chunk(None, value.finish_reason)
                if include_usage:
                    yield {
                        **chunk(None, None),
                        "choices": [],
                        "usage": Usage.of(value.prompt_tokens, value.completion_tokens).model_dump(),
                    }
            else:
                yield value  # an error body: {"error": {...}}
    yield "[DONE]"


def _chat_chunks(
    state: ServerState, request: GenerateRequest, stream: TextStream, completion_id: str, include_usage: bool
) -> AsyncIterator[dict[str, Any] | str]:
    created = int(time.time())

    def chunk(text: str | None, finish_reason: str | None) -> dict[str, Any]:
        opening = text is None and finish_reason is None
        delta = {"role": "assistant", "content": ""} if opening else ({"content": text} if text is not None else {})
        return {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": request.model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
        }

    return _chunks(state, request, stream, include_usage, chunk)


def _replayed_chunks(completion: ChatCompletion, include_usage: bool) -> AsyncIterator[dict[str, Any] | str]:
    """A finished chat completion as a stream: per choice its opening chunk, one chunk with all
    its content or tool calls (and log-probs), and its finishing chunk; then the usage chunk when
    asked for, and ``[DONE]``."""
    head = {"id": completion.id, "object": "chat.completion.chunk", "created": completion.created}

    def chunk(index: int, delta: dict[str, Any], finish: str | None = None, logprobs: Any = None) -> dict[str, Any]:
        choice = {"index": index, "delta": delta, "finish_reason": finish, "logprobs": logprobs}
        return {**head, "model": completion.model, "choices": [choice]}

    async def events() -> AsyncIterator[dict[str, Any] | str]:
        for choice in completion.choices:
            calls = choice.message.tool_calls
            yield chunk(choice.index, {"role": "assistant", "content": None if calls else ""})
            logprobs = choice.logprobs.model_dump() if choice.logprobs is not None else None
            if calls:
                delta = {"tool_calls": [{"index": k, **call.model_dump()} for k, call in enumerate(calls)]}
                yield chunk(choice.index, delta, logprobs=logprobs)
            elif choice.message.content or logprobs is not None:
                yield chunk(choice.index, {"content": choice.message.content}, logprobs=logprobs)
            yield chunk(choice.index, {}, choice.finish_reason)
        if include_usage:
            yield {**head, "model": completion.model, "choices": [], "usage": completion.usage.model_dump()}
        yield "[DONE]"

    return events()


def _completion_chunks(
    state: ServerState, request: GenerateRequest, stream: TextStream, completion_id: str, include_usage: bool
) -> AsyncIterator[dict[str, Any] | str]:
    created = int(time.time())

    def chunk(text: str | None, finish_reason: str | None) -> dict[str, Any]:
        return {
            "id": completion_id,
            "object": "text_completion",
            "created": created,
            "model": request.model,
            "choices": [{"index": 0, "text": text or "", "finish_reason": finish_reason, "logprobs": None}],
        }

    return _chunks(state, request, stream, include_usage, chunk)


__all__ = [
    "ChatCompletion",
    "ChatCompletionRequest",
    "ChatMessage",
    "Completion",
    "CompletionRequest",
    "ModelCard",
    "ModelList",
    "ResponseFormat",
    "Usage",
    "router",
]
