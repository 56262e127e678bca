"""Experiment trackers: MLflow, TensorBoard and Weights & Biases, any subset (``report_to``).

Training and evaluation talk to one ``Trackers`` object - ``log(metrics, step)``,
``log_artifacts(paths)``, ``finish(status)`` - which fans out to the trackers the config names:

- **mlflow**: a run in ``mlflow_tracking_uri`` (default: a SQLite store in BREWSLM_HOME), with the
  parameters, every metric by step and the files as artifacts.
- **tensorboard**: event files under ``tensorboard_dir`` (default: ``<run folder>/tensorboard``, or
  the evaluation's folder): scalars by step, the parameters and text files as text, PNGs as images.
  TensorBoard keeps no files, so a model folder is named, not copied.
- **wandb**: a W&B run in ``wandb_project``; files (and a LoRA adapter) as one run artifact, PNGs as
  images too. Without ``WANDB_API_KEY`` (or ``WANDB_MODE``) it runs offline under
  ``<run folder>/wandb``, to upload later with ``wandb sync``: a training run never waits on a login.

Tracking is a side channel: everything it logs is also in the run folder or the report. So a
tracker failure - a store that cannot be opened, a server gone mid-run - never stops training or an
evaluation (hours of work, or a gate verdict in CI): it becomes one warning line on the
``brewslm.tracking`` logger naming the tracker and the cause, and the others go on. A tracker whose
package is missing is a ``ConfigError`` up front (``check_trackers_available``): nothing could be
logged and the fix is plain.
"""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from brewslm.errors import ConfigError
from brewslm.workspace import home_dir

TRACKERS = ("mlflow", "tensorboard", "wandb")
PACKAGES = {"mlflow": "mlflow", "tensorboard": "tensorboard", "wandb": "wandb"}  # tracker -> pip package

MLFLOW_DB = "mlflow.db"  # the default store, in BREWSLM_HOME
MLFLOW_ARTIFACTS = "mlflow-artifacts"  # its artifacts, beside it (MLflow's own default is ./mlruns in the cwd)
TENSORBOARD_DIR = "tensorboard"  # default event-file folder, inside the run / evaluation folder
WANDB_DIR = "wandb"  # default offline W&B folder, inside the run / evaluation folder
TEXT_SUFFIXES = (".yaml", ".yml", ".json", ".md", ".txt")
TEXT_LIMIT = 100_000  # characters of one text file shown in TensorBoard
tracking_log = logging.getLogger("brewslm.tracking")


def check_trackers_available(report_to: Iterable[str]) -> None:
    """A ``ConfigError`` naming the pip package of the first named tracker that is not installed."""
    for name in report_to:
        if importlib.util.find_spec(PACKAGES[name]) is None:
            raise ConfigError(
                f"report_to names {name} but the {PACKAGES[name]} package is not installed; "
                f"pip install {PACKAGES[name]}, or remove {name} from report_to"
            )


def flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def numbers_of(metrics: Mapping[str, Any]) -> dict[str, float]:
    """The numeric entries (booleans and None left out), as floats."""
    return {k: float(v) for k, v in metrics.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def mlflow_tracking_uri(configured: str | None = None) -> str:
    """The store runs are logged to: the config's ``mlflow_tracking_uri``, else
    ``MLFLOW_TRACKING_URI``, else a SQLite file in BREWSLM_HOME (MLflow's ``./mlruns`` file store
    is in maintenance mode: current MLflow refuses to open it)."""

    return configured or os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{home_dir() / MLFLOW_DB}"


def wandb_mode(configured: str | None = None) -> str:
    """``online`` or ``offline``: the config's ``wandb_mode``, else ``WANDB_MODE``, else online only
    when ``WANDB_API_KEY`` is set (offline runs are uploaded later with ``wandb sync``)."""
    mode = configured or os.environ.get("WANDB_MODE") or ("online" if os.environ.get("WANDB_API_KEY") else "offline")
    return "offline" if mode in ("offline", "dryrun") else mode


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return f"{type(exc).__name__}: {text[:300]}{'...' if len(text) > 300 else ''}"


class Tracker:
    """One tracker. Subclasses open the run in ``_open`` and implement ``_log``, ``_log_file``,
    ``_log_folder`` and ``_finish``; this class turns any failure into one warning line and stops
    that tracker (see the module notes)."""

    label = "tracker"

    def __init__(self) -> None:
        self.active = False
        self.where = ""

    def _guard(self, action: Any, *args: Any) -> None:
        if not self.active:
            return
        try:
            action(*args)
        except Exception as exc:  # noqa: BLE001 - any tracker failure, see the module notes
            self._stop(exc)

    def _stop(self, exc: BaseException) -> None:
        was_active, self.active = self.active, False
        if was_active:
            try:
                self._finish(False)
            except Exception:  # noqa: BLE001 - already reporting the first failure
                pass
        tracking_log.warning(
            "%s tracking stopped (%s at %s); the run goes on without it", self.label, _one_line(exc), self.where
        )

    def log(self, metrics: Mapping[str, Any], step: int) -> None:
        numbers = numbers_of(metrics)
        if numbers:
            self._guard(self._log, numbers, step)

    def log_artifacts(self, paths: Iterable[Path | str]) -> None:
        """Copies of these files (those that exist), and folders (a LoRA adapter) where the tracker keeps files."""
        for path in map(Path, paths):
            if path.is_file():
                self._guard(self._log_file, path)
            elif path.is_dir():
                self._guard(self._log_folder, path)
        self._guard(self._flush)

    def finish(self, status: str) -> None:
        if self.active:
            try:
                self._finish(status == "finished")
                self.active = False
            except Exception as exc:  # noqa: BLE001
                self._stop(exc)

    def _flush(self) -> None:
        pass

    def _log(self, metrics: dict[str, float], step: int) -> None:
        raise NotImplementedError

    def _log_file(self, path: Path) -> None:
        raise NotImplementedError

    def _log_folder(self, path: Path) -> None:
        raise NotImplementedError

    def _finish(self, succeeded: bool) -> None:
        raise NotImplementedError


class MlflowTracker(Tracker):
    """Parameters, metrics and artifact files of one run in MLflow (``mlflow_tracking_uri``)."""

    label = "MLflow"

    def __init__(self, experiment: str, run_name: str, params: Mapping[str, Any], tracking_uri: str | None = None):
        super().__init__()
        self.uri = self.where = mlflow_tracking_uri(tracking_uri)
        default_store = self.uri == mlflow_tracking_uri(None) and not os.environ.get("MLFLOW_TRACKING_URI")
        try:
            import mlflow

            self.mlflow = mlflow
            mlflow.set_tracking_uri(self.uri)  # (which sets MLFLOW_TRACKING_URI: read it before)
            self._open_experiment(experiment, default_store)
            self.run = mlflow.start_run(run_name=run_name)
            self.active = True
            mlflow.log_params({k: ("" if v is None else str(v))[:500] for k, v in flatten(params).items()})
        except Exception as exc:  # noqa: BLE001 - any tracker failure, see the module notes
            self._stop(exc)

    def _open_experiment(self, experiment: str, default_store: bool) -> None:
        """In the default store a new experiment keeps its artifacts in BREWSLM_HOME too."""
        if default_store and self.mlflow.get_experiment_by_name(experiment) is None:
            from mlflow.exceptions import MlflowException

            try:
                self.mlflow.create_experiment(experiment, artifact_location=(home_dir() / MLFLOW_ARTIFACTS).as_uri())
            except MlflowException:
                if self.mlflow.get_experiment_by_name(experiment) is None:  # not a concurrent create
                    raise
        self.mlflow.set_experiment(experiment)

    def _log(self, metrics: dict[str, float], step: int) -> None:
        self.mlflow.log_metrics(metrics, step=step)

    def _log_file(self, path: Path) -> None:
        self.mlflow.log_artifact(str(path))

    def _log_folder(self, path: Path) -> None:
        self.mlflow.log_artifacts(str(path), artifact_path=path.name)

    def _finish(self, succeeded: bool) -> None:
        self.mlflow.end_run(status="FINISHED" if succeeded else "FAILED")


class TensorBoardTracker(Tracker):
    """Event files in ``log_dir``: scalars by step, the parameters and text files as text, PNGs as
    images. TensorBoard stores no files, so a folder (the adapter) is recorded by its path."""

    label = "TensorBoard"

    def __init__(self, log_dir: Path, params: Mapping[str, Any]):
        super().__init__()
        self.where = str(log_dir)
        self.step = 0
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(log_dir=str(log_dir))
            self.active = True
            rows = "\n".join(f"| {key} | {'' if value is None else value} |" for key, value in flatten(params).items())
            self.writer.add_text("params", "| option | value |\n|---|---|\n" + rows, 0)
        except Exception as exc:  # noqa: BLE001
            self._stop(exc)

    def _log(self, metrics: dict[str, float], step: int) -> None:
        self.step = max(self.step, step)
        for key, value in metrics.items():
            self.writer.add_scalar(key, value, step)

    def _log_file(self, path: Path) -> None:
        if path.suffix.lower() == ".png":
            import numpy as np
            from matplotlib.image import imread

            image = imread(str(path))  # float in [0, 1], height x width x channels
            self.writer.add_image(f"files/{path.name}", np.asarray(image[..., :3]), self.step, dataformats="HWC")
        elif path.suffix.lower() in TEXT_SUFFIXES or path.name.endswith(".jsonl"):
            text = path.read_text(encoding="utf-8", errors="replace")[:TEXT_LIMIT]
            self.writer.add_text(f"files/{path.name}", f"```\n{text}\n```", self.step)
        else:
            self._log_folder(path)

    def _log_folder(self, path: Path) -> None:
        self.writer.add_text(
            f"files/{path.name}", f"kept at `{path.resolve()}` (TensorBoard stores no files)", self.step
        )

    def _flush(self) -> None:
        self.writer.flush()

    def _finish(self, succeeded: bool) -> None:
        self.writer.add_text("status", "finished" if succeeded else "failed", self.step)
        self.writer.close()


class WandbTracker(Tracker):
    """A W&B run: the parameters as its config, metrics by step, files (and folders) as one artifact
    of type ``brewslm-run``, PNGs as images too. Offline unless a key or ``WANDB_MODE`` says otherwise."""

    label = "W&B"

    def __init__(self, project: str, run_name: str, params: Mapping[str, Any], run_dir: Path, mode: str | None = None):
        super().__init__()
        self.mode = wandb_mode(mode)
        self.where = f"project {project}, {self.mode}, {run_dir}"
        self.files: list[Path] = []
        self.run_name = run_name
        try:
            import wandb

            self.wandb = wandb
            run_dir.mkdir(parents=True, exist_ok=True)
            self.run = wandb.init(
                project=project,
                name=run_name,
                config=flatten(params),
                dir=str(run_dir),
                mode=self.mode,
                reinit="create_new",
                settings=wandb.Settings(silent=True, console="off", x_disable_stats=True),
            )
            self.active = True
        except Exception as exc:  # noqa: BLE001
            self._stop(exc)

    def _log(self, metrics: dict[str, float], step: int) -> None:
        self.run.log(metrics, step=step)

    def _log_file(self, path: Path) -> None:
        self.files.append(path)
        if path.suffix.lower() == ".png":
            self.run.log({f"files/{path.stem}": self.wandb.Image(str(path))})

    def _log_folder(self, path: Path) -> None:
        self.files.append(path)

    def _flush(self) -> None:
        if not self.files:
            return
        name = "".join(c if c.isalnum() or c in "-_." else "-" for c in self.run_name)
        artifact = self.wandb.Artifact(name=f"{name}-files", type="brewslm-run")
        for path in self.files:
            if path.is_dir():
                artifact.add_dir(str(path), name=path.name)
            else:
                artifact.add_file(str(path), name=path.name)
        self.files = []
        self.run.log_artifact(artifact)

    def _finish(self, succeeded: bool) -> None:
        self.run.finish(exit_code=0 if succeeded else 1)


class Trackers:
    """The trackers a config names, as one: each call goes to every tracker still active."""

    def __init__(self, trackers: Sequence[Tracker] = ()):
        self.trackers = list(trackers)

    def __bool__(self) -> bool:
        return bool(self.trackers)

    def log(self, metrics: Mapping[str, Any], step: int) -> None:
        for tracker in self.trackers:
            tracker.log(metrics, step)

    def log_artifacts(self, paths: Iterable[Path | str]) -> None:
        paths = list(paths)
        for tracker in self.trackers:
            tracker.log_artifacts(paths)

    def finish(self, status: str) -> None:
        for tracker in self.trackers:
            tracker.finish(status)


def open_trackers(config: Any, run_name: str, params: Mapping[str, Any], folder: Path) -> Trackers:
    """The trackers ``config.trackers`` names (a ``TrackingOptions``), each with its run open;
    ``folder`` is the run or evaluation folder the local ones write under by default."""
    opened: list[Tracker] = []
    for name in config.trackers:
        if name == "mlflow":
            opened.append(MlflowTracker(config.mlflow_experiment, run_name, params, config.mlflow_tracking_uri))
        elif name == "tensorboard":
            log_dir = (
                Path(config.tensorboard_dir).expanduser() / run_name
                if config.tensorboard_dir
                else folder / TENSORBOARD_DIR
            )
            opened.append(TensorBoardTracker(log_dir, params))
        elif name == "wandb":
            opened.append(WandbTracker(config.wandb_project, run_name, params, folder / WANDB_DIR, config.wandb_mode))
    return Trackers(opened)


__all__ = [
    "MLFLOW_DB",
    "TRACKERS",
    "MlflowTracker",
    "TensorBoardTracker",
    "Tracker",
    "Trackers",
    "WandbTracker",
    "check_trackers_available",
    "flatten",
    "mlflow_tracking_uri",
    "numbers_of",
    "open_trackers",
    "wandb_mode",
]
