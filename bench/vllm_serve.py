"""``brewslm serve --engine vllm`` against ``brewslm serve`` (local engine) on the same models (issue 17, item 6).

    python bench/vllm_serve.py --vllm-python /tmp/vllmenv/bin/python [MODEL|RUN ...]

Starts two ``brewslm serve`` processes on the same specs (default: the embedded SmolLM2 folder): one
runs the models itself, one starts vLLM's OpenAI server (from the environment ``--vllm-python``
names) and answers our endpoints from it. Then, for every served id (a LoRA run is served by vLLM
as a LoRA module over its base, and the base beside it), greedy, it compares:

- chat replies (``/v1/chat/completions``, the chat template applied by *our* front on both);
- token log-probabilities of fixed texts (``/v1/completions`` with ``echo`` and ``logprobs: 0``:
  the path ``/v1/classify`` scores labels on through vLLM): largest absolute difference;
- the task endpoint of the id's task (``/v1/tool_call`` for a tool-calling run, ``/v1/classify``
  for a classifier) on fixed inputs: same decision / same label.

Prints one table per id and the totals, then stops both servers. vLLM needs its own environment
(it pins its own torch); see ``bench/vllm_handoff.py`` for the install and its two work-arounds.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

CHAT_PROMPTS = [
    "What is the capital of France?",
    "Give me three words that rhyme with cat.",
    "Is 17 a prime number? Answer yes or no.",
    "Write one sentence about the sea.",
]
TEXTS = ["The capital of France is Paris.", "One, two, three, four, five.", "def add(a, b):\n    return a + b"]
WEATHER_TOOL = {
    "name": "get_weather",
    "description": "Current weather for a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
TOOL_MESSAGES = [
    [{"role": "user", "content": "What's the weather like in Paris right now?"}],
    [{"role": "user", "content": "Tell me a joke about cats."}],
]
CLASSIFY_TEXTS = ["I loved every minute of it", "My card has not arrived yet", "terrible, a waste of time"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _call(url: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=600) as response:
        return json.loads(response.read())


def _start(specs: list[str], port: int, extra: list[str], log: Path) -> subprocess.Popen:
    command = [sys.executable, "-m", "brewslm", "serve", *specs, "--port", str(port), "--log-level", "warning"]
    command += ["--request-timeout-s", "1800", *extra]  # a busy 2-core machine answers slowly; no request is cut
    print("starting:", " ".join(command), f"(log {log})", flush=True)
    return subprocess.Popen(command, stdout=open(log, "wb"), stderr=subprocess.STDOUT, env={**os.environ})


def _wait(url: str, process: subprocess.Popen, timeout_s: float, log: Path) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        if process.poll() is not None:
            sys.exit(f"the server exited ({process.returncode}); see {log}:\n" + log.read_text()[-2000:])
        try:
            _call(f"{url}/healthz")
            return time.monotonic() - started
        except OSError:
            time.sleep(2)
    sys.exit(f"not ready after {timeout_s:.0f} s; see {log}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", help="what to serve (default: the embedded SmolLM2 folder)")
    parser.add_argument("--vllm-python", required=True, help="python of an environment that has vLLM installed")
    parser.add_argument("--startup-timeout", type=float, default=900)
    parser.add_argument("--out", default="bench/out", help="folder for the servers' logs and the JSON results")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    specs = args.models
    if not specs:
        from brewslm.base_models import embedded_model_dir

        specs = [str(embedded_model_dir())]
    local_port, vllm_port = _free_port(), _free_port()
    local_log, vllm_log = out / "vllm_serve_local.log", out / "vllm_serve_vllm.log"
    local = _start(specs, local_port, [], local_log)
    front = _start(specs, vllm_port, ["--engine", "vllm", "--vllm-python", args.vllm_python], vllm_log)
    local_url, vllm_url = f"http://127.0.0.1:{local_port}", f"http://127.0.0.1:{vllm_port}"
    try:
        _wait(local_url, local, args.startup_timeout, local_log)
        vllm_ready = _wait(vllm_url, front, args.startup_timeout, vllm_log)
        print(f"both ready; the vLLM-backed server after {vllm_ready:.0f} s", flush=True)
        results = {"specs": specs, "vllm_startup_s": round(vllm_ready, 1), "ids": {}}
        totals = {"chat_same": 0, "chat": 0, "task_same": 0, "task": 0, "max_logprob_diff": 0.0}
        models = _call(f"{local_url}/v1/models")["data"]
        for card in models:
            model = card["id"]
            rows = []
            for prompt in CHAT_PROMPTS:
                body = {"model": model, "messages": [{"role": "user", "content": prompt}], "max_tokens": 32}
                mine = _call(f"{local_url}/v1/chat/completions", body)["choices"][0]["message"]["content"]
                theirs = _call(f"{vllm_url}/v1/chat/completions", body)["choices"][0]["message"]["content"]
                rows.append(("chat", prompt, mine, theirs, mine == theirs))
                totals["chat"] += 1
                totals["chat_same"] += mine == theirs
            diffs = []
            for text in TEXTS:
                body = {"model": model, "prompt": text, "max_tokens": 0, "echo": True, "logprobs": 0}
                mine = _call(f"{local_url}/v1/completions", body)["choices"][0]["logprobs"]["token_logprobs"][1:]
                theirs = _call(f"{vllm_url}/v1/completions", body)["choices"][0]["logprobs"]["token_logprobs"][1:]
                diffs.append(max(abs(a - b) for a, b in zip(mine, theirs)))
            totals["max_logprob_diff"] = max(totals["max_logprob_diff"], *diffs)
            endpoints = card.get("endpoints") or []
            if "/v1/tool_call" in endpoints:
                for messages in TOOL_MESSAGES:
                    body = {"model": model, "messages": messages, "tools": [WEATHER_TOOL], "max_tokens": 64}
                    mine = _call(f"{local_url}/v1/tool_call", body)
                    theirs = _call(f"{vllm_url}/v1/tool_call", body)
                    same = (mine["calls"], mine["answer"]) == (theirs["calls"], theirs["answer"])
                    rows.append(("tool_call", messages[0]["content"], json.dumps(mine["calls"]) or mine["answer"],
                                 json.dumps(theirs["calls"]) or theirs["answer"], same))  # fmt: skip
                    totals["task"] += 1
                    totals["task_same"] += same
            if "/v1/classify" in endpoints:
                body = {"model": model, "inputs": CLASSIFY_TEXTS}
                mine = _call(f"{local_url}/v1/classify", body)["results"]
                theirs = _call(f"{vllm_url}/v1/classify", body)["results"]
                for text, a, b in zip(CLASSIFY_TEXTS, mine, theirs):
                    rows.append(("classify", text, a["label"], b["label"], a["label"] == b["label"]))
                    totals["task"] += 1
                    totals["task_same"] += a["label"] == b["label"]
            print(f"\n## {model} (largest token log-prob difference {max(diffs):.2e})\n")
            print("| kind | input | local engine | vLLM engine | same |")
            print("|---|---|---|---|---|")
            for kind, prompt, mine, theirs, same in rows:
                cell = lambda s: str(s).replace("\n", " ").replace("|", "/")[:60]  # noqa: E731
                print(f"| {kind} | {cell(prompt)} | {cell(mine)} | {cell(theirs)} | {'yes' if same else 'NO'} |")
            results["ids"][model] = {"rows": rows, "max_logprob_diff": max(diffs)}
        results["totals"] = totals
        print(
            f"\nchat replies identical: {totals['chat_same']}/{totals['chat']}; task answers identical: "
            f"{totals['task_same']}/{totals['task']}; largest token log-prob difference: "
            f"{totals['max_logprob_diff']:.2e}"
        )
        (out / "vllm_serve.json").write_text(json.dumps(results, indent=2))
    finally:
        for process in (front, local):
            process.terminate()
        for process in (front, local):
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()


if __name__ == "__main__":
    main()
