"""Experiment tracking against the real libraries: MLflow in a SQLite store in BREWSLM_HOME (current
mlflow refuses the old ./mlruns file store) read back through ``MlflowClient``; TensorBoard event
files read back with its EventAccumulator; W&B in offline mode, its run folder read back; and a
tracker failure as one warning line while the run goes on."""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path
from typing import Iterator

import pytest

pytest.importorskip("mlflow")

from brewslm.evaluation import evaluate, load_eval_config  # noqa: E402
from brewslm.training import train  # noqa: E402
from brewslm.training.report import MetricsLog  # noqa: E402
from brewslm.training.tracking import MLFLOW_DB, MlflowTracker, flatten  # noqa: E402


@contextlib.contextmanager
def tracking_warnings(caplog: pytest.LogCaptureFixture) -> Iterator[list[str]]:
    """The ``brewslm.tracking`` warnings logged inside the block (filled when it ends), captured on
    the logger itself: run after other tests in one process, a library's logging set-up (a
    ``dictConfig`` that disables existing loggers, a handler swap on the root) can keep them from
    reaching the root handler caplog reads."""
    logger = logging.getLogger("brewslm.tracking")
    lines: list[str] = []
    disabled, logger.disabled = logger.disabled, False
    logger.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.WARNING, logger="brewslm.tracking"):
            yield lines
    finally:
        logger.removeHandler(caplog.handler)
        logger.disabled = disabled
    seen = {id(record): record for record in caplog.records if record.name == "brewslm.tracking"}
    lines.extend(record.getMessage() for record in seen.values())


def test_train_and_eval_log_params_metrics_and_files_to_a_sqlite_store_in_home(
    sentiment, config_for, quiet, workspace: Path, tmp_path: Path, monkeypatch
) -> None:
    from mlflow.tracking import MlflowClient

    monkeypatch.chdir(tmp_path)  # nothing may land in the working directory (MLflow's ./mlruns default)
    result = train(config_for(sentiment, max_steps=2, mlflow=True, mlflow_experiment="tracked"), progress=quiet)
    evaluate(
        load_eval_config(
            model=str(result.run_dir),
            dataset=sentiment,
            split="validation",
            baseline="none",
            mlflow=True,
            mlflow_experiment="tracked",
            out_dir=str(tmp_path / "eval"),
        )
    )

    client = MlflowClient(tracking_uri=f"sqlite:///{workspace / MLFLOW_DB}")
    experiment = client.get_experiment_by_name("tracked")
    runs = {run.info.run_name: run for run in client.search_runs([experiment.experiment_id])}
    trained, evaluated = runs[result.run_dir.name], next(r for name, r in runs.items() if name.startswith("eval-"))
    assert trained.info.status == evaluated.info.status == "FINISHED"
    assert trained.data.params["method"] == "lora" and trained.data.params["max_steps"] == "2"
    assert [m.step for m in client.get_metric_history(trained.info.run_id, "loss")] == [1, 2]
    assert {"config.yaml", "run.json", "metrics.jsonl", "loss_curve.png"} <= {
        a.path for a in client.list_artifacts(trained.info.run_id)
    }
    assert any(key.startswith("tuned.") for key in evaluated.data.metrics)
    assert "report.json" in {a.path for a in client.list_artifacts(evaluated.info.run_id)}
    assert Path(experiment.artifact_location.removeprefix("file://")).is_relative_to(workspace)
    assert not (tmp_path / "mlruns").exists()


def test_a_tracker_failure_is_one_warning_line_and_the_run_goes_on(
    sentiment, config_for, quiet, tmp_path, caplog, monkeypatch
) -> None:
    # an MLflow that cannot open its store: the ./mlruns file store current mlflow refuses
    monkeypatch.setenv("MLFLOW_TRACKING_URI", str(tmp_path / "mlruns"))
    with tracking_warnings(caplog) as lines:
        result = train(config_for(sentiment, max_steps=1, mlflow=True), progress=quiet)
    assert result.steps == 1 and (result.run_dir / "model").is_dir()
    assert len(lines) == 1 and "\n" not in lines[0], lines
    assert lines[0].startswith("MLflow tracking stopped (MlflowException: ") and str(tmp_path / "mlruns") in lines[0]
    assert lines[0].endswith("the run goes on without it")


def test_a_failure_mid_run_stops_tracking_once(workspace: Path, caplog, monkeypatch) -> None:
    import mlflow

    logger = MlflowTracker("midway", "r1", {"a": 1})
    assert logger.active and logger.uri == f"sqlite:///{workspace / MLFLOW_DB}"

    def unreachable(*args, **kwargs):
        raise ConnectionError("tracking server went away")

    monkeypatch.setattr(mlflow, "log_metrics", unreachable)
    with tracking_warnings(caplog) as lines:
        logger.log({"loss": 1.0}, step=1)
        logger.log({"loss": 0.5}, step=2)  # tracking is off now: no second line
        logger.finish("finished")
    assert lines == [
        f"MLflow tracking stopped (ConnectionError: tracking server went away at {logger.uri}); "
        "the run goes on without it"
    ]
    run = mlflow.tracking.MlflowClient(logger.uri).get_run(logger.run.info.run_id)
    assert run.info.status == "FAILED"  # what was logged is marked incomplete


def _scalars(log_dir: Path) -> dict[str, list[tuple[int, float]]]:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(log_dir), size_guidance={"scalars": 0, "tensors": 0, "images": 0})
    events.Reload()
    return {tag: [(e.step, e.value) for e in events.Scalars(tag)] for tag in events.Tags()["scalars"]}, events


def test_tensorboard_and_wandb_hold_the_steps_the_evaluation_and_the_files(
    sentiment, config_for, quiet, monkeypatch, tmp_path: Path
) -> None:
    pytest.importorskip("tensorboard")
    pytest.importorskip("wandb")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    monkeypatch.delenv("WANDB_MODE", raising=False)  # no key, no mode: offline, never a login prompt

    result = train(
        config_for(sentiment, max_steps=2, report_to=["tensorboard", "wandb"], wandb_project="tracked"), progress=quiet
    )  # one run, both trackers
    _check_wandb_offline_run(result)
    scalars, events = _scalars(result.run_dir / "tensorboard")
    logged = [e for e in MetricsLog(result.run_dir / "metrics.jsonl").read() if e.get("kind") == "train"]
    assert [step for step, _ in scalars["loss"]] == [1, 2]
    assert [value for _, value in scalars["loss"]] == pytest.approx([e["loss"] for e in logged], rel=1e-6)
    assert {"lr", "tokens_per_s", "final_train_loss"} <= set(scalars)
    assert "files/loss_curve.png" in events.Tags()["images"]
    texts = set(events.Tags()["tensors"])  # add_text is stored as a tensor summary
    assert {"params/text_summary", "files/config.yaml/text_summary", "files/model/text_summary"} <= texts

    evaluated = evaluate(
        load_eval_config(
            model=str(result.run_dir),
            dataset=sentiment,
            split="validation",
            report_to=["tensorboard"],
            out_dir=str(tmp_path / "eval"),
        )
    )
    scalars, events = _scalars(tmp_path / "eval" / "tensorboard")
    report = evaluated.report
    headline = report["headline"]
    assert scalars[f"tuned.{headline}"][0][1] == pytest.approx(report["metrics"]["tuned"][headline])
    low, high = report["intervals"]["tuned"][headline]
    assert scalars[f"tuned.{headline}.ci_low"][0][1] == pytest.approx(low)
    assert scalars[f"tuned.{headline}.ci_high"][0][1] == pytest.approx(high)
    assert scalars[f"lift.{headline}"][0][1] == pytest.approx(report["lift"][headline]["lift"])
    assert "files/report.md/text_summary" in events.Tags()["tensors"]


def _check_wandb_offline_run(result) -> None:
    """The W&B offline run of ``result``: its config, metrics by step and one artifact with the files."""
    runs = sorted((result.run_dir / "wandb" / "wandb").glob("offline-run-*"))
    assert len(runs) == 1, runs
    records = _wandb_records(next(runs[0].glob("*.wandb")))

    kinds = [r.WhichOneof("record_type") for r in records]
    assert "run" in kinds, kinds
    run = next(r.run for r in records if r.WhichOneof("record_type") == "run")
    config = {item.key: json.loads(item.value_json) for item in run.config.update}
    assert run.project == "tracked" and run.display_name == result.run_dir.name
    assert config["method"] == "lora" and config["max_steps"] == 2
    history = [
        {item.key or "/".join(item.nested_key): json.loads(item.value_json) for item in r.history.item}
        for r in records
        if r.WhichOneof("record_type") == "history"
    ]
    logged = [e for e in MetricsLog(result.run_dir / "metrics.jsonl").read() if e.get("kind") == "train"]
    assert [h["_step"] for h in history] == [1, 2]
    assert [h["loss"] for h in history] == pytest.approx([e["loss"] for e in logged], rel=1e-6)
    assert "final_train_loss" in history[-1] and history[-1]["files/loss_curve/_type"] == "image-file"
    artifact = next(r.artifact for r in records if r.WhichOneof("record_type") == "artifact")
    assert artifact.type == "brewslm-run"
    assert {"config.yaml", "run.json", "metrics.jsonl", "loss_curve.png", "model/adapter_model.safetensors"} <= {
        entry.path for entry in artifact.manifest.contents
    }


def _wandb_records(path: Path) -> list:
    """The records of an offline run's ``.wandb`` transaction log: W&B's header (``:W&B``, magic, version),
    then LevelDB-log framing (32 KiB blocks; per chunk crc32, length, type: full / first / middle / last)
    around protobuf ``Record`` messages. (wandb 0.2x's Python reader of this file is gone; its Go core writes it.)"""
    import struct

    from wandb.proto import wandb_internal_pb2

    data, block = path.read_bytes(), 32768
    assert data[:4] == b":W&B"
    position, chunks, pending = 7, [], b""
    while position + 7 <= len(data):
        left = block - position % block
        if left < 7:  # a block's tail too short for a chunk header is padding
            position += left
            continue
        _crc, length, kind = struct.unpack("<IHB", data[position : position + 7])
        if kind == 0 and length == 0:
            position += left
            continue
        chunk = data[position + 7 : position + 7 + length]
        position += 7 + length
        if kind == 1:
            chunks.append(chunk)
        elif kind == 2:
            pending = chunk
        elif kind == 3:
            pending += chunk
        elif kind == 4:
            chunks.append(pending + chunk)
            pending = b""
    records = []
    for chunk in chunks:
        record = wandb_internal_pb2.Record()
        record.ParseFromString(chunk)
        records.append(record)
    return records


def test_report_to_reads_one_name_a_list_all_and_none() -> None:
    from brewslm.options import build_options
    from brewslm.training.config import TrainConfig

    assert TrainConfig(dataset="d", report_to="wandb,tensorboard").trackers == ["tensorboard", "wandb"]
    assert TrainConfig(dataset="d", report_to="all").trackers == ["mlflow", "tensorboard", "wandb"]
    assert TrainConfig(dataset="d", report_to="none", mlflow=True).trackers == ["mlflow"]
    with pytest.raises(Exception, match="report_to"):
        build_options(TrainConfig, {"dataset": "d", "report_to": ["tensorbord"]})


def test_a_missing_tracker_package_is_a_config_error_naming_it(monkeypatch) -> None:
    import importlib.util

    from brewslm.errors import ConfigError
    from brewslm.training.tracking import check_trackers_available

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "wandb" else real(name, *a))
    with pytest.raises(ConfigError, match="pip install wandb"):
        check_trackers_available(["tensorboard", "wandb"])


def test_flatten_params() -> None:
    assert flatten({"lora": {"r": 8}, "seed": 0}) == {"lora.r": 8, "seed": 0}
