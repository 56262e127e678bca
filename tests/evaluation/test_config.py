"""EvalConfig: the training config's option machinery (YAML + fields + overrides, did-you-mean) serving evaluation."""

from __future__ import annotations

import typing
from pathlib import Path

import pytest

from brewslm.errors import ConfigError
from brewslm.evaluation.config import EvalConfig, build_eval_config, load_eval_config, update_eval_config
from brewslm.evaluation.handlers.base import STRATEGIES
from brewslm.options import describe_options, option_names


def test_defaults() -> None:
    config = load_eval_config(model="run", dataset="d")
    assert config.split == "test" and config.baseline is None and not config.skips_baseline
    assert config.bootstrap_samples == 1000 and config.confidence == 0.95 and config.temperature == 0.0
    assert config.gates == [] and config.handler_options == {} and config.strategy is None


def test_yaml_then_fields_then_overrides(tmp_path: Path) -> None:
    path = tmp_path / "eval.yaml"
    path.write_text(
        "model: run-a\ndataset: reviews\ngates:\n  - macro_f1 >= 0.8\nhandler_options:\n  beta: 0.1\n"
        "max_examples: 50\n",
        encoding="utf-8",
    )
    config = load_eval_config(
        path,
        overrides=["handler_options.beta=0.2", "bootstrap_samples=200", "baseline=none"],
        model="run-b",
        max_examples=None,
    )
    assert config.model == "run-b" and config.dataset == "reviews" and config.max_examples == 50
    assert config.gates == ["macro_f1 >= 0.8"] and config.handler_options == {"beta": 0.2}
    assert config.bootstrap_samples == 200 and config.skips_baseline


@pytest.mark.parametrize(
    "override, message",
    [
        ("bootstrap_sample=10", "unknown option 'bootstrap_sample'; did you mean 'bootstrap_samples'?"),
        ("temprature=0.5", "unknown option 'temprature'; did you mean 'temperature'?"),
        ("xyzzy=1", "unknown option 'xyzzy'; see 'brewslm eval --help' for the options"),
        (
            "strategy=beam",
            "option 'strategy': Input should be 'label_scoring', 'generation', 'preference' or 'perplexity'",
        ),
        ("split=dev", "option 'split': Input should be 'train', 'validation' or 'test'"),
        ("confidence=95", "option 'confidence': Input should be less than 1"),
        ("max_examples=0", "option 'max_examples': Input should be greater than or equal to 1"),
        ("baseline=' '", "option 'baseline': is empty"),
    ],
)
def test_bad_options_are_one_line_errors(override: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_eval_config(overrides=[override], model="m", dataset="d")
    assert message in str(info.value) and "\n" not in str(info.value)


def test_model_and_dataset_are_required() -> None:
    with pytest.raises(ConfigError, match="option 'model' is required"):
        load_eval_config(dataset="d")
    with pytest.raises(ConfigError, match="option 'dataset' is required"):
        build_eval_config({"model": "m"})


def test_one_gate_may_be_a_string_and_update_keeps_the_rest() -> None:
    config = load_eval_config(model="m", dataset="d", gates="accuracy >= 0.5")
    assert config.gates == ["accuracy >= 0.5"]
    changed = update_eval_config(config, ["seed=3"], gates=[*config.gates, "lift.accuracy > 0"])
    assert changed.gates == ["accuracy >= 0.5", "lift.accuracy > 0"] and changed.seed == 3 and config.seed == 0


def test_yaml_round_trip(tmp_path: Path) -> None:
    config = load_eval_config(model="m", dataset="d", gates=["f1 > 0.5"], handler_options={"normalize_case": False})
    path = tmp_path / "resolved.yaml"
    path.write_text(config.to_yaml(), encoding="utf-8")
    assert load_eval_config(path) == config


def test_strategies_match_the_handler_contract() -> None:
    annotation = EvalConfig.model_fields["strategy"].annotation
    literal = next(arg for arg in typing.get_args(annotation) if arg is not type(None))
    assert set(typing.get_args(literal)) == set(STRATEGIES)


def test_every_option_is_documented() -> None:
    described = describe_options(EvalConfig)
    assert all(entry["help"] for entry in described)
    names = [entry["name"] for entry in described]
    assert {"model", "baseline", "gates", "bootstrap_samples", "judge_model"} <= set(names)
    assert set(names) <= set(option_names(EvalConfig))
