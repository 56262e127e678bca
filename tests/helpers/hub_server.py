"""A local stand-in for the Hugging Face Hub, reached through ``HF_ENDPOINT``: the few routes
``huggingface_hub``'s ``create_repo`` and ``upload_folder`` call, with the Hub's request and reply
shapes, keeping every repository in memory.

- ``POST /api/repos/create`` ({name, organization, type, visibility}): 200 with the repo URL, 409 when
  it exists (the client's ``exist_ok`` reads that as "already there");
- ``POST /api/validate-yaml``: the README's metadata check (accepted, after parsing it as YAML);
- ``POST /api/{type}s/{org}/{name}/preupload/{revision}``: every file uploads "regular" (inline, base64,
  in the commit). The real Hub sends large files through Xet or LFS; those transports are
  ``huggingface_hub``'s own and are not exercised here;
- ``POST /api/{type}s/{org}/{name}/commit/{revision}`` (NDJSON: a header, then one line per file):
  the files replace the repo's, one commit id per call.

Every route needs ``Authorization: Bearer <token>`` with the fixture's token (401 otherwise), and a
repository under another owner than the token's is 403, as on the Hub.

    def test_push(fake_hub):           # sets HF_ENDPOINT and HF_TOKEN for the test
        ... push ...
        repo = fake_hub.repos["model", "acme/intent"]
        repo.files["README.md"], repo.private, repo.commits
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest
import yaml

TOKEN = "hf_test_token_for_the_local_hub"
OWNER = "acme"  # the namespace the token may write to


@dataclass
class Repo:
    private: bool
    files: dict[str, bytes] = field(default_factory=dict)
    commits: list[dict[str, Any]] = field(default_factory=list)


class FakeHub:
    def __init__(self) -> None:
        self.repos: dict[tuple[str, str], Repo] = {}
        self.requests: list[tuple[str, str]] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _reply(self, status: int, payload: Any) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                if status >= 400:
                    self.send_header("X-Error-Message", payload.get("error", ""))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # noqa: N802 - the http.server spelling
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                hub.requests.append(("POST", self.path))
                if self.headers.get("Authorization") != f"Bearer {TOKEN}":
                    return self._reply(401, {"error": "Invalid credentials in Authorization header"})
                status, payload = hub.handle(self.path.split("?")[0], body, self.headers)
                self._reply(status, payload)

            def do_GET(self) -> None:  # noqa: N802
                hub.requests.append(("GET", self.path))
                self._reply(404, {"error": f"route not served by the test hub: GET {self.path}"})

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def repo_url(self, kind: str, repo_id: str) -> str:
        return f"{self.url}/{repo_id}" if kind == "model" else f"{self.url}/{kind}s/{repo_id}"

    def handle(self, path: str, body: bytes, headers: Any) -> tuple[int, Any]:
        if path == "/api/repos/create":
            request = json.loads(body)
            kind, repo_id = request.get("type") or "model", f"{request['organization']}/{request['name']}"
            if request["organization"] != OWNER:
                return 403, {
                    "error": f"You don't have the rights to create a repo under the namespace {request['organization']}"
                }
            if (kind, repo_id) in self.repos:
                return 409, {"error": "You already created this repo", "url": self.repo_url(kind, repo_id)}
            self.repos[kind, repo_id] = Repo(
                private=request.get("visibility") == "private" or bool(request.get("private"))
            )
            return 200, {"url": self.repo_url(kind, repo_id), "name": repo_id}
        if path == "/api/validate-yaml":
            content = json.loads(body)["content"]
            match = re.match(r"^---\n(.*?)\n---\n", content, re.S)
            if match:
                yaml.safe_load(match.group(1))  # a header that is not YAML fails the request (500), as a bad card would
            return 200, {"warnings": []}
        route = re.match(r"^/api/(model|dataset)s/([^/]+/[^/]+)/(preupload|commit)/([^/]+)$", path)
        if not route:
            return 404, {"error": f"route not served by the test hub: POST {path}"}
        kind, repo_id, action, _revision = route.groups()
        repo = self.repos.get((kind, repo_id))
        if repo is None:
            return 404, {"error": "Repository not found"}
        if action == "preupload":
            files = json.loads(body)["files"]
            return 200, {
                "files": [
                    {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False, "oid": None} for f in files
                ]
            }
        lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
        header = next(line["value"] for line in lines if line["key"] == "header")
        added = {}
        for line in lines:
            if line["key"] == "file":
                value = line["value"]
                added[value["path"]] = (
                    base64.b64decode(value["content"])
                    if value.get("encoding") == "base64"
                    else (value["content"].encode())
                )
            elif line["key"] in ("lfsFile", "deletedFile", "deletedFolder"):
                return 400, {"error": f"{line['key']} is not served by the test hub"}
        repo.files.update(added)
        oid = hashlib.sha1(json.dumps([header, sorted(added)]).encode() + str(len(repo.commits)).encode()).hexdigest()
        repo.commits.append({"oid": oid, "summary": header.get("summary"), "files": sorted(added)})
        return 200, {
            "commitUrl": f"{self.repo_url(kind, repo_id)}/commit/{oid}",
            "commitOid": oid,
            "pullRequestUrl": None,
        }


@pytest.fixture
def fake_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    hub = FakeHub()
    hub.thread.start()
    monkeypatch.setenv("HF_ENDPOINT", hub.url)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        yield hub
    finally:
        hub.server.shutdown()
        hub.server.server_close()
