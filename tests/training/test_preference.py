"""DPO and ORPO on the tiny model: pairs and their masks, the reference computed once, the loss
against a hand computation, training that widens the chosen-vs-rejected margin, config errors."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from brewslm.errors import ConfigError
from brewslm.inference.encoding import EncodedExample, truncate_pair
from brewslm.tasks import get_task_profile
from brewslm.tasks.rendering import RenderContext
from brewslm.training import build_config, load_trained, preference, read_run, train
from brewslm.training.checkpoint import seed_everything
from brewslm.training.loop import preflight
from brewslm.training.model import apply_method, load_base
from brewslm.training.objective import build_objective
from brewslm.training.preference import collate_pairs, dpo_loss, load_pairs, orpo_loss, sequence_logprobs

QUESTIONS = [
    "What is the capital of France?",
    "Can you help me track my parcel?",
    "Please map the dataset fields.",
    "Which mapper fits a label column?",
    "My box arrived damaged, what now?",
    "How do I answer in JSON?",
    "What does the lazy dog do?",
    "Is the fox quick or slow?",
    "Where is my refund?",
    "What are tokens and tags?",
    "Can I get the answer as JSON?",
    "Who jumps over the dog?",
    "What is a question and an answer?",
    "Does the parcel arrive late?",
    "Which field is the text?",
    "What is in the context field?",
]
CHOSEN = "Sure, here is the answer in JSON."
REJECTED = "No. I will not help you with that."


def pair_rows(questions: list[str], suffix: str = "") -> list[dict[str, Any]]:
    return [{"prompt": q + suffix, "chosen": CHOSEN, "rejected": REJECTED} for q in questions]


@pytest.fixture
def prefs(import_rows) -> str:
    """'prefs': 16 pairs in train, 4 re-worded ones in validation."""
    import_rows("prefs", pair_rows(QUESTIONS), mapper_id="preference_pair")
    import_rows("prefs", pair_rows(QUESTIONS[::4], " Thanks!"), mapper_id="preference_pair", split="validation")
    return "prefs"


def build(config) -> tuple[Any, Any, Any, Any]:
    """(objective, model, tokenizer, precision) exactly as ``loop.train`` builds them."""
    setup = preflight(config)
    seed_everything(config.seed)
    model, tokenizer = load_base(config, setup.precision)
    model = apply_method(model, config)
    objective = build_objective(config, setup.dataset, setup.profile, setup.context, tokenizer, model)
    return objective, model, tokenizer, setup.precision


def train_entries(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    return [e for e in map(json.loads, lines) if e["kind"] == "train"]


# --- data ----------------------------------------------------------------------------------------


def test_completion_masks_exclude_prompt_tokens(tiny_lm_dir) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_lm_dir))
    record = {
        "prompt": [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Help me?"}],
        "chosen": "Gladly.",
        "rejected": "Go away.",
    }
    pairs = load_pairs([record], get_task_profile("dpo"), RenderContext(), tokenizer, 512)
    assert len(pairs) == 1 and pairs.report.to_dict()["pairs"] == 1
    prompt_text = tokenizer.apply_chat_template(record["prompt"], tokenize=False, add_generation_prompt=True)
    prompts = []
    for index, reply in ((0, "Gladly."), (1, "Go away.")):
        ids, trained = pairs.examples.example(index)
        start = int(trained.argmax())
        assert trained[start:].all() and not trained[:start].any()
        assert tokenizer.decode(ids[start:].tolist()) == reply + "<|im_end|>"
        assert tokenizer.decode(ids[:start].tolist()) == prompt_text
        prompts.append(ids[:start].tolist())
    assert prompts[0] == prompts[1]  # both replies are scored after the very same prompt tokens
    # the batch: chosen/rejected of one pair on adjacent rows, targets only at reply positions
    batch = collate_pairs(pairs, [(0,)], pad_id=tokenizer.pad_token_id)
    assert batch.pairs == 1 and batch.batch.input_ids.shape[0] == 2
    assert batch.reply_tokens.tolist() == [int(pairs.examples.example(i)[1].sum()) for i in (0, 1)]
    assert batch.target_rows.tolist() == [0] * batch.reply_tokens[0].item() + [1] * batch.reply_tokens[1].item()


def test_long_pairs_share_one_prompt_cut_and_unusable_pairs_are_reported(tiny_lm_dir) -> None:
    prompt, chosen, rejected = tuple(range(100, 140)), (1, 2, 3, 4, 5, 6), (7, 8)
    flags = lambda p, r: (False,) * len(p) + (True,) * len(r)  # noqa: E731
    c, r = truncate_pair(
        EncodedExample(prompt + chosen, flags(prompt, chosen)),
        EncodedExample(prompt + rejected, flags(prompt, rejected)),
        20,
    )
    assert len(c) == 20 and c.input_ids[-6:] == chosen and c.prompt_truncated == 26 and c.completion_truncated == 0
    assert r.input_ids == c.input_ids[:14] + rejected and r.prompt_truncated == 26 and r.completion_truncated == 0
    assert sum(r.trained) == 2 and sum(c.trained) == 6
    # a reply too long for the budget loses its end; the shorter one keeps all of it
    c, r = truncate_pair(
        EncodedExample(prompt + tuple(range(30)), flags(prompt, range(30))),
        EncodedExample(prompt + rejected, flags(prompt, rejected)),
        20,
    )
    assert c.input_ids[5:] == tuple(range(15)) and c.completion_truncated == 15
    assert r.input_ids == c.input_ids[:5] + rejected and r.completion_truncated == 0

    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_lm_dir))
    same_start = "The quick brown fox jumps over the lazy dog. " * 4
    hello = [{"role": "user", "content": "Hello?"}]
    records = [
        {"prompt": hello, "chosen": same_start + "Yes.", "rejected": same_start + "No."},  # differ past the cut
        {"prompt": hello, "chosen": "Yes.", "rejected": "No."},
    ]
    pairs = load_pairs(records, get_task_profile("dpo"), RenderContext(), tokenizer, 24)
    assert pairs.report.to_dict() == {
        "records": 2,
        "pairs": 1,
        "dropped": {"identical_after_truncation": 1},
        "prompt_truncated": 0,
        "completion_truncated": 0,
        "tokens": pairs.report.tokens,
        "trained_tokens": pairs.report.trained_tokens,
    }
    assert len(pairs) == 1 and len(pairs.examples) == 2


# --- losses --------------------------------------------------------------------------------------


def test_dpo_and_orpo_formulas() -> None:
    import torch

    policy = torch.tensor([[-4.0, -9.0], [-6.0, -5.0]])
    reference = torch.tensor([[-5.0, -8.0], [-6.0, -6.0]])
    losses, metrics = dpo_loss(policy, reference, beta=0.5)
    # pair 0: 0.5 * ((-4 + 5) - (-9 + 8)) = 1; pair 1: 0.5 * (0 - 1) = -0.5
    expected = [math.log1p(math.exp(-1.0)), math.log1p(math.exp(0.5))]
    assert losses.tolist() == pytest.approx(expected, rel=1e-6)
    assert metrics["rewards/margins"].tolist() == pytest.approx([1.0, -0.5])
    assert metrics["rewards/chosen"].tolist() == pytest.approx([0.5, 0.0])
    assert metrics["rewards/accuracies"].tolist() == [1.0, 0.0]
    smoothed, _ = dpo_loss(policy, reference, beta=0.5, label_smoothing=0.1)
    assert smoothed[0].item() == pytest.approx(0.9 * expected[0] + 0.1 * math.log1p(math.exp(1.0)), rel=1e-6)

    lengths = torch.tensor([[2.0, 4.0], [1.0, 5.0]])
    losses, metrics = orpo_loss(policy, lengths, orpo_lambda=0.2)
    for row in range(2):
        mean_c, mean_r = (policy[row] / lengths[row]).tolist()
        odds = lambda lp: math.exp(lp) / (1 - math.exp(lp))  # noqa: E731
        log_odds = math.log(odds(mean_c) / odds(mean_r))
        assert metrics["log_odds_ratio"][row].item() == pytest.approx(log_odds, rel=1e-5)
        assert losses[row].item() == pytest.approx(-mean_c + 0.2 * math.log1p(math.exp(-log_odds)), rel=1e-5)
    assert metrics["accuracy"].tolist() == [1.0, 0.0]
    # confident replies (mean log-prob near 0) keep finite odds and gradients
    near_one = torch.tensor([[-1e-9, -3.0]], requires_grad=True)
    loss, _ = orpo_loss(near_one, torch.ones(1, 2), orpo_lambda=1.0)
    loss.sum().backward()
    assert torch.isfinite(loss).all() and torch.isfinite(near_one.grad).all()


def test_dpo_loss_on_a_batch_equals_a_hand_computation(prefs, config_for) -> None:
    import torch

    config = config_for(prefs, method="dpo", preference={"beta": 0.3})
    objective, model, _, _ = build(config)
    with torch.no_grad():  # move the policy away from the reference
        for name, param in model.named_parameters():
            if "lora_B" in name:
                param.normal_(0.0, 0.05)
    batch = objective.collate([(0,), (5,), (9,)])
    loss, metrics = objective.loss(model, batch)

    def completion_logprob(lm, index: int) -> float:
        ids, trained = objective.train.examples.example(index)
        with torch.no_grad():  # the plain transformers forward pass, all logits
            logits = lm(input_ids=torch.tensor(ids[None, :].astype("int64"))).logits[0].float()
        logps = torch.log_softmax(logits, dim=-1)
        return sum(logps[t - 1, ids[t]].item() for t in range(1, len(ids)) if trained[t])

    expected, margins = 0.0, 0.0
    for pair in (0, 5, 9):
        pc, pr = completion_logprob(model, 2 * pair), completion_logprob(model, 2 * pair + 1)
        with model.disable_adapter():
            rc, rr = completion_logprob(model, 2 * pair), completion_logprob(model, 2 * pair + 1)
        assert objective.train.reference[pair].tolist() == pytest.approx([rc, rr], abs=1e-3)
        margin = 0.3 * ((pc - rc) - (pr - rr))
        expected += math.log1p(math.exp(-margin))
        margins += margin
    assert objective.weight(batch) == 3
    assert loss.item() == pytest.approx(expected, rel=1e-4) and loss.requires_grad
    assert metrics["rewards/margins"] == pytest.approx(margins, rel=1e-4, abs=1e-5)


# --- training --------------------------------------------------------------------------------------


def test_reference_is_computed_once_and_equals_the_initial_policy(prefs, config_for, quiet, monkeypatch) -> None:
    import torch

    calls: list[int] = []
    original = preference.precompute_reference

    def counting(model, pairs, *args, **kwargs):
        calls.append(len(pairs))
        return original(model, pairs, *args, **kwargs)

    monkeypatch.setattr(preference, "precompute_reference", counting)
    config = config_for(prefs, method="dpo", epochs=3, eval_every=2)
    result = train(config, progress=quiet)
    assert calls == [16, 4]  # train and validation pairs, once each, for 12 steps and 6 evaluations
    entries = train_entries(result.run_dir)
    assert len(entries) == 12
    assert entries[0]["loss"] == pytest.approx(math.log(2), abs=1e-5)  # policy == reference at step 0
    assert entries[0]["rewards/margins"] == pytest.approx(0.0, abs=1e-5)
    record = read_run(result.run_dir)
    assert record["objective"] == "dpo" and record["data"]["beta"] == 0.1
    assert record["data"]["train"]["pairs"] == 16 and record["data"]["validation"]["pairs"] == 4
    assert record["data"]["reference"]["model"] == "base model, adapters disabled"

    # the cache holds the untouched model's log-probs: the freshly adapted policy gives the same
    objective, model, _, _ = build(config)
    for item in objective.plan_epoch(0):
        batch = objective.collate(item)
        with torch.no_grad():
            policy = sequence_logprobs(model, batch)
        assert policy.flatten().tolist() == pytest.approx(batch.reference.flatten().tolist(), rel=1e-6)


def test_dpo_widens_the_chosen_vs_rejected_margin(prefs, config_for, quiet) -> None:
    config = config_for(prefs, method="dpo", epochs=6)
    objective, model, _, precision = build(config)
    before = objective.measure(model, precision, objective.train)
    assert before["loss"] == pytest.approx(math.log(2), abs=1e-5) and before["rewards/margins"] == pytest.approx(
        0, abs=1e-5
    )

    result = train(config, progress=quiet)
    trained, _ = load_trained(result.run_dir)
    after = objective.measure(trained, precision, objective.train)
    assert after["rewards/margins"] > 1.0 and after["rewards/accuracies"] == 1.0, after
    assert after["rewards/accuracies"] > before["rewards/accuracies"]
    assert after["loss"] < 0.5 * before["loss"]
    assert after["rewards/chosen"] > after["rewards/rejected"]
    held_out = objective.measure(trained, precision, objective.eval)  # re-worded prompts
    assert held_out["rewards/margins"] > 1.0 and held_out["rewards/accuracies"] == 1.0
    entries = train_entries(result.run_dir)
    assert entries[-1]["rewards/margins"] > entries[0]["rewards/margins"] + 1.0


def test_orpo_lowers_its_loss_and_raises_the_log_odds(prefs, config_for, quiet) -> None:
    config = config_for(prefs, method="orpo", epochs=6, preference={"orpo_lambda": 0.5})
    objective, model, _, precision = build(config)
    assert objective.train.reference is None  # ORPO needs no reference
    before = objective.measure(model, precision, objective.train)
    result = train(config, progress=quiet)
    trained, _ = load_trained(result.run_dir)
    after = objective.measure(trained, precision, objective.train)
    assert after["loss"] < 0.5 * before["loss"], (before, after)
    assert after["log_odds_ratio"] > before["log_odds_ratio"] and after["accuracy"] == 1.0
    assert after["nll"] < before["nll"]
    record = read_run(result.run_dir)
    assert record["objective"] == "orpo" and record["data"]["orpo_lambda"] == 0.5
    assert "reference" not in record["data"]


class Crash(Exception):
    pass


def test_dpo_resumes_exactly(prefs, config_for, quiet, tmp_path) -> None:
    settings = dict(method="dpo", max_steps=6, save_every=3, batch_size=3, grad_accum=2, eval_every=3)
    whole = train(config_for(prefs, output_dir=str(tmp_path / "whole"), **settings), progress=quiet)

    def crash_at_step_4(event: dict) -> None:
        if event.get("event") == "step" and event["step"] == 4:
            raise Crash("simulated crash")

    broken = config_for(prefs, output_dir=str(tmp_path / "broken"), **settings)
    with pytest.raises(Crash):
        train(broken, progress=crash_at_step_4)
    resumed = train(broken.model_copy(update={"resume": "latest"}), progress=quiet)
    expected, got = train_entries(whole.run_dir), train_entries(resumed.run_dir)
    assert [e["step"] for e in got] == list(range(1, 7))
    for key in ("loss", "rewards/margins", "rewards/accuracies"):
        assert [e[key] for e in got] == pytest.approx([e[key] for e in expected], rel=1e-5, abs=1e-7), key


# --- errors --------------------------------------------------------------------------------------


def test_preference_config_errors(prefs, import_rows, config_for, quiet) -> None:
    with pytest.raises(ConfigError, match=r"option 'preference.beta': Input should be greater than 0 \(got 0\)"):
        build_config({"dataset": prefs, "method": "dpo", "preference": {"beta": 0}})
    with pytest.raises(ConfigError, match=r"option 'preference.beta': Input should be greater than 0 \(got -1\)"):
        config_for(prefs, method="dpo", preference={"beta": -1})
    with pytest.raises(ConfigError, match="batching=packed is not available for method dpo"):
        train(config_for(prefs, method="dpo", batching="packed"), progress=quiet)
    with pytest.raises(ConfigError, match="max_seq_len=16 is too small to hold any complete reply"):
        train(config_for(prefs, method="orpo", max_seq_len=16), progress=quiet)

    import_rows(
        "talk",
        [{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}],
        mapper_id="chat_messages_passthrough",
    )
    with pytest.raises(ConfigError, match="method orpo trains on preference pairs .* 'talk' is chat_sft"):
        train(config_for("talk", method="orpo"), progress=quiet)
    # the objective itself refuses a dataset whose task profile is not dpo, naming it
    config = config_for("talk", method="dpo")
    setup = preflight(config_for(prefs, method="dpo"))
    with pytest.raises(ConfigError, match="dataset 'prefs' is chat_sft; import pairs with the preference_pair mapper"):
        preference.build_objective(config, setup.dataset, get_task_profile("chat_sft"), setup.context, None, None)
