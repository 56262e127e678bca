"""/metrics: the pure pieces (throughput window, engine stats as gauges) and the Prometheus text a
real server exposes after a few requests (counts by endpoint and status, latency histogram,
tokens matching the replies' usage, tokens/s, the batcher's numbers), and requests refused before
routing (413, 401) counted under the route they were sent to."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import httpx
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from brewslm.serving.app import create_app
from brewslm.serving.metrics import ServerMetrics, engine_families, tokens_per_second
from brewslm.serving.served import ServedModels
from brewslm.serving.settings import server_settings


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a Prometheus exposition, keyed by name and sorted labels."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_tokens_per_second_counts_the_window_only() -> None:
    events = [(0.0, 100), (50.0, 30), (95.0, 30)]
    assert tokens_per_second(events, now=100.0, window_s=60.0, started=0.0) == 1.0  # 60 tokens over 60 s
    assert tokens_per_second(events, now=100.0, window_s=10.0, started=0.0) == 3.0
    assert tokens_per_second([(1.0, 40)], now=5.0, window_s=60.0, started=1.0) == 10.0  # a 4 s old server
    assert tokens_per_second([(0.0, 7)], now=0.1, window_s=60.0, started=0.0) == 7.0  # never below 1 s
    assert tokens_per_second([], now=100.0, window_s=60.0, started=0.0) == 0.0


def test_engine_stats_become_gauges() -> None:
    families = {
        f.name: f
        for f in engine_families(
            {"batches": 3, "busy_seconds": 1.5, "batch_sizes": {1: 2, 4: 1}, "batching": True, "note": "x", "ids": [1]}
        )
    }
    assert set(families) == {"brewslm_engine_batches", "brewslm_engine_busy_seconds", "brewslm_engine_batch_sizes"}
    assert families["brewslm_engine_batches"].samples[0].value == 3.0
    assert {(s.labels["key"], s.value) for s in families["brewslm_engine_batch_sizes"].samples} == {
        ("1", 2.0),
        ("4", 1.0),
    }


def test_metrics_use_their_own_registry() -> None:
    now = [10.0]
    first, second = ServerMetrics(clock=lambda: now[0]), ServerMetrics(clock=lambda: now[0])
    first.observe_tokens("m", prompt_tokens=5, completion_tokens=20)
    now[0] = 12.0
    values = samples(first.exposition()[0].decode())
    assert values[("brewslm_generated_tokens_total", (("model", "m"),))] == 20.0
    assert values[("brewslm_prompt_tokens_total", (("model", "m"),))] == 5.0
    assert values[("brewslm_generated_tokens_per_second", ())] == 10.0  # 20 tokens, a 2 s old server
    assert ("brewslm_generated_tokens_total", (("model", "m"),)) not in samples(second.exposition()[0].decode())


def test_a_live_server_exposes_requests_latency_tokens_and_batches(
    served_base_dir: Path, serve: Callable[..., Any]
) -> None:
    models = ServedModels.load([str(served_base_dir)])
    model = models.ids()[0]
    with serve(create_app(models, server_settings(api_key=""))) as url, httpx.Client(base_url=url, timeout=60) as http:
        replies = [
            http.post(
                "/v1/chat/completions", json={"messages": [{"role": "user", "content": f"hi {i}"}], "max_tokens": 5}
            ).json()
            for i in range(2)
        ]
        assert http.get(f"/v1/models/{model}").status_code == 200
        assert http.get("/v1/nowhere").status_code == 404
        assert http.post("/v1/chat/completions", json={}).status_code == 422
        exposition = http.get("/metrics")
    assert exposition.status_code == 200 and exposition.headers["content-type"].startswith("text/plain")
    values = samples(exposition.text)

    def requests(endpoint: str, status: str) -> float:
        return values.get(("brewslm_requests_total", (("endpoint", endpoint), ("status", status))), 0.0)

    assert requests("/v1/chat/completions", "200") == 2
    assert requests("/v1/chat/completions", "422") == 1
    assert requests("/v1/models/{model_id:path}", "200") == 1  # the route's template, not the raw path
    assert requests("other", "404") == 1
    assert values[("brewslm_request_duration_seconds_count", (("endpoint", "/v1/chat/completions"),))] == 3
    generated = sum(r["usage"]["completion_tokens"] for r in replies)
    assert values[("brewslm_generated_tokens_total", (("model", model),))] == generated
    assert values[("brewslm_prompt_tokens_total", (("model", model),))] == sum(
        r["usage"]["prompt_tokens"] for r in replies
    )
    assert values[("brewslm_generated_tokens_per_second", ())] > 0
    assert values[("brewslm_engine_batches", ())] >= 1
    assert values[("brewslm_engine_generated_tokens", ())] == generated
    assert (
        sum(v for (name, _), v in values.items() if name == "brewslm_engine_batch_sizes")
        == values[("brewslm_engine_batches", ())]
    )


def test_requests_refused_before_routing_count_under_their_route(served_base_dir: Path) -> None:
    # 413 and 401 are answered by middleware, before the router names the route: they were "other"
    app = create_app(ServedModels.load([str(served_base_dir)]), server_settings(api_key="k", max_request_bytes=64))
    http = TestClient(app, headers={"Authorization": "Bearer k"})
    big = {"messages": [{"role": "user", "content": "x" * 100}]}
    assert http.post("/v1/chat/completions", json=big).status_code == 413
    assert http.post("/v1/classify", json={"input": "y" * 100}).status_code == 413
    assert TestClient(app).get("/v1/models/some-model").status_code == 401
    assert TestClient(app).get("/openapi.json").status_code == 401
    assert TestClient(app).get("/no/such/path").status_code == 401
    values = samples(http.get("/metrics").text)

    def requests(endpoint: str, status: str) -> float:
        return values.get(("brewslm_requests_total", (("endpoint", endpoint), ("status", status))), 0.0)

    assert requests("/v1/chat/completions", "413") == 1 and requests("/v1/classify", "413") == 1
    assert requests("/v1/models/{model_id:path}", "401") == 1  # the template, as when routed
    assert requests("/openapi.json", "401") == 1
    assert requests("other", "401") == 1 and requests("other", "413") == 0
