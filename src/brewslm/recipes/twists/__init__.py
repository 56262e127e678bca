"""Recipe twists: the one thing each use case adds on top of import -> train -> evaluate -> export.

    twist = build_twist({"kind": "class_balance", "upsample": true})   # None for a recipe without one
    twist.kind, twist.options                                          # the validated section

A twist is a ``Twist`` subclass in one module of this package that sets ``TWIST = TheClass``
(found by listing the package, like every other registry); its ``kind`` is the recipe's
``twist.kind`` and its ``Options`` (an ``OptionsModel``: unknown keys are one-line errors with a
did-you-mean) type the rest of the section. The pipeline calls its hooks, each a no-op by default:

- ``check(ctx)``: before anything slow (after the recipe and its data sample are validated);
  raise ``ConfigError`` for a twist setting that cannot work.
- ``prepare_data(ctx) -> PreparedData | None``: after import, before training; may publish a
  derived dataset version (extra negatives, retrieved passages...) that training and evaluation
  then use. None: train on the imported dataset as it is.
- ``adjust_train(ctx, config) -> TrainConfig`` / ``adjust_eval(ctx, config) -> EvalConfig``:
  return a changed copy (``update_config`` / ``update_eval_config``); ``adjust_eval`` runs after
  training, so ``ctx.run_dir`` is the fine-tune (e.g. to tune a threshold on validation).
- ``after_eval(ctx, result) -> dict``: the twist's section of the pipeline result (JSON-able),
  saved in ``pipeline.json``; ``describe(section) -> list[str]`` turns it into the text lines
  ``brewslm run`` prints.
- ``serving_settings(section, twist_dir) -> dict``: what serving the fine-tune needs from the
  twist (``brewslm.export.ServingSettings`` fields: a confidence threshold and fallback label, a
  JSON schema, retrieval), from its ``after_eval`` section and the files in its twist folder;
  read by ``brewslm.export.resolve_bundle`` for a recipe folder and stored by ``brewslm export``.

Files a twist writes go under ``ctx.twist_dir``. Hook results are cached by the pipeline with the
stage they belong to (prepare_data with the data stage, adjust_eval/after_eval with the eval
stage), so a hook must depend only on its inputs: the recipe, the datasets and the run.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Mapping

from pydantic import Field

from brewslm.errors import ConfigError
from brewslm.options import OptionsModel, build_options
from brewslm.registry import Registry

if TYPE_CHECKING:  # the recipe types import this module; type hints only
    from brewslm.evaluation import EvalConfig, EvalResult
    from brewslm.recipes.config import RecipeConfig
    from brewslm.storage.datasets import DatasetVersion
    from brewslm.training import TrainConfig


class TwistOptions(OptionsModel):
    """A twist's recipe section; subclasses add the twist's own fields."""

    options_help: ClassVar[str] = "brewslm recipes twists"
    options_label: ClassVar[str] = "twist"

    kind: str = Field(description="Which twist: a name from `brewslm recipes twists`.")


@dataclass(frozen=True)
class PreparedData:
    """The dataset training and evaluation use after ``prepare_data``, and what the twist did."""

    dataset: str
    version: int
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass
class RecipeContext:
    """What a twist hook can see. ``dataset``/``dataset_version`` are the data training uses (the
    import's, or the twist's prepared version once ``prepare_data`` ran); ``run_dir`` is set once
    the fine-tune exists."""

    recipe: "RecipeConfig"
    out_dir: Path
    base_model: str
    dataset: str | None = None
    dataset_version: int | None = None
    run_dir: Path | None = None
    log: Callable[[str], None] = lambda line: None

    @property
    def twist_dir(self) -> Path:
        path = self.out_dir / "twist"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def open_dataset(self) -> "DatasetVersion":
        from brewslm.storage.datasets import open_dataset

        if self.dataset is None:
            raise RuntimeError("the recipe's data stage has not run yet")  # a pipeline bug, not user input
        return open_dataset(self.dataset, self.dataset_version)


def rate_text(value: Any) -> str:
    """A metric value in a twist's summary lines: three decimals, ``-`` when undefined."""
    return "-" if value is None else f"{value:.3f}"


class Twist:
    """Base class: every hook is a no-op. ``self.options`` is the validated recipe section."""

    kind: ClassVar[str] = ""
    summary: ClassVar[str] = ""  # one line for `brewslm recipes twists`
    Options: ClassVar[type[TwistOptions]] = TwistOptions

    def __init__(self, options: TwistOptions):
        self.options = options

    def check(self, ctx: RecipeContext) -> None:
        return None

    def input_locators(self) -> list[str]:
        """Data the twist reads besides the recipe's own (e.g. a documents file): the data stage's
        fingerprint covers their content, so a changed file re-runs it."""
        return []

    def prepare_data(self, ctx: RecipeContext) -> PreparedData | None:
        return None

    def adjust_train(self, ctx: RecipeContext, config: "TrainConfig") -> "TrainConfig":
        return config

    def adjust_eval(self, ctx: RecipeContext, config: "EvalConfig") -> "EvalConfig":
        return config

    def after_eval(self, ctx: RecipeContext, result: "EvalResult") -> dict[str, Any]:
        return {}

    def describe(self, section: Mapping[str, Any]) -> list[str]:
        return []

    def serving_settings(self, section: Mapping[str, Any], twist_dir: Path) -> dict[str, Any]:
        return {}


REGISTRY: Registry[type[Twist]] = Registry(
    "twist",
    __name__,
    "TWIST",
    key=lambda cls: cls.kind,
    entry_points="brewslm.twists",
    accept=lambda cls: isinstance(cls, type) and issubclass(cls, Twist),
    check=lambda cls: _check_kind(cls),
)


def _check_kind(cls: type[Twist]) -> None:
    if not cls.kind:
        raise ConfigError(f"twist class {cls.__name__} has no kind")


def register_twist(cls: type[Twist], *, replace: bool = False) -> type[Twist]:
    """Add a twist class under its ``kind`` (a plugin's twist); a clash is an error unless ``replace``."""
    return REGISTRY.register(cls, replace=replace)


def list_twists() -> list[type[Twist]]:
    return REGISTRY.entries()


def get_twist(kind: str) -> type[Twist]:
    cls = REGISTRY.find(kind)
    if cls is None:
        kinds = [str(key) for key in REGISTRY.keys()]
        close = difflib.get_close_matches(kind, kinds, n=1, cutoff=0.6)
        hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(kinds) or 'none'}"
        raise ConfigError(f"unknown twist kind '{kind}'; {hint}")
    return cls


def build_twist(section: Mapping[str, Any] | None) -> Twist | None:
    """The twist a recipe's ``twist`` section names, with its options validated; None when absent."""
    if not section:
        return None
    kind = section.get("kind")
    if not isinstance(kind, str) or not kind:
        raise ConfigError("recipe option 'twist.kind' is required when a twist section is given")
    cls = get_twist(kind)
    try:
        options = build_options(cls.Options, section)
    except ConfigError as exc:
        raise ConfigError(f"twist '{kind}': {exc}") from None
    return cls(options)


__all__ = [
    "REGISTRY",
    "PreparedData",
    "RecipeContext",
    "Twist",
    "TwistOptions",
    "build_twist",
    "get_twist",
    "list_twists",
    "rate_text",
    "register_twist",
]
