"""Tiny randomly initialised models of the architectures BrewSLM fine-tunes, each built from its own
transformers config class and saved as a model folder with the chat template family it really
ships with, so training, evaluation, serving and export can be exercised per architecture offline.

    from helpers.tiny_architectures import ARCHITECTURES, save_tiny_architecture
    folder = save_tiny_architecture("phi3", tmp_path / "phi3")   # then load_causal_lm(str(folder))

Every model has 2 layers, hidden size 32, 4 query / 2 key-value heads and the byte-level BPE
tokenizer of ``helpers.tiny_model`` plus the special tokens its template needs. Where an
architecture has them, its traits are kept and made to matter at tiny sizes: sliding-window
attention with a window shorter than a templated prompt (Gemma 2, Gemma 3, Mistral), Gemma 2's
attention and final-logit soft-capping, Phi-3's fused ``qkv_proj`` / ``gate_up_proj``, Qwen2's
attention biases, Qwen3 / Gemma 3's q/k norms, tied (Llama, Qwen, Gemma) or untied (Phi-3,
Mistral) output heads. Embeddings have unit variance, as ``tiny_lm_dir``'s do, so LoRA can move
the loss (at the usual 0.02 init the logits of a 32-wide tied head stay near uniform), and the
layers are ``lively`` (scale 2/sqrt(fan_in)): at 0.02 attention is near uniform and the residual
stream all embedding, so a wrongly masked token or a missing sliding window would change the
outputs by less than float noise and no test could tell.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import pytest

from helpers.tiny_model import CHATML_TEMPLATE, build_tiny_tokenizer
from inference.test_generation import lively

HIDDEN = 32
LAYERS = 2
HEADS = 4
KV_HEADS = 2
HEAD_DIM = HIDDEN // HEADS
SLIDING_WINDOW = 12
"""Shorter than any templated classification prompt, so a sliding-window layer attends differently
from a full one and a code path that ignores the window gives different numbers."""

LLAMA3_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] | trim + '<|eot_id|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)
GEMMA2_TEMPLATE = (  # Gemma 2's own: no system role at all
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}{% endif %}"
    "{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}"
    "{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
)
GEMMA3_TEMPLATE = (  # Gemma 3's: a system prompt is folded into the first user turn
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}"
    "{% set first_user_prefix = messages[0]['content'] + '\n\n' %}{% set loop_messages = messages[1:] %}"
    "{% else %}{% set first_user_prefix = '' %}{% set loop_messages = messages %}{% endif %}"
    "{% for message in loop_messages %}"
    "{% if message['role'] == 'assistant' %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}{% endif %}"
    "{{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else '') + message['content'] | trim"
    " + '<end_of_turn>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
)
PHI3_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + '<|end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)
MISTRAL_TEMPLATE = (  # v0.3 style: [INST] turns, replies closed by </s>; a system prompt joins the first user turn
    "{{ bos_token }}{% if messages[0]['role'] == 'system' %}"
    "{% set system = messages[0]['content'] + '\n\n' %}{% set loop_messages = messages[1:] %}"
    "{% else %}{% set system = '' %}{% set loop_messages = messages %}{% endif %}"
    "{% for message in loop_messages %}"
    "{% if message['role'] == 'user' %}{{ '[INST] ' + (system if loop.first else '') + message['content'] + '[/INST]' }}"
    "{% else %}{{ ' ' + message['content'] + eos_token }}{% endif %}"
    "{% endfor %}"
)


@dataclass(frozen=True)
class TemplateFamily:
    """A chat template with the special tokens it uses: ``bos`` / ``eos`` become the tokenizer's,
    ``stops`` are the ids generation stops at (the end-of-turn token first)."""

    template: str
    tokens: tuple[str, ...]
    bos: str
    eos: str
    stops: tuple[str, ...] = ()


CHATML = TemplateFamily(CHATML_TEMPLATE, (), "<|im_start|>", "<|im_end|>")
LLAMA3 = TemplateFamily(
    LLAMA3_TEMPLATE,
    ("<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"),
    "<|begin_of_text|>",
    "<|eot_id|>",
)
GEMMA2 = TemplateFamily(
    GEMMA2_TEMPLATE,
    ("<bos>", "<eos>", "<start_of_turn>", "<end_of_turn>"),
    "<bos>",
    "<eos>",
    ("<end_of_turn>", "<eos>"),
)
GEMMA3 = TemplateFamily(GEMMA3_TEMPLATE, GEMMA2.tokens, "<bos>", "<eos>", ("<end_of_turn>", "<eos>"))
PHI3 = TemplateFamily(
    PHI3_TEMPLATE,
    ("<s>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>"),
    "<s>",
    "<|endoftext|>",
    ("<|end|>", "<|endoftext|>"),
)
MISTRAL = TemplateFamily(MISTRAL_TEMPLATE, ("<s>", "</s>", "[INST]", "[/INST]"), "<s>", "</s>")


@dataclass(frozen=True)
class Architecture:
    name: str
    config_class: str  # in transformers
    family: TemplateFamily
    options: dict[str, Any] = field(default_factory=dict)  # config fields beyond the shared shape


ARCHITECTURE_SPECS = {
    spec.name: spec
    for spec in (
        Architecture("llama", "LlamaConfig", LLAMA3, {"tie_word_embeddings": True}),
        Architecture("qwen2", "Qwen2Config", CHATML, {"tie_word_embeddings": True}),  # q/k/v biases built in
        Architecture("qwen3", "Qwen3Config", CHATML, {"tie_word_embeddings": True, "head_dim": HEAD_DIM}),
        Architecture(
            "gemma2",
            "Gemma2Config",
            GEMMA2,
            {
                "tie_word_embeddings": True,
                "head_dim": HEAD_DIM,
                "query_pre_attn_scalar": HEAD_DIM,
                "sliding_window": SLIDING_WINDOW,
                "attn_logit_softcapping": 50.0,
                "final_logit_softcapping": 3.0,
                "layer_types": ["sliding_attention", "full_attention"],
            },
        ),
        Architecture(
            "gemma3",
            "Gemma3TextConfig",
            GEMMA3,
            {
                "tie_word_embeddings": True,
                "head_dim": HEAD_DIM,
                "query_pre_attn_scalar": HEAD_DIM,
                "sliding_window": SLIDING_WINDOW,
                "layer_types": ["sliding_attention", "full_attention"],
            },
        ),
        Architecture("phi3", "Phi3Config", PHI3, {"tie_word_embeddings": False}),
        Architecture(
            "mistral",
            "MistralConfig",
            MISTRAL,
            {"tie_word_embeddings": False, "head_dim": HEAD_DIM, "sliding_window": SLIDING_WINDOW},
        ),
    )
}
ARCHITECTURES = tuple(ARCHITECTURE_SPECS)


def build_family_tokenizer(family: TemplateFamily):
    """The tiny BPE tokenizer with ``family``'s special tokens, bos/eos and chat template."""
    from tokenizers import AddedToken

    tokenizer = build_tiny_tokenizer()
    new = [
        AddedToken(token, special=True, normalized=False)
        for token in family.tokens
        if token not in tokenizer.get_vocab()
    ]
    if new:
        tokenizer.add_tokens(new, special_tokens=True)
    tokenizer.bos_token = family.bos
    tokenizer.eos_token = family.eos
    tokenizer.chat_template = family.template
    return tokenizer


def build_tiny_architecture(name: str, tokenizer: Any, *, seed: int = 0) -> Any:
    """A randomly initialised ``*ForCausalLM`` of architecture ``name`` sized to ``tokenizer``."""
    import torch
    import transformers
    from transformers import AutoModelForCausalLM, GenerationConfig

    spec = ARCHITECTURE_SPECS[name]
    config = getattr(transformers, spec.config_class)(
        vocab_size=len(tokenizer),
        hidden_size=HIDDEN,
        intermediate_size=HIDDEN * 2,
        num_hidden_layers=LAYERS,
        num_attention_heads=HEADS,
        num_key_value_heads=KV_HEADS,
        max_position_embeddings=4096,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **spec.options,
    )
    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_config(config)
    with torch.no_grad():
        model.get_input_embeddings().weight.normal_(0.0, 1.0)
        if not config.tie_word_embeddings:  # an untied head at 0.02 caps the logits as a tied one would
            model.get_output_embeddings().weight.normal_(0.0, 1.0)
    lively(model, seed=seed)
    stops = [tokenizer.convert_tokens_to_ids(token) for token in spec.family.stops] or tokenizer.eos_token_id
    model.generation_config = GenerationConfig(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=stops, pad_token_id=tokenizer.pad_token_id
    )
    return model.eval()


def save_tiny_architecture(
    name: str, path: Path, *, seed: int = 0, adjust: Callable[[Any], None] | None = None
) -> Path:
    """Write a tiny ``name`` model + its tokenizer to ``path`` (``adjust(model)`` runs first)."""
    path = Path(path)
    tokenizer = build_family_tokenizer(ARCHITECTURE_SPECS[name].family)
    model = build_tiny_architecture(name, tokenizer, seed=seed)
    if adjust is not None:
        adjust(model)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(path))
    tokenizer.save_pretrained(str(path))
    return path


class TinyArchitectureDirs:
    """Model folders built on first use and kept for the session: ``dirs[name]`` is a Path."""

    def __init__(self, root: Path):
        self.root = root
        self._built: dict[str, Path] = {}

    def __getitem__(self, name: str) -> Path:
        if name not in self._built:
            self._built[name] = save_tiny_architecture(name, self.root / name)
        return self._built[name]

    def load(self, name: str, attention: str | None = None) -> tuple[Any, Any]:
        """``(model, tokenizer)`` through ``brewslm.base_models.load_causal_lm`` on the CPU, in eval mode,
        with ``attention`` as its attention implementation (None: the one it loads with)."""
        from brewslm.base_models import load_causal_lm

        model, tokenizer = load_causal_lm(str(self[name]), device="cpu")
        if attention is not None:
            model.set_attn_implementation(attention)
        return model.eval(), tokenizer


ATTENTIONS = [None, "eager"]
"""What exactness tests run under: each model's own attention (sdpa, or eager for Gemma 2, which
has no sdpa) and eager (an additive mask instead of a boolean one)."""


@pytest.fixture(scope="session")
def tiny_architecture_dirs(tmp_path_factory: pytest.TempPathFactory) -> TinyArchitectureDirs:
    """The tiny model folder of every architecture, built once per test session (import this fixture
    into a test module or conftest to use it)."""
    return TinyArchitectureDirs(tmp_path_factory.mktemp("tiny-architectures"))


__all__ = [
    "ARCHITECTURES",
    "ATTENTIONS",
    "ARCHITECTURE_SPECS",
    "Architecture",
    "TemplateFamily",
    "TinyArchitectureDirs",
    "build_family_tokenizer",
    "build_tiny_architecture",
    "save_tiny_architecture",
    "tiny_architecture_dirs",
]
