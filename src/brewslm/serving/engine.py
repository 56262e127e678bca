"""The engine: one worker thread runs every model call, batching concurrent requests dynamically.

    engine = Engine(models, batching=True, window_ms=10, max_batch_size=16)
    await engine.start()
    result = await engine.generate(GenerateRequest(model="intent", prompt_ids=ids, max_new_tokens=32))
    stream = engine.stream(request)            # validated now; text deltas as tokens arrive
    async for delta in stream: ...             # then stream.result: the GenerateResult
    scores = await engine.score_labels("intent", [rendered], ["billing", "refund"])
    logprobs = await engine.token_logprobs("intent", [ids], top=2)   # teacher-forced, per token
    await engine.stop()

How requests become batches:

- requests are validated when they are made (unknown model: ``ModelNotFound``; an empty or
  out-of-vocabulary prompt, a budget the model's context cannot hold, a bad temperature:
  ``ConfigError``), so a bad request never reaches a batch;
- one worker thread owns the models: torch calls never overlap, and the event loop never runs
  one. The worker takes the oldest queued request, then every request that arrives within
  ``window_ms`` of it (those already waiting join at once) up to ``max_batch_size``, groups them
  by model id - and label scoring by model and label set - and runs each group as one batch
  (``generation.decode_rows`` / ``label_scoring.score_labels`` / ``sequence_scores.token_logprobs``),
  switching the shared base's
  adapter between groups. ``batching=False`` runs requests one at a time (the benchmark's
  baseline);
- each row of a generation batch has its own budget, temperature, top_p, seed, JSON constraint
  and stop strings; greedy rows give the same reply batched or alone (float32; see ``generation``), and
  sampled rows draw from their own seeded stream. A row's result is delivered the moment it ends,
  while its batch-mates go on;
- a streaming request gets its text as it is generated (``TextStream``); when its consumer goes
  away (``aclose``, a cancelled task, or the stream dropped), the request is marked cancelled and
  its row leaves the batch at the next step. A cancelled ``generate`` call does the same;
- errors stay with their request: a constraint that cannot be compiled fails its own request
  only, and when a whole batch fails (e.g. out of memory) every request that has not yet streamed
  anything is retried on its own.

``stats()`` counts requests, batches, rows and tokens for ``/metrics``.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from brewslm.errors import BrewError, ConfigError
from brewslm.inference.constrained import JsonConstraint
from brewslm.inference.generation import DecodeRow, Generation, check_budget, decode_rows
from brewslm.inference.label_scoring import LabelScores, check_labels, score_labels
from brewslm.inference.sequence_scores import TokenLogprobs, token_logprobs
from brewslm.serving.served import ServedModel, ServedModels
from brewslm.tasks.rendering import Rendered

logger = logging.getLogger("brewslm.serving")

COUNTERS = (
    "requests",
    "completed",
    "failed",
    "cancelled",
    "batches",
    "batch_rows",
    "prompt_tokens",
    "generated_tokens",
)
"""The counters every engine's ``stats()`` reports (``/metrics`` reads them)."""


class EngineStopped(BrewError):
    """The engine was stopped (the server is shutting down) before the request could finish."""


@dataclass(frozen=True)
class GenerateRequest:
    model: str | None  # a served id; None or "" -> the default model
    prompt_ids: Sequence[int]
    max_new_tokens: int
    temperature: float = 0.0
    seed: int = 0
    constraint: JsonConstraint | None = None
    stop: tuple[str, ...] = ()
    top_p: float = 1.0  # sampling: the nucleus of the top-k draw (generation's notes)


@dataclass(frozen=True)
class GenerateResult:
    text: str  # the reply, without its end-of-turn token or stop string
    prompt_tokens: int
    completion_tokens: int  # tokens generated (an end-of-turn token included)
    finish_reason: str  # "stop" (end of turn or a stop string) | "length" (the budget ran out)
    token_ids: tuple[int, ...] = ()  # the tokens of ``text`` (for their log-probs)


def check_ids(served: ServedModel, ids: Sequence[int], what: str) -> list[int]:
    """``ids`` as a list when every one is a token of ``served``'s vocabulary and they fit its
    context; a one-line ``ConfigError`` naming ``what`` (prompt, sequence) otherwise."""
    if not ids:
        raise ConfigError(f"the {what} has no tokens; send some text")
    vocabulary = served.vocab_size
    if any(not isinstance(t, int) or isinstance(t, bool) or t < 0 or t >= vocabulary for t in ids):
        raise ConfigError(f"the {what} holds a token id outside model '{served.id}''s vocabulary (0..{vocabulary - 1})")
    if len(ids) > served.context_length:
        raise ConfigError(
            f"the {what} ({len(ids)} tokens) exceeds model '{served.id}''s context of "
            f"{served.context_length} tokens; shorten it"
        )
    return list(ids)


def check_request(models: ServedModels, request: GenerateRequest) -> ServedModel:
    """The served model a generation request names, once the request is found sound (budget,
    temperature, prompt ids, context, stop strings) - checked before it is queued, by any engine."""
    served = models.get(request.model)
    check_budget(request.max_new_tokens, request.temperature, request.top_p)
    prompt = check_ids(served, request.prompt_ids, "prompt")
    if len(prompt) + request.max_new_tokens > served.context_length:
        raise ConfigError(
            f"the prompt ({len(prompt)} tokens) plus max_tokens ({request.max_new_tokens}) exceed "
            f"model '{served.id}''s context of {served.context_length} tokens; shorten the prompt "
            "or ask for fewer tokens"
        )
    if any(not isinstance(s, str) for s in request.stop):
        raise ConfigError("stop must be a list of strings")
    return served


@dataclass(eq=False)
class _Job:
    """One request on its way through the worker; results go back to the caller's event loop."""

    served: ServedModel
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future
    request: GenerateRequest | None = None  # a generation ...
    rendered: list[Rendered] | None = None  # ... or label scoring
    labels: tuple[str, ...] = ()
    replies: tuple[str, ...] | None = None  # the text scored for each label (None: the labels)
    sequences: list[list[int]] | None = None  # ... or token log-probs of these ids
    top: int = 0  # with the ``top`` most likely tokens at each position
    texts: asyncio.Queue | None = None  # streaming: text deltas, then _END
    arrived: float = field(default_factory=time.monotonic)
    cancelled: threading.Event = field(default_factory=threading.Event)
    streamed: bool = False  # some text has gone out (it cannot be taken back by a retry)
    ended: bool = False  # the result (or error) has been handed over

    @property
    def group(self) -> tuple[Any, ...]:
        if self.request is not None:
            return ("generate", self.served.id)
        if self.sequences is not None:
            return ("logprobs", self.served.id, self.top)
        return ("score", self.served.id, self.labels, self.replies)

    def _call(self, fn: Callable[..., Any], *args: Any) -> None:
        try:
            self.loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the caller's event loop is closed: nobody is waiting any more
            pass

    def text(self, delta: str) -> None:
        if self.texts is not None:
            self.streamed = True
            self._call(self.texts.put_nowait, delta)

    def finish(self, result: Any = None, error: BaseException | None = None, *, cancel: bool = False) -> None:
        if self.ended:
            return
        self.ended = True
        self._call(_settle, self.future, result, error, cancel)
        if self.texts is not None:
            self._call(self.texts.put_nowait, _END)


_END = object()  # a stream's last item: its result (or error) is in the job's future
_STOP = object()  # asks the worker to end


def _settle(future: asyncio.Future, result: Any, error: BaseException | None, cancel: bool) -> None:
    if future.done():  # the caller gave up (cancelled)
        return
    if cancel:
        future.cancel()
    elif error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class TextStream:
    """A streaming generation: async-iterates the reply's text deltas; ``result`` (the
    ``GenerateResult``: finish reason, token counts) is set once the iteration ends. ``aclose()``
    - or dropping the stream, or cancelling the task reading it - cancels the request."""

    def __init__(self, job: _Job):
        self._job = job
        self._done = False
        self.result: GenerateResult | None = None

    def __aiter__(self) -> "TextStream":
        return self

    async def __anext__(self) -> str:
        if self._done:
            raise StopAsyncIteration
        assert self._job.texts is not None
        try:
            item = await self._job.texts.get()
        except BaseException:  # cancelled while waiting: the consumer is gone
            self.cancel()
            raise
        if item is not _END:
            return item
        self._done = True
        if self._job.future.cancelled():
            raise StopAsyncIteration
        error = self._job.future.exception()
        if error is not None:
            raise error
        self.result = self._job.future.result()
        raise StopAsyncIteration

    def cancel(self) -> None:
        """Stop the request (its row leaves its batch at the next step)."""
        if not self._done:
            self._done = True
            self._job.cancelled.set()
            if not self._job.future.done():
                self._job.future.cancel()

    async def aclose(self) -> None:
        self.cancel()

    async def __aenter__(self) -> "TextStream":
        return self

    async def __aexit__(self, *exc: Any) -> None:
        self.cancel()

    def __del__(self) -> None:  # dropped unfinished (a consumer that never closed it)
        if not self._done:
            self._job.cancelled.set()


class Engine:
    """Runs generation and label scoring for ``models`` on one worker thread (see the module notes)."""

    def __init__(
        self, models: ServedModels, *, batching: bool = True, window_ms: float = 10.0, max_batch_size: int = 16
    ):
        if window_ms < 0:
            raise ConfigError(f"window_ms is {window_ms}; use 0 or more milliseconds")
        if max_batch_size < 1:
            raise ConfigError(f"max_batch_size is {max_batch_size}; use at least 1")
        self.models = models
        self.batching = batching
        self.window_s = window_ms / 1000.0
        self.max_batch_size = max_batch_size if batching else 1
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._counts: Counter[str] = Counter()
        self._batch_sizes: Counter[int] = Counter()
        self._busy_s = 0.0
        self._running = 0

    # --- life cycle ---------------------------------------------------------------------------------

    async def start(self) -> None:
        self._start()

    def _start(self) -> None:
        if self._stopping.is_set():
            raise EngineStopped("the engine has been stopped; the server is shutting down")
        if self._thread is None:
            self._thread = threading.Thread(target=self._work, name="brewslm-engine", daemon=True)
            self._thread.start()

    async def stop(self) -> None:
        """Cancel what is running or queued (callers get ``EngineStopped``) and end the worker."""
        self._stopping.set()
        self._queue.put(_STOP)
        if self._thread is not None:
            await asyncio.to_thread(self._thread.join)
        self._fail_queued()

    async def __aenter__(self) -> "Engine":
        await self.start()
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self.stop()

    # --- requests ----------------------------------------------------------------------------------

    async def generate(self, request: GenerateRequest) -> GenerateResult:
        """The reply to ``request`` (raises ``ModelNotFound`` / ``ConfigError`` for a bad request)."""
        return await self._outcome(self._submit(self._checked(request), request=request))

    def stream(self, request: GenerateRequest) -> TextStream:
        """The reply to ``request`` as text deltas; the request is checked now (errors raise here,
        before anything is streamed) and queued at once."""
        served = self._checked(request)
        return TextStream(self._submit(served, request=request, texts=asyncio.Queue()))

    async def score_labels(
        self,
        model: str | None,
        prompts: Sequence[Rendered],
        labels: Sequence[str],
        replies: Sequence[str] | None = None,
    ) -> list[LabelScores]:
        """Label scores (``label_scoring.score_labels``) of each rendering's prompt; requests with
        the same model and labels that arrive together are scored in one call. ``prompts`` are
        renderings (``ServedModel.render``): a label's tokens depend on the chat template around it."""
        served = self.models.get(model)
        labels = tuple(check_labels(labels))
        replies = tuple(check_labels(replies)) if replies is not None else None
        rendered = list(prompts)
        for item in rendered:
            if not isinstance(item, Rendered) or not item.is_chat:
                raise ConfigError("label scoring takes chat renderings of task records (ServedModel.render)")
        if not rendered:
            return []
        return await self._outcome(self._submit(served, rendered=rendered, labels=labels, replies=replies))

    async def token_logprobs(
        self, model: str | None, sequences: Sequence[Sequence[int]], *, top: int = 0
    ) -> list[TokenLogprobs]:
        """Teacher-forced log-probabilities of every token after the first of each sequence, with
        the ``top`` most likely tokens at each position (``sequence_scores.token_logprobs``)."""
        served = self.models.get(model)
        checked = [self.check_ids(served, ids, "sequence") for ids in sequences]
        if not checked:
            return []
        return await self._outcome(self._submit(served, sequences=checked, top=int(top)))

    @staticmethod
    async def _outcome(job: _Job) -> Any:
        """The job's result; a caller that stops waiting (cancelled, timed out) cancels the job."""
        try:
            return await job.future
        except asyncio.CancelledError:
            job.cancelled.set()
            raise

    def _checked(self, request: GenerateRequest) -> ServedModel:
        return check_request(self.models, request)

    check_ids = staticmethod(check_ids)

    def _submit(self, served: ServedModel, **fields: Any) -> _Job:
        self._start()
        loop = asyncio.get_running_loop()
        job = _Job(served=served, loop=loop, future=loop.create_future(), **fields)
        with self._lock:
            self._counts["requests"] += 1
        self._queue.put(job)
        return job

    # --- the worker --------------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            jobs, stop = self._take()
            groups: dict[tuple[Any, ...], list[_Job]] = {}
            for job in jobs:
                groups.setdefault(job.group, []).append(job)
            for group in groups.values():
                self._run(group)
            if stop:
                return

    def _take(self) -> tuple[list[_Job], bool]:
        """The next batch: the oldest request and those arriving within the window of it."""
        first = self._queue.get()
        if first is _STOP:
            return [], True
        jobs = [first]
        deadline = first.arrived + self.window_s
        while len(jobs) < self.max_batch_size:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                try:
                    job = self._queue.get(timeout=left)
                except queue.Empty:
                    break
            if job is _STOP:
                return jobs, True
            jobs.append(job)
        return jobs, False

    def _run(self, jobs: list[_Job]) -> None:
        live = []
        for job in jobs:
            if self._stopping.is_set():
                job.finish(error=EngineStopped("the server is shutting down; retry the request"))
            elif job.cancelled.is_set():
                self._count("cancelled")
                job.finish(cancel=True)
            else:
                live.append(job)
        if not live:
            return
        started = time.perf_counter()
        with self._lock:
            self._counts["batches"] += 1
            self._counts["batch_rows"] += len(live)
            self._batch_sizes[len(live)] += 1
            self._running = len(live)
        try:
            if live[0].request is not None:
                self._generate(live)
            elif live[0].sequences is not None:
                self._logprobs(live)
            else:
                self._score(live)
        finally:
            with self._lock:
                self._busy_s += time.perf_counter() - started
                self._running = 0

    def _generate(self, jobs: list[_Job]) -> None:
        served = jobs[0].served
        rows: list[DecodeRow] = []
        owners: list[_Job] = []
        for job in jobs:
            try:
                rows.append(self._row(job))
                owners.append(job)
            except Exception as exc:  # e.g. a JSON schema that cannot be compiled: this request only
                self._failed(job, exc)
        if not rows:
            return
        try:
            with served.active():
                decode_rows(served.model, served.tokenizer, rows, tokens=served.decode_tokens)
        except Exception as exc:
            self._batch_failed(owners, exc, self._generate)

    def _row(self, job: _Job) -> DecodeRow:
        request = job.request
        assert request is not None
        return DecodeRow(
            prompt=list(request.prompt_ids),
            max_new_tokens=request.max_new_tokens,
            temperature=request.temperature,
            top_p=request.top_p,
            seed=request.seed,
            constraint=job.served.constraints.reply(request.constraint),
            stop=tuple(request.stop),
            on_text=job.text if job.texts is not None else None,
            on_done=lambda generation: self._generated(job, generation),
            cancelled=lambda: job.cancelled.is_set() or self._stopping.is_set(),
        )

    def _generated(self, job: _Job, generation: Generation) -> None:
        request = job.request
        assert request is not None
        with self._lock:
            self._counts["prompt_tokens"] += len(request.prompt_ids)
            self._counts["generated_tokens"] += generation.tokens
        if self._stopping.is_set() and not job.cancelled.is_set():
            job.finish(error=EngineStopped("the server shut down while generating; retry the request"))
        elif job.cancelled.is_set():
            self._count("cancelled")
            job.finish(cancel=True)
        else:
            self._count("completed")
            job.finish(
                GenerateResult(
                    text=generation.text,
                    prompt_tokens=len(request.prompt_ids),
                    completion_tokens=generation.tokens,
                    finish_reason="stop" if generation.finished else "length",
                    token_ids=generation.ids,
                )
            )

    def _score(self, jobs: list[_Job]) -> None:
        served = jobs[0].served
        rendered = [item for job in jobs for item in job.rendered or []]
        try:
            with served.active():
                scores = score_labels(
                    served.model,
                    served.tokenizer,
                    rendered,
                    list(jobs[0].labels),
                    replies=jobs[0].replies,
                    max_seq_len=served.max_seq_len,
                    batch_size=max(1, self.max_batch_size),
                )
        except Exception as exc:
            self._batch_failed(jobs, exc, self._score)
            return
        self._hand_out(jobs, scores, [len(job.rendered or []) for job in jobs])

    def _logprobs(self, jobs: list[_Job]) -> None:
        served = jobs[0].served
        sequences = [ids for job in jobs for ids in job.sequences or []]
        try:
            with served.active():
                results = token_logprobs(
                    served.model, sequences, top=jobs[0].top, batch_size=max(1, self.max_batch_size)
                )
        except Exception as exc:
            self._batch_failed(jobs, exc, self._logprobs)
            return
        self._hand_out(jobs, results, [len(job.sequences or []) for job in jobs])

    def _hand_out(self, jobs: list[_Job], results: Sequence[Any], sizes: Sequence[int]) -> None:
        """Each job its slice of one call's results, in job order (``sizes[i]`` for ``jobs[i]``)."""
        start = 0
        for job, count in zip(jobs, sizes):
            self._count("completed")
            job.finish(results[start : start + count])
            start += count

    def _batch_failed(self, jobs: list[_Job], exc: Exception, run_alone: Callable[[list[_Job]], None]) -> None:
        """A failed batch: one request fails with the error; several are retried one by one, so
        only the request that causes it fails (one that streamed already cannot be replayed)."""
        pending = [job for job in jobs if not job.ended]
        if len(jobs) == 1:
            for job in pending:
                self._failed(job, exc)
            return
        logger.warning("a batch of %d requests failed (%s); retrying them one by one", len(jobs), exc)
        for job in pending:
            if job.streamed:
                self._failed(job, exc)
            else:
                run_alone([job])

    def _failed(self, job: _Job, exc: Exception) -> None:
        if not isinstance(exc, BrewError):
            logger.error("request on model '%s' failed", job.served.id, exc_info=exc)
        self._count("failed")
        job.finish(error=exc)

    def _count(self, key: str) -> None:
        with self._lock:
            self._counts[key] += 1

    def _fail_queued(self) -> None:
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            if job is not _STOP:
                job.finish(error=EngineStopped("the server is shutting down; retry the request"))

    # --- numbers -------------------------------------------------------------------------------------

    def stats(self) -> dict[str, Any]:
        """Counters since start: ``requests`` (accepted), ``completed``, ``failed``, ``cancelled``,
        ``batches`` and ``batch_rows`` (requests run in them), ``batch_sizes`` ({size: batches}),
        ``prompt_tokens`` and ``generated_tokens`` (generation), ``busy_seconds`` (the worker
        running models); and now: ``queue_depth`` (waiting) and ``running`` (in the current batch)."""
        with self._lock:
            out: dict[str, Any] = {key: self._counts.get(key, 0) for key in COUNTERS}
            out["batch_sizes"] = dict(sorted(self._batch_sizes.items()))
            out["busy_seconds"] = self._busy_s
            out["running"] = self._running
        out["queue_depth"] = self._queue.qsize()
        out["batching"] = self.batching
        return out


__all__ = [
    "COUNTERS",
    "Engine",
    "EngineStopped",
    "GenerateRequest",
    "GenerateResult",
    "TextStream",
    "check_ids",
    "check_request",
]
