"""The web UI's settings: where it listens, its API key, which folders it may read, upload size.

Defaults are safe for a laptop: bound to 127.0.0.1, requests must name a loopback host (so a web
page on another site cannot reach the UI through DNS rebinding), file locators restricted to the
working directory, the workspace (``BREWSLM_HOME``) and ``BREWSLM_SHARED_DATASETS`` when set.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field, field_validator

from brewslm.workspace import home_dir

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
DEFAULT_MAX_UPLOAD_BYTES = 50 * 1024 * 1024


def default_allowed_roots() -> list[Path]:
    roots = [Path.cwd(), home_dir()]
    shared = os.environ.get("BREWSLM_SHARED_DATASETS")
    if shared:
        roots.append(Path(shared))
    return roots


def _env_api_key() -> Optional[str]:
    return os.environ.get("BREWSLM_API_KEY") or None


class UISettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = Field(
        "127.0.0.1", description="Address to listen on; anything but loopback exposes the UI to the network."
    )
    port: int = Field(8000, ge=0, le=65535, description="Port to listen on (0: any free port).")
    api_key: Optional[str] = Field(
        default_factory=_env_api_key,
        repr=False,
        description="When set (default: BREWSLM_API_KEY), every page and action needs it.",
    )
    allowed_roots: list[Path] = Field(
        default_factory=default_allowed_roots, description="Folders whose files the UI may read through a locator."
    )
    allowed_hosts: Optional[list[str]] = Field(
        None,
        description="Host names requests may address; default: the loopback names when bound to loopback, "
        "else any ('*').",
    )
    max_upload_bytes: int = Field(
        DEFAULT_MAX_UPLOAD_BYTES, ge=1, description="Largest file an upload may be, in bytes."
    )
    upload_retention_days: float = Field(
        7.0,
        ge=0,
        description="At start, delete uploads older than this many days "
        "that no dataset, saved mapping or job refers to (0: keep every upload).",
    )
    models: list[str] = Field(
        default_factory=list, description="Served models (run folders, model folders, hub ids) for the Playground."
    )

    @field_validator("allowed_roots", mode="after")
    @classmethod
    def _real_roots(cls, roots: list[Path]) -> list[Path]:
        """Real paths (symlinks resolved), once each, so containment checks compare like with like."""
        seen: list[Path] = []
        for root in roots:
            real = Path(os.path.realpath(Path(root).expanduser()))
            if real not in seen:
                seen.append(real)
        return seen

    def replace(self, **changes: object) -> "UISettings":
        """A copy with ``changes``, validated like new settings (roots resolved again)."""
        return type(self).model_validate({**self.model_dump(), **changes})

    @property
    def trusted_hosts(self) -> list[str]:
        if self.allowed_hosts is not None:
            return list(self.allowed_hosts)
        return list(LOOPBACK_HOSTS) if self.host in LOOPBACK_HOSTS else ["*"]

    @property
    def uploads_dir(self) -> Path:
        path = home_dir() / "uploads"
        path.mkdir(parents=True, exist_ok=True)
        return path
