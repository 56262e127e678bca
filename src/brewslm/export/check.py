"""``brewslm export --check``: load a merged folder in a second, pinned transformers and compare.

Many serving stacks (vLLM, TGI) still pin transformers 4.x while BrewSLM writes with 5.x. A folder
that 4.x loads without an error can still answer differently (a RoPE base it could not read falls
back to 10000), so the check is behavioural: the same script runs in this environment and in the
pinned one, loads the folder with ``AutoTokenizer`` / ``AutoModelForCausalLM``, and greedily
generates a few tokens for fixed chat prompts; the check passes when both tokenise every prompt
to the same ids and generate the same tokens.

The pinned environment is a virtual environment under the user cache
(``<cache>/check-env/transformers-<PINNED>``), created on first use with pip (CPU torch first, as
``scripts/setup.sh`` does) - a minute or two, once; ``python=`` uses another interpreter instead.
``compare`` is pure; ``run_side`` and ``pinned_python`` are the edges.
"""

from __future__ import annotations

import json
import subprocess
import sys
import venv
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

from brewslm.errors import ConfigError
from brewslm.workspace import cache_dir

PINNED_TRANSFORMERS = "4.57.6"  # the 4.x line vLLM / TGI stacks pin
PINNED_TORCH = "2.13.0"  # the CPU build on the package index
PROMPTS = (
    "What is the capital of France?",
    "Write one sentence about the sea.",
    "List three primary colours.",
    "Translate 'good morning' into Spanish.",
    "What is 12 times 7?",
)
NEW_TOKENS = 16

SIDE_SCRIPT = r"""
import json, sys
import torch
import transformers
from transformers import AutoModelForCausalLM, AutoTokenizer

folder, prompts, new_tokens = sys.argv[1], json.loads(sys.argv[2]), int(sys.argv[3])
out = {"transformers": transformers.__version__}
try:
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder).float().eval()
except Exception as exc:  # the failure is the finding
    out["error"] = (type(exc).__name__ + ": " + str(exc)).splitlines()[0][:300]
    print(json.dumps(out))
    sys.exit(0)
config = model.config
rope = getattr(config, "rope_parameters", None) or {}
out["rope_theta"] = rope.get("rope_theta") if isinstance(rope, dict) and "rope_theta" in rope else getattr(config, "rope_theta", None)
out["tokenizer_class"] = type(tokenizer).__name__
results = []
for prompt in prompts:
    messages = [{"role": "user", "content": prompt}]
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True) if tokenizer.chat_template else prompt
    ids = tokenizer(text, return_tensors="pt", add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        generated = model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), max_new_tokens=new_tokens,
                                   do_sample=False, pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id)
    new = generated[0, ids.shape[1]:].tolist()
    results.append({"prompt_ids": ids[0].tolist(), "ids": new, "text": tokenizer.decode(new, skip_special_tokens=True)})
out["outputs"] = results
print(json.dumps(out))
"""


def run_side(
    python: str | Path,
    folder: str | Path,
    prompts: Sequence[str] = PROMPTS,
    new_tokens: int = NEW_TOKENS,
    timeout: float = 600,
) -> dict[str, Any]:
    """Load ``folder`` with the transformers of ``python`` and generate; the side's JSON (or its
    ``error``: the loading failure, or why the script itself failed)."""
    try:
        done = subprocess.run(
            [str(python), "-c", SIDE_SCRIPT, str(folder), json.dumps(list(prompts)), str(new_tokens)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return {"error": f"{python}: {exc}"}
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return {"error": f"{python} exited {done.returncode}: {tail[:300]}"}
    return json.loads(lines[-1])


def compare(here: Mapping[str, Any], pinned: Mapping[str, Any]) -> dict[str, Any]:
    """Both sides' versions, RoPE bases and tokenizer classes; per prompt whether the prompt ids
    and the generated ids agree; ``passed`` when both loaded and everything agrees."""
    result: dict[str, Any] = {
        "versions": [here.get("transformers"), pinned.get("transformers")],
        "rope_theta": [here.get("rope_theta"), pinned.get("rope_theta")],
        "tokenizer_class": [here.get("tokenizer_class"), pinned.get("tokenizer_class")],
        "errors": [here.get("error"), pinned.get("error")],
    }
    if here.get("error") or pinned.get("error"):
        return {**result, "passed": False, "prompts": 0, "tokens_agree": 0.0, "outputs_agree": 0.0, "examples": []}
    pairs = list(zip(here["outputs"], pinned["outputs"]))
    tokens = sum(a["prompt_ids"] == b["prompt_ids"] for a, b in pairs)
    outputs = sum(a["ids"] == b["ids"] for a, b in pairs)
    examples = [{"here": a["text"], "pinned": b["text"]} for a, b in pairs]
    return {
        **result,
        "passed": tokens == outputs == len(pairs) and result["rope_theta"][0] == result["rope_theta"][1],
        "prompts": len(pairs),
        "tokens_agree": tokens / len(pairs),
        "outputs_agree": outputs / len(pairs),
        "examples": examples,
    }


def pinned_python(progress: Callable[[str], None] | None = None) -> Path:
    """The interpreter of the pinned environment, created under the user cache on first use."""

    env = cache_dir() / "check-env" / f"transformers-{PINNED_TRANSFORMERS}"
    python = env / "bin" / "python"
    if python.is_file() and (env / "ready").is_file():
        return python
    say = progress or (lambda line: None)
    say(
        f"creating the check environment (transformers {PINNED_TRANSFORMERS}, torch {PINNED_TORCH} CPU) in {env}: "
        "a minute or two, once"
    )
    venv.create(env, with_pip=True, clear=True)
    for packages in ([f"torch=={PINNED_TORCH}"], [f"transformers=={PINNED_TRANSFORMERS}", "safetensors", "jinja2"]):
        done = subprocess.run([str(python), "-m", "pip", "install", "-q", *packages], capture_output=True, text=True)
        if done.returncode != 0:
            tail = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise ConfigError(
                f"could not install {' '.join(packages)} into {env}: {tail[:200]}; "
                "pass a python with transformers 4.x installed instead"
            )
    (env / "ready").write_text("ok\n", encoding="utf-8")
    return python


def check_folder(
    folder: str | Path, python: str | Path | None = None, progress: Callable[[str], None] | None = None
) -> dict[str, Any]:
    """Compare the folder's greedy outputs here and under the pinned transformers (``python``, or
    the cached pinned environment)."""
    if not (Path(folder) / "config.json").is_file():
        raise ConfigError(f"{folder} has no config.json; check a merged export folder")
    other = Path(python) if python else pinned_python(progress)
    return compare(run_side(sys.executable, folder), run_side(other, folder))


__all__ = ["NEW_TOKENS", "PINNED_TRANSFORMERS", "PROMPTS", "check_folder", "compare", "pinned_python", "run_side"]
