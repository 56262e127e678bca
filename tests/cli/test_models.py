"""``brewslm models list`` and ``brewslm models recommend``: the catalog table, the recommendation
and its reasons (the same twice for a fixed probe), bad input as one line with exit status 2."""

from __future__ import annotations

import pytest

from brewslm.base_models.catalog import CATALOG
from brewslm.tuning import recommend as recommend_module
from brewslm.tuning.recommend import MachineSpeed, ProbeCurve
from cli.test_train import one_error_line, tickets  # noqa: F401  (tickets: a fixture)
from helpers.tiny_model import tiny_model_dir  # noqa: F401  (a fixture)

SPEED = MachineSpeed(
    device="cpu",
    name="test cpu",
    gflops=1000.0,
    efficiency=0.3,
    efficiency_source="measured",
    calibration_model="smollm2-135m-instruct",
    calibration_tokens_per_s=600.0,
)
FLAT = ProbeCurve("smollm2-135m-instruct", [2, 4, 6], [3.0, 2.0, 2.0], 48)


@pytest.fixture(autouse=True)
def fixed_machine(monkeypatch: pytest.MonkeyPatch, tiny_model_dir) -> None:
    """No probing of this machine, and the tiny model's tokenizer as the default one."""
    monkeypatch.setattr(recommend_module, "machine_speed", lambda device="cpu", measure=True: SPEED)
    monkeypatch.setenv("BREWSLM_BASE_MODEL", str(tiny_model_dir))


def test_list_shows_every_catalog_model_with_its_costs(cli) -> None:
    text = cli("models", "list", "--seq-len", "256", "--batch-size", "4")
    assert text.code == 0, text.err
    lines = text.out.splitlines()
    assert lines[0].split()[:5] == ["id", "params", "context", "licence", "template"]
    embedded = next(line for line in lines if line.startswith("smollm2-135m-instruct"))
    assert "600 measured" in embedded and embedded.rstrip().endswith("yes")
    assert "memory for micro-batches of 4 x 256 tokens" in text.out

    result = cli("models", "list", "--json").json()
    assert [m["id"] for m in result["models"]] == [e.id for e in CATALOG]
    qwen = next(m for m in result["models"] if m["id"] == "qwen3-0.6b")
    assert qwen["parameters"] == 596049920 and qwen["tokens_per_s_source"]["lora"] == "estimated"
    assert qwen["memory"]["full"]["fp32"] > qwen["memory"]["lora"]["fp32"] > qwen["memory"]["lora"]["bf16"]


def test_recommend_is_the_same_twice_for_a_fixed_probe_and_says_why(cli, tickets, monkeypatch) -> None:
    monkeypatch.setattr(recommend_module, "run_probe", lambda dataset: FLAT)
    first = cli("models", "recommend", "--dataset", tickets, "--budget", "30m")
    second = cli("models", "recommend", "--dataset", tickets, "--budget", "30m")
    assert first.code == 0, first.err
    assert first.out == second.out
    assert first.out.startswith("recommended  smollm2-135m-instruct (HuggingFaceTB/SmolLM2-135M-Instruct), 1 epochs")
    assert "training rows, 3 labels" in first.out and "validation loss by step 2:3.000, 4:2.000, 6:2.000" in first.out
    result = cli("models", "recommend", "--dataset", tickets, "--json").json()
    assert result["model"] == "smollm2-135m-instruct" and result["dataset"]["labels"] == 3
    assert len(result["candidates"]) == len(CATALOG)


def test_recommend_without_a_probe_assumes_the_default_epochs(cli, tickets, monkeypatch) -> None:
    monkeypatch.setattr(recommend_module, "run_probe", lambda dataset: pytest.fail("--no-probe must not probe"))
    result = cli("models", "recommend", "--dataset", tickets, "--no-probe", "--json").json()
    assert result["epochs"] == 3.0 and result["probe"] is None


@pytest.mark.parametrize(
    "args,expected",
    [
        (["recommend", "--dataset", "{tickets}", "--budget", "soon"], "budget 'soon' is not a duration"),
        (["recommend", "--dataset", "no-such-dataset", "--no-probe"], "no-such-dataset"),
        (["list", "--seq-len", "0"], "--seq-len and --batch-size must be at least 1"),
        (["list", "--device", "tpu"], "invalid choice"),
    ],
)
def test_bad_input_is_one_line(cli, tickets, args, expected) -> None:
    run = cli("models", *[a.format(tickets=tickets) for a in args])
    assert expected in one_error_line(run)


def test_the_probe_trains_briefly_and_reads_the_validation_curve(cli, tickets, workspace) -> None:
    result = cli("models", "recommend", "--dataset", tickets, "--json")
    assert result.code == 0, result.err
    probe = result.json()["probe"]
    assert probe["steps"] == [6, 12, 18, 24] and len(probe["eval_loss"]) == 4
    runs = workspace / "runs"
    assert not runs.exists() or not any(runs.iterdir())  # the probe's run folder was temporary


def test_a_probe_longer_than_a_fifth_of_the_budget_is_not_run(cli, tickets, monkeypatch) -> None:
    slow = MachineSpeed(
        device="cpu",
        name="slow cpu",
        gflops=1.0,
        efficiency=0.3,
        efficiency_source="measured",
        calibration_model="smollm2-135m-instruct",
        calibration_tokens_per_s=1.0,
    )
    monkeypatch.setattr(recommend_module, "machine_speed", lambda device="cpu", measure=True: slow)
    monkeypatch.setattr(recommend_module, "run_probe", lambda dataset: pytest.fail("the probe must not run"))
    result = cli("models", "recommend", "--dataset", tickets, "--budget", "30m", "--json").json()
    assert result["probe"] is None and result["epochs"] == 3.0
    assert any(
        line.startswith("no probe run: it would take about") and "more than 20% of the budget" in line
        for line in result["why"]
    )
