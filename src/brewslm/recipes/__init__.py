"""Recipes: the common small-model use cases as one YAML file and one command each.

    from brewslm.pipeline import run_recipe
    from brewslm.recipes import load_recipe
    result = run_recipe(load_recipe("sentiment", overrides=["train.epochs=1"]))
    result.table, result.export_dir, result.report_html

Modules: ``config`` (``RecipeConfig``, ``load_recipe``, built-in recipes, the ``example:`` and
``shared:`` locators, where a recipe's outputs go), ``twists`` (one module per use case's twist,
a registry keyed by ``twist.kind``). The built-in YAML files are in ``builtin/``. Running one -
the resumable stages import -> twist data -> train -> evaluate -> export - is ``brewslm.pipeline``,
a layer above ``brewslm.export`` (docs/architecture.md).
"""

from brewslm.recipes.config import (
    RecipeConfig,
    builtin_recipes,
    find_recipe,
    load_recipe,
    resolve_locator,
)
from brewslm.recipes.twists import (
    PreparedData,
    RecipeContext,
    Twist,
    TwistOptions,
    get_twist,
    list_twists,
    register_twist,
)

__all__ = [
    "PreparedData",
    "RecipeConfig",
    "RecipeContext",
    "Twist",
    "TwistOptions",
    "builtin_recipes",
    "find_recipe",
    "get_twist",
    "list_twists",
    "load_recipe",
    "register_twist",
    "resolve_locator",
]
