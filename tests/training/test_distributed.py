"""Training in several processes (``brewslm.training.distributed``): two CPU processes (gloo),
started with the real ``torchrun`` as users start them, train like one process on the same global
batch - same losses, evaluations and weights - while rank 0 alone writes the run folder."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from brewslm.errors import ConfigError
from brewslm.storage.events import list_events
from brewslm.training import build_config, load_config, read_run, train
from brewslm.training.distributed import Launch, Runtime, launch_from_env, merge_means
from training.test_preference import QUESTIONS, pair_rows

LAUNCH_TIMEOUT = 240  # seconds; two processes on a shared 2-core machine
RANK_LINE = re.compile(
    r"rank (?P<rank>\d+)/2 \((?P<strategy>\w+)\): trained (?P<micro_batches>\d+) micro-batch shares, "
    r"(?P<examples>\d+) examples, (?P<tokens>\d+) tokens"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def torchrun(*args: str) -> subprocess.CompletedProcess:
    """``python -m torch.distributed.run --nproc_per_node 2 -m brewslm train ARGS`` on 127.0.0.1."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT")
    }
    env["OMP_NUM_THREADS"] = "1"  # two processes on two cores
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nnodes",
        "1",
        "--nproc_per_node",
        "2",
        "--master_addr",
        "127.0.0.1",
        "--master_port",
        str(free_port()),
        "-m",
        "brewslm",
        "train",
        *args,
    ]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=LAUNCH_TIMEOUT)


def write_config(path: Path, **options: Any) -> Path:
    path.write_text(yaml.safe_dump(options), encoding="utf-8")
    return path


def rank_shares(stderr: str) -> dict[int, dict[str, Any]]:
    found = {}
    for match in RANK_LINE.finditer(stderr):
        share = match.groupdict()
        found[int(share.pop("rank"))] = {k: v if k == "strategy" else int(v) for k, v in share.items()}
    return found


def metrics(run_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()]


TIMINGS = ("tokens_per_s", "step_seconds", "eta_s")


def assert_same_metrics(one: Path, two: Path) -> None:
    """Every logged number of the two runs agrees: counts exactly, losses and metrics to float rounding."""
    a, b = metrics(one), metrics(two)
    assert [sorted(e) for e in a] == [sorted(e) for e in b]
    for x, y in zip(a, b):
        for key, value in x.items():
            if key in TIMINGS:
                continue
            if isinstance(value, float):
                assert y[key] == pytest.approx(value, rel=1e-5, abs=1e-6), (x["kind"], x["step"], key)
            else:
                assert y[key] == value, (x["kind"], x["step"], key)


def assert_close_weights(a: Path, b: Path, atol: float = 1e-5) -> None:
    from safetensors.torch import load_file

    wa, wb = load_file(str(a)), load_file(str(b))
    assert wa.keys() == wb.keys() and wa
    worst = max(float((wa[k] - wb[k]).abs().max()) for k in wa)
    assert worst < atol, f"largest difference {worst:.2e} between {a} and {b}"


def files(run_dir: Path) -> list[str]:
    return sorted(str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file())


# --- two processes, end to end ----------------------------------------------------------------------


def test_two_processes_train_like_one_and_only_rank_0_writes(sentiment, tiny_lm_dir, quiet, tmp_path) -> None:
    # 16 examples in micro-batches of 3: the last one has 1 row, so one process gets an empty share;
    # 2 evaluation batches (3 + 1 examples), one per process
    config = write_config(
        tmp_path / "train.yaml",
        dataset=sentiment,
        base_model=str(tiny_lm_dir),
        batch_size=3,
        grad_accum=2,
        max_steps=4,
        eval_every=2,
        save_every=2,
        keep_checkpoints=2,
        max_seq_len=160,
        learning_rate=5e-3,
        lora={"r": 8, "alpha": 16},
        log_every=1,
    )
    one = train(load_config(config, output_dir=str(tmp_path / "one")), progress=quiet)
    two = tmp_path / "two"
    done = torchrun("--config", str(config), f"output_dir={two}")
    assert done.returncode == 0, done.stderr[-4000:]

    # both processes trained, each on its share of every micro-batch, together on all of it
    shares = rank_shares(done.stderr)
    assert sorted(shares) == [0, 1] and {s["strategy"] for s in shares.values()} == {"ddp"}
    assert shares[0]["micro_batches"] == 8 and shares[1]["micro_batches"] == 7  # 4 steps x 2; one share was empty
    assert shares[0]["tokens"] + shares[1]["tokens"] == one.tokens
    assert shares[0]["examples"] > shares[1]["examples"] > 0

    # the same run: losses, evaluations, token counts, checkpoints and adapter, up to float rounding
    assert_same_metrics(one.run_dir, two)
    assert_close_weights(one.model_dir / "adapter_model.safetensors", two / "model" / "adapter_model.safetensors")
    for step in ("step-000002", "step-000004"):
        assert_close_weights(
            one.run_dir / "checkpoints" / step / "trainable.safetensors",
            two / "checkpoints" / step / "trainable.safetensors",
        )

    # rank 0 alone wrote: the same files as one process, each line, event and summary once
    assert files(two) == files(one.run_dir)
    record = read_run(two)
    assert record["status"] == "finished" and record["distributed"] == {
        "world_size": 2,
        "strategy": "ddp",
        "backend": "gloo",
    }
    assert record["metrics"]["tokens"] == one.tokens
    events = [e.reason_code for e in list_events(stage="training") if e.payload["run_dir"] == str(two)]
    assert events == ["training_run_finished", "training_run_started"]
    assert done.stdout.count("validation loss") == 1 and done.stderr.count("eval at step 2") == 1

    # its checkpoint holds the whole run's state: one process resumes it to the same end
    resumed = tmp_path / "resumed"
    shutil.copytree(two, resumed)
    train(
        load_config(config, output_dir=str(resumed), resume=str(resumed / "checkpoints" / "step-000002")),
        progress=quiet,
    )
    assert_close_weights(two / "model" / "adapter_model.safetensors", resumed / "model" / "adapter_model.safetensors")

    # a refusal decided on rank 0 (the run folder is taken) stops both processes with its message
    again = torchrun("--config", str(config), f"output_dir={two}")
    assert again.returncode != 0
    assert again.stderr.count("already holds a training run") == 2, again.stderr[-3000:]


def test_fsdp_shards_a_full_fine_tune_and_matches_one_process(sentiment, tiny_lm_dir, quiet, tmp_path) -> None:
    import torch

    config = write_config(
        tmp_path / "train.yaml",
        dataset=sentiment,
        base_model=str(tiny_lm_dir),
        method="full",
        batch_size=4,
        max_steps=3,
        eval_every=3,
        save_every=3,
        early_stopping={"patience": 1},
        max_seq_len=160,
        learning_rate=1e-3,
        log_every=1,
    )
    one = train(load_config(config, output_dir=str(tmp_path / "one")), progress=quiet)
    two = tmp_path / "two"
    done = torchrun("--config", str(config), f"output_dir={two}", "distributed.strategy=fsdp")
    assert done.returncode == 0, done.stderr[-4000:]

    shares = rank_shares(done.stderr)
    assert sorted(shares) == [0, 1] and {s["strategy"] for s in shares.values()} == {"fsdp"}
    assert shares[0]["micro_batches"] == shares[1]["micro_batches"] == 3
    assert shares[0]["examples"] == shares[1]["examples"] == 6
    assert_same_metrics(one.run_dir, two)
    # the sharded weights and optimizer state, gathered: the single-process files, tied weights included
    assert_close_weights(one.model_dir / "model.safetensors", two / "model" / "model.safetensors")
    assert_close_weights(one.run_dir / "best.safetensors", two / "best.safetensors")
    checkpoint_one, checkpoint_two = (run / "checkpoints" / "step-000003" for run in (one.run_dir, two))
    assert_close_weights(checkpoint_one / "trainable.safetensors", checkpoint_two / "trainable.safetensors")
    opt_one, opt_two = (
        torch.load(c / "optimizer.pt", weights_only=False)["optimizer"] for c in (checkpoint_one, checkpoint_two)
    )
    assert opt_one["param_groups"] == opt_two["param_groups"] and opt_one["state"].keys() == opt_two["state"].keys()
    for index, state in opt_one["state"].items():
        for key, value in state.items():
            assert torch.allclose(value, opt_two["state"][index][key], atol=1e-6), (index, key)
    assert len(torch.load(checkpoint_two / "rng.pt", weights_only=False)["ranks"]) == 2
    assert files(two) == files(one.run_dir)
    assert yaml.safe_load((two / "config.yaml").read_text())["prefix_sharing"] is False  # off under FSDP
    assert read_run(two)["distributed"]["strategy"] == "fsdp"


def test_dpo_in_two_processes_reports_the_same_rewards(import_rows, tiny_lm_dir, quiet, tmp_path) -> None:
    # per-pair metrics (rewards, margins, accuracies) are summed across processes in training and
    # merged by pair counts in evaluation
    import_rows("prefs", pair_rows(QUESTIONS), mapper_id="preference_pair")
    import_rows("prefs", pair_rows(QUESTIONS[::4], " Thanks!"), mapper_id="preference_pair", split="validation")
    config = write_config(
        tmp_path / "train.yaml",
        dataset="prefs",
        base_model=str(tiny_lm_dir),
        method="dpo",
        batch_size=3,
        grad_accum=2,
        max_steps=3,
        eval_every=3,
        max_seq_len=160,
        learning_rate=5e-3,
        lora={"r": 8, "alpha": 16},
    )
    one = train(load_config(config, output_dir=str(tmp_path / "one")), progress=quiet)
    two = tmp_path / "two"
    done = torchrun("--config", str(config), f"output_dir={two}", "--quiet")
    assert done.returncode == 0, done.stderr[-4000:]
    assert_same_metrics(one.run_dir, two)
    assert "eval_rewards/margins" in metrics(two)[-1] and "rewards/accuracies" in metrics(two)[0]
    assert_close_weights(one.model_dir / "adapter_model.safetensors", two / "model" / "adapter_model.safetensors")


# --- the pieces --------------------------------------------------------------------------------------


def test_launch_from_the_environment() -> None:
    assert launch_from_env({}) == Launch() == launch_from_env({"WORLD_SIZE": "1"})
    torchrun_env = {
        "WORLD_SIZE": "4",
        "RANK": "3",
        "LOCAL_RANK": "1",
        "LOCAL_WORLD_SIZE": "2",
        "MASTER_ADDR": "10.0.0.1",
        "MASTER_PORT": "29500",
    }
    assert launch_from_env(torchrun_env) == Launch(rank=3, world_size=4, local_rank=1, local_world_size=2)
    mpi_env = {
        "OMPI_COMM_WORLD_SIZE": "2",
        "OMPI_COMM_WORLD_RANK": "1",
        "OMPI_COMM_WORLD_LOCAL_RANK": "1",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": "29500",
    }
    assert launch_from_env(mpi_env) == Launch(rank=1, world_size=2, local_rank=1, local_world_size=2)
    with pytest.raises(ConfigError, match=r"WORLD_SIZE=2 .* MASTER_ADDR, MASTER_PORT are not set; .*torchrun"):
        launch_from_env({"WORLD_SIZE": "2", "RANK": "0"})
    with pytest.raises(ConfigError, match="RANK=2 is outside 0..1"):
        launch_from_env({**torchrun_env, "WORLD_SIZE": "2", "RANK": "2"})
    with pytest.raises(ConfigError, match="RANK='x' is not a whole number"):
        launch_from_env({**torchrun_env, "RANK": "x"})


def test_a_half_set_launch_environment_fails_before_training(sentiment, config_for, quiet, monkeypatch) -> None:
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    monkeypatch.delenv("MASTER_ADDR", raising=False)
    monkeypatch.delenv("MASTER_PORT", raising=False)
    config = config_for(sentiment)
    with pytest.raises(ConfigError, match="MASTER_ADDR, MASTER_PORT are not set"):
        train(config, progress=quiet)
    assert not Path(config.output_dir).exists()


def test_each_process_takes_every_nth_row() -> None:
    rows = [(i,) for i in range(5)]
    shares = [Runtime(Launch(rank, 2)).shard(rows) for rank in (0, 1)]
    assert shares == [([(0,), (2,), (4,)], True), ([(1,), (3,)], True)]
    # a share left empty runs the first row, to be counted as nothing
    assert Runtime(Launch(1, 2)).shard([(7,)]) == ([(7,)], False)
    assert Runtime().shard(rows) == (rows, True)


def test_evaluation_shares_merge_by_their_counts() -> None:
    merged = merge_means([{"eval_loss": 2.0, "eval_tokens": 30}, {"eval_loss": 4.0, "eval_tokens": 10}], "eval_tokens")
    assert merged == {"eval_loss": 2.5, "eval_tokens": 40}
    # a process with no batch of its own has no metric keys (preference metrics appear per batch)
    merged = merge_means(
        [{"eval_loss": 1.0, "eval_pairs": 2, "eval_rewards/margins": 0.5}, {"eval_loss": 0.0, "eval_pairs": 0}],
        "eval_pairs",
    )
    assert merged == {"eval_loss": 1.0, "eval_pairs": 2, "eval_rewards/margins": 0.5}


def test_the_memory_check_counts_one_process_share(sentiment, config_for, monkeypatch) -> None:
    from brewslm.training import loop
    from brewslm.training.model import apply_method, load_base, parameter_counts
    from brewslm.training.objective import build_objective

    config = config_for(sentiment, method="full", batch_size=5)
    setup = loop.preflight(config)
    model, tokenizer = load_base(config, setup.precision)
    model = apply_method(model, config)
    objective = build_objective(config, setup.dataset, setup.profile, setup.context, tokenizer, model)
    checked: list[tuple[Any, int, str, int]] = []
    monkeypatch.setattr(loop, "available_memory", lambda device: (8 * 2**30, "available RAM"))
    monkeypatch.setattr(
        loop,
        "check_memory",
        lambda estimate, available, what, already_resident: checked.append(
            (estimate, available, what, already_resident)
        ),
    )
    processes = {
        "one": Runtime(),
        "ddp": Runtime(Launch(0, 2, 0, 2), strategy="ddp"),
        "fsdp": Runtime(Launch(1, 2, 1, 1), strategy="fsdp"),
    }
    for runtime in processes.values():
        monkeypatch.setattr(runtime, "barrier", lambda: None)  # no process group in this test
        loop.check_training_memory(model, objective, config, setup.precision, runtime)
    (one, ram, _, resident), (ddp, ddp_ram, ddp_what, _), (fsdp, fsdp_ram, _, fsdp_resident) = checked
    total, trainable = parameter_counts(model)
    assert resident == fsdp_resident == total * 4 == one.weights  # the whole model is loaded before sharding
    assert (one.batch_rows, ddp.batch_rows, fsdp.batch_rows) == (5, 3, 3)  # each process runs its share of the rows
    assert ddp.weights == one.weights and ddp.optimizer == one.optimizer
    assert fsdp.weights == -(-total // 2) * 4 and fsdp.optimizer == -(-trainable // 2) * 12  # its shard
    assert ddp_ram == ram // 2 and "2 processes share this machine" in ddp_what  # one machine's RAM, two processes
    assert fsdp_ram == ram  # one process on its machine


def test_fsdp_options_it_cannot_honour(tiny_lm_dir) -> None:
    base = {"dataset": "d", "base_model": str(tiny_lm_dir), "distributed": {"strategy": "fsdp"}}
    assert build_config(base).distributed.strategy == "fsdp"
    with pytest.raises(ConfigError, match="qlora's 4-bit weights cannot be sharded by FSDP"):
        build_config({**base, "qlora": True})
    with pytest.raises(ConfigError, match="dtype float16 .* use dtype=bfloat16"):
        build_config({**base, "dtype": "float16"})
    with pytest.raises(ConfigError, match="distributed.strategy"):
        build_config({**base, "distributed": {"strategy": "deepspeed"}})
