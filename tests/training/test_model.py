"""The completion-only loss equals the model's own full-logits loss, packing leaks nothing across
examples, LoRA targets are checked, precision follows the hardware."""

from __future__ import annotations

import pytest
import torch

from brewslm.errors import ConfigError
from brewslm.inference.batching import ExampleSet, collate
from brewslm.inference.encoding import IGNORE_INDEX
from brewslm.inference.forward import target_logprobs
from brewslm.tasks import get_task_profile
from brewslm.tasks.rendering import RenderContext
from brewslm.training.config import load_config
from brewslm.training.data import load_examples
from brewslm.training.model import (
    apply_method,
    check_lora_targets,
    completion_loss,
    linear_layer_names,
    resolve_precision,
)
from helpers.tiny_model import build_tiny_model, build_tiny_tokenizer

TEXTS = [("a fine film", "positive"), ("dull and far too long for anyone", "negative"), ("ok", "neutral")]


@pytest.fixture(scope="module")
def tokenizer():
    return build_tiny_tokenizer()


@pytest.fixture(scope="module")
def examples(tokenizer) -> ExampleSet:
    records = [{"text": t, "label": label} for t, label in TEXTS]
    return load_examples(
        records,
        get_task_profile("classification"),
        RenderContext(labels=("negative", "neutral", "positive")),
        tokenizer,
        512,
    )


@pytest.fixture
def model(tokenizer):
    return build_tiny_model(tokenizer, seed=1)


def hf_loss(model, examples: ExampleSet, index: int, *, mask_prompt: bool = True) -> torch.Tensor:
    ids, trained = examples.example(index)
    input_ids = torch.tensor(ids, dtype=torch.long)[None]
    labels = input_ids.clone()
    if mask_prompt:
        labels[0, ~torch.tensor(trained)] = IGNORE_INDEX
    return model(input_ids=input_ids, labels=labels).loss


def test_completion_only_logits_give_the_full_logits_loss(model, examples) -> None:
    batch = collate(examples, [(0,), (1,), (2,)], pad_id=0)
    ours = completion_loss(model, batch)
    counts = [int(examples.example(i)[1].sum()) for i in range(3)]
    expected = sum(hf_loss(model, examples, i) * n for i, n in enumerate(counts))
    assert batch.targets == sum(counts)
    torch.testing.assert_close(ours, expected, rtol=1e-5, atol=1e-5)


def test_prompt_labels_do_not_count(model, examples) -> None:
    batch = collate(examples, [(1,)], pad_id=0)
    with torch.no_grad():
        ours = completion_loss(model, batch) / batch.targets
        torch.testing.assert_close(ours, hf_loss(model, examples, 1), rtol=1e-5, atol=1e-6)
        # had the prompt tokens carried labels, the loss would be a different number
        assert abs(float(ours) - float(hf_loss(model, examples, 1, mask_prompt=False))) > 1e-3


def test_the_gradient_reaches_only_through_trained_positions(model, examples) -> None:
    batch = collate(examples, [(0,)], pad_id=0)
    embeddings = model.get_input_embeddings()
    captured = {}

    def keep(_module, _inputs, output):
        output.retain_grad()
        captured["h"] = output

    handle = embeddings.register_forward_hook(keep)
    completion_loss(model, batch).backward()
    handle.remove()
    grads = captured["h"].grad[0].abs().sum(-1)
    last_target = int(batch.target_index.max())
    assert torch.all(grads[last_target + 1 :] == 0)  # nothing after the last trained prediction matters
    assert torch.all(grads[: last_target + 1] > 0)


def test_a_shared_prefix_runs_once_and_changes_nothing(tokenizer, examples) -> None:
    plain, shared = (
        collate(examples, [(0,), (1,), (2,)], pad_id=0),
        collate(examples, [(0,), (1,), (2,)], pad_id=0, share_prefix=True),
    )
    assert shared.prefix_len > 20 and plain.prefix_len == 0
    results = []
    for batch in (plain, shared):
        torch.manual_seed(0)
        model = apply_method(build_tiny_model(tokenizer, seed=1), load_config(dataset="d"))
        with torch.no_grad():  # make the adapters matter (LoRA's B starts at zero)
            for name, param in model.named_parameters():
                if "lora_B" in name:
                    param.normal_(0, 0.1)
        loss = completion_loss(model, batch)
        loss.backward()
        results.append((loss.detach(), [p.grad.clone() for p in model.parameters() if p.requires_grad]))
    torch.testing.assert_close(results[0][0], results[1][0], rtol=1e-5, atol=1e-5)
    for a, b in zip(results[0][1], results[1][1]):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_packed_loss_equals_separate_losses_under_each_attention(tokenizer, examples, attention) -> None:
    # eager attention adds the mask to the scores: a boolean block mask would add 1.0, not block
    model = build_tiny_model(tokenizer, seed=1)
    model.config._attn_implementation = attention
    for layer in model.model.layers:
        layer.self_attn.config._attn_implementation = attention
    packed = completion_loss(model, collate(examples, [(0, 1, 2)], pad_id=0))
    separate = sum(completion_loss(model, collate(examples, [(i,)], pad_id=0)) for i in range(3))
    torch.testing.assert_close(packed, separate, rtol=1e-5, atol=1e-5)


def test_packing_leaks_nothing_across_examples(model, examples) -> None:
    packed = collate(examples, [(0, 1, 2)], pad_id=0)
    assert packed.attention_mask is not None
    separate = sum(completion_loss(model, collate(examples, [(i,)], pad_id=0)) for i in range(3))
    torch.testing.assert_close(completion_loss(model, packed), separate, rtol=1e-5, atol=1e-5)
    logprobs = target_logprobs(model, packed)
    assert logprobs.shape == (packed.targets,) and torch.all(logprobs <= 0)
    torch.testing.assert_close(-logprobs.sum(), separate, rtol=1e-5, atol=1e-5)


def test_gradient_checkpointing_changes_nothing_but_memory(tokenizer, examples) -> None:
    batch = collate(examples, [(0,), (1,)], pad_id=0)
    results = []
    for checkpointing in (False, True):
        torch.manual_seed(0)
        model = apply_method(
            build_tiny_model(tokenizer, seed=1),
            load_config(dataset="d", gradient_checkpointing=checkpointing, lora={"dropout": 0.0}),
        )
        loss = completion_loss(model, batch)
        loss.backward()
        grads = [p.grad.clone() for p in model.parameters() if p.requires_grad]
        results.append((loss.detach(), grads))
    torch.testing.assert_close(results[0][0], results[1][0])
    for a, b in zip(results[0][1], results[1][1]):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


def test_lora_targets_must_exist(model) -> None:
    names = linear_layer_names(model)
    assert names == ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"]
    check_lora_targets(model, ["q_proj", "v_proj"])
    check_lora_targets(model, "all-linear")
    with pytest.raises(ConfigError) as info:
        check_lora_targets(model, ["q_proj", "query"])
    assert str(info.value) == (
        "LoRA target module 'query' does not exist in this model; its linear layers are: "
        "down_proj, gate_proj, k_proj, o_proj, q_proj, up_proj, v_proj"
    )


def test_lora_trains_only_adapters_and_full_trains_everything(tokenizer) -> None:
    lora = apply_method(
        build_tiny_model(tokenizer), load_config(dataset="d", lora={"r": 4, "target_modules": ["q_proj"]})
    )
    trainable = [n for n, p in lora.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n and "q_proj" in n for n in trainable)
    full = apply_method(build_tiny_model(tokenizer), load_config(dataset="d", method="full"))
    assert all(p.requires_grad for p in full.parameters())


def test_precision_follows_the_hardware() -> None:
    cpu = resolve_precision(load_config(dataset="d", device="cpu"))
    assert cpu.param_dtype == torch.float32 and cpu.autocast_dtype is None and cpu.describe() == "float32"
    bf16 = resolve_precision(load_config(dataset="d", device="cpu", dtype="bfloat16"))
    assert bf16.autocast_dtype == torch.bfloat16 and "bfloat16 autocast" in bf16.describe()
    with pytest.raises(ConfigError, match="float16 needs a CUDA device"):
        resolve_precision(load_config(dataset="d", device="cpu", dtype="float16"))
    if not torch.cuda.is_available():
        with pytest.raises(ConfigError, match="torch sees no GPU"):
            resolve_precision(load_config(dataset="d", device="cuda"))
