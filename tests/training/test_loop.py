"""End-to-end training runs on the tiny model: overfitting, the run folder and record, exact resume,
early stopping, class balancing, packing, and the errors raised before any training step."""

from __future__ import annotations

import json
import math
import shutil
from pathlib import Path

import pytest

from brewslm.errors import ConfigError
from brewslm.storage.events import list_events
from brewslm.training import read_run, train
from brewslm.training.loop import lr_at
from training.conftest import SENTIMENT


def train_losses(run_dir: Path) -> list[float]:
    lines = (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    return [e["loss"] for e in map(json.loads, lines) if e["kind"] == "train"]


def eval_losses(run_dir: Path) -> list[tuple[int, float]]:
    lines = (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    return [(e["step"], e["eval_loss"]) for e in map(json.loads, lines) if e["kind"] == "eval"]


def test_lora_overfits_sixteen_examples(sentiment, config_for, quiet) -> None:
    result = train(config_for(sentiment, epochs=100), progress=quiet)
    assert result.steps == 400 and result.final_step_loss < 0.05, result.final_step_loss
    losses = train_losses(result.run_dir)
    assert len(losses) == 400 and losses[0] > 1.0
    # the run folder: config, record, metrics, curve, adapter + tokenizer with its chat template
    run = result.run_dir
    for name in ("config.yaml", "run.json", "metrics.jsonl", "loss_curve.png"):
        assert (run / name).is_file(), name
    assert (run / "loss_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for name in ("adapter_config.json", "adapter_model.safetensors", "tokenizer_config.json"):
        assert (result.model_dir / name).is_file(), name
    record = read_run(run)
    assert record["status"] == "finished" and record["model_kind"] == "lora_adapter"
    assert record["render_context"]["labels"] == ["negative", "positive"]
    assert record["data"]["train"]["examples"] == 16 and record["metrics"]["steps"] == 400
    assert record["parameters"]["trainable"] < record["parameters"]["total"]
    events = list_events(stage="training")
    assert [e.reason_code for e in events] == ["training_run_finished", "training_run_started"]
    assert events[0].payload["run_dir"] == str(run) and events[0].dataset == "sentiment"
    assert events[0].payload["metrics"]["final_step_loss"] == result.final_step_loss
    kinds = [e["event"] for e in quiet.events]
    assert kinds[0] == "start" and kinds[-1] == "end" and kinds.count("step") == 400 and "eval" in kinds


def test_full_fine_tuning_learns(sentiment, config_for, quiet) -> None:
    result = train(config_for(sentiment, method="full", learning_rate=1e-2, epochs=10), progress=quiet)
    losses = train_losses(result.run_dir)
    assert losses[-1] < losses[0] / 4
    assert (result.model_dir / "config.json").is_file() and read_run(result.run_dir)["model_kind"] == "full"


class Crash(Exception):
    pass


def test_resume_reproduces_the_uninterrupted_run(sentiment, config_for, quiet, tmp_path) -> None:
    settings = dict(
        max_steps=12,
        save_every=4,
        keep_checkpoints=3,
        grad_accum=2,
        batch_size=3,
        eval_every=3,
        lora={"r": 8, "alpha": 16, "dropout": 0.1},
    )  # dropout: the RNG state must resume too
    whole = train(config_for(sentiment, output_dir=str(tmp_path / "whole"), **settings), progress=quiet)

    def crash_at_step_7(event: dict) -> None:
        if event.get("event") == "step" and event["step"] == 7:
            raise Crash("simulated crash")

    broken = config_for(sentiment, output_dir=str(tmp_path / "broken"), **settings)
    with pytest.raises(Crash):
        train(broken, progress=crash_at_step_7)
    assert read_run(tmp_path / "broken")["status"] == "failed"
    assert list_events(reason_code="training_run_failed")[0].payload["step"] == 7
    resumed = train(broken.model_copy(update={"resume": "latest"}), progress=quiet)

    assert resumed.run_dir == tmp_path / "broken" and read_run(resumed.run_dir)["resumed_from"].endswith("step-000004")
    assert train_losses(resumed.run_dir) == train_losses(whole.run_dir)  # steps 1-4 kept, 5-12 recomputed
    assert eval_losses(resumed.run_dir) == eval_losses(whole.run_dir)
    assert resumed.final_step_loss == whole.final_step_loss and resumed.tokens == whole.tokens
    assert sorted(p.name for p in (tmp_path / "broken" / "checkpoints").iterdir()) == [
        "step-000004",
        "step-000008",
        "step-000012",
    ]


def test_resume_from_a_copied_checkpoint_and_with_a_changed_option(sentiment, config_for, quiet, tmp_path) -> None:
    settings = dict(max_steps=6, save_every=3)
    whole = train(config_for(sentiment, output_dir=str(tmp_path / "a"), **settings), progress=quiet)
    shutil.copytree(whole.run_dir / "checkpoints" / "step-000003", tmp_path / "b" / "checkpoints" / "step-000003")
    resumed = train(config_for(sentiment, resume=str(tmp_path / "b"), **settings), progress=quiet)
    assert train_losses(resumed.run_dir) == train_losses(whole.run_dir)[3:]
    with pytest.raises(ConfigError, match="option 'batch_size' is 2 but the checkpoint was written with 4"):
        train(config_for(sentiment, resume=str(tmp_path / "b"), batch_size=2, **settings), progress=quiet)


def test_early_stopping_keeps_the_best_model(import_rows, config_for, quiet) -> None:
    import_rows("flipped", [{"text": t, "label": label} for t, label in SENTIMENT])
    flipped = {"positive": "negative", "negative": "positive"}
    import_rows("flipped", [{"text": t, "label": flipped[label]} for t, label in SENTIMENT], split="validation")
    config = config_for("flipped", epochs=40, eval_every=2, early_stopping={"patience": 3})
    result = train(config, progress=quiet)
    assert result.stopped_early and result.steps < 160
    evals = eval_losses(result.run_dir)
    best_step, best = min(evals, key=lambda e: e[1])
    assert result.best_step == best_step and result.best_eval_loss == best == result.eval_loss
    assert evals[-1][0] == best_step + 3 * 2  # three evaluations without improvement
    assert any("early stop" in e.get("message", "") for e in quiet.events)


def test_class_upsampling_is_applied_and_reported(import_rows, config_for, quiet) -> None:
    rows = [{"text": t, "label": label} for t, label in SENTIMENT if label == "positive"] + [
        {"text": t, "label": label} for t, label in SENTIMENT if label == "negative"
    ][:2]
    import_rows("skewed", rows)
    result = train(config_for("skewed", class_balance="upsample", batch_size=4), progress=quiet)
    balance = read_run(result.run_dir)["data"]["train"]["class_balance"]
    assert balance == {
        "mode": "upsample",
        "before": {"negative": 2, "positive": 8},
        "after": {"negative": 8, "positive": 8},
    }
    assert quiet.events[0]["examples"] == 16 and result.steps == 4
    down = train(config_for("skewed", class_balance="downsample", batch_size=4), progress=quiet)
    assert read_run(down.run_dir)["data"]["train"]["class_balance"]["after"] == {"negative": 2, "positive": 2}
    assert down.steps == 1


def test_packed_batches_train(sentiment, config_for, quiet) -> None:
    result = train(config_for(sentiment, batching="packed", max_seq_len=400, batch_size=1, epochs=20), progress=quiet)
    losses = train_losses(result.run_dir)
    assert read_run(result.run_dir)["schedule"]["micro_batches_per_epoch"] == 4  # ~94 tokens each, 4 per row
    assert losses[-1] < losses[0] / 2


def test_learning_rate_schedules() -> None:
    args = dict(peak=1.0, warmup=10, total=110)
    assert [lr_at(s, schedule="cosine", **args) for s in (0, 5, 10)] == [0.0, 0.5, 1.0]
    assert math.isclose(lr_at(60, schedule="cosine", **args), 0.5)
    assert math.isclose(lr_at(60, schedule="linear", **args), 0.5)
    assert lr_at(60, schedule="constant", **args) == 1.0
    assert math.isclose(lr_at(110, schedule="cosine", min_ratio=0.1, **args), 0.1)


# --- errors before any training step --------------------------------------------------------------


def no_runs(tmp_path: Path) -> bool:
    return not any(p.name.startswith("run-") for p in tmp_path.iterdir())


def test_unknown_dataset(config_for, quiet, tmp_path) -> None:
    with pytest.raises(ConfigError, match="dataset 'nope' not found"):
        train(config_for("nope"), progress=quiet)
    with pytest.raises(ConfigError, match="not a dataset folder"):
        train(config_for(str(tmp_path)), progress=quiet)
    assert no_runs(tmp_path) and quiet.events == []


def test_empty_train_split(import_rows, config_for, quiet, tmp_path) -> None:
    import_rows("only-val", [{"text": t, "label": label} for t, label in SENTIMENT], split="validation")
    with pytest.raises(ConfigError, match="dataset 'only-val' v1 has an empty train split"):
        train(config_for("only-val"), progress=quiet)
    assert no_runs(tmp_path) and list_events(stage="training") == []


def test_bad_lora_target(sentiment, config_for, quiet, tmp_path) -> None:
    with pytest.raises(
        ConfigError,
        match="LoRA target module 'qkv_proj' does not exist in this model; its linear layers are: down_proj",
    ):
        train(config_for(sentiment, lora={"target_modules": ["qkv_proj"]}), progress=quiet)
    assert no_runs(tmp_path)


def test_missing_base_model(sentiment, config_for, quiet, tmp_path) -> None:
    with pytest.raises(ConfigError, match="base model .*missing-model does not exist"):
        train(config_for(sentiment, base_model=str(tmp_path / "missing-model")), progress=quiet)


def test_max_seq_len_too_small_for_any_reply(import_rows, config_for, quiet) -> None:
    answer = "The quick brown fox jumps over the lazy dog, and then it jumps back again."
    import_rows(
        "qa", [{"question": f"What happened {i}?", "answer": answer} for i in range(4)], mapper_id="qa_pair_passthrough"
    )
    with pytest.raises(ConfigError, match="max_seq_len=16 is too small to hold any complete reply"):
        train(config_for("qa", max_seq_len=16), progress=quiet)


def test_out_of_memory_risk(sentiment, config_for, quiet, monkeypatch, tmp_path) -> None:
    import brewslm.training.loop as loop

    monkeypatch.setattr(loop, "available_memory", lambda device: (1024 * 1024, "available RAM"))
    with pytest.raises(
        ConfigError,
        match=r"out-of-memory risk: training needs about .* GiB \(weights .* for micro-batches of 4 x \d+ tokens\) but only 0.0 GiB of available RAM",
    ):
        train(config_for(sentiment), progress=quiet)
    assert no_runs(tmp_path)
    train(config_for(sentiment, memory_check=False, max_steps=1), progress=quiet)


def test_options_that_do_not_fit_the_data(import_rows, sentiment, config_for, quiet) -> None:
    import_rows("qa", [{"question": "q?", "answer": "a"}], mapper_id="qa_pair_passthrough")
    with pytest.raises(ConfigError, match="class_balance=upsample applies to classification datasets; 'qa' is qa"):
        train(config_for("qa", class_balance="upsample"), progress=quiet)
    with pytest.raises(ConfigError, match="method dpo trains on preference pairs .* 'sentiment' is classification"):
        train(config_for(sentiment, method="dpo"), progress=quiet)
    with pytest.raises(ConfigError, match="early stopping needs validation data"):
        train(config_for("qa", early_stopping={"patience": 2}), progress=quiet)


def test_preference_methods_without_their_module(import_rows, config_for, quiet, monkeypatch) -> None:
    import brewslm.training.objective as objective

    monkeypatch.setattr(objective, "PREFERENCE_MODULE", "brewslm.training.no_such_preference_module")
    pairs = [{"prompt": f"Say hi {i}", "chosen": "Hi!", "rejected": "Go away."} for i in range(4)]
    import_rows("prefs", pairs, mapper_id="preference_pair")
    with pytest.raises(
        ConfigError, match="method 'dpo' is not available in this build: DPO/ORPO is built in brewslm.training.no_such"
    ):
        train(config_for("prefs", method="dpo"), progress=quiet)


def test_hardware_options_without_the_hardware(sentiment, config_for, quiet) -> None:
    import importlib.util

    import torch

    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="qlora needs a CUDA GPU"):
            train(config_for(sentiment, qlora=True), progress=quiet)
    if importlib.util.find_spec("mlflow") is None:
        with pytest.raises(ConfigError, match="report_to names mlflow but the mlflow package is not installed"):
            train(config_for(sentiment, mlflow=True), progress=quiet)


def test_an_existing_run_is_not_overwritten(sentiment, config_for, quiet, tmp_path) -> None:
    config = config_for(sentiment, max_steps=1)
    train(config, progress=quiet)
    with pytest.raises(ConfigError, match="already holds a training run"):
        train(config, progress=quiet)


def test_multi_turn_chat_and_raw_text_train(import_rows, config_for, quiet) -> None:
    chats = [
        {
            "messages": [
                {"role": "user", "content": f"hi {i}"},
                {"role": "assistant", "content": "hello!"},
                {"role": "user", "content": "bye"},
                {"role": "assistant", "content": f"ciao {i}"},
            ]
        }
        for i in range(6)
    ]
    import_rows("chats", chats, mapper_id="chat_messages_passthrough")
    chat = train(config_for("chats", epochs=3), progress=quiet)
    record = read_run(chat.run_dir)
    assert record["dataset"]["task_profile"] == "chat_sft" and chat.trained_tokens > 0
    texts = [{"text": "The quick brown fox jumps over the lazy dog. " * (i + 1)} for i in range(6)]
    import_rows("corpus", texts, mapper_id="text_only")
    corpus = train(config_for("corpus", max_seq_len=32, epochs=2), progress=quiet)
    report = read_run(corpus.run_dir)["data"]["train"]
    assert report["text_windows"] > 0 and report["examples"] == 6 + report["text_windows"]
    assert report["trained_tokens"] == report["tokens"] - report["examples"]  # all but each window's first token


@pytest.mark.slow
def test_smollm2_lora_learns_the_labels(sentiment, quiet, tmp_path) -> None:
    """The embedded SmolLM2 (its real ChatML template and default system prompt), LoRA r=16."""
    from brewslm.training import build_config

    config = build_config(
        {
            "dataset": sentiment,
            "epochs": 2,
            "batch_size": 8,
            "learning_rate": 2e-4,
            "output_dir": str(tmp_path / "smol"),
        }
    )
    result = train(config, progress=quiet)
    losses = train_losses(result.run_dir)
    assert losses[-1] < losses[0] / 2 and result.eval_loss < 1.0
    assert read_run(result.run_dir)["base_model_path"].endswith("smollm2-135m-instruct")


def test_a_task_profile_without_a_renderer(sentiment, config_for, quiet, monkeypatch) -> None:
    import brewslm.training.loop as loop
    from brewslm.tasks.base import CanonicalRecord, TaskProfile

    class Unrenderable(TaskProfile):
        id = "classification"
        record_model = CanonicalRecord

    monkeypatch.setattr(loop, "get_task_profile", lambda profile_id: Unrenderable())
    with pytest.raises(ConfigError, match="task profile 'classification' of dataset 'sentiment' has no renderer"):
        train(config_for(sentiment), progress=quiet)


# --- early stopping on a task metric ------------------------------------------------------------


def lora_fingerprint(model) -> float:
    """A number that changes with every LoRA weight (the same for the training model and the saved adapter)."""
    return sum(float(p.detach().double().sum()) for name, p in model.named_parameters() if "lora_" in name)


def scripted_metric(values: list[float], name: str = "macro_f1"):
    """A task evaluator that answers ``values`` in turn and remembers the weights it was shown."""
    seen: list[float] = []

    def evaluate(model, tokenizer) -> dict[str, float]:
        seen.append(lora_fingerprint(model))
        return {name: values[len(seen) - 1], "coverage": 1.0}

    evaluate.seen = seen  # type: ignore[attr-defined]
    return evaluate


def test_early_stopping_on_a_task_metric_keeps_the_best_steps_weights(sentiment, config_for, quiet) -> None:
    from brewslm.training import load_trained

    probe = scripted_metric([0.5, 0.75, 0.25, 0.75, 0.5, 0.9])  # one evaluation per step
    config = config_for(sentiment, epochs=40, eval_every=1, early_stopping={"patience": 3, "metric": "macro_f1"})
    result = train(config, progress=quiet, validation_metrics=probe)
    # best at step 2; an equal value (step 4) is no improvement, so steps 3, 4 and 5 make three without one
    assert result.stopped_early and result.steps == 5
    assert result.best == {"metric": "macro_f1", "mode": "max", "value": 0.75, "step": 2}
    assert result.best_step == 2 and result.eval_metrics == {"macro_f1": 0.75, "coverage": 1.0}
    assert read_run(result.run_dir)["metrics"]["best"] == result.best
    lines = (result.run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    evals = [e for e in map(json.loads, lines) if e["kind"] == "eval"]
    assert [e["macro_f1"] for e in evals] == [0.5, 0.75, 0.25, 0.75, 0.5] and evals[-1]["best_value"] == 0.75
    saved, _ = load_trained(result.run_dir)
    assert math.isclose(lora_fingerprint(saved), probe.seen[1], rel_tol=1e-9)  # the weights of step 2, not step 5
    assert not math.isclose(probe.seen[1], probe.seen[-1], rel_tol=1e-6)


def test_a_task_metric_keeps_the_best_model_without_patience_and_minimises_errors(sentiment, config_for, quiet) -> None:
    from brewslm.training import load_trained

    probe = scripted_metric([0.4, 0.1, 0.3, 0.2], name="error_rate")  # lower is better: read off the name
    result = train(
        config_for(sentiment, eval_every=1, early_stopping={"metric": "error_rate"}),
        progress=quiet,
        validation_metrics=probe,
    )
    assert not result.stopped_early and result.steps == 4
    assert result.best == {"metric": "error_rate", "mode": "min", "value": 0.1, "step": 2}
    saved, _ = load_trained(result.run_dir)
    assert math.isclose(lora_fingerprint(saved), probe.seen[1], rel_tol=1e-9)
    assert any("kept the model of step 2" in e.get("message", "") for e in quiet.events)


def test_a_task_metric_needs_its_evaluator_and_must_be_reported(sentiment, config_for, quiet, tmp_path) -> None:
    with pytest.raises(
        ConfigError, match="'early_stopping.metric' is 'macro_f1', a task metric, and this run has no task evaluator"
    ):
        train(config_for(sentiment, early_stopping={"metric": "macro_f1"}), progress=quiet)
    with pytest.raises(ConfigError, match="search.enabled=true asks for a hyper-parameter search, which train"):
        train(config_for(sentiment, search={"enabled": True}), progress=quiet)
    assert no_runs(tmp_path)
    with pytest.raises(
        ConfigError,
        match="'early_stopping.metric' is 'f1', which the validation pass does not "
        "report; it reports: coverage, eval_loss, eval_tokens, macro_f1",
    ):
        train(
            config_for(sentiment, max_steps=1, early_stopping={"metric": "f1"}),
            progress=quiet,
            validation_metrics=scripted_metric([0.5]),
        )


def test_a_resumed_run_watching_another_metric_starts_its_best_afresh(sentiment, config_for, quiet, tmp_path) -> None:
    settings = dict(max_steps=4, save_every=2, eval_every=1)
    first = train(config_for(sentiment, output_dir=str(tmp_path / "a"), **settings), progress=quiet)
    shutil.copytree(first.run_dir / "checkpoints" / "step-000002", tmp_path / "b" / "checkpoints" / "step-000002")
    probe = scripted_metric([0.5, 0.25])  # steps 3 and 4; the checkpoint's best is a loss (~5), not an F1
    resumed = train(
        config_for(sentiment, resume=str(tmp_path / "b"), early_stopping={"metric": "macro_f1"}, **settings),
        progress=quiet,
        validation_metrics=probe,
    )
    assert resumed.best == {"metric": "macro_f1", "mode": "max", "value": 0.5, "step": 3}
