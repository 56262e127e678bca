"""``data introspect`` / ``data import`` with LLM assist through an OpenAI-compatible endpoint
(``--teacher-url``, ``--teacher-model``; the key from BREWSLM_TEACHER_API_KEY or OPENAI_API_KEY),
against a real HTTP server on 127.0.0.1: one line on every failure, the key never printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from cli.test_data import one_error_line
from helpers.openai_server import chat, server  # noqa: F401  (server: a fixture)

SECRET = "sk-cli-test-secret-42"


@pytest.fixture
def apples(tmp_path: Path) -> str:
    """Short texts only: text_only is a candidate below the gate, nothing is accepted."""
    path = tmp_path / "apples.jsonl"
    path.write_text("".join(f'{{"a": {i}, "b": "{i * 2} apples"}}\n' for i in range(20)), encoding="utf-8")
    return f"jsonl:{path}"


@pytest.fixture(autouse=True)
def key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BREWSLM_TEACHER_API_KEY", SECRET)


@pytest.mark.parametrize("command", ["introspect", "import"])
def test_help_names_the_flags_and_the_key_variables(cli, command):
    run = cli("data", command, "--help")
    text = " ".join(run.out.split())
    for flag in (
        "--llm-assist",
        "--teacher PATH",
        "--teacher-url URL",
        "--teacher-model NAME",
        "BREWSLM_TEACHER_API_KEY",
        "else OPENAI_API_KEY",
    ):
        assert flag in text, flag


def test_introspect_asks_the_endpoint(cli, server, apples):
    server.reply = lambda body, headers: (200, chat("A", {"A": -0.2}))
    run = cli(
        "data",
        "introspect",
        "--locator",
        apples,
        "--llm-assist",
        "--teacher-url",
        server.url + "/v1",
        "--teacher-model",
        "tiny",
        "--json",
    )
    assert run.code == 0, run.err
    report = run.json()["llm_assist"]
    assert report["teacher"] == f"tiny at {server.url}/v1" and report["choice"] == "A"
    assert report["candidates"][0]["mapper_id"] == "text_only"
    assert server.requests[-1][1]["model"] == "tiny"


def test_introspect_with_a_refused_key_is_one_line_in_the_report(cli, server, apples):
    server.reply = lambda body, headers: (401, {"error": {"message": f"bad key {SECRET}"}})
    run = cli("data", "introspect", "--locator", apples, "--llm-assist", "--teacher-url", server.url)
    assert run.code == 0 and "Traceback" not in run.err
    assert "verdict=failed" in run.out and "refused the request (HTTP 401)" in run.out
    assert SECRET not in run.out + run.err


def test_import_with_a_failing_endpoint_is_one_error_line(cli, server, apples):
    server.reply = lambda body, headers: (500, {"error": {"message": "model crashed"}})
    line = one_error_line(cli("data", "import", "--locator", apples, "--llm-assist", "--teacher-url", server.url))
    assert "HTTP 500: model crashed" in line and "--mapper" in line
    assert SECRET not in line


def test_import_takes_the_teachers_accepted_choice(cli, server, tmp_path):
    """Unfamiliar names: the QA sniffer's own proposal stays below 0.8; the teacher's choice of
    it (with its names) lifts it through the gate, and the import uses it."""
    rows = "".join(
        f'{{"zq": "what colour is box {i}?", "resp": "{("red", "green", "blue", "black")[i % 4]} box {i}"}}\n'
        for i in range(30)
    )
    path = tmp_path / "boxes.jsonl"
    path.write_text(rows, encoding="utf-8")
    server.reply = lambda body, headers: (200, chat("A", {"A": -0.01, "B": -6.0}))
    run = cli("data", "introspect", "--locator", f"jsonl:{path}", "--llm-assist", "--teacher-url", server.url, "--json")
    report = run.json()["llm_assist"]
    assert report["verdict"] == "accepted", report
    assert report["proposal"]["field_map"] == {"zq": "question", "resp": "answer"}
    run = cli("data", "import", "--locator", f"jsonl:{path}", "--llm-assist", "--teacher-url", server.url, "--json")
    assert run.code == 0, run.err
    assert run.json()["mapper_id"] == "qa_pair_passthrough"


def test_a_role_swap_of_a_sniffer_proposal_is_not_accepted(cli, server, tmp_path):
    rows = "".join(
        f'{{"zq": "what colour is box {i}?", "resp": "{("red", "green", "blue", "black")[i % 4]} box {i}"}}\n'
        for i in range(30)
    )
    path = tmp_path / "boxes.jsonl"
    path.write_text(rows, encoding="utf-8")
    server.reply = lambda body, headers: (200, chat("B", {"A": -6.0, "B": -0.01}))
    report = cli(
        "data", "introspect", "--locator", f"jsonl:{path}", "--llm-assist", "--teacher-url", server.url, "--json"
    ).json()["llm_assist"]
    assert report["candidates"][1]["field_map"] == {"resp": "question", "zq": "answer"}
    assert report["candidates"][1]["twins"] == ["qa_pair_passthrough: zq -> question, resp -> answer"]
    assert report["verdict"] == "rejected"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--teacher", "x", "--teacher-url", "http://localhost:1"], "not both"),
        (["--teacher-model", "m"], "give the endpoint too"),
        (["--teacher-url", "ftp://example.com"], "must be an http(s) address"),
    ],
)
def test_bad_teacher_flags_are_one_line(cli, apples, args, message):
    assert message in one_error_line(cli("data", "introspect", "--locator", apples, "--llm-assist", *args))


def test_import_teacher_flags_need_llm_assist(cli, apples):
    line = one_error_line(cli("data", "import", "--locator", apples, "--teacher-url", "http://localhost:1"))
    assert "--llm-assist" in line
