"""``brewslm serve``: an OpenAI-compatible server with task endpoints over fine-tunes.

    brewslm serve intent                                  # a recipe by name (its finished output folder)
    brewslm serve ./exports/reviews runs/tickets-lora     # an export folder and a training run
    BREWSLM_API_KEY=secret brewslm serve intent --host 0.0.0.0 --port 8080

Every option but the models is a ``ServerSettings`` field (``serving.settings``), whose
description is its ``--help`` line. LoRA runs over one base share it in memory, and the base is
served too (under its folder name). The command prints the URL and the served ids on stdout,
then serves until Ctrl-C (uvicorn's log goes to stderr).
"""

from __future__ import annotations

import signal
import socket
import sys
from dataclasses import dataclass
from typing import Any

from brewslm.cli.command import Command
from brewslm.cli.options import model_option, option
from brewslm.errors import BrewError, ConfigError
from brewslm.inference.chat_templates import check_choice
from brewslm.output import key_values
from brewslm.serving.served import ServedModels
from brewslm.serving.settings import ServerSettings, server_settings
from brewslm.serving.upstream import open_engine

LOG_LEVELS = ("critical", "error", "warning", "info", "debug")


@dataclass(kw_only=True)
class ServeOptions:
    models: list[str] = option(
        "Models to serve: export folders, recipe output folders or recipe names, training "
        "runs (folder or name), or model folders; the first is the default.",
        default=[],
        positional=True,
        metavar="MODEL|RUN",
    )
    host: str | None = model_option(ServerSettings, "host", default=None)
    port: int | None = model_option(ServerSettings, "port", default=None)
    no_batching: bool = option(
        "Run requests one at a time instead of batching concurrent ones (batching: on).", default=False
    )
    window_ms: float | None = model_option(ServerSettings, "window_ms", default=None, metavar="MS")
    max_batch_size: int | None = model_option(ServerSettings, "max_batch_size", default=None, metavar="N")
    max_tokens_limit: int | None = model_option(ServerSettings, "max_tokens_limit", default=None, metavar="N")
    default_max_tokens: int | None = model_option(ServerSettings, "default_max_tokens", default=None, metavar="N")
    max_inputs: int | None = model_option(ServerSettings, "max_inputs", default=None, metavar="N")
    max_request_bytes: int | None = model_option(ServerSettings, "max_request_bytes", default=None, metavar="BYTES")
    request_timeout_s: float | None = model_option(ServerSettings, "request_timeout_s", default=None, metavar="SECONDS")
    engine: str | None = model_option(ServerSettings, "engine", default=None)
    upstream_url: str | None = model_option(ServerSettings, "upstream_url", default=None, metavar="URL")
    vllm_python: str | None = model_option(ServerSettings, "vllm_python", default=None, metavar="PYTHON")
    vllm_args: str | None = model_option(ServerSettings, "vllm_args", default=None, metavar="ARGS")
    device: str | None = option(
        "Device the models run on: cpu, cuda, cuda:1, mps (default: the best available).", default=None
    )
    log_level: str = option("How much the server logs on stderr.", default="info", choices=LOG_LEVELS)
    chat_template: str = option(
        "Turn format of plain model folders: model (its own; ChatML when it has none), "
        "chatml, llama3, qwen, gemma, phi or a .jinja file; a fine-tune always serves with "
        "the template it trained with.",
        default="model",
        metavar="NAME|FILE",
    )


def _template_choice(choice: str) -> str:

    try:
        return check_choice(choice)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def settings_of(opts: ServeOptions) -> ServerSettings:
    """The server settings the options describe (the API key from BREWSLM_API_KEY)."""

    return server_settings(
        host=opts.host,
        port=opts.port,
        batching=False if opts.no_batching else None,
        window_ms=opts.window_ms,
        max_batch_size=opts.max_batch_size,
        max_tokens_limit=opts.max_tokens_limit,
        default_max_tokens=opts.default_max_tokens,
        max_inputs=opts.max_inputs,
        max_request_bytes=opts.max_request_bytes,
        request_timeout_s=opts.request_timeout_s,
        engine=opts.engine,
        upstream_url=opts.upstream_url,
        vllm_python=opts.vllm_python,
        vllm_args=opts.vllm_args,
    )


def listening_socket(host: str, port: int) -> socket.socket:
    """A socket bound to ``host:port`` before any model loads, so a taken port fails at once (and
    port 0 gets its real number for the printed URL)."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise ConfigError(f"cannot listen on host '{host}': {exc.strerror or exc}; check --host") from None
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise ConfigError(f"cannot listen on {host}:{port}: {exc.strerror or exc}; pick another --port") from None
    return sock


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def serve(opts: ServeOptions) -> dict[str, Any]:
    """Serve fine-tunes over HTTP: OpenAI-compatible chat/completions plus task endpoints.

    Endpoints: GET /v1/models, POST /v1/chat/completions (stream: true for server-sent events),
    POST /v1/completions, and per model task POST /v1/classify, /v1/extract, /v1/spans,
    /v1/tool_call, /v1/rag/answer; GET /healthz and /metrics (Prometheus). The 'model' field of a
    request picks the served id. Binds to 127.0.0.1 by default; with BREWSLM_API_KEY set every
    request but /healthz needs 'Authorization: Bearer <key>'. Runs until Ctrl-C (a graceful stop:
    requests in flight finish, exit status 0).
    """
    import uvicorn

    from brewslm.serving.app import create_app

    if not opts.models:
        raise ConfigError("name at least one model to serve: an export folder, recipe, training run or model folder")
    settings = settings_of(opts)
    sock = listening_socket(settings.host, settings.port)
    try:
        models = ServedModels.load(
            opts.models,
            device=opts.device,
            chat_template=_template_choice(opts.chat_template),
            weights=settings.engine == "local",  # another engine runs them: tokenizers and tasks only here
        )
        settings = settings.model_copy(update={"port": sock.getsockname()[1]})
        with open_engine(settings, models, progress=lambda line: print(line, file=sys.stderr, flush=True)) as engine:
            app = create_app(models, settings, engine=engine)
            ids = models.ids()
            print(
                key_values(
                    [
                        ("serving", settings.url),
                        ("openai base_url", f"{settings.url}/v1"),
                        ("models", ", ".join(ids)),
                        ("default model", ids[0]),
                        ("engine", settings.engine if engine is None else f"{settings.engine} at {engine.base_url}"),
                        ("api key", "required (BREWSLM_API_KEY)" if settings.key else "none"),
                    ]
                ),
                flush=True,
            )
            if settings.exposed_without_key:
                print(
                    f"warning: listening on {settings.host} without an API key: anyone who can reach this machine "
                    "can use the models; set BREWSLM_API_KEY",
                    file=sys.stderr,
                    flush=True,
                )
            server = uvicorn.Server(uvicorn.Config(app, log_level=opts.log_level, lifespan="on"))
            # uvicorn re-raises SIGTERM once it has shut down gracefully; as an exception it unwinds
            # this block, so an engine started here (vLLM) is stopped too instead of orphaned
            previous = signal.signal(signal.SIGTERM, _interrupt)
            try:
                server.run(sockets=[sock])
            except KeyboardInterrupt:  # uvicorn shut down gracefully, then re-raised Ctrl-C / SIGTERM: a clean stop
                pass
            finally:
                signal.signal(signal.SIGTERM, previous)
    finally:
        sock.close()
    if not server.started:
        raise BrewError("the server did not start; see its log above")
    return {"url": settings.url, "models": ids, "stopped": True}


def render_serve(result: dict[str, Any]) -> str:
    return key_values([("stopped", result["url"])])


COMMAND = Command(serve, ServeOptions, render_serve)

__all__ = ["COMMAND", "ServeOptions", "listening_socket", "serve", "settings_of"]
