"""``brewslm ui``: serve the web UI (import wizard, audit log, training, reports, playground).

    brewslm ui                                   # http://127.0.0.1:8000/
    brewslm ui --port 8080 --allow-root /data/exports
    BREWSLM_API_KEY=secret brewslm ui --host 0.0.0.0 --model reviews-lora-20250101-120000

Long work started from the pages (imports, training, evaluations) runs in background worker
processes whose state is in the database, so stopping the server does not stop them.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any

from brewslm.cli.command import Command
from brewslm.cli.options import option
from brewslm.errors import ConfigError
from brewslm.output import key_values
from brewslm.serving.served import ServedModels
from brewslm.serving.settings import server_settings
from brewslm.ui.settings import LOOPBACK_HOSTS, UISettings, default_allowed_roots


@dataclass(kw_only=True)
class UIOptions:
    host: str = option(
        "Address to listen on; anything but 127.0.0.1 exposes the UI to the network (set BREWSLM_API_KEY then).",
        default="127.0.0.1",
    )
    port: int = option("Port to listen on.", default=8000)
    model: list[str] = option(
        "A model for the Playground: a run name or folder, a model folder or a hub id; repeat for more.",
        default=[],
        metavar="SPEC",
        one_per_flag=True,
    )
    allow_root: list[str] = option(
        "Another folder whose files the import wizard may read (default: the "
        "working directory, BREWSLM_HOME and BREWSLM_SHARED_DATASETS); repeat for more.",
        default=[],
        metavar="DIR",
        one_per_flag=True,
    )
    max_upload_mb: int = option("Largest file the wizard accepts as an upload, in MB.", default=50)
    keep_uploads_days: float = option(
        "At start, delete uploads older than this many days that no dataset, saved "
        "mapping or job uses (0: keep every upload).",
        default=7.0,
        metavar="DAYS",
    )


def ui_settings(opts: UIOptions) -> Any:
    """The ``UISettings`` the options describe (the API key comes from BREWSLM_API_KEY)."""
    import math
    from pathlib import Path

    extra = []
    for root in opts.allow_root:
        path = Path(root).expanduser()
        if not path.is_dir():
            raise ConfigError(f"--allow-root {root}: not a folder; name an existing folder")
        extra.append(path)
    if opts.max_upload_mb < 1:
        raise ConfigError(f"--max-upload-mb must be at least 1, not {opts.max_upload_mb}")
    try:  # the command line hands a float option over as its text
        keep_days = float(opts.keep_uploads_days)
    except ValueError:
        keep_days = math.nan
    if not keep_days >= 0:
        raise ConfigError(f"--keep-uploads-days must be a number of days, 0 or more, not {opts.keep_uploads_days}")
    return UISettings(
        host=opts.host,
        port=opts.port,
        models=list(opts.model),
        allowed_roots=[*default_allowed_roots(), *extra],
        max_upload_bytes=opts.max_upload_mb * 1024 * 1024,
        upload_retention_days=keep_days,
    )


def ui(opts: UIOptions) -> dict[str, Any]:
    """Serve the web UI: import wizard, saved mappings, audit log, training, evaluation reports, playground.

    Binds to 127.0.0.1 by default. With BREWSLM_API_KEY set every page needs the key (a login form
    sets a cookie; scripts send 'Authorization: Bearer <key>'). Runs until Ctrl-C; background jobs
    keep running in their own processes.
    """
    import uvicorn

    from brewslm.ui.app import create_playground_app, create_ui_app

    settings = ui_settings(opts)
    if settings.models:  # the Playground's models: served by the same app, under /v1
        print(f"loading {', '.join(settings.models)} for the Playground ...", file=sys.stderr)
        app = create_playground_app(
            ServedModels.load(settings.models), server_settings(host=settings.host, port=settings.port), settings
        )
    else:
        app = create_ui_app(settings)
    host = f"[{settings.host}]" if ":" in settings.host else settings.host
    url = f"http://{host}:{settings.port}/"
    print(f"BrewSLM UI on {url} (Ctrl-C stops it)", file=sys.stderr)
    if settings.host not in LOOPBACK_HOSTS and not settings.api_key:
        print(
            f"warning: listening on {settings.host} without an API key: anyone who can reach this machine can "
            "use the UI; set BREWSLM_API_KEY",
            file=sys.stderr,
        )
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
    return {"url": url, "stopped": True}


def render_ui(result: dict[str, Any]) -> str:
    return key_values([("stopped", result["url"])])


COMMAND = Command(ui, UIOptions, render_ui)

__all__ = ["COMMAND", "UIOptions", "ui", "ui_settings"]
