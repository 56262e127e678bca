"""LLM assist through an OpenAI-compatible endpoint (``--teacher-url``), against a real HTTP
server on 127.0.0.1 that implements ``/v1/chat/completions`` (and ``/v1/models``): a letter with
and without logprobs, a candidate as JSON, 401, a timeout, garbage; one line each, the key never
shown."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from brewslm.introspection import ACCEPT_THRESHOLD, OpenAITeacher, RankingTeacher, introspect_profile, profile_rows
from brewslm.introspection.llm_assist import TeacherError, make_teacher, teacher_api_key
from helpers.openai_server import FakeServer, chat, server  # noqa: F401  (server: a fixture)

pytestmark = pytest.mark.usefixtures("isolated_registry")

HARD_ROWS = [
    {"utterance": f"please {verb} my card number {i}", "intent_code": verb, "n": i}
    for i, verb in enumerate(("freeze", "cancel", "renew") * 10)
]
SECRET = "sk-test-0123456789-secret"


@pytest.fixture(autouse=True)
def key(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("BREWSLM_TEACHER_API_KEY", SECRET)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    return SECRET


def assist(server: FakeServer, **teacher: Any):
    spec = {"url": server.url + "/v1", "model": "tiny-chat"} | teacher
    return introspect_profile(profile_rows(HARD_ROWS), locator="memory", llm_assist=True, teacher=spec)


def no_secret(result: Any) -> None:
    assert SECRET not in json.dumps(result.to_dict())


def test_a_letter_with_logprobs_is_chosen_gated_and_accepted(server: FakeServer) -> None:
    server.reply = lambda body, headers: (200, chat("A", {"A": -0.05, "B": -3.2, "C": -4.0}))
    result = assist(server)
    report = result.llm_assist
    assert report["mode"] == "ranked" and report["choice"] == "A" and report["verdict"] == "accepted"
    assert result.accepted is not None and result.accepted.mapper_id == "toy_label"
    assert result.accepted.confidence >= ACCEPT_THRESHOLD
    assert report["scores"]["A"] == -0.05 and report["scores"]["B"] == -3.2
    assert report["teacher"] == f"tiny-chat at {server.url}/v1"
    path, body, headers = server.requests[-1]
    assert path == "/v1/chat/completions" and body["model"] == "tiny-chat" and body["temperature"] == 0
    assert body["logprobs"] is True and body["top_logprobs"] >= 3
    assert "A. toy_label: utterance -> text, intent_code -> label" in body["messages"][-1]["content"]
    assert headers["Authorization"] == f"Bearer {SECRET}"
    no_secret(result)


def test_decisive_logprobs_tell_role_swapped_twins_apart(server: FakeServer) -> None:
    rows = [{"colour": ("red", "green", "blue")[i % 3], "size": ("S", "M")[i % 2]} for i in range(30)]
    spec = {"url": server.url, "model": "m"}
    server.reply = lambda body, headers: (200, chat("A", {"A": -0.01, "B": -5.0}))  # odds of about 150:1
    result = introspect_profile(profile_rows(rows), llm_assist=True, teacher=spec)
    assert result.accepted is not None and result.accepted.field_map == {"colour": "text", "size": "label"}
    server.reply = lambda body, headers: (200, chat("A", {"A": -0.5, "B": -1.2}))  # about 2:1: not decisive
    result = introspect_profile(profile_rows(rows), llm_assist=True, teacher=spec)
    assert result.accepted is None and "rest on the teacher's reading" in result.llm_assist["reason"]
    server.reply = lambda body, headers: (200, chat("A"))  # no logprobs: no odds at all
    result = introspect_profile(profile_rows(rows), llm_assist=True, teacher=spec)
    assert result.accepted is None


def test_a_server_without_logprobs_is_asked_again_plainly(server: FakeServer) -> None:
    def reply(body: dict[str, Any], headers: dict[str, str]) -> tuple[int, Any]:
        if body.get("logprobs"):
            return 400, {"error": {"message": "logprobs is not supported"}}
        return 200, chat("Option A")

    server.reply = reply
    result = assist(server)
    assert result.accepted is not None and result.llm_assist["choice"] == "A"
    assert result.llm_assist["scores"]["A"] == 0.0 and result.llm_assist["scores"]["B"] is None
    assert [bool(b.get("logprobs")) for _, b, _ in server.requests] == [True, False]


def test_a_candidate_as_json_is_accepted(server: FakeServer) -> None:
    server.reply = lambda body, headers: (
        200,
        chat('{"mapper_id": "toy_label", "field_map": {"utterance": "text", "intent_code": "label"}}'),
    )
    result = assist(server)
    assert result.accepted is not None and result.accepted.field_map == {"utterance": "text", "intent_code": "label"}


def test_the_model_defaults_to_the_servers_first(server: FakeServer) -> None:
    result = assist(server, model=None)
    assert result.llm_assist["teacher"] == f"tiny-listed at {server.url}/v1"
    assert server.requests[0][0] == "/v1/models" and server.requests[1][1]["model"] == "tiny-listed"


def test_401_is_one_line_and_never_shows_the_key(server: FakeServer) -> None:
    server.reply = lambda body, headers: (401, {"error": {"message": f"Incorrect API key provided: {SECRET}"}})
    result = assist(server)
    report = result.llm_assist
    assert result.accepted is None and report["verdict"] == "failed" and report["proposal"] is None
    assert report["reason"].startswith(
        f"teacher endpoint {server.url}/v1/chat/completions refused the request (HTTP 401)"
    )
    assert "BREWSLM_TEACHER_API_KEY" in report["reason"] and "\n" not in report["reason"]
    assert "***" in report["reason"]  # the server echoed the key: redacted
    no_secret(result)
    assert result.proposals  # the deterministic proposals are still there


def test_401_without_a_key_says_which_variable_to_set(server: FakeServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BREWSLM_TEACHER_API_KEY")
    server.reply = lambda body, headers: (401, {"error": "unauthorized"})
    result = assist(server)
    assert "set BREWSLM_TEACHER_API_KEY (or OPENAI_API_KEY)" in result.llm_assist["reason"]
    assert "Authorization" not in server.requests[-1][2]


def test_a_timeout_is_one_line(server: FakeServer) -> None:
    def slow(body: dict[str, Any], headers: dict[str, str]) -> tuple[int, Any]:
        time.sleep(1.5)
        return 200, chat("A")

    server.reply = slow
    started = time.perf_counter()
    result = assist(server, timeout=0.3)
    assert time.perf_counter() - started < 1.4
    assert result.llm_assist["verdict"] == "failed"
    assert (
        result.llm_assist["reason"] == f"teacher endpoint {server.url}/v1/chat/completions did not answer within 0.3 s"
    )


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"<html>bad gateway</html>", "did not answer with JSON"),
        ({"unexpected": True}, "did not answer with a chat completion"),
        (chat("I cannot decide, both look fine."), "unusable answer"),
        (chat(f"my key is {SECRET}"), "unusable answer"),  # echoed in the raw answer: redacted
        (chat('{"mapper_id": "toy_plain", "field_map": {"n": "text"}}'), "is not one of the candidates"),
    ],
)
def test_garbage_replies_are_one_line(server: FakeServer, payload: Any, reason: str) -> None:
    server.reply = lambda body, headers: (200, payload)
    result = assist(server)
    report = result.llm_assist
    assert result.accepted is None and report["verdict"] in ("failed", "rejected")
    assert reason in report["reason"] and "\n" not in report["reason"] and "Traceback" not in report["reason"]
    no_secret(result)


def test_an_unreachable_endpoint_is_one_line() -> None:
    result = introspect_profile(
        profile_rows(HARD_ROWS), llm_assist=True, teacher={"url": "http://127.0.0.1:9/v1", "model": "m", "timeout": 2}
    )
    assert result.llm_assist["verdict"] == "failed"
    assert result.llm_assist["reason"].startswith(
        "teacher endpoint http://127.0.0.1:9/v1/chat/completions is unreachable"
    )


def test_a_bad_url_is_a_clear_error() -> None:
    with pytest.raises(TeacherError, match="must be an http"):
        make_teacher({"url": "ftp://example.com/v1"})


def test_urls_and_keys() -> None:
    teacher = make_teacher({"url": "http://user:pw@localhost:11434/v1/chat/completions?key=abc", "model": "llama3"})
    assert isinstance(teacher, OpenAITeacher) and isinstance(teacher, RankingTeacher)
    assert teacher.base == "http://localhost:11434/v1"  # credentials in a URL are dropped, not sent
    assert teacher.name == "llama3 at http://localhost:11434/v1"  # no credentials in what is shown
    assert OpenAITeacher("http://localhost:8000").base == "http://localhost:8000/v1"
    assert SECRET not in repr(OpenAITeacher("http://localhost:8000"))
    assert teacher_api_key() == (SECRET, "BREWSLM_TEACHER_API_KEY")


def test_the_fallback_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BREWSLM_TEACHER_API_KEY")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-other")
    assert teacher_api_key() == ("sk-other", "OPENAI_API_KEY")
