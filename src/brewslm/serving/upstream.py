"""An engine in front of another server: our endpoints, its model runs.

    models = ServedModels.load(["intent-export"], weights=False)     # tokenizers and tasks, no weights
    engine = UpstreamEngine(models, "http://127.0.0.1:8001", dialect="vllm")
    app = create_app(models, settings, engine=engine)                # /v1/classify etc. answered by vLLM

``UpstreamEngine`` has the ``Engine``'s interface (``generate``, ``stream``, ``score_labels``,
``token_logprobs``, ``check_ids``, ``stats``, ``start`` / ``stop``) and runs every request on an
OpenAI-compatible ``/v1/completions`` endpoint that takes token ids as the prompt (OpenAI's own
API allows it; vLLM and ``brewslm serve`` do it). So the prompt tokens are the ones this server
renders (chat template, task rendering, cuts) - the other engine never re-tokenises them - and the
replies are parsed here by the task's reply reader, as with the local engine:

- generation: ``prompt`` = the ids, ``max_tokens``, ``temperature``, ``top_p`` (below 1),
  ``seed``, ``stop``, a JSON constraint as ``response_format`` (``json_schema``),
  ``return_token_ids`` (the reply's tokens, for its log-probs); ``stream`` reads the server-sent events as text deltas;
- label scoring (``/v1/classify``): every ``prompt + label`` sequence of
  ``label_scoring.label_sequences`` is scored with ``echo`` + ``max_tokens: 0`` + ``logprobs: 0``
  (teacher-forced token log-probs of the prompt), and each label's tokens are summed - the sums
  ``label_scoring.score_labels`` computes locally, so the labels, probabilities and confidence are
  the same up to the engines' float rounding;
- ``dialect="vllm"``: also sends ``stop_token_ids`` (the template's end-of-turn tokens, which vLLM
  would otherwise only know from the folder's generation config).

A constraint that allows free text besides JSON (``/v1/tool_call`` with ``constrained``: a call or
a direct answer) has no ``response_format`` equivalent and is refused with a one-line error; the
model ids must be the names the other server serves them under (``serving.vllm`` starts vLLM so).
Failures of the other server are errors of the request (502 ``upstream_error`` with its message;
a server that cannot be reached: 503).
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import time
from collections import Counter
from typing import Any, AsyncIterator, Iterator, Mapping, Sequence

from brewslm.errors import BrewError, ConfigError
from brewslm.inference.generation import ids_within
from brewslm.inference.label_scoring import LabelScores, check_labels, label_sequences
from brewslm.inference.sequence_scores import TokenLogprobs
from brewslm.serving.engine import COUNTERS, EngineStopped, GenerateRequest, GenerateResult, check_ids, check_request
from brewslm.serving.served import ServedModel, ServedModels
from brewslm.serving.settings import UPSTREAM_KEY_ENV
from brewslm.serving.vllm import running_vllm, vllm_launch
from brewslm.tasks.rendering import Rendered

DIALECTS = ("openai", "vllm")
MAX_PROMPTS_PER_REQUEST = 64  # what ``brewslm serve`` takes at once (``max_inputs``); vLLM takes any


class UpstreamError(BrewError):
    """The other server answered a request with an error (HTTP 502 ``upstream_error``)."""


class UpstreamUnavailable(BrewError):
    """The other server could not be reached (HTTP 503)."""


class UpstreamStream:
    """A streaming generation from the other server: async-iterates text deltas; ``result`` (the
    ``GenerateResult``) is set once the iteration ends; ``aclose()`` ends the request."""

    def __init__(self, events: AsyncIterator[str | GenerateResult]):
        self._events = events
        self._done = False
        self.result: GenerateResult | None = None

    def __aiter__(self) -> "UpstreamStream":
        return self

    async def __anext__(self) -> str:
        if self._done:
            raise StopAsyncIteration
        try:
            item = await self._events.__anext__()
        except StopAsyncIteration:
            self._done = True
            raise
        except BaseException:
            await self.aclose()
            raise
        if isinstance(item, GenerateResult):
            self.result = item
            self._done = True
            await self._events.aclose()
            raise StopAsyncIteration
        return item

    async def aclose(self) -> None:
        self._done = True
        await self._events.aclose()

    async def __aenter__(self) -> "UpstreamStream":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.aclose()


class UpstreamEngine:
    """The ``Engine`` interface over another OpenAI-compatible server (see the module notes)."""

    def __init__(
        self,
        models: ServedModels,
        base_url: str,
        *,
        api_key: str | None = None,
        dialect: str = "openai",
        timeout_s: float = 600.0,
    ):
        if dialect not in DIALECTS:
            raise ConfigError(f"upstream dialect '{dialect}' is unknown; use one of {', '.join(DIALECTS)}")
        self.models = models
        self.base_url = base_url.rstrip("/")
        self.api_key = api_key
        self.dialect = dialect
        self.timeout_s = timeout_s
        self.batching = True  # the other server batches
        self._client: Any = None
        self._stopped = False
        self._counts: Counter[str] = Counter()
        self._busy_s = 0.0

    # --- life cycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        import httpx

        if self._stopped:
            raise EngineStopped("the engine has been stopped; the server is shutting down")
        if self._client is None:
            headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
            self._client = httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=self.timeout_s)

    async def stop(self) -> None:
        self._stopped = True
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def __aenter__(self) -> "UpstreamEngine":
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    check_ids = staticmethod(check_ids)

    # --- requests ----------------------------------------------------------------------------------

    async def generate(self, request: GenerateRequest) -> GenerateResult:
        served = check_request(self.models, request)
        body = self._generation_body(served, request)
        started = time.perf_counter()
        reply = await self._post(body)
        self._count_time(started)
        choice = reply["choices"][0]
        usage = reply.get("usage") or {}
        return self._result(served, request, choice.get("text") or "", choice, usage)

    def stream(self, request: GenerateRequest) -> UpstreamStream:
        """Checked now (errors raise here, before anything is streamed); the other server is
        called when the stream is first read."""
        served = check_request(self.models, request)
        body = {**self._generation_body(served, request), "stream": True, "stream_options": {"include_usage": True}}
        return UpstreamStream(self._events(served, request, body))

    async def score_labels(
        self,
        model: str | None,
        prompts: Sequence[Rendered],
        labels: Sequence[str],
        replies: Sequence[str] | None = None,
    ) -> list[LabelScores]:
        """Label scores as ``Engine.score_labels`` gives them, from the other server's token log-probs."""
        served = self.models.get(model)
        labels = check_labels(labels)
        rendered = list(prompts)
        for item in rendered:
            if not isinstance(item, Rendered) or not item.is_chat:
                raise ConfigError("label scoring takes chat renderings of task records (ServedModel.render)")
        if not rendered:
            return []
        sequences = label_sequences(served.tokenizer, rendered, labels, replies=replies, max_seq_len=served.max_seq_len)
        flat = [[*prompt, *tokens] for prompt, label_tokens in sequences for tokens in label_tokens]
        scored = await self.token_logprobs(served.id, flat)
        out, position = [], 0
        for _, label_tokens in sequences:
            sums = {}
            for label, tokens in zip(labels, label_tokens):
                values = scored[position].logprobs
                sums[label] = float(sum(values[len(values) - len(tokens) :]))
                position += 1
            out.append(LabelScores.from_logprobs(sums))
        return out

    async def token_logprobs(
        self, model: str | None, sequences: Sequence[Sequence[int]], *, top: int = 0
    ) -> list[TokenLogprobs]:
        served = self.models.get(model)
        if top:
            # the other server names its most likely tokens by their text, which does not map back
            # to token ids one to one
            raise ConfigError(
                "top log-probs are not relayed from the upstream engine; ask it directly, or use logprobs 0"
            )
        checked = [check_ids(served, ids, "sequence") for ids in sequences]
        out: list[TokenLogprobs] = []
        for start in range(0, len(checked), MAX_PROMPTS_PER_REQUEST):
            chunk = checked[start : start + MAX_PROMPTS_PER_REQUEST]
            body = {"model": served.id, "prompt": chunk, "max_tokens": 0, "echo": True, "logprobs": 0}
            started = time.perf_counter()
            reply = await self._post(body)
            self._count_time(started)
            choices = sorted(reply["choices"], key=lambda c: c["index"])
            if len(choices) != len(chunk):
                raise UpstreamError(f"the upstream server scored {len(choices)} of {len(chunk)} sequences")
            out.extend(_token_logprobs(choice, ids) for choice, ids in zip(choices, chunk))
        return out

    # --- the other server ---------------------------------------------------------------------------

    def _generation_body(self, served: ServedModel, request: GenerateRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": served.id,
            "prompt": list(request.prompt_ids),
            "max_tokens": request.max_new_tokens,
            "temperature": request.temperature,
            "seed": request.seed,
            "return_token_ids": True,
        }
        if request.stop:
            body["stop"] = list(request.stop)
        if request.top_p < 1.0:
            body["top_p"] = request.top_p
        constraint = request.constraint
        if constraint is not None:
            if constraint.allow_text:
                raise ConfigError(
                    "a constraint that allows a free-text reply besides JSON (a tool call or a direct answer) "
                    "runs on the local engine only; send constrained: false, or serve with --engine local"
                )
            schema = constraint.schema if constraint.schema is not True else {}
            body["response_format"] = {"type": "json_schema", "json_schema": {"name": "reply", "schema": schema}}
        if self.dialect == "vllm":
            body["stop_token_ids"] = sorted(served.decode_tokens.stop_ids)
        return body

    def _result(
        self,
        served: ServedModel,
        request: GenerateRequest,
        text: str,
        choice: Mapping[str, Any],
        usage: Mapping[str, Any],
    ) -> GenerateResult:
        stops = served.decode_tokens.stop_ids
        ids = [int(t) for t in choice.get("token_ids") or []]
        while ids and ids[-1] in stops:
            ids.pop()
        completion = int(usage.get("completion_tokens", len(choice.get("token_ids") or [])))
        prompt = int(usage.get("prompt_tokens", len(request.prompt_ids)))
        self._counts["completed"] += 1
        self._counts["prompt_tokens"] += prompt
        self._counts["generated_tokens"] += completion
        return GenerateResult(
            text=text,
            prompt_tokens=prompt,
            completion_tokens=completion,
            finish_reason="length" if choice.get("finish_reason") == "length" else "stop",
            token_ids=ids_within(served.tokenizer, ids, text),
        )

    async def _events(
        self, served: ServedModel, request: GenerateRequest, body: dict[str, Any]
    ) -> AsyncIterator[str | GenerateResult]:
        import httpx

        client = self._client_or_fail()
        self._counts["requests"] += 1
        text, ids, finish, usage = [], [], None, {}
        started = time.perf_counter()
        try:
            async with client.stream("POST", "/v1/completions", json=body) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise _error_of(response)
                async for line in response.aiter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[len("data:") :].strip()
                    if data == "[DONE]":
                        break
                    event = json.loads(data)
                    if "error" in event:
                        raise UpstreamError(f"upstream server: {_message(event['error'])}")
                    usage = event.get("usage") or usage
                    for choice in event.get("choices") or []:
                        ids.extend(choice.get("token_ids") or [])
                        finish = choice.get("finish_reason") or finish
                        if choice.get("text"):
                            text.append(choice["text"])
                            yield choice["text"]
        except httpx.TransportError as exc:
            self._counts["failed"] += 1
            raise UpstreamUnavailable(f"the upstream server at {self.base_url} cannot be reached: {exc}") from None
        finally:
            self._count_time(started)
        yield self._result(served, request, "".join(text), {"token_ids": ids, "finish_reason": finish}, usage)

    async def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        import httpx

        client = self._client_or_fail()
        self._counts["requests"] += 1
        try:
            response = await client.post("/v1/completions", json=body)
        except httpx.TransportError as exc:
            self._counts["failed"] += 1
            raise UpstreamUnavailable(f"the upstream server at {self.base_url} cannot be reached: {exc}") from None
        if response.status_code >= 400:
            self._counts["failed"] += 1
            raise _error_of(response)
        return response.json()

    def _client_or_fail(self) -> Any:
        if self._stopped:
            raise EngineStopped("the server is shutting down; retry the request")
        if self._client is None:
            raise EngineStopped("the engine has not started")
        return self._client

    def _count_time(self, started: float) -> None:
        self._busy_s += time.perf_counter() - started

    # --- numbers -------------------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """The counters ``/metrics`` reads (``Engine.stats``'s keys; batching happens upstream)."""
        out: dict[str, Any] = {key: self._counts.get(key, 0) for key in COUNTERS}
        out.update(batch_sizes={}, busy_seconds=self._busy_s, running=0, queue_depth=0, batching=True)
        out["upstream"] = self.base_url
        return out


def _token_logprobs(choice: Mapping[str, Any], ids: Sequence[int]) -> TokenLogprobs:
    """An echoed choice's log-probs as ``TokenLogprobs`` (its first entry, the first token, has none)."""
    logprobs = choice.get("logprobs") or {}
    values = logprobs.get("token_logprobs") or []
    if len(values) != len(ids):
        raise UpstreamError(
            f"the upstream server returned {len(values)} token log-probs for a {len(ids)}-token sequence; "
            "it must echo token-id prompts with their log-probs (vLLM and brewslm serve do)"
        )
    return TokenLogprobs([float(v) for v in values[1:]], [[] for _ in ids[1:]])


def _message(error: Any) -> str:
    if isinstance(error, Mapping):
        return str(error.get("message") or error)
    return str(error)


def _error_of(response: Any) -> BrewError:
    try:
        payload = response.json()
    except (json.JSONDecodeError, ValueError):
        payload = {"message": response.text[:300]}
    message = _message(payload.get("error", payload) if isinstance(payload, Mapping) else payload)
    if response.status_code in (400, 404, 413, 422):
        return ConfigError(f"upstream server ({response.status_code}): {message}")
    return UpstreamError(f"upstream server ({response.status_code}): {message}")


@contextlib.contextmanager
def open_engine(settings: Any, models: ServedModels, *, progress: Any = None) -> Iterator[Any]:
    """The engine ``settings.engine`` names, for the duration of the block: None for ``local``
    (``create_app`` builds the batching ``Engine``), an ``UpstreamEngine`` on ``upstream_url``
    (key: ``BREWSLM_UPSTREAM_API_KEY``), or one on a vLLM server started here (``serving.vllm``)
    and stopped with the block. ``models`` must be loaded without weights for the last two."""
    if settings.engine == "local":
        yield None
        return
    if settings.engine == "upstream":
        yield UpstreamEngine(models, settings.upstream_url, api_key=os.environ.get(UPSTREAM_KEY_ENV) or None)
        return

    launch = vllm_launch(models, python=settings.vllm_python, extra_args=shlex.split(settings.vllm_args))
    with running_vllm(launch, progress=progress) as url:
        yield UpstreamEngine(models, url, dialect="vllm")


__all__ = ["DIALECTS", "UpstreamEngine", "UpstreamError", "UpstreamStream", "UpstreamUnavailable", "open_engine"]
