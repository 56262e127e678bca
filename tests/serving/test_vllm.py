"""``brewslm serve --engine vllm``: the command line vLLM gets for the served ids (its run against a
real vLLM is ``bench/vllm_serve.py``: vLLM pins its own torch and is no test dependency), and the
one-line errors before anything starts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from brewslm.errors import BrewError, ConfigError
from brewslm.serving.served import ServedModels
from brewslm.serving.settings import server_settings
from brewslm.serving.vllm import running_vllm, vllm_launch


def _flag(argv: list[str], name: str) -> str:
    return argv[argv.index(name) + 1]


def test_lora_runs_become_vllm_lora_modules_over_their_base(sentiment_run: Path, qa_run: Path) -> None:
    models = ServedModels.load([str(sentiment_run), str(qa_run)], weights=False)
    launch = vllm_launch(models, python="/opt/vllm/bin/python", port=8123, extra_args=["--enforce-eager"])
    argv = launch.argv
    assert argv[:3] == ["/opt/vllm/bin/python", "-m", "vllm.entrypoints.openai.api_server"]
    base = models.get("tiny-base")
    assert _flag(argv, "--model") == base.source and _flag(argv, "--served-model-name") == "tiny-base"
    assert _flag(argv, "--port") == "8123" and launch.url == "http://127.0.0.1:8123"
    assert _flag(argv, "--dtype") == "float32" and int(_flag(argv, "--max-model-len")) == min(base.context_length, 4096)
    modules = argv[argv.index("--lora-modules") + 1 : argv.index("--enforce-eager")]
    assert modules == [
        f"sentiment={models.get('sentiment').bundle.model_dir}",
        f"qa={models.get('qa').bundle.model_dir}",
    ]
    assert (
        "--enable-lora" in argv and _flag(argv, "--max-lora-rank") in ("8", "16") and _flag(argv, "--max-loras") == "2"
    )
    assert launch.lora_ids == ("sentiment", "qa") and launch.base_id == "tiny-base"


def test_a_plain_folder_is_served_as_it_is(served_base_dir: Path) -> None:
    launch = vllm_launch(ServedModels.load([str(served_base_dir)], weights=False), port=8124)
    assert _flag(launch.argv, "--model") == str(served_base_dir) and "--enable-lora" not in launch.argv
    assert launch.argv[0] == sys.executable


def test_two_bases_need_two_servers(served_base_dir: Path, sentiment_run: Path, tmp_path: Path) -> None:
    import shutil

    other = tmp_path / "other-base"
    shutil.copytree(served_base_dir, other)
    models = ServedModels.load([str(sentiment_run), str(other)], weights=False)
    with pytest.raises(ConfigError, match="one base model per server"):
        vllm_launch(models)


def test_a_vllm_that_cannot_start_is_one_line(served_base_dir: Path, tmp_path: Path) -> None:
    models = ServedModels.load([str(served_base_dir)], weights=False)
    launch = vllm_launch(models, python=sys.executable, port=8125, log_path=tmp_path / "vllm.log")
    # this environment has no vLLM: the module is missing, the process exits, the error says where to look
    with pytest.raises(BrewError, match=r"vLLM exited with status 1 before it was ready: .*vllm.*full log"):
        with running_vllm(launch, startup_timeout_s=60):
            pass
    with pytest.raises(ConfigError, match="--vllm-python"):
        with running_vllm(vllm_launch(models, python=str(tmp_path / "no-python"), port=8126)):
            pass


def test_engine_settings_are_checked() -> None:
    with pytest.raises(ConfigError, match="upstream_url"):
        server_settings(engine="upstream")
    with pytest.raises(ConfigError, match="engine 'upstream'"):
        server_settings(upstream_url="http://127.0.0.1:8001")
    assert server_settings(engine="upstream", upstream_url="http://127.0.0.1:8001").engine == "upstream"
