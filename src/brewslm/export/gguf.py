"""``brewslm export RUN --format gguf``: one GGUF file for llama.cpp / Ollama, checked against the model.

    result = export_gguf("intent", "exports/intent-gguf", quant="f16")
    result.path                        # exports/intent-gguf/intent-f16.gguf
    result.verification.max_abs_diff   # logits of the file (through transformers' GGUF loader) vs the model

Llama-family models only (``model_type: llama``; anything else is a one-line ``ConfigError``
naming the architecture), with a byte-level BPE tokenizer (``tokenizer.ggml.model = gpt2``).
The file follows llama.cpp's ``convert_hf_to_gguf.py`` conventions (the embedded SmolLM2 GGUF
reads the same with ``gguf.GGUFReader``):

- metadata ``llama.*``: block_count, context_length, embedding_length, feed_forward_length,
  attention.head_count / head_count_kv / layer_norm_rms_epsilon, rope.freq_base,
  rope.dimension_count, vocab_size; ``general.file_type`` and ``general.quantization_version``;
- tensor names from gguf's own HF -> GGUF map (``token_embd``, ``blk.N.attn_q`` ...,
  ``output_norm``; ``output`` only when the embeddings are not tied); the q and k projections
  permuted as llama.cpp expects (rotary halves interleaved: ``permute_qk``);
- the tokenizer: every id's token and type (normal, control for special added tokens, user
  defined for the other added tokens, unused for holes), merges, bos/eos/unk/pad ids,
  add_bos/add_eos and the chat template (gguf's ``SpecialVocab``), and ``tokenizer.ggml.pre`` from
  the tokenizer's pre-tokenizer (``tokenizer_pre``: GPT-2's byte-level regex -> "gpt-2", digits
  split first -> "smollm", the Llama 3 split -> "llama-bpe") - the split the fine-tune was trained
  with, so llama.cpp tokenizes prompts as training did;
- tensor types: 1-D tensors (norms) stay F32; the rest become F32, F16 or Q8_0 (``gguf.quants``;
  a tensor whose rows are not a multiple of Q8_0's 32-value blocks falls back to F16, as
  llama.cpp's converter does).

Verification (on by default) loads the written file back with transformers' GGUF loader
(``AutoModelForCausalLM.from_pretrained(folder, gguf_file=name)``, dequantised to float32) and
compares its logits with the merged model's, in float32 on CPU, over every position of a few
chat prompts (``VERIFY_PROMPTS``), and the GGUF tokenizer's ids with the model's. Tolerances
(``TOLERANCES``) are relative to the largest |logit| (``logit_scale``), because rounding errors
grow with the logits' magnitude:

- f32: max |diff| <= 1e-4 x scale and every top-1 token equal: the same numbers, only the
  summation order can differ;
- f16: max |diff| <= 1e-2 x scale and top-1 agreement >= 0.98: f16 keeps 11 significant bits
  (relative rounding 2^-11 ~ 5e-4 per weight); errors add up over the layers (SmolLM2-135M's 30
  layers: 1.0e-3 x scale, one flipped argmax in 208 positions, at a near tie), a 10x margin;
- q8_0: top-1 agreement >= 0.90 and max |diff| <= 0.15 x scale: Q8_0 rounds each weight to one of
  255 steps of its block's largest |value| (relative error up to 1/254 ~ 4e-3 of that maximum,
  ~8x f16's), so logits move ~10x more than with f16 (~1e-2 x scale expected on SmolLM2) and
  near-tied positions may flip; the bound leaves a 10x margin over that. A wrong tensor layout
  (say, an unpermuted q/k) in a trained model moves logits by a large share of the scale and
  changes many argmaxes; in a near-random model attention is almost uniform and the same mistake
  moves them only ~2e-3 x scale - the f32 check (1e-4) still catches it, q8_0's cannot, which is
  why the layout is tested at f32.
The tokenizer ids must match exactly. A failed check raises ``ConfigError`` with the numbers (the
file stays, for inspection); the numbers are kept in ``<name>.verify.json`` beside it.
"""

from __future__ import annotations

import contextlib
import io
import json
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np

from brewslm.base_models import load_causal_lm, quiet_loading
from brewslm.errors import ConfigError
from brewslm.export import llamacpp
from brewslm.export.bundle import ModelBundle
from brewslm.export.hf import prepare_out_dir, source_bundle
from brewslm.export.llamacpp import llama_logits
from brewslm.export.modelfile import write_modelfile

QUANTS = ("f32", "f16", "q8_0")
LLAMA_MODEL_TYPES = ("llama",)
LLAMA3_SPLIT = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)

VERIFY_PROMPTS = (
    "Hello! Who are you?",
    "Classify the review as positive or negative: 'A dull, lifeless mess.'",
    'Extract the order as JSON: "Order 1042 from Acme ships on 2024-05-03 for $18.50."',
    "Résumé: naïve café owners — ¿qué tal? 東京 3×4=12",
)


@dataclass(frozen=True)
class Tolerance:
    """What a verified GGUF must meet (see the module docstring for the reasoning)."""

    max_rel_diff: float  # max |logit diff| / max |logit|
    min_top1: float  # share of positions whose argmax token agrees


TOLERANCES = {
    "f32": Tolerance(max_rel_diff=1e-4, min_top1=1.0),
    "f16": Tolerance(max_rel_diff=1e-2, min_top1=0.98),
    "q8_0": Tolerance(max_rel_diff=0.15, min_top1=0.90),
    # K-quants (llama.cpp's quantizer): 6, ~5.5 and ~4.5 bits per weight; each bit fewer doubles the
    # rounding step, so the bounds widen ~2x per step from q8_0's; top-1 bounds are what llama.cpp's
    # own perplexity tables make plausible for a small model (a 4-bit 135M model flips ~1 in 10)
    "q6_k": Tolerance(max_rel_diff=0.25, min_top1=0.85),
    "q5_k_m": Tolerance(max_rel_diff=0.35, min_top1=0.80),
    "q4_k_m": Tolerance(max_rel_diff=0.5, min_top1=0.70),
}
CONVERTERS = ("auto", "llama.cpp", "builtin")


@dataclass(frozen=True)
class GgufVerification:
    """The written file against the model, over ``positions`` token positions of ``prompts`` prompts."""

    quant: str
    prompts: int
    positions: int
    max_abs_diff: float
    mean_abs_diff: float
    logit_scale: float
    top1_agreement: float
    tokens_match: bool
    tolerance: Tolerance

    @property
    def max_rel_diff(self) -> float:
        return self.max_abs_diff / max(self.logit_scale, 1e-12)

    @property
    def passed(self) -> bool:
        return (
            self.tokens_match
            and self.max_rel_diff <= self.tolerance.max_rel_diff
            and self.top1_agreement >= self.tolerance.min_top1
        )

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "max_rel_diff": self.max_rel_diff, "passed": self.passed}

    def describe(self) -> str:
        return (
            f"max |logit diff| {self.max_abs_diff:.3g} ({self.max_rel_diff:.2e} of the logit scale "
            f"{self.logit_scale:.3g}; allowed {self.tolerance.max_rel_diff:g}), mean {self.mean_abs_diff:.3g}, "
            f"top-1 agreement {self.top1_agreement:.3f} (needs {self.tolerance.min_top1:g}) over "
            f"{self.positions} positions of {self.prompts} prompts, tokenizer "
            f"{'identical' if self.tokens_match else 'DIFFERENT'}"
        )


@dataclass(frozen=True)
class GgufExport:
    """What ``export_gguf`` wrote."""

    path: Path
    quant: str
    bundle: ModelBundle
    tensors: int
    bytes: int
    seconds: float
    verification: GgufVerification | None = None
    type_counts: dict[str, int] = field(default_factory=dict)  # tensors per GGML type
    converter: str = "builtin"  # which converter wrote it: llama.cpp or builtin

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": "gguf",
            "path": str(self.path),
            "quant": self.quant,
            "name": self.bundle.name,
            "source": self.bundle.kind,
            "tensors": self.tensors,
            "bytes": self.bytes,
            "type_counts": self.type_counts,
            "seconds": round(self.seconds, 1),
            "converter": self.converter,
            "verification": self.verification.to_dict() if self.verification else None,
        }


# --- checks and conventions (pure) -------------------------------------------------------------------


def check_llama(config: Any) -> None:
    """Refuse what this writer cannot express in llama.cpp's llama architecture."""
    model_type = getattr(config, "model_type", None)
    if model_type not in LLAMA_MODEL_TYPES:
        raise ConfigError(
            f"GGUF export supports Llama-family models (model_type 'llama'); this model's architecture "
            f"is '{model_type}' ({', '.join(getattr(config, 'architectures', None) or ['?'])}); "
            "export it with --format hf instead"
        )
    rope = getattr(config, "rope_parameters", None) or getattr(config, "rope_scaling", None) or {}
    rope_type = rope.get("rope_type") or rope.get("type") or "default"
    if rope_type != "default":
        raise ConfigError(
            f"GGUF export supports plain RoPE only; this model uses rope_type '{rope_type}'; "
            "export it with --format hf instead"
        )
    if getattr(config, "attention_bias", False) or getattr(config, "mlp_bias", False):
        raise ConfigError(
            "GGUF export supports Llama models without attention/MLP biases; this one has them; "
            "export it with --format hf instead"
        )


def rope_theta(config: Any) -> float:
    rope = getattr(config, "rope_parameters", None) or {}
    return float(rope.get("rope_theta") or getattr(config, "rope_theta", None) or 10000.0)


def head_dim(config: Any) -> int:
    return int(getattr(config, "head_dim", None) or config.hidden_size // config.num_attention_heads)


def permute_qk(weights: np.ndarray, n_head: int, n_head_kv: int | None = None) -> np.ndarray:
    """llama.cpp's q/k layout: HF keeps each head's rotary halves apart ([x0..x31, y0..y31]),
    llama.cpp interleaves them ([x0, y0, x1, y1 ...]); transformers' GGUF loader undoes this."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return (
        weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def tokenizer_pre(pre_tokenizer: Mapping[str, Any] | None) -> str:
    """``tokenizer.ggml.pre`` for a byte-level BPE tokenizer's ``pre_tokenizer`` (tokenizer.json)."""

    def byte_level(step: Mapping[str, Any], regex: bool) -> bool:
        return step.get("type") == "ByteLevel" and bool(step.get("use_regex", True)) is regex

    steps = (
        [pre_tokenizer]
        if pre_tokenizer and pre_tokenizer.get("type") != "Sequence"
        else list((pre_tokenizer or {}).get("pretokenizers") or [])
    )
    if len(steps) == 1 and byte_level(steps[0], True):
        return "gpt-2"
    if (
        len(steps) == 2
        and steps[0].get("type") == "Digits"
        and steps[0].get("individual_digits")
        and byte_level(steps[1], True)
    ):
        return "smollm"
    if (
        len(steps) == 2
        and steps[0].get("type") == "Split"
        and (steps[0].get("pattern") or {}).get("Regex") == LLAMA3_SPLIT
        and byte_level(steps[1], False)
    ):
        return "llama-bpe"
    raise ConfigError(
        f"GGUF export knows the GPT-2, SmolLM and Llama 3 byte-level pre-tokenizers; this tokenizer's is "
        f"{json.dumps(pre_tokenizer)[:200]}; export it with --format hf instead"
    )


def vocab_entries(tokenizer: Any, vocab_size: int) -> tuple[list[str], list[int]]:
    """Every id's token text and GGUF token type, the way llama.cpp's converter lists a BPE vocabulary."""
    import gguf

    reverse = {index: token for token, index in tokenizer.get_vocab().items()}
    added = tokenizer.get_added_vocab()
    decoder = tokenizer.added_tokens_decoder
    tokens: list[str] = []
    types: list[int] = []
    for index in range(vocab_size):
        if index not in reverse:
            tokens.append(f"[PAD{index}]")
            types.append(gguf.TokenType.UNUSED)
            continue
        token = reverse[index]
        if token in added:
            special = decoder[index].special if index in decoder else False
            types.append(gguf.TokenType.CONTROL if special else gguf.TokenType.USER_DEFINED)
        else:
            types.append(gguf.TokenType.NORMAL)
        tokens.append(token)
    return tokens, types


def tensor_payload(name: str, array: np.ndarray, quant: str) -> tuple[np.ndarray, Any]:
    """``(data, ggml type)`` for one float32 tensor at ``quant`` (1-D tensors stay F32; Q8_0 needs
    rows that split into 32-value blocks, else F16)."""
    import gguf

    types = gguf.GGMLQuantizationType
    if array.ndim <= 1 or quant == "f32":
        return array.astype(np.float32), types.F32
    if quant == "q8_0":
        block = gguf.GGML_QUANT_SIZES[types.Q8_0][0]
        if array.shape[-1] % block == 0:
            return gguf.quants.quantize(array.astype(np.float32), types.Q8_0), types.Q8_0
    return array.astype(np.float16), types.F16


# --- writing -------------------------------------------------------------------------------------------


def write_gguf(model: Any, tokenizer: Any, path: Path, quant: str, *, name: str) -> dict[str, int]:
    """Write ``model`` (a float32 Llama) and ``tokenizer`` to ``path``; returns tensors per GGML type."""
    import gguf

    if quant not in QUANTS:
        raise ConfigError(f"unknown GGUF quantization '{quant}'; use one of: {', '.join(QUANTS)}")
    config = model.config
    check_llama(config)
    with tempfile.TemporaryDirectory(prefix="brewslm-gguf-") as folder:
        tokenizer.save_pretrained(folder)  # tokenizer.json, tokenizer_config.json, chat template
        config.save_pretrained(folder)  # special token ids for SpecialVocab
        tokenizer_json = json.loads((Path(folder) / "tokenizer.json").read_text(encoding="utf-8"))
        if (tokenizer_json.get("model") or {}).get("type") != "BPE":
            raise ConfigError(
                f"GGUF export supports byte-level BPE tokenizers; this one is "
                f"{(tokenizer_json.get('model') or {}).get('type')}; export it with --format hf instead"
            )
        pre = tokenizer_pre(tokenizer_json.get("pre_tokenizer"))
        special = gguf.SpecialVocab(folder, load_merges=True, n_vocab=config.vocab_size)

    file_types = {
        "f32": gguf.LlamaFileType.ALL_F32,
        "f16": gguf.LlamaFileType.MOSTLY_F16,
        "q8_0": gguf.LlamaFileType.MOSTLY_Q8_0,
    }
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_type(gguf.GGUFType.MODEL)
    writer.add_name(name)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_rope_freq_base(rope_theta(config))
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_vocab_size(config.vocab_size)
    writer.add_rope_dimension_count(head_dim(config))
    if head_dim(config) != config.hidden_size // config.num_attention_heads:
        writer.add_key_length(head_dim(config))
        writer.add_value_length(head_dim(config))
    writer.add_file_type(file_types[quant])
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)

    tokens, token_types = vocab_entries(tokenizer, config.vocab_size)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    writer.add_token_types(token_types)
    special.add_to_gguf(writer, quiet=True)

    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, config.num_hidden_layers)
    tied = bool(getattr(config, "tie_word_embeddings", False))
    counts: dict[str, int] = {}
    for hf_name, tensor in model.state_dict().items():
        if tied and hf_name == "lm_head.weight":
            continue  # llama.cpp reuses token_embd when there is no output tensor
        gguf_name = names.get_name(hf_name, try_suffixes=(".weight", ".bias"))
        if gguf_name is None:
            raise ConfigError(
                f"GGUF export cannot map the tensor '{hf_name}' to llama.cpp's names; "
                "export it with --format hf instead"
            )
        array = tensor.detach().to("cpu").float().numpy()
        if hf_name.endswith("self_attn.q_proj.weight"):
            array = permute_qk(array, config.num_attention_heads, config.num_attention_heads)
        elif hf_name.endswith("self_attn.k_proj.weight"):
            array = permute_qk(array, config.num_attention_heads, config.num_key_value_heads)
        data, qtype = tensor_payload(gguf_name, array, quant)
        writer.add_tensor(gguf_name, data, raw_dtype=qtype)
        counts[qtype.name] = counts.get(qtype.name, 0) + 1
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return counts


# --- verification --------------------------------------------------------------------------------------


def verification_prompts(tokenizer: Any) -> list[str]:
    """``VERIFY_PROMPTS`` through the chat template (with the generation prompt), or as raw text."""
    if getattr(tokenizer, "chat_template", None):
        return [
            tokenizer.apply_chat_template(
                [{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True
            )
            for text in VERIFY_PROMPTS
        ]
    return list(VERIFY_PROMPTS)


def compare_logits(
    expected: Sequence[np.ndarray], actual: Sequence[np.ndarray], *, quant: str, tokens_match: bool
) -> GgufVerification:
    """Per-prompt ``[positions, vocab]`` logits of the model and of the GGUF -> the verification numbers."""
    diffs = [np.abs(a - e) for e, a in zip(expected, actual)]
    agree = sum(int((a.argmax(-1) == e.argmax(-1)).sum()) for e, a in zip(expected, actual))
    positions = sum(e.shape[0] for e in expected)
    return GgufVerification(
        quant=quant,
        prompts=len(expected),
        positions=positions,
        max_abs_diff=float(max(d.max() for d in diffs)),
        mean_abs_diff=float(sum(d.sum() for d in diffs) / sum(d.size for d in diffs)),
        logit_scale=float(max(np.abs(e).max() for e in expected)),
        top1_agreement=agree / positions,
        tokens_match=tokens_match,
        tolerance=TOLERANCES[quant],
    )


def verify_gguf(model: Any, tokenizer: Any, path: Path, quant: str) -> GgufVerification:
    """Load ``path`` with transformers' GGUF loader and compare it with ``model`` (see the module docstring)."""
    import torch

    # load_causal_lm reads a .gguf with from_pretrained(folder, gguf_file=name); the GGUF reader's
    # own tqdm bar ignores transformers' progress switch, so stderr is held while it loads
    with quiet_loading(), contextlib.redirect_stderr(io.StringIO()):
        loaded, loaded_tokenizer = load_causal_lm(str(path), device="cpu", dtype=torch.float32)
    texts = verification_prompts(tokenizer)
    expected, actual, same_tokens = [], [], True
    with torch.no_grad():
        for text in texts:
            ids = tokenizer(text, add_special_tokens=False)["input_ids"]
            same_tokens &= loaded_tokenizer(text, add_special_tokens=False)["input_ids"] == ids
            batch = torch.tensor([ids])
            expected.append(model(input_ids=batch).logits[0].float().numpy())
            actual.append(loaded(input_ids=batch).logits[0].float().numpy())
    return compare_logits(expected, actual, quant=quant, tokens_match=same_tokens)


# --- the export ----------------------------------------------------------------------------------------


def load_merged(bundle: ModelBundle) -> tuple[Any, Any]:
    """The bundle's model with any adapter folded in, float32 on CPU, and its tokenizer."""
    import torch

    from brewslm.training.merge import load_trained

    with quiet_loading():
        if bundle.run_dir is not None and bundle.kind in ("run", "recipe"):
            model, tokenizer = load_trained(bundle.run_dir, device="cpu")
            if bundle.is_adapter:
                model = model.merge_and_unload()
        else:
            model, tokenizer = load_causal_lm(str(bundle.model_dir), device="cpu", dtype=torch.float32)
    return model.float().eval(), tokenizer


def gguf_file_name(name: str, quant: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_." else "-" for c in name).strip("-.") or "model"
    return f"{safe}-{quant}.gguf"


def export_gguf(
    spec: str | Path | ModelBundle,
    out_dir: str | Path,
    *,
    quant: str = "f16",
    overwrite: bool = False,
    verify: bool = True,
    converter: str = "auto",
    progress: Any = None,
) -> GgufExport:
    """Write ``<out>/<name>-<quant>.gguf``, an Ollama ``Modelfile`` beside it (``export.modelfile``)
    and, verified, ``<name>-<quant>.verify.json``.

    ``converter="llama.cpp"`` writes the file with llama.cpp's converter and quantizer and verifies
    it inside llama.cpp (``export.llamacpp``; set up once, then cached): any architecture the
    converter supports, quants f32 / f16 / q8_0 / q4_k_m / q5_k_m / q6_k. ``converter="builtin"``
    is this module's own writer (Llama-family, f32 / f16 / q8_0, verified through transformers'
    GGUF loader): no build, no download. ``auto`` (the default) is llama.cpp when its tooling is set
    up already or a K-quant asks for it, else builtin."""

    if converter not in CONVERTERS:
        raise ConfigError(f"unknown GGUF converter '{converter}'; use one of: {', '.join(CONVERTERS)}")
    if converter == "auto":
        converter = "llama.cpp" if quant in llamacpp.K_QUANTS or llamacpp.cached_tooling() is not None else "builtin"
    allowed = llamacpp.QUANT_TYPES if converter == "llama.cpp" else QUANTS
    if quant not in allowed:
        raise ConfigError(
            f"GGUF quantization '{quant}' is not one the {converter} converter writes; use one of: "
            f"{', '.join(allowed)}" + (" (K-quants need --converter llama.cpp)" if quant in llamacpp.K_QUANTS else "")
        )
    started = time.perf_counter()
    bundle = source_bundle(spec)
    out = Path(out_dir).expanduser()
    prepare_out_dir(out, overwrite=overwrite)
    tools = llamacpp.ensure_tooling(progress) if converter == "llama.cpp" else None
    model, tokenizer = load_merged(bundle)
    if tools is None:
        check_llama(model.config)  # before the folder is touched
    out.mkdir(parents=True, exist_ok=True)
    path = out / gguf_file_name(bundle.name, quant)
    if tools is None:
        counts = write_gguf(model, tokenizer, path, quant, name=bundle.name)
    else:
        _write_with_llamacpp(tools, bundle, path, quant, model, tokenizer)
        counts = llamacpp.gguf_type_counts(path)
    generation = getattr(model, "generation_config", None)
    write_modelfile(path, tokenizer, model.config, generation.to_dict() if generation is not None else None)
    verification = None
    if verify:
        verification = (
            verify_gguf(model, tokenizer, path, quant)
            if tools is None
            else verify_in_llamacpp(tools, model, tokenizer, path, quant)
        )
        path.with_suffix(".verify.json").write_text(
            json.dumps(verification.to_dict(), indent=2) + "\n", encoding="utf-8"
        )
        if not verification.passed:
            raise ConfigError(
                f"GGUF check failed for {path}: {verification.describe()}; the file is kept for inspection"
            )
    return GgufExport(
        path,
        quant,
        bundle,
        sum(counts.values()),
        path.stat().st_size,
        time.perf_counter() - started,
        verification,
        counts,
        converter,
    )


def _write_with_llamacpp(tools: Any, bundle: ModelBundle, path: Path, quant: str, model: Any, tokenizer: Any) -> None:
    """The merged Hugging Face folder (a run's ``model``, merged once by ``load_merged`` and saved
    here, else the bundle's own folder) -> converter -> quantizer."""
    from brewslm.training.merge import save_merged

    with tempfile.TemporaryDirectory(prefix="brewslm-gguf-", dir=path.parent) as tmp:
        folder = Path(bundle.model_dir)
        if bundle.run_dir is not None and bundle.kind in ("run", "recipe"):
            folder = save_merged(model, tokenizer, bundle.run_dir, Path(tmp) / "merged")
        if quant in llamacpp.CONVERTER_TYPES:
            llamacpp.convert(tools, folder, path, quant)
            return
        wide = Path(tmp) / "f16.gguf"  # llama.cpp's own route: convert to f16, then quantize
        llamacpp.convert(tools, folder, wide, "f16")
        llamacpp.quantize(tools, wide, path, quant)


def verify_in_llamacpp(tools: Any, model: Any, tokenizer: Any, path: Path, quant: str) -> GgufVerification:
    """Run ``path`` inside llama.cpp and compare its logits and token ids with ``model``'s."""
    import torch

    texts = verification_prompts(tokenizer)
    ids, actual = llama_logits(tools, path, texts)
    expected, same_tokens = [], True
    with torch.no_grad():
        for text, llama_ids in zip(texts, ids):
            own = tokenizer(text, add_special_tokens=False)["input_ids"]
            same_tokens &= own == llama_ids
            expected.append(model(input_ids=torch.tensor([own])).logits[0].float().numpy())
    if not same_tokens:  # compare what can be compared; the verification fails on the tokens anyway
        actual = [
            a[: len(e)] if len(a) >= len(e) else np.pad(a, ((0, len(e) - len(a)), (0, 0)))
            for e, a in zip(expected, actual)
        ]
    return compare_logits(expected, actual, quant=quant, tokens_match=same_tokens)


__all__ = [
    "CONVERTERS",
    "GgufExport",
    "GgufVerification",
    "QUANTS",
    "TOLERANCES",
    "Tolerance",
    "VERIFY_PROMPTS",
    "check_llama",
    "compare_logits",
    "export_gguf",
    "verify_in_llamacpp",
    "gguf_file_name",
    "load_merged",
    "permute_qk",
    "tensor_payload",
    "tokenizer_pre",
    "verify_gguf",
    "vocab_entries",
    "write_gguf",
]
