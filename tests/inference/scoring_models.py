"""Models and the reference computation the scoring tests share: the tiny random Llama with
unit-variance embeddings (the usual 0.02 init makes every distribution near-uniform, so wrong
scores would still look "close"), and log-probabilities from one plain full forward pass."""

from __future__ import annotations

from typing import Sequence

import pytest
import torch

from helpers.tiny_model import build_tiny_model, build_tiny_tokenizer

PLAIN_TEMPLATE = (
    "{% for m in messages %}{{ m['role'] + ': ' + m['content'] + '\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ 'assistant: ' }}{% endif %}"
)
"""A chat template with no end-of-turn text after a reply (replies end where the next turn starts)."""


def tiny_tokenizer():
    return build_tiny_tokenizer()


def tiny_model(tokenizer, *, seed: int = 0, attention: str | None = None):
    model = build_tiny_model(tokenizer, seed=seed)
    with torch.no_grad():
        model.get_input_embeddings().weight.normal_(0.0, 1.0, generator=torch.Generator().manual_seed(seed))
    if attention is not None:
        model.set_attn_implementation(attention)
    return model.eval()


@pytest.fixture(scope="module")
def tokenizer():
    """The tiny tokenizer (import this fixture into a test module to use it)."""
    return tiny_tokenizer()


@pytest.fixture(scope="module")
def model(tokenizer):
    """The tiny model with unit-variance embeddings (import this fixture into a test module)."""
    return tiny_model(tokenizer, seed=3)


def with_lora(model, *, seed: int = 0):
    """A peft LoRA model whose adapters change the outputs (B matrices not zero)."""
    from peft import LoraConfig, get_peft_model

    from brewslm.base_models import quiet_peft

    with quiet_peft():
        peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules="all-linear", lora_dropout=0.0))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in peft_model.named_parameters():
            if "lora_B" in name:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.5)
    return peft_model.eval()


def taught_model(tokenizer, pairs: Sequence[tuple[str, str]], *, seed: int, steps: int = 25):
    """The tiny model trained (full weights, ``steps`` Adam steps on the whole set) to give each
    (question, reply) pair's reply and stop, as a fine-tune would."""
    from brewslm.inference.encoding import encode
    from brewslm.tasks.rendering import single_turn

    model = tiny_model(tokenizer, seed=seed)
    examples = [encode(single_turn(question, reply), tokenizer, 128) for question, reply in pairs]
    width = max(len(e) for e in examples)
    ids = torch.tensor([list(e.input_ids) + [tokenizer.pad_token_id] * (width - len(e)) for e in examples])
    labels = torch.tensor([e.labels + [-100] * (width - len(e)) for e in examples])
    optimizer = torch.optim.Adam(model.parameters(), lr=3e-2)
    model.train()
    for _ in range(steps):
        loss = model(input_ids=ids, labels=labels).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


def full_forward_logprob(model, ids: Sequence[int], start: int) -> float:
    """Summed log-probability of tokens ``ids[start:]`` given everything before them."""
    return full_forward_masked_logprob(model, ids, [False] * start + [True] * (len(ids) - start))


def full_forward_masked_logprob(model, ids: Sequence[int], trained: Sequence[bool]) -> float:
    """Summed log-probability of the tokens marked ``trained`` (each given every token before it),
    from one plain forward over all of ``ids``; the first token is never scored."""
    with torch.no_grad():
        logits = model(input_ids=torch.tensor([list(ids)])).logits[0].float()
    logprobs = torch.log_softmax(logits[:-1], dim=-1)[torch.arange(len(ids) - 1), torch.tensor(list(ids)[1:])]
    return float(logprobs[torch.tensor(list(trained)[1:], dtype=torch.bool)].sum())
