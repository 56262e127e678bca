"""The server's settings: where it listens, who may call it, and the limits every request meets.

    settings = server_settings(port=8080, batching=False)      # API key from BREWSLM_API_KEY

``ServerSettings`` is an options model like ``TrainConfig`` (``training.config.OptionsModel``):
unknown or out-of-range values are one-line ``ConfigError``s, and each field's description is the
``brewslm serve --help`` line of its flag. ``server_settings(**values)`` builds one, taking the API
key from the environment (``BREWSLM_API_KEY``) unless it is given; an empty key means no key.

Defaults are the safe ones: the server binds to 127.0.0.1 (this machine only), bodies above
1 MiB are refused (413), ``max_tokens`` above 2048 is refused (400) and a request that has not
finished after 120 s is answered with a timeout (504).
"""

from __future__ import annotations

import os
from typing import Any, Literal

from pydantic import Field, SecretStr, model_validator

from brewslm.options import OptionsModel, build_options

API_KEY_ENV = "BREWSLM_API_KEY"
UPSTREAM_KEY_ENV = "BREWSLM_UPSTREAM_API_KEY"
LOOPBACK_HOSTS = ("127.0.0.1", "::1", "localhost")


class ServerSettings(OptionsModel):
    options_help = "brewslm serve --help"
    options_label = "server settings"

    host: str = Field(
        "127.0.0.1",
        description="Address to listen on; 127.0.0.1 accepts this machine only, "
        "0.0.0.0 every machine (then set BREWSLM_API_KEY).",
    )
    port: int = Field(8000, ge=0, le=65535, description="TCP port to listen on (0: any free port).")
    api_key: SecretStr | None = Field(
        None,
        description=f"Key every request must send as 'Authorization: Bearer "
        f"KEY' (/healthz excepted); read from {API_KEY_ENV}.",
    )
    max_request_bytes: int = Field(
        1_048_576, ge=1, description="Largest request body accepted, in bytes; larger ones get 413."
    )
    max_tokens_limit: int = Field(2048, ge=1, description="Largest max_tokens a request may ask for; above it, 400.")
    default_max_tokens: int = Field(
        256,
        ge=1,
        description="Reply budget in tokens of a chat completion that sets "
        "no max_tokens (task endpoints use their task's budget).",
    )
    max_inputs: int = Field(
        64, ge=1, description="Most texts one request may carry (/v1/classify inputs, /v1/completions prompts)."
    )
    request_timeout_s: float = Field(
        120.0, gt=0, description="Seconds a request may take before it is answered with a timeout error (504)."
    )
    batching: bool = Field(True, description="Batch concurrent requests dynamically (off: one request at a time).")
    window_ms: float = Field(
        10.0, ge=0, description="How long the first queued request waits for others to join its batch, in milliseconds."
    )
    max_batch_size: int = Field(16, ge=1, description="Most requests decoded together in one batch.")
    engine: Literal["local", "vllm", "upstream"] = Field(
        "local",
        description="What runs the models: local (this process, batching), vllm (vLLM's OpenAI "
        "server started on the models, LoRA runs as its LoRA modules; our endpoints in front) or "
        "upstream (an OpenAI-compatible server already running at --upstream-url).",
    )
    upstream_url: str | None = Field(
        None,
        description="Base URL of the server that runs the models with --engine upstream (vLLM or "
        "brewslm serve elsewhere, serving them under the same ids); its key is read from "
        f"{UPSTREAM_KEY_ENV}.",
    )
    vllm_python: str | None = Field(
        None,
        description="Python interpreter of an environment with vLLM installed, for --engine vllm "
        "(default: this one; vLLM pins its own torch, so it usually lives apart).",
    )
    vllm_args: str = Field(
        "", description="More arguments for vLLM's server with --engine vllm, as one shell-quoted string."
    )

    @model_validator(mode="after")
    def _engine_complete(self) -> "ServerSettings":
        if self.engine == "upstream" and not self.upstream_url:
            raise ValueError("engine 'upstream' needs the server's address: set upstream_url (--upstream-url)")
        if self.upstream_url and self.engine != "upstream":
            raise ValueError(f"upstream_url is set but engine is '{self.engine}'; use engine 'upstream'")
        return self

    @model_validator(mode="after")
    def _budgets_fit(self) -> "ServerSettings":
        if self.default_max_tokens > self.max_tokens_limit:
            raise ValueError(
                f"default_max_tokens ({self.default_max_tokens}) is above max_tokens_limit "
                f"({self.max_tokens_limit}); lower it or raise the limit"
            )
        return self

    @property
    def key(self) -> str | None:
        """The API key in clear (None: requests need no key)."""
        return self.api_key.get_secret_value() if self.api_key is not None else None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def exposed_without_key(self) -> bool:
        """Listening beyond this machine with no API key: anyone on the network may call the model."""
        return self.host not in LOOPBACK_HOSTS and self.key is None


def server_settings(**values: Any) -> ServerSettings:
    """Settings from keyword values (None ones are left at their defaults); the API key comes from
    ``BREWSLM_API_KEY`` when not given, and an empty key means none."""
    data = {name: value for name, value in values.items() if value is not None}
    data.setdefault("api_key", os.environ.get(API_KEY_ENV))
    if not data["api_key"]:
        data["api_key"] = None
    return build_options(ServerSettings, data)


__all__ = ["API_KEY_ENV", "LOOPBACK_HOSTS", "UPSTREAM_KEY_ENV", "ServerSettings", "server_settings"]
