"""MLflow tracking against the real mlflow: by default a SQLite store in BREWSLM_HOME (current
mlflow refuses the old ./mlruns file store), the run's parameters, metrics and files read back
through ``MlflowClient``, and a tracker failure as one warning line while the run goes on."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

pytest.importorskip("mlflow")

from brewslm.evaluation import evaluate, load_eval_config  # noqa: E402
from brewslm.training import train  # noqa: E402
from brewslm.training.report import MLFLOW_DB, MlflowLogger  # noqa: E402


def test_train_and_eval_log_params_metrics_and_files_to_a_sqlite_store_in_home(sentiment, config_for, quiet,
                                                                                workspace: Path, tmp_path: Path,
                                                                                monkeypatch) -> None:
    from mlflow.tracking import MlflowClient

    monkeypatch.chdir(tmp_path)  # nothing may land in the working directory (MLflow's ./mlruns default)
    result = train(config_for(sentiment, max_steps=2, mlflow=True, mlflow_experiment="tracked"), progress=quiet)
    evaluate(load_eval_config(model=str(result.run_dir), dataset=sentiment, split="validation", baseline="none", mlflow=True,
                        mlflow_experiment="tracked", out_dir=str(tmp_path / "eval")))

    client = MlflowClient(tracking_uri=f"sqlite:///{workspace / MLFLOW_DB}")
    experiment = client.get_experiment_by_name("tracked")
    runs = {run.info.run_name: run for run in client.search_runs([experiment.experiment_id])}
    trained, evaluated = runs[result.run_dir.name], next(r for name, r in runs.items() if name.startswith("eval-"))
    assert trained.info.status == evaluated.info.status == "FINISHED"
    assert trained.data.params["method"] == "lora" and trained.data.params["max_steps"] == "2"
    assert [m.step for m in client.get_metric_history(trained.info.run_id, "loss")] == [1, 2]
    assert {"config.yaml", "run.json", "metrics.jsonl", "loss_curve.png"} <= {
        a.path for a in client.list_artifacts(trained.info.run_id)}
    assert any(key.startswith("tuned.") for key in evaluated.data.metrics)
    assert "report.json" in {a.path for a in client.list_artifacts(evaluated.info.run_id)}
    assert Path(experiment.artifact_location.removeprefix("file://")).is_relative_to(workspace)
    assert not (tmp_path / "mlruns").exists()


def test_a_tracker_failure_is_one_warning_line_and_the_run_goes_on(sentiment, config_for, quiet, tmp_path,
                                                                   caplog, monkeypatch) -> None:
    # an MLflow that cannot open its store: the ./mlruns file store current mlflow refuses
    monkeypatch.setenv("MLFLOW_TRACKING_URI", str(tmp_path / "mlruns"))
    with caplog.at_level(logging.WARNING, logger="brewslm.tracking"):
        result = train(config_for(sentiment, max_steps=1, mlflow=True), progress=quiet)
    assert result.steps == 1 and (result.run_dir / "model").is_dir()
    lines = [record.getMessage() for record in caplog.records if record.name == "brewslm.tracking"]
    assert len(lines) == 1 and "\n" not in lines[0], lines
    assert lines[0].startswith("MLflow tracking stopped (MlflowException: ") and str(tmp_path / "mlruns") in lines[0]
    assert lines[0].endswith("the run goes on without it")


def test_a_failure_mid_run_stops_tracking_once(workspace: Path, caplog, monkeypatch) -> None:
    import mlflow

    logger = MlflowLogger("midway", "r1", {"a": 1})
    assert logger.active and logger.uri == f"sqlite:///{workspace / MLFLOW_DB}"

    def unreachable(*args, **kwargs):
        raise ConnectionError("tracking server went away")

    monkeypatch.setattr(mlflow, "log_metrics", unreachable)
    with caplog.at_level(logging.WARNING, logger="brewslm.tracking"):
        logger.log({"loss": 1.0}, step=1)
        logger.log({"loss": 0.5}, step=2)  # tracking is off now: no second line
        logger.finish("finished")
    assert [r.getMessage() for r in caplog.records if r.name == "brewslm.tracking"] == [
        f"MLflow tracking stopped (ConnectionError: tracking server went away at {logger.uri}); "
        "the run goes on without it"]
    run = mlflow.tracking.MlflowClient(logger.uri).get_run(logger.run.info.run_id)
    assert run.info.status == "FAILED"  # what was logged is marked incomplete
