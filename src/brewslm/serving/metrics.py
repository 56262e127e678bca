"""Prometheus metrics of the server: requests, latency, tokens, throughput and the batcher's state.

``ServerMetrics`` owns its own ``CollectorRegistry`` (never the process-global one, so two apps in
one process - tests, the load benchmark - count separately) and renders it in Prometheus' text
format for ``GET /metrics``:

- ``brewslm_requests_total{endpoint, status}``: requests answered (401s, 413s and 404s included;
  ``endpoint`` is the route's path template - also for a request refused before routing, such as
  a 413 - or ``other`` for unknown paths so junk URLs cannot grow the label set);
- ``brewslm_request_duration_seconds{endpoint}``: a latency histogram (a stream counts until its
  last byte);
- ``brewslm_prompt_tokens_total{model}`` / ``brewslm_generated_tokens_total{model}``: tokens read
  and written per served model id;
- ``brewslm_generated_tokens_per_second``: generated tokens per second over the last
  ``throughput_window_s`` seconds (``tokens_per_second``, pure) - for a rate over another window,
  use ``rate()`` of the counter;
- ``brewslm_engine_<stat>``: every number ``Engine.stats()`` reports (batches run, rows, queue
  depth...), read at scrape time; a stat that is a mapping of numbers (e.g. a batch-size
  histogram ``{size: count}``) becomes one gauge with a ``key`` label.

``MetricsMiddleware`` records every request; routes report tokens with ``observe_tokens``.
"""

from __future__ import annotations

import re
import time
from collections import deque
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.routing import BaseRoute, Match

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
"""Seconds: from a health probe to a long generation on a CPU."""

OTHER_ENDPOINT = "other"
_METRIC_NAME = re.compile(r"[^a-zA-Z0-9_]")


def tokens_per_second(events: Iterable[tuple[float, int]], now: float, window_s: float, started: float) -> float:
    """Tokens per second over the last ``window_s`` seconds before ``now`` from ``(time, tokens)``
    events; a server younger than the window divides by its age (at least one second)."""
    since = now - window_s
    tokens = sum(count for at, count in events if at >= since)
    return tokens / max(min(window_s, now - started), 1.0)


class ServerMetrics:
    def __init__(
        self,
        engine_stats: Callable[[], Mapping[str, Any]] | None = None,
        *,
        throughput_window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.registry = CollectorRegistry()
        self.clock = clock
        self.started = clock()
        self.throughput_window_s = throughput_window_s
        self._generated: deque[tuple[float, int]] = deque()
        self.requests = Counter(
            "brewslm_requests",
            "HTTP requests answered, by endpoint and status code.",
            ["endpoint", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "brewslm_request_duration_seconds",
            "Time from request to the last byte of the response, by endpoint.",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.prompt_tokens = Counter(
            "brewslm_prompt_tokens", "Prompt tokens read, by model.", ["model"], registry=self.registry
        )
        self.generated_tokens = Counter(
            "brewslm_generated_tokens", "Tokens generated, by model.", ["model"], registry=self.registry
        )
        self.registry.register(_LiveCollector(self, engine_stats))

    def observe_request(self, endpoint: str, status: int, seconds: float) -> None:
        self.requests.labels(endpoint=endpoint, status=str(status)).inc()
        self.latency.labels(endpoint=endpoint).observe(seconds)

    def observe_tokens(self, model: str, prompt_tokens: int, completion_tokens: int) -> None:
        self.prompt_tokens.labels(model=model).inc(prompt_tokens)
        self.generated_tokens.labels(model=model).inc(completion_tokens)
        now = self.clock()
        self._generated.append((now, completion_tokens))
        while self._generated and self._generated[0][0] < now - self.throughput_window_s:
            self._generated.popleft()

    def tokens_per_second(self) -> float:
        return tokens_per_second(list(self._generated), self.clock(), self.throughput_window_s, self.started)

    def exposition(self) -> tuple[bytes, str]:
        """The Prometheus text of every metric, and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _LiveCollector(Collector):
    """Values computed at scrape time: the throughput gauge and the engine's stats."""

    def __init__(self, metrics: ServerMetrics, engine_stats: Callable[[], Mapping[str, Any]] | None):
        self.metrics = metrics
        self.engine_stats = engine_stats

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield GaugeMetricFamily(
            "brewslm_generated_tokens_per_second",
            f"Tokens generated per second over the last {self.metrics.throughput_window_s:g} s.",
            value=self.metrics.tokens_per_second(),
        )
        if self.engine_stats is not None:
            yield from engine_families(self.engine_stats())


def engine_families(stats: Mapping[str, Any]) -> list[GaugeMetricFamily]:
    """``Engine.stats()`` as gauges: numbers as they are, mappings of numbers with a ``key`` label;
    anything else (text, lists) is not a metric and is left out."""
    families = []
    for key, value in stats.items():
        name = "brewslm_engine_" + _METRIC_NAME.sub("_", str(key))
        if _is_number(value):
            families.append(GaugeMetricFamily(name, f"Engine statistic '{key}'.", value=float(value)))
        elif isinstance(value, Mapping) and value and all(_is_number(v) for v in value.values()):
            family = GaugeMetricFamily(name, f"Engine statistic '{key}', by key.", labels=["key"])
            for sub, number in value.items():
                family.add_metric([str(sub)], float(number))
            families.append(family)
    return families


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


class MetricsMiddleware:
    """Counts and times every HTTP request under its route's path template (``/v1/models/{model_id}``);
    a request answered before routing (401, 413) under the template of the first of ``routes`` its
    path and method would have reached (a wrong method: that path's route)."""

    def __init__(self, app: Any, metrics: ServerMetrics, routes: Sequence[BaseRoute]):
        self.app = app
        self.metrics = metrics
        self.routes = list(routes)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # an exception before any response is a server error

        async def recording_send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            route = getattr(scope.get("route"), "path", None)  # set by the router when a route matched
            endpoint = route or self._template(scope) or OTHER_ENDPOINT
            self.metrics.observe_request(endpoint, status, time.perf_counter() - started)

    def _template(self, scope: dict[str, Any]) -> str | None:
        partial = None
        for route in self.routes:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return getattr(route, "path", None)
            if match is Match.PARTIAL and partial is None:
                partial = getattr(route, "path", None)
        return partial


__all__ = [
    "LATENCY_BUCKETS",
    "MetricsMiddleware",
    "OTHER_ENDPOINT",
    "ServerMetrics",
    "engine_families",
    "tokens_per_second",
]
