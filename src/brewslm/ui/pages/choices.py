"""Pick lists the forms offer: the workspace's datasets and the base models (the catalog and the
embedded default), as ``(value, label)`` pairs for an input's ``<datalist>`` - a pick list that
still takes free text (a dataset folder, a local model folder, another hub id).

    options_fields(form, {"dataset": dataset_choices(), "base_model": base_model_choices(settings)})
"""

from __future__ import annotations

import os
from pathlib import Path

from brewslm.base_models import BASE_MODEL_ENV, EMBEDDED_MODEL_NAME
from brewslm.base_models.catalog import CATALOG
from brewslm.base_models.embedded import CONVERSION_MARKER, EMBEDDED_DIR_NAME
from brewslm.errors import BrewError
from brewslm.storage.datasets import list_datasets
from brewslm.ui.access import readable_roots
from brewslm.ui.settings import UISettings
from brewslm.workspace import home_dir

Choice = tuple[str, str]  # (the value the input takes, what the list shows beside it)


def _count(value: object, noun: str) -> str:
    return f"{value} {noun}{'' if value == 1 else 's'}" if isinstance(value, int) else ""


def dataset_choices() -> list[Choice]:
    """Every dataset of the workspace by name, labelled with its task, size and current version."""
    choices = []
    for dataset in list_datasets():
        try:
            counts = dataset.counts
            label = " · ".join(p for p in (dataset.task_profile, _count(counts.get("records"), "record")) if p)
        except BrewError:  # a version being written or a broken manifest: still offered by name
            label = ""
        choices.append((dataset.name, f"{label} · v{dataset.version}" if label else f"v{dataset.version}"))
    return choices


def default_base_model_label() -> str:
    """What a blank base model means: ``BREWSLM_BASE_MODEL`` when set, else the embedded SmolLM2."""
    override = os.environ.get(BASE_MODEL_ENV, "").strip()
    if override:
        return f"blank: {override} ({BASE_MODEL_ENV}, the default)"
    return f"blank: the embedded {EMBEDDED_MODEL_NAME} (the default, no download)"


def _params(count: int) -> str:
    return f"{count / 1e9:.1f}B" if count >= 1e9 else f"{count / 1e6:.0f}M"


def base_model_choices(settings: UISettings) -> list[Choice]:
    """The default base model first - the embedded SmolLM2's folder once it has been converted on
    this machine (a form may name it; blank means the same), or ``BREWSLM_BASE_MODEL`` - then the
    catalog by id (a catalog id stands for its hub id wherever a base model is named; those
    download from the Hub on first use)."""
    choices: list[Choice] = []
    override = os.environ.get(BASE_MODEL_ENV, "").strip()
    if override:
        choices.append((override, f"{BASE_MODEL_ENV}: the default base model"))
    else:
        embedded = home_dir() / "models" / EMBEDDED_DIR_NAME  # workspace.models_dir(), without creating it
        roots = [os.path.realpath(root) for root in readable_roots(settings)]
        if (embedded / CONVERSION_MARKER).is_file() and any(
            Path(os.path.realpath(embedded)).is_relative_to(root) for root in roots
        ):
            choices.append((str(embedded), f"embedded {EMBEDDED_MODEL_NAME} (the default; same as blank)"))
    for entry in CATALOG:
        label = f"{entry.hub_id} · {_params(entry.parameters)} parameters · {entry.licence} · downloads on first use"
        choices.append((entry.id, label))
    return choices


__all__ = ["Choice", "base_model_choices", "dataset_choices", "default_base_model_label"]
