"""Which chat template a model trains, evaluates, serves and ships with (``chat_template`` option).

    note = set_chat_template(tokenizer, "llama3")     # or "model", "chatml", "qwen", "gemma", "phi", "my.jinja"
    template_sha256(tokenizer)                         # what the run records, and loading checks

- ``model`` (the default): the tokenizer's own template; a tokenizer without one (a base model)
  gets ChatML, as it always has.
- ``chatml``, ``llama3``, ``qwen``, ``gemma``, ``phi``: the family's turn format (below). Its turn
  markers must each be one token of the model's vocabulary - a marker the tokenizer splits into
  pieces would be learnt as ordinary text, and llama.cpp / Ollama, which match the family by its
  special tokens, would not stop where training stopped. So a family the vocabulary lacks is a
  one-line ``ConfigError`` naming the marker.
- a ``.jinja`` file: its text, as given (the user vouches for its tokens).

The template is saved with the run's tokenizer (``chat_template.jinja``), so evaluation, serving and
every export (the merged folder's tokenizer, the GGUF's ``tokenizer.chat_template``, the Ollama
Modelfile's family) render prompts as training did. The run records the template's SHA-256, and
``check_run_template`` refuses a run folder whose tokenizer no longer carries it.

The family templates follow their models' formats, kept prefix-stable (rendering the first k turns
gives a prefix of rendering all of them), which training's reply masking needs; each renders
``add_generation_prompt`` as the opening of an assistant turn:

- chatml: ``<|im_start|>role\\n...<|im_end|>\\n`` (SmolLM2, Qwen without a default system prompt);
- qwen: ChatML with Qwen2's default system prompt when the conversation has none;
- llama3: ``<|start_header_id|>role<|end_header_id|>\\n\\n...<|eot_id|>`` after the BOS text;
- gemma: ``<start_of_turn>user|model\\n...<end_of_turn>\\n``; a system message opens the first user
  turn (Gemma has no system role);
- phi: ``<|role|>\\n...<|end|>\\n`` (Phi-3 / Phi-4-mini).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from brewslm.errors import ConfigError

CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
"""Given to tokenizers without a chat template (base models); saved with the run's tokenizer, so
serving formats prompts the same way."""

QWEN_TEMPLATE = (
    "{% if not messages or messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}" + CHATML_TEMPLATE
)
LLAMA3_TEMPLATE = (
    "{% if bos_token %}{{ bos_token }}{% endif %}"
    "{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n' + message['content'] + '<|eot_id|>' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}{% endif %}"
)
GEMMA_TEMPLATE = (
    "{% if messages and messages[0]['role'] == 'system' %}"
    "{% set first = messages[0]['content'] + '\n\n' %}{% set turns = messages[1:] %}"
    "{% else %}{% set first = '' %}{% set turns = messages %}{% endif %}"
    "{% if bos_token %}{{ bos_token }}{% endif %}"
    "{% for message in turns %}"
    "{% set role = 'model' if message['role'] == 'assistant' else message['role'] %}"
    "{{ '<start_of_turn>' + role + '\n' + (first if loop.first else '') + message['content'] + '<end_of_turn>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
)
PHI_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|' + message['role'] + '|>\n' + message['content'] + '<|end|>\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)

FAMILIES: dict[str, tuple[str, tuple[str, ...]]] = {  # name -> (template, turn markers that must be tokens)
    "chatml": (CHATML_TEMPLATE, ("<|im_start|>", "<|im_end|>")),
    "qwen": (QWEN_TEMPLATE, ("<|im_start|>", "<|im_end|>")),
    "llama3": (LLAMA3_TEMPLATE, ("<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>")),
    "gemma": (GEMMA_TEMPLATE, ("<start_of_turn>", "<end_of_turn>")),
    "phi": (PHI_TEMPLATE, ("<|user|>", "<|assistant|>", "<|end|>")),
}
MODEL = "model"
CHOICES = (MODEL, *FAMILIES)


def check_choice(choice: str) -> str:
    """``choice`` when it is ``model``, a family name or a path ending in ``.jinja`` (not read yet)."""
    if choice in CHOICES or choice.endswith(".jinja"):
        return choice
    raise ValueError(f"chat_template must be one of {', '.join(CHOICES)} or a .jinja file, not '{choice}'")


def _is_one_token(tokenizer: Any, marker: str) -> bool:
    ids = tokenizer.encode(marker, add_special_tokens=False)
    return len(ids) == 1


def set_chat_template(tokenizer: Any, choice: str = MODEL) -> str:
    """Give ``tokenizer`` the template ``choice`` names; return what was done, for the run record:
    ``model``, ``chatml (the model has none)``, a family name, or the file's path."""
    if choice == MODEL:
        if getattr(tokenizer, "chat_template", None):
            return MODEL
        tokenizer.chat_template = CHATML_TEMPLATE
        return "chatml (the model has none)"
    if choice in FAMILIES:
        template, markers = FAMILIES[choice]
        missing = [marker for marker in markers if not _is_one_token(tokenizer, marker)]
        if missing:
            raise ConfigError(
                f"chat_template {choice}: '{missing[0]}' is not one token of this model's vocabulary, so "
                f"the model cannot learn {choice}'s turns; use chat_template=model (its own), another "
                "family whose markers it has, or a .jinja file"
            )
        tokenizer.chat_template = template
        return choice
    path = Path(choice).expanduser()
    if not path.is_file():
        raise ConfigError(f"chat_template file {path} does not exist")
    text = path.read_text(encoding="utf-8")
    if "messages" not in text:
        raise ConfigError(f"chat_template file {path} does not look like a chat template (it never reads `messages`)")
    tokenizer.chat_template = text
    return str(path)


def template_sha256(tokenizer: Any) -> str | None:
    template = getattr(tokenizer, "chat_template", None)
    if not isinstance(template, str):
        return None
    return hashlib.sha256(template.encode("utf-8")).hexdigest()


def check_run_template(tokenizer: Any, record: dict[str, Any], where: str | Path) -> None:
    """A run's tokenizer must carry the template the run trained with (``record["chat_template"]``)."""
    trained = (record.get("chat_template") or {}).get("sha256")
    if trained and template_sha256(tokenizer) != trained:
        raise ConfigError(
            f"the tokenizer in {where} no longer carries the chat template the run trained with "
            f"({record['chat_template'].get('choice')}); restore the run's tokenizer files, or "
            "re-train, so prompts render as in training"
        )


__all__ = [
    "CHATML_TEMPLATE",
    "CHOICES",
    "FAMILIES",
    "check_choice",
    "check_run_template",
    "set_chat_template",
    "template_sha256",
]
