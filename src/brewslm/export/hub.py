"""Pushing to the Hugging Face Hub (``huggingface_hub``): an export folder as a model repo, a dataset
version as a dataset repo.

    push_folder(Path("exports/intent-hf"), "acme/intent-smollm2", repo_type="model", private=True)

The client reads ``HF_ENDPOINT`` (a Hub mirror or an enterprise Hub; the tests use a local server)
and the token from ``HF_TOKEN`` or ``hf auth login``. The repository is created when it does not
exist (``private`` applies then; an existing repo keeps its visibility) and the folder goes up as
one commit, so a failed push leaves the repository as it was. Large files travel the way the Hub
asks (Xet or LFS, decided by the server and done by ``huggingface_hub``).

Every failure is one ``ConfigError`` line: no token, a repo id the Hub refuses, no write access,
the Hub unreachable - each naming the repository and what to do.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Literal

from brewslm.errors import ConfigError

RepoType = Literal["model", "dataset"]
IGNORED = [".DS_Store", "__pycache__/*", "*.pyc", ".ipynb_checkpoints/*"]


@dataclass
class PushResult:
    repo_id: str
    repo_type: str
    url: str
    commit: str
    files: list[str]
    private: bool | None
    endpoint: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def hub_endpoint() -> str:
    from huggingface_hub import constants

    return os.environ.get("HF_ENDPOINT") or constants.ENDPOINT


def check_repo_id(repo_id: str) -> str:
    """``ORG/NAME`` as the Hub spells repositories; anything else is a one-line error."""
    from huggingface_hub.utils import HFValidationError, validate_repo_id

    if repo_id.count("/") != 1:
        raise ConfigError(
            f"Hub repository '{repo_id}' must be ORG/NAME (your user name or an organisation, then the repository name)"
        )
    try:
        validate_repo_id(repo_id)
    except HFValidationError as exc:
        raise ConfigError(f"Hub repository '{repo_id}' is not a valid name ({str(exc).splitlines()[0]})") from None
    return repo_id


def push_folder(
    folder: Path,
    repo_id: str,
    *,
    repo_type: RepoType = "model",
    private: bool = False,
    commit_message: str | None = None,
    token: str | None = None,
    progress: Callable[[str], None] | None = None,
) -> PushResult:
    """Create ``repo_id`` when missing and upload every file under ``folder`` in one commit."""
    from huggingface_hub import HfApi, get_token

    check_repo_id(repo_id)
    folder = Path(folder)
    if not folder.is_dir() or not any(folder.iterdir()):
        raise ConfigError(f"nothing to push: {folder} is not a folder with files")
    token = token or get_token()
    endpoint = hub_endpoint()
    if not token:
        raise ConfigError(
            f"pushing to {repo_id} needs a Hub token with write access: set HF_TOKEN or run `hf auth login`"
        )
    api = HfApi(endpoint=endpoint, token=token)
    files = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    say = progress or (lambda line: None)
    with _one_line_errors(repo_id, repo_type, endpoint):
        say(f"pushing {len(files)} files to {endpoint}/{_url_path(repo_id, repo_type)}")
        created = api.create_repo(repo_id, repo_type=repo_type, private=private, exist_ok=True)
        commit = api.upload_folder(
            folder_path=str(folder),
            repo_id=repo_id,
            repo_type=repo_type,
            commit_message=commit_message or f"Upload with BrewSLM ({len(files)} files)",
            ignore_patterns=IGNORED,
        )
    return PushResult(
        repo_id=repo_id,
        repo_type=repo_type,
        url=str(created),
        commit=commit.oid,
        files=files,
        private=private,
        endpoint=endpoint,
    )


def _url_path(repo_id: str, repo_type: str) -> str:
    return repo_id if repo_type == "model" else f"{repo_type}s/{repo_id}"


@contextmanager
def _one_line_errors(repo_id: str, repo_type: str, endpoint: str) -> Iterator[None]:
    """The client's exceptions as one ``ConfigError`` line naming the repository and the fix."""
    from huggingface_hub.errors import HfHubHTTPError

    where, owner = f"{endpoint}/{_url_path(repo_id, repo_type)}", repo_id.split("/")[0]
    try:
        yield
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else None
        server = ((getattr(exc, "server_message", None) or str(exc)).strip().splitlines() or [""])[0][:300]
        if status in (401, 403):
            fix = f"check that the token (HF_TOKEN) has write access to '{owner}'"
        elif status == 404:
            fix = f"check that '{owner}' exists and the token can see it"
        else:
            fix = "try again, or check the Hub's status"
        raise ConfigError(f"push to {where} failed: HTTP {status} ({server}); {fix}") from None
    except Exception as exc:  # noqa: BLE001 - the transport's errors, whichever HTTP library the client uses
        if not _is_transport_error(exc):
            raise
        cause = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise ConfigError(
            f"could not reach the Hub at {where} ({cause}); check the network, or HF_ENDPOINT if you use a mirror"
        ) from None


def _is_transport_error(exc: BaseException) -> bool:
    """A connection, DNS, TLS or timeout failure: an ``OSError`` or an error of the client's HTTP library
    (httpx, or the httpx2 fork that recent huggingface_hub releases use)."""
    return isinstance(exc, OSError) or type(exc).__module__.split(".")[0] in (
        "httpx",
        "httpx2",
        "httpcore",
        "requests",
        "urllib3",
    )


__all__ = ["PushResult", "check_repo_id", "hub_endpoint", "push_folder"]
