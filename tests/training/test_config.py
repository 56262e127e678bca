"""TrainConfig: YAML + overrides, unknown keys with suggestions, one-line errors, help text."""

from __future__ import annotations

from pathlib import Path

import pytest

from brewslm.errors import ConfigError
from brewslm.options import describe_options, option_names, parse_override
from brewslm.training.config import TrainConfig, load_config, update_config


def test_defaults() -> None:
    config = load_config(dataset="d")
    assert config.method == "lora" and config.lora.r == 16 and config.lora.target_modules == "all-linear"
    assert config.objective == "sft" and config.uses_lora
    assert config.dtype == "auto" and config.batching == "length_grouped" and config.mlflow is False


def test_yaml_then_fields_then_overrides(tmp_path: Path) -> None:
    path = tmp_path / "train.yaml"
    path.write_text(
        "dataset: reviews\nlearning_rate: 1e-4\nlora:\n  r: 4\n  dropout: 0.1\nepochs: 2\n", encoding="utf-8"
    )
    config = load_config(
        path,
        overrides=["lora.r=8", "early_stopping.patience=3", "lora.target_modules=[q_proj, v_proj]"],
        epochs=5,
        base_model=None,
    )
    assert config.dataset == "reviews" and config.learning_rate == 1e-4
    assert config.lora.r == 8 and config.lora.dropout == 0.1 and config.lora.target_modules == ["q_proj", "v_proj"]
    assert config.epochs == 5 and config.early_stopping.patience == 3


@pytest.mark.parametrize(
    "override, message",
    [
        ("learning_rte=1e-4", "unknown option 'learning_rte'; did you mean 'learning_rate'?"),
        ("lora.rr=8", "unknown option 'lora.rr'; did you mean 'lora.r'?"),
        ("patience=3", "unknown option 'patience'; did you mean 'early_stopping.patience'?"),
        ("lora.r=abc", "option 'lora.r': Input should be a valid integer"),
        ("epochs=0", "option 'epochs': Input should be greater than 0 (got 0)"),
        ("method=sft", "option 'method': Input should be 'lora', 'full', 'dpo' or 'orpo'"),
        ("lr_schedule=step", "option 'lr_schedule'"),
        ("learning_rate", "is not KEY=VALUE"),
    ],
)
def test_bad_options_are_one_line_errors(override: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(overrides=[override], dataset="d")
    assert message in str(info.value) and "\n" not in str(info.value)


def test_unknown_keys_in_yaml(tmp_path: Path) -> None:
    path = tmp_path / "train.yaml"
    path.write_text("dataset: d\nbatchsize: 4\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown option 'batchsize'; did you mean 'batch_size'"):
        load_config(path)


def test_bad_yaml_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("dataset: [unclosed\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    listed = tmp_path / "list.yaml"
    listed.write_text("- a\n- b\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping of options"):
        load_config(listed)


def test_dataset_is_required_and_qlora_excludes_full() -> None:
    with pytest.raises(ConfigError, match="option 'dataset' is required"):
        load_config()
    with pytest.raises(ConfigError, match="cannot be combined with method=full"):
        load_config(dataset="d", method="full", qlora=True)


def test_override_values_are_read_as_yaml() -> None:
    assert parse_override("lora.r=8") == (["lora", "r"], 8)
    assert parse_override("learning_rate=1e-4") == (["learning_rate"], 1e-4)
    assert parse_override("gradient_checkpointing=true") == (["gradient_checkpointing"], True)
    assert parse_override("max_steps=null") == (["max_steps"], None)
    assert parse_override("run_name=my run") == (["run_name"], "my run")


def test_update_config_and_yaml_round_trip(tmp_path: Path) -> None:
    config = load_config(dataset="d")
    changed = update_config(config, ["lora.alpha=8"], batch_size=2)
    assert changed.lora.alpha == 8 and changed.batch_size == 2 and config.batch_size == 8
    path = tmp_path / "resolved.yaml"
    path.write_text(changed.to_yaml(), encoding="utf-8")
    assert load_config(path) == changed


def test_every_option_is_documented() -> None:
    described = describe_options(TrainConfig)
    assert all(entry["help"] for entry in described)
    names = [entry["name"] for entry in described]
    assert "lora.target_modules" in names and "early_stopping.min_delta" in names
    assert set(names) <= set(option_names(TrainConfig))
    assert TrainConfig.model_fields["learning_rate"].description.startswith("Peak learning rate")


@pytest.mark.parametrize(
    "run_name", ["/abs/elsewhere", "../../elsewhere", "../datasets/reviews/v1", "a/b", "a\\b", "..", ".", ""]
)
def test_a_run_name_is_one_folder_name_never_a_path(run_name: str) -> None:
    # runs_dir() / run_name is where the run is written: a separator or '..' would put it anywhere
    with pytest.raises(ConfigError) as info:
        load_config(overrides=[f"run_name='{run_name}'"], dataset="d")
    message = str(info.value)
    assert message.startswith("option 'run_name':") and "output_dir" in message and "\n" not in message


def test_plain_run_names_are_kept_as_given() -> None:
    for run_name in ("r1", "007", "reviews-lora-20240101-120000", "my run.v2"):
        assert load_config(dataset="d", run_name=run_name).run_name == run_name
