"""llama.cpp's own tooling for GGUF: its converter, its quantizer (K-quants), and its runtime to verify.

    tools = ensure_tooling(progress=print)           # once per machine: minutes (a C++ build), then cached
    convert(tools, merged_folder, out / "m-f16.gguf", "f16")
    quantize(tools, out / "m-f16.gguf", out / "m-q4_k_m.gguf", "q4_k_m")
    ids, logits = llama_logits(tools, out / "m-q4_k_m.gguf", texts)

Everything comes from one pinned release of llama.cpp's Python binding, ``llama-cpp-python``
(``LLAMA_CPP_PYTHON``), whose source distribution vendors the llama.cpp it binds: the converter
(``convert_hf_to_gguf.py`` with its ``conversion`` package and its own ``gguf-py``) and the C++
library, built once into a wheel. So the file is written by the same llama.cpp that reads it back,
and the metadata (``tokenizer.ggml.pre``, architectures beyond Llama) is the converter's own.

``ensure_tooling`` sets it up under the user cache (``<cache>/llama.cpp/llama-cpp-python-<V>``):
the sdist from the package index, the converter files extracted from it, the wheel built with
pip (``CMAKE_ARGS`` off for the examples, tools, server and llava: only the library), installed
with ``diskcache`` into a private ``site`` folder. The build takes minutes on a small CPU
(progress lines say which step and how far); every later export reuses it. A ``llama_cpp``
package importable by this interpreter (say, a CUDA wheel the user installed) is used instead of
building one; the converter files are still fetched from the sdist.

The converter, quantizer and runtime run in child processes (``PYTHONPATH`` = the converter's
``gguf-py`` or the private ``site``): their pinned ``gguf`` never meets ours, and a crash in native
code is an error line, not a dead export. The runtime check loads the file without llama.cpp's extra
buffer types (AMX, repacked weights; ``LOGITS_SCRIPT``): their AMX matmul segfaults on prompts of more
than one token on some Intel CPUs (llama.cpp#20824), and the plain CPU kernels read the file as written.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from brewslm.errors import ConfigError
from brewslm.workspace import cache_dir

LLAMA_CPP_PYTHON = "0.3.36"
CONVERTER_TYPES = ("f32", "f16", "bf16", "q8_0")  # convert_hf_to_gguf.py --outtype
K_QUANTS = {"q4_k_m": 15, "q5_k_m": 17, "q6_k": 18}  # llama_ftype of llama.cpp's quantizer
QUANT_TYPES = ("f32", "f16", "q8_0", *K_QUANTS)
BUILD_FLAGS = (
    "-DLLAVA_BUILD=OFF -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=OFF "
    "-DLLAMA_BUILD_SERVER=OFF -DLLAMA_CURL=OFF"
)
VENDOR = "vendor/llama.cpp/"
CONVERTER_PARTS = ("convert_hf_to_gguf.py", "conversion/", "gguf-py/")
Progress = Callable[[str], None]

QUANTIZE_SCRIPT = r"""
import ctypes, sys
import llama_cpp
source, target, ftype = sys.argv[1], sys.argv[2], int(sys.argv[3])
llama_cpp.llama_backend_init()
params = llama_cpp.llama_model_quantize_default_params()
params.ftype = ftype
sys.exit(llama_cpp.llama_model_quantize(source.encode(), target.encode(), ctypes.byref(params)))
"""

LOGITS_SCRIPT = r"""
import json, sys
import numpy as np
from llama_cpp import Llama
native = sys.modules["llama_cpp.llama_cpp"]
defaults = native.llama_model_default_params
def plain_cpu_params():
    # no extra buffer types (AMX, repacked weights): the AMX matmul segfaults on a prompt of more than one
    # token on some Intel CPUs (llama.cpp#20824, unfixed); the plain CPU kernels read the file as it is
    params = defaults()
    params.use_extra_bufts = False
    return params
native.llama_model_default_params = plain_cpu_params  # what Llama() starts its model parameters from
path, texts, out = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3]
ids = [None] * len(texts)
longest = 0
llm = None
arrays = {}
for number, text in enumerate(texts):
    if llm is None:
        # f32 K/V (llama.cpp keeps f16 by default): the comparison measures the file, not the cache
        llm = Llama(model_path=path, n_ctx=1024, logits_all=True, verbose=False, seed=0, type_k=0, type_v=0)
    tokens = llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)
    llm.reset()
    llm.eval(tokens)
    arrays[f"p{number}"] = np.array(llm.scores[:len(tokens)], dtype=np.float32, copy=True)  # scores is a view it reuses
    ids[number] = tokens
np.savez(out, **arrays)
print(json.dumps({"ids": ids}))
"""


@dataclass(frozen=True)
class Tooling:
    converter: Path  # convert_hf_to_gguf.py
    gguf_py: Path  # the converter's own gguf package (its parent goes on PYTHONPATH)
    site: Path | None  # the private folder with llama_cpp installed; None: this interpreter imports it

    def runtime_env(self) -> dict[str, str]:
        env = dict(os.environ)
        if self.site is not None:
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(self.site), env.get("PYTHONPATH")]))
        return env


def tooling_dir() -> Path:

    return cache_dir() / "llama.cpp" / f"llama-cpp-python-{LLAMA_CPP_PYTHON}"


def cached_tooling() -> Tooling | None:
    """The tooling when it is set up already (nothing is downloaded or built)."""
    root = tooling_dir()
    converter = root / "src" / "convert_hf_to_gguf.py"
    if not (root / "src" / "ready").is_file():
        return None
    if (root / "site" / "ready").is_file():
        return Tooling(converter, root / "src" / "gguf-py", root / "site")
    if importlib.util.find_spec("llama_cpp") is not None:
        return Tooling(converter, root / "src" / "gguf-py", None)
    return None


def _run(
    command: Sequence[str],
    what: str,
    *,
    env: dict[str, str] | None = None,
    progress: Progress | None = None,
    cwd: Path | None = None,
) -> str:
    """Run ``command``; its output streamed (``[n/m]`` build steps become progress lines); a failure is one line."""
    say = progress or (lambda line: None)
    process = subprocess.Popen(
        list(command), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env, cwd=cwd
    )
    lines: list[str] = []
    last_step = -1
    assert process.stdout is not None
    for line in process.stdout:
        lines.append(line.rstrip())
        step = re.search(r"\[(\d+)/(\d+)\]", line)
        if step:
            done, total = int(step.group(1)), int(step.group(2))
            if done * 10 // total > last_step:  # every tenth of the build
                last_step = done * 10 // total
                say(f"  {what}: {done}/{total} compile steps")
    if process.wait() != 0:
        tail = next((line for line in reversed(lines) if line.strip()), "no output")
        raise ConfigError(f"{what} failed: {tail[:300]}")
    return "\n".join(lines)


def ensure_tooling(progress: Progress | None = None) -> Tooling:
    """The cached tooling, set up first when missing (see the module docstring)."""
    found = cached_tooling()
    if found is not None:
        return found
    say = progress or (lambda line: None)
    root = tooling_dir()
    root.mkdir(parents=True, exist_ok=True)
    sdist = next(iter(sorted(root.glob("llama_cpp_python-*.tar.gz"))), None)
    if sdist is None:
        say(
            f"llama.cpp tooling: fetching llama-cpp-python {LLAMA_CPP_PYTHON} (its source carries llama.cpp's converter)"
        )
        _run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--no-deps",
                "--no-binary",
                ":all:",
                f"llama-cpp-python=={LLAMA_CPP_PYTHON}",
                "-d",
                str(root),
            ],
            "downloading llama-cpp-python",
        )
        sdist = next(iter(sorted(root.glob("llama_cpp_python-*.tar.gz"))))
    if not (root / "src" / "ready").is_file():
        _extract_converter(sdist, root / "src")
    if importlib.util.find_spec("llama_cpp") is None and not (root / "site" / "ready").is_file():
        wheels = root / "wheels"
        if not any(wheels.glob("llama_cpp_python-*.whl")):
            say(
                f"llama.cpp tooling: building llama.cpp (llama-cpp-python {LLAMA_CPP_PYTHON}) once: about 10-30 minutes "
                f"on a 2-core CPU, then cached in {root}"
            )
            env = {**os.environ, "CMAKE_ARGS": BUILD_FLAGS, "CMAKE_BUILD_PARALLEL_LEVEL": str(os.cpu_count() or 2)}
            _run(
                [sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", str(wheels), str(sdist)],
                "building llama.cpp",
                env=env,
                progress=say,
            )
        wheel = next(iter(sorted(wheels.glob("llama_cpp_python-*.whl"))))
        site = root / "site"
        shutil.rmtree(site, ignore_errors=True)
        _run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "-q",
                "--no-deps",
                "--target",
                str(site),
                str(wheel),
                "diskcache>=5.6.1",
            ],
            "installing the llama.cpp binding",
        )
        (site / "ready").write_text(LLAMA_CPP_PYTHON + "\n", encoding="utf-8")
    found = cached_tooling()
    assert found is not None
    return found


def _extract_converter(sdist: Path, target: Path) -> None:
    """``convert_hf_to_gguf.py``, ``conversion/`` and ``gguf-py/`` from the sdist's vendored llama.cpp."""
    shutil.rmtree(target, ignore_errors=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp, tarfile.open(sdist) as archive:
        top = archive.getnames()[0].split("/")[0]
        prefix = f"{top}/{VENDOR}"
        members = [
            m
            for m in archive.getmembers()
            if m.name.startswith(prefix) and m.name[len(prefix) :].startswith(CONVERTER_PARTS)
        ]
        if not members:
            raise ConfigError(f"{sdist} holds no llama.cpp converter under {VENDOR}; delete it and retry")
        archive.extractall(tmp, members=members, filter="data")
        shutil.move(str(Path(tmp) / top / VENDOR), str(target))
    (target / "ready").write_text(LLAMA_CPP_PYTHON + "\n", encoding="utf-8")


def convert(tools: Tooling, folder: Path, out: Path, outtype: str) -> None:
    """A Hugging Face folder -> one GGUF file by llama.cpp's ``convert_hf_to_gguf.py``."""
    if outtype not in CONVERTER_TYPES:
        raise ConfigError(f"the converter writes {', '.join(CONVERTER_TYPES)}, not {outtype}")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(tools.gguf_py), os.environ.get("PYTHONPATH")])),
        "NO_LOCAL_GGUF": "",
    }
    try:
        _run(
            [sys.executable, str(tools.converter), str(folder), "--outfile", str(out), "--outtype", outtype],
            "llama.cpp's converter",
            env=env,
        )
    except ConfigError as exc:
        if "not supported" in str(exc) or "not recognized" in str(exc):
            raise ConfigError(
                f"{exc} (llama.cpp {LLAMA_CPP_PYTHON} cannot convert this model; --converter builtin "
                "writes Llama-family models)"
            ) from None
        raise


def quantize(tools: Tooling, source: Path, target: Path, quant: str) -> None:
    """``source`` (f16 / f32 GGUF) -> ``target`` at ``quant`` by llama.cpp's quantizer (K-quants)."""
    if quant not in K_QUANTS:
        raise ConfigError(f"llama.cpp's quantizer is used for {', '.join(K_QUANTS)}, not {quant}")
    _run(
        [sys.executable, "-c", QUANTIZE_SCRIPT, str(source), str(target), str(K_QUANTS[quant])],
        f"llama.cpp's quantizer ({quant})",
        env=tools.runtime_env(),
    )


def llama_logits(tools: Tooling, path: Path, texts: Sequence[str]) -> tuple[list[list[int]], list[Any]]:
    """Each text tokenised by llama.cpp (special tokens parsed, no BOS added) and its logits at every
    position, computed inside llama.cpp from ``path``."""
    import numpy as np

    with tempfile.TemporaryDirectory() as tmp:
        arrays = Path(tmp) / "logits.npz"
        output = _run(
            [sys.executable, "-c", LOGITS_SCRIPT, str(path), json.dumps(list(texts)), str(arrays)],
            "running the GGUF in llama.cpp",
            env=tools.runtime_env(),
        )
        ids = json.loads(output.strip().splitlines()[-1])["ids"]
        with np.load(arrays) as loaded:
            logits = [loaded[f"p{number}"] for number in range(len(texts))]
    return ids, logits


def gguf_type_counts(path: Path) -> dict[str, int]:
    """Tensors per GGML type in a GGUF file."""
    from gguf import GGUFReader

    counts: dict[str, int] = {}
    for tensor in GGUFReader(str(path)).tensors:
        counts[tensor.tensor_type.name] = counts.get(tensor.tensor_type.name, 0) + 1
    return counts


__all__ = [
    "CONVERTER_TYPES",
    "K_QUANTS",
    "LLAMA_CPP_PYTHON",
    "QUANT_TYPES",
    "Tooling",
    "cached_tooling",
    "convert",
    "ensure_tooling",
    "gguf_type_counts",
    "llama_logits",
    "quantize",
    "tooling_dir",
]
