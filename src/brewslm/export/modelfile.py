"""An Ollama ``Modelfile`` beside a GGUF export: ``ollama create NAME -f Modelfile`` runs it.

Ollama renders prompts with Go templates, not the tokenizer's Jinja chat template, so the
template is the Go form of the model's chat-template family, recognised by the markers the Jinja
template emits (ChatML's ``<|im_start|>``, Llama 3's ``<|start_header_id|>``, Gemma's
``<start_of_turn>``, Mistral's ``[INST]``, Phi's ``<|user|>`` / ``<|end|>``). The stop tokens
are the family's end-of-turn marker and the tokenizer's end-of-sequence token; ``num_ctx`` is the
model's context length, capped at 8192 (Ollama allocates the whole cache up front), and the
sampling parameters are the model's ``generation_config`` ones when it has them (a task model is
otherwise run greedily: temperature 0). A template in no known family is left out, and the file
says so: Ollama then falls back to its own detection from the GGUF.

``modelfile_text`` is pure; ``write_modelfile`` writes it next to the GGUF.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

MAX_NUM_CTX = 8192

GO_TEMPLATES: dict[str, tuple[str, tuple[str, ...]]] = {  # family -> (Go template, end-of-turn stops)
    "chatml": (
        "{{- range .Messages }}<|im_start|>{{ .Role }}\n{{ .Content }}<|im_end|>\n{{ end }}<|im_start|>assistant\n",
        ("<|im_end|>",),
    ),
    "llama3": (
        "{{- range .Messages }}<|start_header_id|>{{ .Role }}<|end_header_id|>\n\n{{ .Content }}<|eot_id|>"
        "{{ end }}<|start_header_id|>assistant<|end_header_id|>\n\n",
        ("<|eot_id|>",),
    ),
    "gemma": (
        '{{- range .Messages }}<start_of_turn>{{ if eq .Role "assistant" }}model{{ else }}{{ .Role }}{{ end }}\n'
        "{{ .Content }}<end_of_turn>\n{{ end }}<start_of_turn>model\n",
        ("<end_of_turn>",),
    ),
    "mistral": (
        '{{- range .Messages }}{{ if eq .Role "user" }}[INST] {{ .Content }}[/INST]'
        '{{ else if eq .Role "assistant" }}{{ .Content }}</s>{{ end }}{{ end }}',
        ("[INST]", "</s>"),
    ),
    "phi": ("{{- range .Messages }}<|{{ .Role }}|>\n{{ .Content }}<|end|>\n{{ end }}<|assistant|>\n", ("<|end|>",)),
}
FAMILY_MARKERS = (
    ("<|im_start|>", "chatml"),
    ("<|start_header_id|>", "llama3"),
    ("<start_of_turn>", "gemma"),
    ("[INST]", "mistral"),
    ("<|end|>", "phi"),
)


def template_family(chat_template: str | None) -> str | None:
    """The chat-template family a Jinja template belongs to, by the markers it emits; None if none."""
    if not chat_template:
        return None
    return next((family for marker, family in FAMILY_MARKERS if marker in chat_template), None)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def modelfile_text(
    gguf_name: str,
    *,
    chat_template: str | None,
    eos_token: str | None,
    context_length: int | None,
    generation: Mapping[str, Any] | None = None,
) -> str:
    """The Modelfile for ``gguf_name`` (a file name beside it)."""
    family = template_family(chat_template)
    lines = [
        "# Ollama: ollama create <name> -f Modelfile  (written by brewslm export --format gguf)",
        f"FROM ./{gguf_name}",
    ]
    stops: list[str] = []
    if family:
        template, stops = GO_TEMPLATES[family][0], list(GO_TEMPLATES[family][1])
        lines.append(f'TEMPLATE """{template}"""')
    else:
        lines.append(
            "# no TEMPLATE: the chat template is in no family this exporter knows (chatml, llama3, gemma, "
            "mistral, phi); Ollama detects one from the GGUF"
        )
    if eos_token and eos_token not in stops:
        stops.append(eos_token)
    lines += [f"PARAMETER stop {_quoted(stop)}" for stop in stops]
    if context_length:
        lines.append(f"PARAMETER num_ctx {min(int(context_length), MAX_NUM_CTX)}")
    generation = dict(generation or {})
    if generation.get("do_sample"):
        for key in ("temperature", "top_p", "top_k"):
            if generation.get(key) is not None:
                lines.append(f"PARAMETER {key} {generation[key]}")
    else:
        lines.append("PARAMETER temperature 0")
    return "\n".join(lines) + "\n"


def write_modelfile(gguf_path: Path, tokenizer: Any, config: Any, generation: Mapping[str, Any] | None = None) -> Path:
    """Write ``Modelfile`` next to ``gguf_path`` for the model's tokenizer and config."""
    path = Path(gguf_path).with_name("Modelfile")
    path.write_text(
        modelfile_text(
            Path(gguf_path).name,
            chat_template=getattr(tokenizer, "chat_template", None),
            eos_token=getattr(tokenizer, "eos_token", None),
            context_length=getattr(config, "max_position_embeddings", None),
            generation=generation,
        ),
        encoding="utf-8",
    )
    return path


__all__ = ["GO_TEMPLATES", "MAX_NUM_CTX", "modelfile_text", "template_family", "write_modelfile"]
