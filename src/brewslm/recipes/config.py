"""A recipe: one YAML file that names the data, the task, the training and evaluation settings,
the use case's twist and the export, validated before anything slow runs.

    recipe = load_recipe("sentiment", overrides=["train.epochs=1", "eval.max_examples=50"])
    recipe = load_recipe("my_recipe.yaml", data="jsonl:/data/reviews.jsonl")
    recipe.train_config(dataset="reviews", base_model="/models/tiny")   # a TrainConfig

``RecipeConfig`` is an ``OptionsModel`` (``extra="forbid"``): a typo is a one-line ``ConfigError``
with a did-you-mean ("unknown option 'trian'; did you mean 'train'?"). ``train`` and ``eval`` hold
any ``TrainConfig`` / ``EvalConfig`` keys and are checked against those models at load time
(``dataset``, ``base_model`` and ``model`` are the pipeline's to fill in); ``twist`` is checked by
the twist registry (``brewslm.recipes.twists``). ``KEY=VALUE`` overrides are dotted into the
recipe (``train.epochs=1``, ``twist.target_accuracy=0.9``).

Locators may use two recipe-only schemes, resolved by ``resolve_locator``:
``example:<file>`` is a file shipped in ``brewslm/examples``; ``shared:<dataset>/<file>`` is a file
of the shared datasets folder ($BREWSLM_SHARED_DATASETS, else ``../shared/datasets`` next to the
repository). Both become ``file:<absolute path>`` (the connector follows the extension), and
``<scheme>:example:<file>`` / ``<scheme>:shared:<path>`` keep an explicit connector.

Built-in recipes are ``brewslm/recipes/builtin/<name>.yaml`` (``real/<name>.yaml`` for the
shared-data versions, named ``real/<name>``); the repository's ``recipes/`` links there.
"""

from __future__ import annotations

import difflib
import os
import re
from importlib import resources
from pathlib import Path
from typing import Any, ClassVar, Iterable, Mapping, Optional

from pydantic import Field, field_validator, model_validator

from brewslm.errors import ConfigError
from brewslm.options import OptionsModel, build_options, load_options, update_options
from brewslm.recipes.twists import build_twist
from brewslm.tasks import get_task_profile
from brewslm.training.config import Tracker, TrackingOptions
from brewslm.workspace import home_dir

RECIPE_SUFFIXES = (".yaml", ".yml")
SHARED_ENV = "BREWSLM_SHARED_DATASETS"
PIPELINE_TRAIN_FIELDS = ("dataset", "dataset_version", "base_model")  # the pipeline's, not the recipe's
PIPELINE_EVAL_FIELDS = ("model", "dataset", "dataset_version")
_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


class DataSection(OptionsModel):
    options_help: ClassVar[str] = "brewslm recipes show sentiment"
    options_label: ClassVar[str] = "recipe data"

    locator: str = Field(
        description="Where the rows come from: example:<file> (shipped with BrewSLM), shared:<dataset>/<file>, "
        "or any import locator (jsonl:/path, csv:/path, hf:name...).",
    )
    mapper: Optional[str] = Field(None, description="Mapper id (unset: the introspector's accepted proposal).")
    field_map: dict[str, str] = Field(
        default_factory=dict, description="Source field -> canonical field, e.g. {review: text}."
    )
    options: dict[str, Any] = Field(default_factory=dict, description="Mapper options.")
    dataset: Optional[str] = Field(
        None, description="Workspace dataset name the rows are imported into (unset: the recipe name)."
    )
    seed: int = Field(0, description="Seed of the train/validation/test split.")
    split_group: Optional[str] = Field(
        None,
        description="A source field whose rows stay together in one split (a template, user, document or "
        "conversation id): no group has rows in both train and test, so the test rows measure the model on "
        "groups it never saw (unset: each row is its own group).",
    )
    test_locator: Optional[str] = Field(
        None,
        description="A held-out file mapped like `locator` whose rows all go to the test split (e.g. the "
        "dataset's official dev or test file): more test rows, a tighter lift interval. `locator`'s rows are "
        "still split 80/10/10; a record already imported from it is not added again.",
    )


class ExportSection(OptionsModel):
    options_help: ClassVar[str] = "brewslm recipes show sentiment"
    options_label: ClassVar[str] = "recipe export"

    merge: bool = Field(True, description="Write a merged Hugging Face model folder (LoRA folded into the weights).")
    enabled: bool = Field(True, description="false: stop after the evaluation, export nothing.")


class RecipeConfig(OptionsModel):
    """One use case end to end: data -> fine-tune -> evaluation against the base -> export."""

    options_help: ClassVar[str] = "brewslm recipes show sentiment"
    options_label: ClassVar[str] = "recipe"

    name: str = Field(description="Recipe name (lowercase letters, digits, '-', '_', '.'); names the pipeline folder.")
    description: str = Field("", description="One line shown by `brewslm recipes list`.")
    task: str = Field(description="Task profile id, e.g. classification, structured_extraction, tool_call.")
    data: DataSection = Field(description="The data: locator, mapper, field map.")
    train: dict[str, Any] = Field(default_factory=dict, description="Training options (any `brewslm train` key).")
    eval: dict[str, Any] = Field(default_factory=dict, description="Evaluation options (any `brewslm eval` key).")
    twist: Optional[dict[str, Any]] = Field(None, description="The use case's twist: {kind: <twist>, ...its options}.")
    export: ExportSection = Field(default_factory=ExportSection, description="What the pipeline ships.")
    report_to: list[Tracker] = Field(
        default_factory=list,
        description="Experiment trackers for the training and the evaluation, any of mlflow, tensorboard, wandb "
        "(train.report_to / eval.report_to override it for one stage).",
    )

    @field_validator("report_to", mode="before")
    @classmethod
    def _tracker_names(cls, value: Any) -> Any:
        return TrackingOptions._names(value)

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError("use lowercase letters, digits, '-', '_' or '.'")
        return value

    @field_validator("task")
    @classmethod
    def _known_task(cls, value: str) -> str:

        get_task_profile(value)  # raises a one-line error naming the known profiles
        return value

    @model_validator(mode="after")
    def _sections_fit(self) -> "RecipeConfig":
        # Checked here so a recipe with a bad train/eval/twist key fails on load, not after the import.
        self.train_config(dataset="-", base_model="-")
        from brewslm.evaluation.gates import parse_gates

        parse_gates(self.eval_config(model="-", dataset="-").gates)
        self.build_twist()
        for key in PIPELINE_TRAIN_FIELDS:
            if key in self.train:
                raise ValueError(f"train.{key} is set by the pipeline; remove it from the recipe")
        for key in PIPELINE_EVAL_FIELDS:
            if key in self.eval:
                raise ValueError(f"eval.{key} is set by the pipeline; remove it from the recipe")
        return self

    @property
    def dataset_name(self) -> str:
        return self.data.dataset or self.name

    def train_config(self, **fields: Any) -> Any:
        """The ``TrainConfig`` of this recipe with the pipeline's ``fields`` (dataset, base_model...)."""
        from brewslm.training.config import TrainConfig

        return _section(TrainConfig, "train", {**self._tracking, **self.train, **fields})

    def eval_config(self, **fields: Any) -> Any:
        """The ``EvalConfig`` of this recipe with the pipeline's ``fields`` (model, dataset...)."""
        from brewslm.evaluation.config import EvalConfig

        return _section(EvalConfig, "eval", {**self._tracking, **self.eval, **fields})

    @property
    def _tracking(self) -> dict[str, Any]:
        return {"report_to": list(self.report_to)} if self.report_to else {}

    def build_twist(self) -> Any:

        return build_twist(self.twist)

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


def _section(model: type, prefix: str, data: Mapping[str, Any]) -> Any:
    try:
        return build_options(model, data)
    except ConfigError as exc:  # "unknown option 'epoch'..." -> "... 'train.epoch' ..."
        message = re.sub(r"'([A-Za-z_][\w.]*)'", lambda m: f"'{prefix}.{m.group(1)}'", str(exc), count=2)
        raise ConfigError(message) from None


# --- finding and loading ------------------------------------------------------------------------


def builtin_dir() -> Path:
    return Path(str(resources.files("brewslm.recipes") / "builtin"))


def builtin_recipes() -> dict[str, Path]:
    """Built-in recipe name -> YAML path: ``sentiment``, ..., ``real/sentiment``, ..."""
    root = builtin_dir()
    found: dict[str, Path] = {}
    for path in sorted(root.rglob("*")):
        if path.suffix in RECIPE_SUFFIXES and path.is_file():
            found[path.relative_to(root).with_suffix("").as_posix()] = path
    return found


def find_recipe(name_or_path: str | Path) -> Path:
    """A recipe YAML path from a built-in name or a file path; an unknown name suggests the closest."""
    text = str(name_or_path)
    builtins = builtin_recipes()
    if text in builtins:
        return builtins[text]
    path = Path(text).expanduser()
    if path.is_file():
        return path
    if path.suffix in RECIPE_SUFFIXES or os.sep in text and not text.startswith("real/"):
        raise ConfigError(f"recipe file {path} does not exist")
    close = difflib.get_close_matches(text, list(builtins), n=1, cutoff=0.5)
    hint = f"did you mean '{close[0]}'?" if close else "see `brewslm recipes list`"
    raise ConfigError(f"unknown recipe '{text}' (not a built-in name, not a file); {hint}")


def load_recipe(name_or_path: str | Path, overrides: Iterable[str] = (), *, data: str | None = None) -> RecipeConfig:
    """Read, override (``data`` replaces ``data.locator`` and drops ``data.test_locator``, a held-out
    file of the recipe's own dataset; then ``KEY=VALUE``) and validate a recipe."""
    path = find_recipe(name_or_path)
    overrides = list(overrides)
    try:
        recipe = load_options(RecipeConfig, path, overrides)
        if data:
            held_out = (
                {}
                if any(o.partition("=")[0].strip() == "data.test_locator" for o in overrides)
                else {"test_locator": None}
            )
            recipe = update_options(recipe, fields={"data": {**recipe.data.model_dump(), "locator": data, **held_out}})
    except ConfigError as exc:
        raise ConfigError(f"recipe {path}: {exc}") from None
    return recipe


# --- locators -----------------------------------------------------------------------------------


def examples_dir() -> Path:
    return Path(str(resources.files("brewslm") / "examples"))


def shared_datasets_dir() -> Path:
    """$BREWSLM_SHARED_DATASETS, else ``../shared/datasets`` beside the repository (or the working folder)."""
    configured = os.environ.get(SHARED_ENV)
    if configured:
        root = Path(configured).expanduser()
        if not root.is_dir():
            raise ConfigError(f"{SHARED_ENV}={configured} is not a folder; point it at the shared datasets")
        return root
    repo = Path(__file__).resolve().parents[3]  # src/brewslm/recipes/config.py -> the repository
    for base in (repo, Path.cwd()):
        candidate = base.parent / "shared" / "datasets"
        if candidate.is_dir():
            return candidate
    raise ConfigError(f"shared: locators need the shared datasets folder; set {SHARED_ENV} to it")


def resolve_locator(locator: str) -> str:
    """``example:``/``shared:`` locators as import locators (``file:<absolute path>``); others as given."""
    scheme, sep, rest = locator.strip().partition(":")
    if not sep:
        return locator
    if scheme in ("example", "shared"):
        return "file:" + _resolve_path(scheme, rest)
    inner, sep2, inner_rest = rest.partition(":")
    if sep2 and inner in ("example", "shared"):
        return f"{scheme}:" + _resolve_path(inner, inner_rest)
    return locator


def _resolve_path(scheme: str, rest: str) -> str:
    relative, qmark, query = rest.partition("?")
    root = examples_dir() if scheme == "example" else shared_datasets_dir()
    path = (root / relative).resolve()
    if not path.exists():
        where = "shipped examples" if scheme == "example" else f"shared datasets ({root})"
        raise ConfigError(f"locator '{scheme}:{rest}': no '{relative}' in the {where}")
    return str(path) + (qmark + query)


STATE_FILE = "pipeline.json"  # a recipe output folder's stage record (brewslm.pipeline writes it, export reads it)


def default_out_dir(recipe: RecipeConfig) -> Path:
    """Where ``brewslm run`` puts a recipe's stages unless told otherwise."""
    return home_dir() / "recipe-runs" / recipe.name


__all__ = [
    "STATE_FILE",
    "DataSection",
    "ExportSection",
    "RecipeConfig",
    "builtin_dir",
    "builtin_recipes",
    "default_out_dir",
    "examples_dir",
    "find_recipe",
    "load_recipe",
    "resolve_locator",
    "shared_datasets_dir",
]
