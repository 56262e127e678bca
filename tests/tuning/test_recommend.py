"""The catalog's memory and speed estimates and the model recommendation: memory within 25% of a
measured peak on tiny models, speed probes cached per machine, a recommendation that is the same
for the same probe curve."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from brewslm.base_models.catalog import CATALOG, CatalogModel, get_model
from brewslm.errors import ConfigError
from brewslm.tuning.recommend import (
    DatasetFacts,
    MachineSpeed,
    PastResult,
    ProbeCurve,
    epochs_needed,
    machine_speed,
    memory_estimate,
    parse_budget,
    past_results,
    probe_gflops,
    recommend,
    tokens_per_second,
)
from helpers.workspace import private_workspace


@pytest.fixture(autouse=True)
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    return private_workspace(tmp_path, monkeypatch)


# --- memory: the estimate against a measured peak ---------------------------------------------------

# The peak is the process's resident-set high-water mark (VmHWM, reset through /proc/self/clear_refs
# just before the model is built) minus the resident set at that moment, in a fresh process. Two
# things make it stable: one throwaway training step first, so lazily loaded code and kernels are
# already resident; and glibc's mmap threshold fixed at 64 KiB, so every tensor buffer is its own
# mapping, returned to the OS when freed (with glibc's default, adaptive threshold, freed warm-up
# buffers stay in the heap and are reused without raising the RSS, undercounting by about a third).
MEASURE = r"""
import gc, json, sys
import torch
from transformers import AutoConfig, AutoModelForCausalLM
spec = json.loads(sys.argv[1])
torch.set_num_threads(1)

def status(field):
    with open("/proc/self/status") as handle:
        return next(int(line.split()[1]) * 1024 for line in handle if line.startswith(field))

def train_steps(steps):
    torch.manual_seed(0)
    config = AutoConfig.for_model(spec["model_type"], num_hidden_layers=spec["layers"], hidden_size=spec["hidden"],
        intermediate_size=spec["intermediate"], num_attention_heads=spec["heads"], num_key_value_heads=spec["kv_heads"],
        head_dim=spec["head_dim"], vocab_size=spec["vocab"], tie_word_embeddings=True)
    model = AutoModelForCausalLM.from_config(config)
    if spec["method"] == "lora":
        from peft import LoraConfig, get_peft_model
        model = get_peft_model(model, LoraConfig(r=16, target_modules="all-linear"))
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    ids = torch.randint(0, spec["vocab"], (spec["batch"], spec["seq"]))
    for _ in range(steps):
        model(input_ids=ids, labels=ids).loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

train_steps(1)
gc.collect()
before = status("VmRSS:")
with open("/proc/self/clear_refs", "w") as handle:
    handle.write("5")
train_steps(3)
print(json.dumps({"peak": status("VmHWM:") - before}))
"""

SHAPES = {
    "llama full": dict(
        model_type="llama",
        layers=4,
        hidden=256,
        intermediate=688,
        heads=4,
        kv_heads=2,
        head_dim=64,
        vocab=8000,
        batch=4,
        seq=128,
        method="full",
    ),
    "qwen3 wide-mlp lora": dict(
        model_type="qwen3",
        layers=3,
        hidden=192,
        intermediate=1152,
        heads=4,
        kv_heads=2,
        head_dim=64,
        vocab=6000,
        batch=6,
        seq=96,
        method="lora",
        qk_norm=True,
    ),
    "gemma3 long full": dict(
        model_type="gemma3_text",
        layers=3,
        hidden=128,
        intermediate=512,
        heads=4,
        kv_heads=1,
        head_dim=64,
        vocab=12000,
        batch=2,
        seq=384,
        method="full",
        qk_norm=True,
        norms_per_layer=4,
    ),
    # long sequences, many heads: attention that stored each head's scores would need 4x the peak
    "llama long many-heads full": dict(
        model_type="llama",
        layers=2,
        hidden=128,
        intermediate=344,
        heads=8,
        kv_heads=4,
        head_dim=16,
        vocab=2000,
        batch=2,
        seq=1024,
        method="full",
    ),
}


def measured_peak(spec: dict) -> int:
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_="65536", MALLOC_TRIM_THRESHOLD_="0")
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, json.dumps(spec)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])["peak"]


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux's resettable peak RSS")
@pytest.mark.parametrize("name", list(SHAPES))
def test_memory_estimate_is_within_25_percent_of_the_measured_peak(name: str) -> None:
    spec = SHAPES[name]
    entry = CatalogModel(
        id=name,
        hub_id=name,
        tied_embeddings=True,
        max_context=4096,
        licence="-",
        template="-",
        **{k: v for k, v in spec.items() if k not in ("batch", "seq", "method")},
    )
    estimate = memory_estimate(entry, spec["method"], seq_len=spec["seq"], batch_rows=spec["batch"])
    peak = measured_peak(spec)
    assert 0.75 <= estimate.total / peak <= 1.25, (estimate, peak)


def test_bf16_and_lora_need_less_than_fp32_and_full() -> None:
    entry = get_model("qwen2.5-0.5b-instruct")
    full32 = memory_estimate(entry, "full", seq_len=512, batch_rows=8)
    assert memory_estimate(entry, "full", seq_len=512, batch_rows=8, compute_bytes=2).total < full32.total
    assert memory_estimate(entry, "lora", seq_len=512, batch_rows=8).total < full32.total


# --- speed -----------------------------------------------------------------------------------------


def test_speed_is_measured_once_per_machine_and_cached() -> None:
    calls = []

    def probe(device):
        calls.append("probe")
        return 100.0

    def calibrate(device):
        calls.append("calibrate")
        return 250.0

    first = machine_speed("cpu", gflops_probe=probe, calibrate=calibrate)
    again = machine_speed("cpu", gflops_probe=probe, calibrate=calibrate)
    assert calls == ["probe", "calibrate"] and first == again
    embedded = get_model("smollm2-135m-instruct")
    assert first.efficiency_source == "measured"
    assert first.efficiency == pytest.approx(250.0 * 4 * embedded.parameters / 100e9, rel=1e-3)
    assert tokens_per_second(embedded, "lora", first) == (250.0, "measured")
    bigger, source = tokens_per_second(get_model("qwen3-1.7b"), "lora", first)
    assert source == "estimated" and bigger < 250.0
    full, _ = tokens_per_second(embedded, "full", first)
    assert full == pytest.approx(250.0 * 4 / 6, rel=1e-2)


def test_without_measuring_the_default_efficiency_is_marked_estimated() -> None:
    speed = machine_speed(
        "cpu",
        measure=False,
        gflops_probe=lambda device: 50.0,
        calibrate=lambda device: pytest.fail("must not calibrate"),
    )
    assert speed.efficiency_source == "estimated" and speed.gflops == 50.0
    assert tokens_per_second(get_model("smollm2-135m-instruct"), "lora", speed)[1] == "estimated"


def test_the_matmul_probe_runs() -> None:
    assert probe_gflops("cpu", size=64, repeats=2) > 0


# --- the recommendation ----------------------------------------------------------------------------

FACTS = DatasetFacts(
    name="tickets",
    version=1,
    task_profile="classification",
    rows=20000,
    labels=12,
    sampled=2000,
    mean_tokens=80.0,
    p95_tokens=140,
    max_tokens=300,
    tokens_per_epoch=1_600_000,
)
SPEED = MachineSpeed(
    device="cpu",
    name="test cpu",
    gflops=1000.0,
    efficiency=0.3,
    efficiency_source="measured",
    calibration_model="smollm2-135m-instruct",
    calibration_tokens_per_s=600.0,
)
FALLING = ProbeCurve("smollm2-135m-instruct", [6, 12, 18, 24, 30, 36], [3.0, 2.4, 2.0, 1.7, 1.5, 1.3], 288)
FLAT = ProbeCurve("smollm2-135m-instruct", [6, 12, 18, 24, 30, 36], [3.0, 1.6, 1.3, 1.25, 1.24, 1.24], 288)


def test_the_recommendation_is_the_same_for_the_same_probe_and_explains_itself() -> None:
    first = recommend(FACTS, SPEED, budget_minutes=60, probe=FLAT)
    second = recommend(FACTS, SPEED, budget_minutes=60, probe=FLAT)
    assert first == second
    # 1.6M tokens at 600 tokens/s is 44 minutes: the embedded model trains the 1 epoch a flat curve needs
    assert first.model == "smollm2-135m-instruct" and first.epochs == 1.0
    text = "\n".join(first.why)
    assert "20000 training rows, 12 labels" in text and "p95 140" in text and "1600000 tokens per epoch" in text
    assert "6:3.000, 12:1.600" in text and "flat by its last third" in text
    minutes = {c["model"]: c["minutes_per_epoch"] for c in first.candidates}
    assert minutes["smollm2-135m-instruct"] == pytest.approx(44.4, abs=0.1)
    assert list(minutes) == [e.id for e in sorted(CATALOG, key=lambda e: (e.parameters, e.id))]


def test_a_falling_curve_needs_more_epochs_than_the_budget_allows() -> None:
    result = recommend(FACTS, SPEED, budget_minutes=60, probe=FALLING)
    assert result.epochs == 3.0 and result.model is None
    assert "no catalog model trains 3 epochs within 60 minutes" in result.why[-1]
    assert recommend(FACTS, SPEED, budget_minutes=150, probe=FALLING).model == "smollm2-135m-instruct"


def test_a_model_that_does_not_fit_in_memory_is_passed_over() -> None:
    tight = recommend(FACTS, SPEED, budget_minutes=10_000, probe=FLAT, available_bytes=1)
    assert tight.model is None and not any(c["fits_memory"] for c in tight.candidates)


def _past(parameters: int, beaten: bool, tuned: float = 0.6) -> PastResult:
    return PastResult(
        report=f"runs/r{parameters}/eval/x/report.json",
        parameters=parameters,
        base_model="m",
        baseline="tfidf_logreg",
        headline="macro_f1",
        tuned=tuned,
        baseline_value=0.8,
        lift_ci=(-0.3, -0.1) if not beaten else (0.01, 0.1),
        beaten=beaten,
    )


def test_a_size_whose_fine_tune_lost_to_the_baseline_is_passed_over_for_a_larger_one() -> None:
    smallest = sorted(CATALOG, key=lambda e: (e.parameters, e.id))
    lost = _past(smallest[0].parameters, beaten=False)
    result = recommend(FACTS, SPEED, budget_minutes=100_000, probe=FLAT, past=[lost])
    ruled = {c["model"] for c in result.candidates if c["ruled_out"]}
    assert ruled == {e.id for e in CATALOG if e.parameters <= smallest[0].parameters * 1.2}
    assert result.model == next(e.id for e in smallest if e.id not in ruled)
    text = "\n".join(result.why)
    assert (
        f"evaluated before: a fine-tune of m ({smallest[0].parameters / 1e6:.0f}M) did not beat tfidf_logreg: "
        "macro_f1 0.600 vs 0.800, lift -0.200 [-0.300, -0.100]" in text
    )
    assert "are not expected to beat tfidf_logreg" in text and "larger than the" in result.why[-1]
    # a fine-tune at least as large that beat it: that size is enough, nothing is ruled out
    assert (
        recommend(
            FACTS,
            SPEED,
            budget_minutes=100_000,
            probe=FLAT,
            past=[lost, _past(smallest[0].parameters, beaten=True, tuned=0.9)],
        ).model
        == smallest[0].id
    )
    # every model that fits the budget is ruled out: the reason says to raise the budget or ship the baseline
    tight = recommend(FACTS, SPEED, budget_minutes=60, probe=FLAT, past=[lost])
    assert tight.model is None and "or ship the cheap baseline" in tight.why[-1]


def test_past_results_are_the_workspace_reports_of_fine_tunes_of_the_dataset(tmp_path) -> None:
    def write(folder: str, dataset: str, lift: float, kind: str = "run") -> None:
        run = tmp_path / "runs" / folder
        (run / "eval" / "e").mkdir(parents=True)
        (run / "run.json").write_text(json.dumps({"parameters": {"total": 1_000_000}}))
        (run / "eval" / "e" / "report.json").write_text(
            json.dumps(
                {
                    "headline": "macro_f1",
                    "dataset": {"name": dataset},
                    "models": {
                        "tuned": {"kind": kind, "source": str(run)},
                        "base": {"name": "tiny"},
                        "baseline": {"name": "tfidf_logreg"},
                    },
                    "baselines": {"tfidf_logreg": {"seconds": 1.0}},
                    "lift_vs_baseline": {
                        "macro_f1": {
                            "base": 0.7,
                            "tuned": 0.7 + lift,
                            "lift": lift,
                            "ci_low": lift - 0.05,
                            "ci_high": lift + 0.05,
                            "better": lift > 0,
                        }
                    },
                }
            )
        )

    write("a", "tickets", -0.2)
    write("b", "tickets", +0.2)
    write("c", "other", -0.2)
    write("d", "tickets", -0.2, kind="model")  # an exported folder: no run to read its size from
    (tmp_path / "runs" / "broken" / "eval" / "e").mkdir(parents=True)
    (tmp_path / "runs" / "broken" / "eval" / "e" / "report.json").write_text("{not json")
    found = past_results("tickets", tmp_path)
    assert sorted((p.report.split("/runs/")[1].split("/")[0], p.beaten) for p in found) == [("a", False), ("b", True)]
    assert all(p.parameters == 1_000_000 and p.base_model == "tiny" for p in found)


def test_epochs_needed_without_a_probe_is_the_training_default() -> None:
    assert epochs_needed(None)[0] == 3.0


@pytest.mark.parametrize("text,minutes", [("30m", 30.0), ("2h", 120.0), ("90s", 1.5), ("45", 45.0)])
def test_budgets(text: str, minutes: float) -> None:
    assert parse_budget(text) == minutes


@pytest.mark.parametrize("text", ["soon", "-5m", "0"])
def test_bad_budgets_are_one_line_errors(text: str) -> None:
    with pytest.raises(ConfigError, match="budget"):
        parse_budget(text)
