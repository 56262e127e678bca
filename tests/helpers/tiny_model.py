"""A tiny random causal LM with a real byte-level BPE tokenizer and a ChatML chat template, built
offline in a fraction of a second, for tests that exercise the real Hugging Face code paths
(loading, chat templating, generation, training) without the embedded SmolLM2.

    from helpers.tiny_model import save_tiny_causal_lm
    model_dir = save_tiny_causal_lm(tmp_path / "tiny")   # then load_causal_lm(str(model_dir))
"""

from __future__ import annotations

from pathlib import Path

import pytest

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
SPECIAL_TOKENS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|pad|>"]

_CORPUS = [
    "The quick brown fox jumps over the lazy dog.",
    "Please map the dataset fields to a mapper and answer in JSON.",
    '{"mapper_id": "label_to_classification", "field_map": {"review": "text", "stars": "label"}}',
    "My parcel arrived late and the box was damaged; I want a refund.",
    "user: what is the capital of France? assistant: Paris is the capital of France.",
    "tokens, tags, text, label, question, answer, context, messages, chosen, rejected",
    "0123456789 []{}:,\"' \n\t",
]


def build_tiny_tokenizer(vocab_size: int = 384):
    """A byte-level BPE tokenizer trained on a few sentences: every string round-trips."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    core = Tokenizer(models.BPE(unk_token=None))
    core.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    core.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    core.train_from_iterator(_CORPUS * 4, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        unk_token="<|endoftext|>",
        pad_token="<|pad|>",
    )
    tokenizer.chat_template = CHATML_TEMPLATE
    return tokenizer


def build_tiny_model(tokenizer, *, seed: int = 0, hidden_size: int = 32, layers: int = 2):
    """A randomly initialised Llama with a vocabulary matching ``tokenizer`` (~40k parameters)."""
    import torch
    from transformers import GenerationConfig, LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=8192,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        tie_word_embeddings=True,
    )
    model = LlamaForCausalLM(config)
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return model.eval()


def save_tiny_causal_lm(path: Path, *, seed: int = 0) -> Path:
    """Write a tiny model + tokenizer folder loadable with ``from_pretrained`` / ``load_causal_lm``."""
    path = Path(path)
    tokenizer = build_tiny_tokenizer()
    model = build_tiny_model(tokenizer, seed=seed)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    return path


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny random Llama + ChatML tokenizer folder, built once per test session (import this
    fixture into a test package's conftest to use it)."""
    return save_tiny_causal_lm(tmp_path_factory.mktemp("tiny-causal-lm"))
