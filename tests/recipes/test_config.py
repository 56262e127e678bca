"""Recipe files: loading, overrides, one-line errors for typos, built-in lookup, locators."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from brewslm.errors import ConfigError
from brewslm.recipes import builtin_recipes, load_recipe, resolve_locator
from brewslm.recipes.config import SHARED_ENV, find_recipe
from brewslm.recipes.twists import build_twist, get_twist


def test_the_builtin_sentiment_recipe_loads_with_its_sections():
    recipe = load_recipe("sentiment")
    assert "sentiment" in builtin_recipes()
    assert recipe.task == "classification" and recipe.data.mapper == "label_to_classification"
    assert recipe.dataset_name == "sentiment-reviews"
    assert recipe.train_config(dataset="d", base_model="m").epochs == 2
    assert recipe.eval_config(model="m", dataset="d").gates == ["lift.macro_f1 > 0"]
    assert recipe.build_twist().kind == "class_balance"


def test_overrides_and_data_replace_recipe_values():
    recipe = load_recipe(
        "sentiment",
        ["train.epochs=1", "eval.max_examples=50", "twist.train_balance=upsample"],
        data="jsonl:/elsewhere.jsonl",
    )
    assert recipe.train["epochs"] == 1 and recipe.eval["max_examples"] == 50
    assert recipe.build_twist().options.train_balance == "upsample"
    assert recipe.data.locator == "jsonl:/elsewhere.jsonl" and recipe.data.mapper == "label_to_classification"


def test_other_data_drops_the_recipes_own_held_out_file_unless_one_is_given():
    assert load_recipe("real/tool_call").data.test_locator == "shared:tool_calling_glaive/dev.jsonl"
    assert load_recipe("real/tool_call", data="jsonl:/mine.jsonl").data.test_locator is None
    given = load_recipe("real/tool_call", ["data.test_locator=jsonl:/my-test.jsonl"], data="jsonl:/mine.jsonl")
    assert given.data.test_locator == "jsonl:/my-test.jsonl"


@pytest.mark.parametrize(
    "override, message",
    [
        ("trian.epochs=1", "unknown option 'trian'; did you mean 'train'?"),
        ("train.epoch=1", "unknown option 'train.epoch'; did you mean 'train.epochs'?"),
        ("eval.gate=x", "unknown option 'eval.gate'; did you mean 'eval.gates'?"),
        ("twist.kind=class_balanse", "unknown twist kind 'class_balanse'; did you mean 'class_balance'?"),
        ("twist.nope=1", "twist 'class_balance': unknown option 'nope'"),
        ("task=classfication", "unknown task profile 'classfication'"),
        ("eval.gates=[macro_f1 >>= 1]", "gate 'macro_f1 >>= 1' is not understood"),
        ("train.dataset=x", "train.dataset is set by the pipeline"),
        ("name=Bad Name", "option 'name'"),
    ],
)
def test_a_bad_recipe_is_one_line_naming_the_file_and_key(override, message):
    with pytest.raises(ConfigError) as err:
        load_recipe("sentiment", [override])
    text = str(err.value)
    assert message in text and "sentiment.yaml" in text and "\n" not in text


def test_recipe_lookup_by_name_or_path(tmp_path: Path):
    path = tmp_path / "mine.yaml"
    path.write_text(
        yaml.safe_dump(
            {"name": "mine", "task": "classification", "data": {"locator": "example:sentiment_reviews.jsonl"}}
        )
    )
    assert load_recipe(path).dataset_name == "mine"
    assert find_recipe("sentiment").name == "sentiment.yaml"
    with pytest.raises(ConfigError, match="unknown recipe 'sentimnt'.*did you mean 'sentiment'"):
        find_recipe("sentimnt")
    with pytest.raises(ConfigError, match="recipe file .*missing.yaml does not exist"):
        find_recipe(str(tmp_path / "missing.yaml"))


def test_example_and_shared_locators_resolve_to_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    resolved = resolve_locator("example:sentiment_reviews.jsonl")
    assert resolved.startswith("file:") and Path(resolved[5:]).is_file()
    assert resolve_locator("jsonl:example:sentiment_reviews.jsonl").startswith("jsonl:/")
    assert resolve_locator("csv:/data/x.csv") == "csv:/data/x.csv"
    (tmp_path / "sst2").mkdir()
    (tmp_path / "sst2" / "train.jsonl").write_text("{}\n")
    monkeypatch.setenv(SHARED_ENV, str(tmp_path))
    assert resolve_locator("shared:sst2/train.jsonl?x=1") == f"file:{tmp_path / 'sst2' / 'train.jsonl'}?x=1"
    with pytest.raises(ConfigError, match="no 'sst2/nope.jsonl' in the shared datasets"):
        resolve_locator("shared:sst2/nope.jsonl")
    monkeypatch.setenv(SHARED_ENV, str(tmp_path / "absent"))
    with pytest.raises(ConfigError, match=f"{SHARED_ENV}=.* is not a folder"):
        resolve_locator("shared:sst2/train.jsonl")


def test_twist_registry():
    assert get_twist("class_balance").kind == "class_balance"
    assert build_twist(None) is None
    with pytest.raises(ConfigError, match="'twist.kind' is required"):
        build_twist({"train_balance": "upsample"})


def test_report_to_reaches_training_and_evaluation_unless_a_section_sets_its_own():
    recipe = load_recipe("sentiment", ["report_to=[tensorboard, wandb]", "eval.report_to=none"])
    assert recipe.train_config(dataset="d", base_model="m").trackers == ["tensorboard", "wandb"]
    assert recipe.eval_config(model="m", dataset="d").trackers == []
    assert load_recipe("sentiment").train_config(dataset="d", base_model="m").trackers == []
    with pytest.raises(ConfigError, match="report_to"):
        load_recipe("sentiment", ["report_to=[tensorbord]"])
