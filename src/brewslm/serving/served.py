"""The models a server holds, by id: loaded once, LoRA adapters over one base sharing that base.

``ServedModels.load(specs)`` resolves every spec to a bundle (``export.bundle.resolve_bundle``:
export, recipe or run folder, run or recipe name, model folder) and loads them:

- LoRA bundles whose base is the same model (the same folder, or the same hub id) share ONE copy
  of the base: the first adapter wraps it in a peft model, the others are added with
  ``load_adapter``; a request selects its adapter with ``set_adapter`` (the engine switches
  between batches, never inside one). The base itself is served too, under its folder name, with
  the adapters switched off (``disable_adapter``) - the "before" of every fine-tune, for free.
  A spec naming that base folder directly is served by the shared copy, not loaded twice.
- merged exports, full fine-tunes and plain model folders are loaded as they are.
- ``weights=False`` loads every id's tokenizer, config and task parts but no weights: a server
  in front of another engine (``serving.upstream``: vLLM, or any OpenAI-compatible server that
  takes token ids) renders prompts and parses replies exactly as here, and the other engine runs
  the model. Adapters then are ids the other engine serves as LoRA modules over the same base.

Ids are the bundles' names (run name, recipe name, folder name); two specs with one id are a
one-line ``ConfigError`` (serve a copy under another folder name). The first spec is the
default model (a request without ``model``). An unknown id raises ``ModelNotFound``.

Each ``ServedModel`` knows how to turn a request into prompt tokens the way training did:
``chat_prompt_ids(messages)`` (the chat template with its generation prompt, each segment
tokenised as training tokenises it), ``task_prompt_ids(record)`` (the task profile's rendering,
cut like evaluation cuts it to the run's ``max_seq_len``), ``text_prompt_ids(text)`` (raw text,
for completions); and what the task endpoints need: the task profile, render context, reply
reader (the profile's ``ReplyReader``: its ``parse`` reads replies into structured output, as
evaluation reads them) and, for rag_qa bundles with retrieval settings, a ``Retriever`` over the
indexed chunks.

Models run only on the engine's worker thread (``serving.engine``); loading happens before.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping, Sequence

from brewslm.base_models import default_base_model, load_causal_lm, quiet_loading, quiet_peft, resolve_device
from brewslm.errors import BrewError, ConfigError
from brewslm.inference.chat_templates import check_run_template, set_chat_template
from brewslm.inference.forward import causal_lm
from brewslm.inference.generation import DecodeTokens, ReplyConstraints, decode_tokens
from brewslm.inference.prompts import fit_prompt, full_prompt_ids
from brewslm.options import read_config_file
from brewslm.retrieval import Retriever
from brewslm.retrieval.chunking import read_chunks
from brewslm.tasks import get_task_profile
from brewslm.tasks.rendering import RenderContext, Rendered, conversation

DEFAULT_CONTEXT_LENGTH = 2048
"""Context length assumed for a model whose config does not say (no ``max_position_embeddings``)."""


class ModelNotFound(BrewError):
    """A request named a model id this server does not serve (HTTP 404, ``model_not_found``)."""


@dataclass(eq=False)
class ServedModel:
    """One served id: the weights it runs on (possibly shared), its tokenizer and its task."""

    id: str
    bundle: Any  # export.bundle.ModelBundle; None for a base served for its adapters' sake
    model: Any  # the torch module (a peft model when adapters share it); None: another engine runs it
    tokenizer: Any
    adapter: str | None = None  # the peft adapter name this id selects
    adapters_off: bool = False  # the shared base of adapters: run with every adapter disabled
    profile: Any = None  # tasks.TaskProfile
    context: RenderContext | None = None
    reader: Any = None  # tasks.replies.ReplyReader: how the task's replies are read
    retriever: Any = None  # retrieval.Retriever (rag_qa with retrieval settings)
    context_length: int = DEFAULT_CONTEXT_LENGTH  # prompt + reply tokens the model can attend over
    max_seq_len: int = DEFAULT_CONTEXT_LENGTH  # task prompts are cut to this (training's max_seq_len)
    base_id: str | None = None  # adapters: the id of the base they share
    vocabulary: int | None = None  # token ids the model embeds (from its config when no weights are loaded)
    source: str | None = None  # without weights: the folder or hub id another engine loads them from
    _tokens: DecodeTokens | None = field(default=None, repr=False)
    _constraints: ReplyConstraints | None = field(default=None, repr=False)

    @property
    def task(self) -> str | None:
        return getattr(self.bundle, "task", None)

    @property
    def scoring_mode(self) -> str | None:
        return getattr(self.bundle, "scoring_mode", None)

    @property
    def serving(self) -> Any:
        """The bundle's ``ServingSettings`` (all None for a model without a bundle)."""
        from brewslm.export.bundle import ServingSettings

        return getattr(self.bundle, "serving", None) or ServingSettings()

    def describe(self) -> dict[str, Any]:
        """What ``/v1/models`` can say about this id beyond its name."""
        return {
            "id": self.id,
            "kind": getattr(self.bundle, "kind", "model"),
            "task": self.task,
            "scoring_mode": self.scoring_mode,
            "adapter": self.adapter is not None,
            "base": self.base_id,
        }

    # --- prompts ----------------------------------------------------------------------------------

    def chat_prompt_ids(self, messages: Sequence[Mapping[str, Any]]) -> list[int]:
        """The tokens of ``messages`` under the chat template, the assistant's generation prompt
        last - tokenised segment by segment exactly as training encodes a conversation."""
        checked = [_chat_message(m, number) for number, m in enumerate(messages)]
        if not checked:
            raise ConfigError("messages is empty; send at least one message")
        # the rendering of the conversation followed by a reply to come: its prompt is what we want
        placeholder = conversation([*checked, {"role": "assistant", "content": "-"}], train="last")
        return full_prompt_ids(placeholder, self.tokenizer)

    def render(self, record: Mapping[str, Any]) -> Rendered:
        """``record`` as its task profile renders it for a model to answer (``render_prompt``).
        The record is a whole task record: profiles render the reply too, so its reply fields
        (a classification ``label``, a qa ``answer``...) need a value - any valid one, only the
        prompt is used."""
        if self.profile is None:
            raise ConfigError(f"model '{self.id}' has no task (a plain model); use /v1/chat/completions")
        try:
            return self.profile.render_prompt(dict(record), self.context)
        except KeyError as exc:
            raise ConfigError(
                f"a {self.profile.id} record needs field {exc} to be rendered (model '{self.id}' "
                "serves that task; a reply field may hold any value)"
            ) from None

    def task_prompt_ids(self, record: Mapping[str, Any], *, reserve: int = 0) -> list[int]:
        """The prompt tokens of ``record``'s rendering, cut (from the middle, as training cuts)
        to leave ``reserve`` tokens for the reply within ``max_seq_len``."""
        return fit_prompt(full_prompt_ids(self.render(record), self.tokenizer), self.max_seq_len, reserve)

    def text_prompt_ids(self, text: str) -> list[int]:
        """Raw text as tokens, no chat template (``/v1/completions``)."""
        ids = list(self.tokenizer(text, add_special_tokens=False)["input_ids"])
        if not ids:
            raise ConfigError("prompt is empty; send some text to complete")
        return ids

    # --- what the engine uses ---------------------------------------------------------------------

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """The shared weights set up as this id: its adapter selected, or every adapter off."""
        if self.adapters_off:
            with self.model.disable_adapter():
                yield
            return
        if self.adapter is not None:
            self.model.set_adapter(self.adapter)
        yield

    @property
    def vocab_size(self) -> int:
        """Token ids the model can embed (a prompt id outside them is refused before it runs)."""
        if self.model is None:
            assert self.vocabulary is not None
            return self.vocabulary
        return int(self.model.get_input_embeddings().num_embeddings)

    @property
    def decode_tokens(self) -> DecodeTokens:
        if self._tokens is None:
            self._tokens = decode_tokens(self.tokenizer)
        return self._tokens

    @property
    def constraints(self) -> ReplyConstraints:
        """Builds constrained replies; compiled schemas are kept between requests."""
        if self._constraints is None:
            self._constraints = ReplyConstraints(self.tokenizer, sorted(self.decode_tokens.stop_ids))
        return self._constraints


def _chat_message(message: Mapping[str, Any], number: int) -> dict[str, str]:
    if not isinstance(message, Mapping) or not isinstance(message.get("role"), str):
        raise ConfigError(f"messages[{number}] needs a 'role' (system, user or assistant) and a 'content' string")
    content = message.get("content")
    if not isinstance(content, str):
        raise ConfigError(f"messages[{number}].content must be a string")
    return {"role": message["role"], "content": content}


class ServedModels:
    """Every served id, in the order the specs named them (bases shared by adapters last)."""

    def __init__(self, models: Sequence[ServedModel]):
        if not models:
            raise ConfigError("no model to serve; name a model folder, run, recipe or export")
        _check_unique([served.id for served in models])
        self._models: dict[str, ServedModel] = {served.id: served for served in models}

    @classmethod
    def load(
        cls,
        specs: Sequence[str],
        *,
        device: Any = None,
        dtype: Any = None,
        chat_template: str = "model",
        weights: bool = True,
    ) -> "ServedModels":
        """Resolve and load every spec (see the module notes). ``chat_template`` is the turn format
        of plain models (``training.chat_templates``); a fine-tune serves with the one it trained with.
        ``weights=False``: tokenizers, configs and task parts only (another engine runs the models)."""
        from brewslm.export.bundle import resolve_bundle

        if not specs:
            raise ConfigError("no model to serve; name a model folder, run, recipe or export")
        bundles = [resolve_bundle(spec) for spec in specs]
        if not weights:
            return cls.described(bundles, chat_template=chat_template)
        return cls.from_bundles(bundles, device=device, dtype=dtype, chat_template=chat_template)

    @classmethod
    def described(cls, bundles: Sequence[Any], *, chat_template: str = "model") -> "ServedModels":
        """Resolved bundles without their weights: the same ids, prompts and task parts as
        ``from_bundles`` gives (adapters over one base, and that base, as separate ids)."""
        from transformers import AutoTokenizer

        _check_unique([b.name for b in bundles])
        served: list[ServedModel] = []
        bases: dict[str, ServedModel] = {}
        for bundle in bundles:
            if not bundle.is_adapter:
                served.append(_described(bundle.name, bundle, str(bundle.model_dir), chat_template))
                continue
            key = _base_key(bundle.base_model)
            named = next((b for b in bundles if not b.is_adapter and _same_model(b.model_dir, key)), None)
            base_id = named.name if named is not None else _base_id(key)
            if named is None and key not in bases:
                bases[key] = _described(base_id, None, key, chat_template, adapters_off=True)
            tokenizer = AutoTokenizer.from_pretrained(str(bundle.model_dir))  # the one the run trained with
            served.append(_described(bundle.name, bundle, key, chat_template, tokenizer=tokenizer, base_id=base_id))
        return cls(served + list(bases.values()))

    @classmethod
    def from_bundles(
        cls, bundles: Sequence[Any], *, device: Any = None, dtype: Any = None, chat_template: str = "model"
    ) -> "ServedModels":
        """Load resolved bundles (``export.bundle.ModelBundle``), as ``load`` does."""

        _check_unique([b.name for b in bundles])
        torch_device = resolve_device(device)
        groups: dict[str, list[int]] = {}  # base source -> indexes of the adapter bundles over it
        for index, bundle in enumerate(bundles):
            if bundle.is_adapter:
                groups.setdefault(_base_key(bundle.base_model), []).append(index)
        served: dict[int, ServedModel] = {}
        bases: list[ServedModel] = []
        for key, members in groups.items():
            named_base = next(
                (i for i, b in enumerate(bundles) if not b.is_adapter and _same_model(b.model_dir, key)), None
            )
            shared = _load_adapters(
                key,
                [bundles[i] for i in members],
                torch_device,
                dtype,
                base_bundle=bundles[named_base] if named_base is not None else None,
                chat_template=chat_template,
            )
            for i, model in zip(members, shared[1:]):
                served[i] = model
            if named_base is not None:
                served[named_base] = shared[0]
            else:
                bases.append(shared[0])
        for index, bundle in enumerate(bundles):
            if index not in served:
                served[index] = _load_plain(bundle, torch_device, dtype, chat_template)
        return cls([served[i] for i in range(len(bundles))] + bases)

    def ids(self) -> list[str]:
        return list(self._models)

    def __iter__(self) -> Iterator[ServedModel]:
        return iter(self._models.values())

    def __len__(self) -> int:
        return len(self._models)

    @property
    def default(self) -> ServedModel:
        return next(iter(self._models.values()))

    def get(self, model_id: str | None) -> ServedModel:
        """The model ``model_id`` names; None or "" -> the default (first) one."""
        if not model_id:
            return self.default
        found = self._models.get(model_id)
        if found is None:
            raise ModelNotFound(f"model '{model_id}' is not served here; served models: {', '.join(self._models)}")
        return found


# --- loading -----------------------------------------------------------------------------------------


def _check_unique(names: Sequence[str]) -> None:
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise ConfigError(
                f"two served models are both named '{name}'; serve one of them from a folder with another name"
            )
        seen.add(name)


def _base_key(base_model: str | None) -> str:
    """The base an adapter sits on, as one comparable string: a resolved folder path or a hub id
    (None: the default base, resolved here as training would)."""

    source = base_model or default_base_model()
    path = Path(source).expanduser()
    return str(path.resolve()) if path.exists() else source


def _same_model(model_dir: Path, key: str) -> bool:
    try:
        return str(Path(model_dir).expanduser().resolve()) == key
    except OSError:
        return False


def _base_id(key: str) -> str:
    return Path(key).name or key


def _context_length(model: Any) -> int:

    return _config_context_length(causal_lm(model).config)


def _config_context_length(config: Any) -> int:
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    value = getattr(text_config, "max_position_embeddings", None)
    return int(value) if isinstance(value, int) and value > 0 else DEFAULT_CONTEXT_LENGTH


def _trained_max_seq_len(bundle: Any, context_length: int) -> int:
    """The max_seq_len the run trained with (task prompts are cut to it, as evaluation cuts
    them), else the model's context length."""
    from brewslm.storage.run_records import CONFIG_FILE

    run_dir = getattr(bundle, "run_dir", None)
    if run_dir is not None and (Path(run_dir) / CONFIG_FILE).is_file():
        value = read_config_file(Path(run_dir) / CONFIG_FILE).get("max_seq_len")
        if isinstance(value, int) and value > 0:
            return min(value, context_length)
    return context_length


def _task_parts(bundle: Any) -> dict[str, Any]:
    """Profile, render context, reply reader and retriever of a bundle with a task."""
    if bundle is None or not bundle.task:
        return {}
    context = bundle.context()
    profile = get_task_profile(bundle.task)
    parts: dict[str, Any] = {"profile": profile, "context": context}
    parts["reader"] = profile.reply_reader(bundle.scoring_mode, context=context, json_schema=bundle.serving.json_schema)
    if bundle.serving.retrieval:
        parts["retriever"] = _retriever(bundle.serving.retrieval)
    return parts


def _retriever(settings: Mapping[str, Any]) -> Any:

    chunks_file = settings.get("chunks_file")
    if not chunks_file:
        raise ConfigError("the model's retrieval settings name no chunks_file; re-run the recipe or re-export")
    options = {"mode": settings["mode"]} if settings.get("mode") else {}
    if settings.get("candidates"):
        options["candidates"] = int(settings["candidates"])
    return Retriever(read_chunks(chunks_file), **options)


def _with_template(tokenizer: Any, bundle: Any, chat_template: str) -> Any:
    """A fine-tune's tokenizer must still carry the template it trained with; a plain model gets
    ``chat_template`` (``model``: its own, else the ChatML training would give it)."""
    from brewslm.storage.run_records import read_run

    if bundle is not None and bundle.run_dir is not None and bundle.kind in ("run", "recipe"):
        check_run_template(tokenizer, read_run(bundle.run_dir), bundle.model_dir)
        chat_template = "model"
    set_chat_template(tokenizer, chat_template)
    return tokenizer


def _served(
    served_id: str,
    bundle: Any,
    model: Any,
    tokenizer: Any,
    chat_template: str = "model",
    *,
    length: int | None = None,
    **extra: Any,
) -> ServedModel:
    """One served id over ``model`` (None: another engine runs it, and ``length`` - its context -
    comes from its config)."""
    length = _context_length(model) if length is None else length
    return ServedModel(
        id=served_id,
        bundle=bundle,
        model=model,
        tokenizer=_with_template(tokenizer, bundle, chat_template),
        context_length=length,
        max_seq_len=_trained_max_seq_len(bundle, length),
        **_task_parts(bundle),
        **extra,
    )


def _described(
    served_id: str, bundle: Any, model_source: str, chat_template: str, *, tokenizer: Any = None, **extra: Any
) -> ServedModel:
    """A served id without weights: its tokenizer and what its config says (context, vocabulary)."""
    from transformers import AutoConfig, AutoTokenizer

    with quiet_loading():
        config = AutoConfig.from_pretrained(model_source)
        tokenizer = tokenizer if tokenizer is not None else AutoTokenizer.from_pretrained(model_source)
    text_config = config.get_text_config() if hasattr(config, "get_text_config") else config
    return _served(
        served_id,
        bundle,
        None,
        tokenizer,
        chat_template,
        length=_config_context_length(config),
        vocabulary=int(text_config.vocab_size),
        source=model_source,
        **extra,
    )


def _load_plain(bundle: Any, device: Any, dtype: Any, chat_template: str = "model") -> ServedModel:

    with quiet_loading():
        model, tokenizer = load_causal_lm(str(bundle.model_dir), device=device, dtype=dtype)
    return _served(bundle.name, bundle, model.eval(), tokenizer, chat_template)


def _load_adapters(
    key: str, bundles: Sequence[Any], device: Any, dtype: Any, *, base_bundle: Any = None, chat_template: str = "model"
) -> list[ServedModel]:
    """One base and every adapter over it: ``[base, adapter_1, ...]`` sharing one peft model."""
    from peft import PeftModel
    from transformers import AutoTokenizer

    names = [f"adapter_{i}" for i in range(len(bundles))]  # peft names must be module-safe; ids need not be
    with quiet_loading(), quiet_peft():
        base, base_tokenizer = load_causal_lm(key, device=device, dtype=dtype)
        model = PeftModel.from_pretrained(base, str(bundles[0].model_dir), adapter_name=names[0])
        for name, bundle in zip(names[1:], bundles[1:]):
            model.load_adapter(str(bundle.model_dir), adapter_name=name)
    model.to(device).eval()
    base_id = base_bundle.name if base_bundle is not None else _base_id(key)
    served = [_served(base_id, base_bundle, model, base_tokenizer, chat_template, adapters_off=True)]
    for name, bundle in zip(names, bundles):
        tokenizer = AutoTokenizer.from_pretrained(str(bundle.model_dir))  # the run saved the one it trained with
        served.append(_served(bundle.name, bundle, model, tokenizer, adapter=name, base_id=base_id))
    return served


__all__ = ["DEFAULT_CONTEXT_LENGTH", "ModelNotFound", "ServedModel", "ServedModels"]
