"""LLM assist: when no deterministic proposal reaches the threshold, let a teacher model choose.

The teacher does not write a mapping from scratch: it ranks a short list of candidates, each a
(mapper, field map) built deterministically from the sample (``build_candidates``): the
sniffers' own proposals, including those below the threshold, and assignments of the sample's
fields to each mapper's required canonical fields by what their values hold (free text, label
column, list, object -- ``field_kind``), each screened by that mapper's own sniffer. The
teacher sees a few sample rows and the lettered candidates and picks one:

- ``HFTeacher`` (the offline default: the embedded SmolLM2, or any local Hugging Face causal LM)
  scores every candidate's label ("B. label_to_classification: review -> text, stars -> label")
  as the continuation of the prompt -- mean log-likelihood per token, one forward pass over the
  shared prompt and one batched pass over the labels on copies of its key/value cache -- and
  takes the best. No free generation, so even a 135M model gives a usable answer in seconds.
- ``OpenAITeacher`` (``--teacher-url``): any OpenAI-compatible ``/v1/chat/completions``
  endpoint (Ollama, vLLM, llama.cpp server, a hosted API) is asked for the letter, with
  ``logprobs`` when the server gives them; its key comes from ``BREWSLM_TEACHER_API_KEY`` (else
  ``OPENAI_API_KEY``) and is never shown. Any HTTP, auth, timeout or parse failure is one line in
  the report (``verdict: failed``), never a traceback.
- Any other object with ``complete(prompt) -> str`` answers in text: a letter, or a JSON object
  ``{"mapper_id", "field_map"}`` that must be one of the candidates.

A teacher names fields well and judges values poorly, so the chosen candidate's prior confidence
comes from its mapper's own sniffer run on the sample with the teacher's names applied
(``corroborate``); the gate's dry run then scales it like any other proposal's, and it is
accepted only at the threshold (0.8).
"""

from __future__ import annotations

import ast
import itertools
import json
import math
import os
import re
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence, runtime_checkable

from brewslm.base_models import load_causal_lm
from brewslm.base_models.kv_cache import cache_argument, output_cache
from brewslm.errors import BrewError
from brewslm.introspection.gate import field_in_sample, gate
from brewslm.mappers import list_mappers
from brewslm.mappers._sniffing import field_kind, is_metadata, is_text, label_candidates
from brewslm.mappers.base import MISSING, FieldSpec, Mapper, Proposal, get_path
from brewslm.mappers.profile import SampleProfile, profile_rows

MAX_NEW_TOKENS = 160
PROMPT_ROWS = 3
VALUE_CHARS = 160  # a string value in a prompt row is cut to this many characters
LIST_ITEMS = 4  # list values in prompt rows keep this many items
ROW_CHARS = 600  # one prompt row's JSON is cut to this many characters
ANSWER_CHARS = 2000  # the raw answer kept in the result
OPTION_BATCH = 8  # options scored in one forward pass
UNCORROBORATED_CAP = 0.6  # a teacher map the mapper's own sniffer does not confirm stays below the gate
MAX_CANDIDATES = 8  # candidates the teacher ranks
LETTERS = "ABCDEFGH"
SCREEN_ROWS = 100  # sample rows a candidate field assignment is screened on
ROLE_POOL = 3  # dataset fields tried per canonical field when assigning roles by value
ROLE_TRIES = 8  # role assignments screened per mapper
DESCRIPTION_CHARS = 90  # a mapper description in the prompt is cut to this many characters
ANSWER_PREFIX = "Answer:"  # options start with a space: " A. ...", a token of its own
TEACHER_KEY_ENV = "BREWSLM_TEACHER_API_KEY"
TEACHER_KEY_FALLBACK_ENV = "OPENAI_API_KEY"
TEACHER_TIMEOUT_S = 60.0
TWIN_ODDS = 20.0  # an endpoint's letter odds that tell a candidate from its role-swapped twin

SYSTEM_PROMPT = "You match datasets to BrewSLM data mappers. Reply with the letter of one candidate and nothing else."

# What each canonical field of the built-in mappers holds, by its own (canonical) name: the kinds
# of dataset field (``field_kind``) that may feed it when roles are assigned by value. Canonical
# fields not listed (a plugin's) take text.
ROLE_KINDS: dict[str, tuple[str, ...]] = {
    "label": ("label",),
    "tokens": ("list",),
    "tags": ("list",),
    "messages": ("list",),
    "tools": ("list", "text"),
    "spans": ("list",),
    "target": ("object",),
    "context": ("text", "list"),
}


@runtime_checkable
class Teacher(Protocol):
    """Anything that completes a prompt: a local model, an endpoint, or a scripted stand-in in tests."""

    name: str

    def complete(self, prompt: str) -> str: ...


@runtime_checkable
class ChoosingTeacher(Teacher, Protocol):
    """A teacher that can also rank given continuations of its answer (by likelihood)."""

    def choose(self, prompt: str, answer_prefix: str, options: Sequence[str]) -> int: ...


@runtime_checkable
class RankingTeacher(Teacher, Protocol):
    """A teacher that ranks the lettered candidate labels of a prompt (``build_prompt``)."""

    def rank(self, prompt: str, labels: Sequence[str]) -> "Ranking": ...


@dataclass
class Ranking:
    choice: int | None  # index of the chosen label; None: read ``answer`` as text (``read_choice``)
    scores: list[float | None]  # per label, higher is better (None: the teacher gave none)
    answer: str  # what the teacher said, for the report
    log_probabilities: bool = False  # scores are the log-probabilities of the answer letters


class TeacherError(BrewError):
    """The teacher could not be asked (endpoint unreachable, refused, timed out, answered garbage)."""


class HFTeacher:
    """A local Hugging Face causal LM as the teacher: it ranks candidates by label scoring.

    The model loads on first use through ``brewslm.base_models.load_causal_lm`` (None -> the embedded
    SmolLM2, converted once and cached). ``complete`` (greedy free text) is kept for the
    ``Teacher`` protocol; introspection uses ``rank``.
    """

    def __init__(self, name_or_path: str | None = None, *, max_new_tokens: int = MAX_NEW_TOKENS, device: Any = None):
        self.name_or_path = name_or_path
        self.name = name_or_path or "embedded SmolLM2-135M-Instruct"
        self.max_new_tokens = max_new_tokens
        self.device = device
        self._model = None
        self._tokenizer = None
        self._context: tuple[list[int], Any, Any] | None = None  # ids, KV cache, last logits
        self.prompt_truncated = False
        self.load_seconds: float | None = None  # how long loading the model took (in this call's seconds too)

    def _load(self) -> None:
        if self._model is None:
            import time

            started = time.perf_counter()
            self._model, self._tokenizer = load_causal_lm(self.name_or_path, device=self.device)
            self.load_seconds = round(time.perf_counter() - started, 2)

    def _chat_text(self, prompt: str) -> str:
        tokenizer = self._tokenizer
        messages = [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": prompt}]
        if tokenizer.chat_template:
            return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
        # a base model without a chat template still gets the plain instructions
        return f"{tokenizer.bos_token or ''}{SYSTEM_PROMPT}\n\n{prompt}\n"

    def _ids(self, text: str) -> list[int]:
        return self._tokenizer(text, add_special_tokens=False)["input_ids"]

    def complete(self, prompt: str) -> str:
        import torch

        self._load()
        model, tokenizer = self._model, self._tokenizer
        input_ids = torch.tensor([self._ids(self._chat_text(prompt))])
        limit = int(getattr(model.config, "max_position_embeddings", 0) or 0) - self.max_new_tokens
        self.prompt_truncated = 0 < limit < input_ids.shape[1]
        if self.prompt_truncated:  # keep the end: the instructions and the answer format come last
            input_ids = input_ids[:, -limit:]
        input_ids = input_ids.to(model.device)
        with torch.no_grad():
            output = model.generate(
                input_ids=input_ids,
                attention_mask=torch.ones_like(input_ids),
                max_new_tokens=self.max_new_tokens,
                do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
            )
        return tokenizer.decode(output[0, input_ids.shape[1] :], skip_special_tokens=True)

    def rank(self, prompt: str, labels: Sequence[str]) -> Ranking:
        """Each lettered label (" A. ...") scored as the answer after ``ANSWER_PREFIX``: its mean
        log-probability per token (so a longer field map is not penalised for its length); the
        best wins, ties to the earlier one."""
        options = [f" {LETTERS[i]}. {label}" for i, label in enumerate(labels)]
        sums, lengths = self._option_logprobs(prompt, ANSWER_PREFIX, options)
        scores = [s / max(n, 1) for s, n in zip(sums, lengths)]
        choice = max(range(len(options)), key=lambda i: (scores[i], -i))
        return Ranking(choice, [round(s, 4) for s in scores], options[choice].strip())

    def choose(self, prompt: str, answer_prefix: str, options: Sequence[str]) -> int:
        """The index of the option the model finds most likely to come next after the chat
        prompt and ``answer_prefix`` (ties go to the earlier option)."""
        scores = self.option_logprobs(prompt, answer_prefix, options)
        return max(range(len(options)), key=lambda i: (scores[i], -i))

    def option_logprobs(self, prompt: str, answer_prefix: str, options: Sequence[str]) -> list[float]:
        """Each option's log-probability (the sum over its tokens) as the continuation of the
        chat prompt and ``answer_prefix``."""
        return self._option_logprobs(prompt, answer_prefix, options)[0]

    def _option_logprobs(
        self, prompt: str, answer_prefix: str, options: Sequence[str]
    ) -> tuple[list[float], list[int]]:
        """Sums of log-probabilities and token counts of the options. The context's key/value
        cache is computed once (and extended between calls when the context only grows), and the
        options are scored in batches on copies of it."""
        import torch

        if not options:
            raise ValueError("choose() needs at least one option")
        self._load()
        context = self._chat_text(prompt) + answer_prefix
        context_ids = self._ids(context)
        scores: dict[int, float] = {}
        lengths: dict[int, int] = {}
        with torch.no_grad():
            cache, last_logits = self._context_state(context_ids)
            first_logps = torch.log_softmax(last_logits.float(), dim=-1)
            tails: dict[int, list[int]] = {}
            for index, option in enumerate(options):
                full = self._ids(context + option)
                if full[: len(context_ids)] == context_ids and len(full) > len(context_ids):
                    tails[index] = full[len(context_ids) :]
                    lengths[index] = len(tails[index])
                else:  # the option merged with the context's last token: score the whole text
                    scores[index] = self._full_logprob(context_ids, full)
                    lengths[index] = max(1, len(full) - max(min(len(context_ids), len(full) - 1), 1))
            for index, tail in tails.items():
                scores[index] = first_logps[tail[0]].item()
            longer = [i for i, tail in tails.items() if len(tail) > 1]
            for chunk_start in range(0, len(longer), OPTION_BATCH):
                chunk = longer[chunk_start : chunk_start + OPTION_BATCH]
                for index, logprob in zip(
                    chunk, self._tail_logprobs(cache, len(context_ids), [tails[i] for i in chunk])
                ):
                    scores[index] += logprob
        return [scores[i] for i in range(len(options))], [lengths[i] for i in range(len(options))]

    def _context_state(self, context_ids: list[int]) -> tuple[Any, Any]:
        """The key/value cache and last-position logits for ``context_ids``, extending the
        previous call's context when it is a prefix of this one."""
        import torch

        model = self._model
        known = self._context
        if known is not None and context_ids == known[0]:
            return known[1], known[2]
        if known is not None and len(context_ids) > len(known[0]) and context_ids[: len(known[0])] == known[0]:
            new_ids, cache = context_ids[len(known[0]) :], known[1]
        else:
            new_ids, cache = context_ids, None
        out = model(
            input_ids=torch.tensor([new_ids], device=model.device), **cache_argument(model, cache), use_cache=True
        )
        self._context = (list(context_ids), output_cache(out), out.logits[0, -1])
        return self._context[1], self._context[2]

    def _tail_logprobs(self, cache: Any, context_len: int, tails: list[list[int]]) -> list[float]:
        """Log-probability of each tail's tokens after the first, in one batched forward pass
        over a copy of the context cache (tails padded on the right, which a causal model's
        earlier positions never see)."""
        import copy

        import torch

        model = self._model
        width = max(len(t) - 1 for t in tails)
        pad = self._tokenizer.pad_token_id if self._tokenizer.pad_token_id is not None else 0
        inputs = torch.tensor([t[:-1] + [pad] * (width - len(t) + 1) for t in tails], device=model.device)
        mask = torch.tensor(
            [[1] * context_len + [1] * (len(t) - 1) + [0] * (width - len(t) + 1) for t in tails], device=model.device
        )
        past = copy.deepcopy(cache)  # the forward pass extends the cache in place
        if len(tails) > 1:
            if not hasattr(past, "batch_repeat_interleave"):  # an old cache type: one at a time
                return [self._tail_logprobs(cache, context_len, [t])[0] for t in tails]
            past.batch_repeat_interleave(len(tails))
        out = model(input_ids=inputs, attention_mask=mask, **cache_argument(model, past), use_cache=True)
        logps = torch.log_softmax(out.logits.float(), dim=-1)
        return [sum(logps[row, j, tail[j + 1]].item() for j in range(len(tail) - 1)) for row, tail in enumerate(tails)]

    def _full_logprob(self, context_ids: list[int], full: list[int]) -> float:
        import torch

        model = self._model
        start = min(len(context_ids), len(full) - 1)
        out = model(input_ids=torch.tensor([full], device=model.device))
        logps = torch.log_softmax(out.logits[0].float(), dim=-1)
        return sum(logps[i - 1, full[i]].item() for i in range(max(start, 1), len(full)))


# --- an OpenAI-compatible endpoint as the teacher ------------------------------------------------


def teacher_api_key() -> tuple[str | None, str | None]:
    """The endpoint key and the variable it came from: ``BREWSLM_TEACHER_API_KEY``, else
    ``OPENAI_API_KEY``, else none (a local server needs none)."""
    for name in (TEACHER_KEY_ENV, TEACHER_KEY_FALLBACK_ENV):
        value = os.environ.get(name, "").strip()
        if value:
            return value, name
    return None, None


class OpenAITeacher:
    """Any OpenAI-compatible chat completions endpoint as the teacher (``--teacher-url``).

    ``url`` is the server's base (``http://localhost:11434`` for Ollama, ``.../v1``) or the full
    ``.../chat/completions`` address. Without ``model`` the server's first listed model is used
    (``GET /v1/models``). The key is read from the environment (``teacher_api_key``) when not
    given, sent only as the ``Authorization`` header, and never appears in a message."""

    def __init__(
        self, url: str, model: str | None = None, *, api_key: str | None = None, timeout: float = TEACHER_TIMEOUT_S
    ):
        parsed = urllib.parse.urlsplit(str(url).strip())
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise TeacherError(
                f"--teacher-url must be an http(s) address such as http://localhost:11434/v1, not {_public_url(url)!r}"
            )
        path = parsed.path.rstrip("/")
        if path.endswith("/chat/completions"):
            path = path[: -len("/chat/completions")]
        elif not path.endswith("/v1"):
            path += "/v1"
        self.base = _public_url(urllib.parse.urlunsplit((parsed.scheme, parsed.netloc, path, "", "")))  # no userinfo
        self.model = model.strip() if isinstance(model, str) and model.strip() else None
        if api_key is None:
            api_key, _ = teacher_api_key()
        self._key = api_key
        self.timeout = float(timeout)
        self.name = f"{self.model or 'default model'} at {_public_url(self.base)}"
        self.logprobs_used = False

    def __repr__(self) -> str:  # never the key
        return f"OpenAITeacher({_public_url(self.base)!r}, model={self.model!r})"

    # -- the protocol ---------------------------------------------------------------------------
    def complete(self, prompt: str) -> str:
        return self._redact(self._chat(prompt, max_tokens=MAX_NEW_TOKENS, logprobs=False)[0])

    def rank(self, prompt: str, labels: Sequence[str]) -> Ranking:
        """Ask for the letter; with logprobs, every letter's log-probability is its score."""
        letters = LETTERS[: len(labels)]
        try:
            text, logprobs = self._chat(prompt, max_tokens=16, logprobs=True)
        except TeacherError as exc:
            if "HTTP 400" not in str(exc) and "HTTP 422" not in str(exc):
                raise
            text, logprobs = self._chat(prompt, max_tokens=16, logprobs=False)  # a server without logprobs
        choice = read_letter(text, letters)
        scores = _letter_logprobs(logprobs, letters)
        self.logprobs_used = any(s is not None for s in scores)
        if not self.logprobs_used:
            scores = [0.0 if i == choice else None for i in range(len(labels))]
        text = self._redact(text)  # the reply goes into the report
        return Ranking(
            choice, scores, text, log_probabilities=self.logprobs_used
        )  # no letter: maybe a candidate's JSON

    # -- HTTP -----------------------------------------------------------------------------------
    def _request(self, path: str, body: dict[str, Any] | None) -> Any:
        headers = {"Accept": "application/json"}
        if body is not None:
            headers["Content-Type"] = "application/json"
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        data = json.dumps(body).encode("utf-8") if body is not None else None
        request = urllib.request.Request(self.base + path, data=data, headers=headers, method="POST" if data else "GET")
        where = f"teacher endpoint {_public_url(self.base + path)}"
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            detail = self._redact(_error_message(exc))
            if exc.code in (401, 403):
                _, source = teacher_api_key()
                hint = (
                    f"the key from {source} was refused"
                    if source and self._key
                    else f"set {TEACHER_KEY_ENV} (or {TEACHER_KEY_FALLBACK_ENV}) to the endpoint's key"
                )
                raise TeacherError(f"{where} refused the request (HTTP {exc.code}): {hint}{detail}") from None
            raise TeacherError(f"{where} answered HTTP {exc.code}{detail}") from None
        except (socket.timeout, TimeoutError):
            raise TeacherError(f"{where} did not answer within {self.timeout:g} s") from None
        except urllib.error.URLError as exc:
            if isinstance(exc.reason, (socket.timeout, TimeoutError)):
                raise TeacherError(f"{where} did not answer within {self.timeout:g} s") from None
            raise TeacherError(f"{where} is unreachable: {self._redact(str(exc.reason))}") from None
        except (OSError, ValueError) as exc:
            raise TeacherError(f"{where} failed: {type(exc).__name__}: {self._redact(str(exc))}") from None
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise TeacherError(
                f"{where} did not answer with JSON: {self._redact(_snippet(raw.decode('utf-8', 'replace')))!r}"
            ) from None

    def _model_name(self) -> str:
        if self.model is None:
            listing = self._request("/models", None)
            models = listing.get("data") if isinstance(listing, dict) else None
            first = models[0].get("id") if isinstance(models, list) and models and isinstance(models[0], dict) else None
            if not isinstance(first, str) or not first:
                raise TeacherError(
                    f"teacher endpoint {_public_url(self.base)} lists no model; name one with --teacher-model"
                )
            self.model = first
            self.name = f"{first} at {_public_url(self.base)}"
        return self.model

    def _chat(self, prompt: str, *, max_tokens: int, logprobs: bool) -> tuple[str, Any]:
        body: dict[str, Any] = {
            "model": self._model_name(),
            "messages": [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": prompt}],
            "temperature": 0,
            "max_tokens": max_tokens,
        }
        if logprobs:
            body.update(logprobs=True, top_logprobs=len(LETTERS))
        reply = self._request("/chat/completions", body)
        try:
            choice = reply["choices"][0]
            text = choice["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise TeacherError(
                f"teacher endpoint {_public_url(self.base)} did not answer with a chat completion: {self._redact(_snippet(json.dumps(reply)))!r}"
            ) from None
        if not isinstance(text, str):
            raise TeacherError(f"teacher endpoint {_public_url(self.base)} answered with no message text")
        return text, (choice.get("logprobs") if isinstance(choice, dict) else None)

    def _redact(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text


def _public_url(url: str) -> str:
    """An address without credentials, query or fragment (where a key could hide)."""
    try:
        parts = urllib.parse.urlsplit(str(url))
        netloc = parts.hostname or ""
        if parts.port:
            netloc += f":{parts.port}"
        return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, "", "")) if parts.scheme else "<address>"
    except ValueError:
        return "<address>"


def _snippet(text: str, limit: int = 120) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "…"


def _error_message(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read().decode("utf-8", "replace"))
        message = body.get("error", {}).get("message") if isinstance(body.get("error"), dict) else body.get("error")
    except (ValueError, AttributeError, OSError):
        message = None
    return f": {_snippet(message)}" if isinstance(message, str) and message.strip() else ""


def read_letter(text: str, letters: str) -> int | None:
    """The candidate letter an answer names: a lone letter ("B", "B.", "(B)", "Option B", "**B**"),
    or a JSON object with "option"/"letter"/"answer" holding one; None when there is none."""
    stripped = text.strip()
    # the letter must stand alone: "A good fit is C" names no letter at its start
    match = re.match(
        r"^[\W_]*(?:(?:option|answer|candidate)\s*:?\s*)?([A-Z])(?=\s*$|[.):*,\]]|\s+[-\u2013\u2014(:])",
        stripped,
        re.IGNORECASE,
    )
    if match and match.group(1).upper() in letters and (match.group(1).isupper() or len(stripped) <= 3):
        return letters.index(match.group(1).upper())
    try:
        obj = first_json_object(text)
    except AnswerError:
        obj = {}
    for key in ("option", "letter", "answer", "choice"):
        value = obj.get(key)
        if isinstance(value, str) and value.strip().upper().rstrip(".") in letters and value.strip():
            return letters.index(value.strip().upper().rstrip("."))
    return None


def _letter_logprobs(logprobs: Any, letters: str) -> list[float | None]:
    """Each letter's log-probability at the first answer token that is a letter (OpenAI's
    ``logprobs.content[i].top_logprobs``), None where the server gave none."""
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    if not isinstance(content, list):
        return [None] * len(letters)
    for entry in content:
        if not isinstance(entry, dict) or not isinstance(entry.get("token"), str):
            continue
        token = entry["token"].strip(" *([.:)")
        if token.upper() not in letters or len(token) != 1:
            continue
        found: dict[str, float] = {}
        for alt in [entry, *(entry.get("top_logprobs") or [])]:
            if (
                isinstance(alt, dict)
                and isinstance(alt.get("token"), str)
                and isinstance(alt.get("logprob"), (int, float))
            ):
                key = alt["token"].strip(" *([.:)").upper()
                if key in letters and len(key) == 1 and math.isfinite(alt["logprob"]):
                    found[key] = max(found.get(key, -math.inf), float(alt["logprob"]))
        return [round(found[c], 4) if c in found else None for c in letters]
    return [None] * len(letters)


def make_teacher(teacher: "str | Teacher | dict[str, Any] | None") -> Teacher:
    """The teacher an introspection asks: a ``Teacher`` as it is; ``{"url": ..., "model": ...}``
    an OpenAI-compatible endpoint (the key from the environment); a string a local Hugging Face
    model folder or hub id; None the embedded SmolLM2."""
    if isinstance(teacher, Teacher):
        return teacher
    if isinstance(teacher, dict):
        url = teacher.get("url")
        if url:
            return OpenAITeacher(
                str(url), teacher.get("model"), timeout=float(teacher.get("timeout") or TEACHER_TIMEOUT_S)
            )
        return HFTeacher(teacher.get("model") or None)
    return HFTeacher(teacher)


# --- the candidates -------------------------------------------------------------------------------


@dataclass
class Candidate:
    """One (mapper, field map) option the teacher may choose, with where it came from and its
    prior: the mapper's own sniffer on the screening sample with these names applied."""

    mapper_id: str
    field_map: dict[str, str]
    options: dict[str, Any] = field(default_factory=dict)
    origin: str = ""
    prior: float = 0.0
    confidence: float = 0.0  # the sniffer proposal's own (gated) confidence, 0 for a role assignment
    # the same fields in other roles that the sniffer backs as much: only names tell them apart
    twins: list[str] = field(default_factory=list)

    def label(self) -> str:
        fields = ", ".join(f"{src} -> {dst}" for src, dst in self.field_map.items())
        return f"{self.mapper_id}: {fields}"

    def key(self) -> tuple[str, tuple[tuple[str, str], ...]]:
        return self.mapper_id, tuple(sorted(self.field_map.items()))

    def to_dict(self) -> dict[str, Any]:
        return {
            "mapper_id": self.mapper_id,
            "field_map": dict(self.field_map),
            "options": dict(self.options),
            "origin": self.origin,
            "prior": round(self.prior, 4),
        } | ({"twins": list(self.twins)} if self.twins else {})


def build_candidates(profile: SampleProfile, proposals: Sequence[Proposal], mappers: list[Any]) -> list[Candidate]:
    """At most ``MAX_CANDIDATES`` options, deterministically: every sniffer proposal with a
    confidence above 0 (below the threshold too), and for each mapper the best assignment of
    dataset fields to its required canonical fields by what their values hold (``role_maps``).
    Each is screened by its mapper's own sniffer on the first ``SCREEN_ROWS`` rows with its names
    applied (``corroborate``); the list is ordered by that prior, then by the proposal's own
    confidence, then by mapper id."""
    by_id = {m.id: m for m in mappers}
    screen = profile if profile.n_rows <= SCREEN_ROWS else profile_rows(profile.rows[:SCREEN_ROWS])
    found: dict[tuple, tuple[Candidate, float]] = {}
    for proposal in proposals:
        mapper = by_id.get(proposal.mapper_id)
        if mapper is None or proposal.confidence <= 0 or not proposal.field_map:
            continue
        candidate = Candidate(
            proposal.mapper_id,
            dict(proposal.field_map),
            dict(proposal.options or {}),
            origin=f"sniffer proposal at {proposal.confidence:.2f}",
            confidence=proposal.confidence,
        )
        prior, _ = corroborate(Proposal(candidate.mapper_id, candidate.field_map, 0.0), screen, mapper)
        candidate.prior = max(prior, proposal.confidence)
        if candidate.key() not in found:
            found[candidate.key()] = (candidate, candidate.confidence)
    for mapper in mappers:
        tried: list[Candidate] = []
        for field_map in role_maps(screen, mapper):
            candidate = Candidate(mapper.id, field_map, origin="fields assigned by their values")
            if candidate.key() not in found:
                candidate.prior, _ = corroborate(Proposal(mapper.id, field_map, 0.0), screen, mapper)
                tried.append(candidate)
        best = max(tried, key=lambda c: c.prior, default=None)  # the first of equals
        if best is None or best.prior <= 0:
            continue
        # a permutation of the same fields that the sniffer backs as much (question and answer
        # swapped) is offered too: only names can tell the two apart
        twin = next((c for c in tried if c is not best and _same_fields(c, best) and c.prior >= best.prior), None)
        for candidate in (best, twin):
            if candidate is not None:
                found[candidate.key()] = (candidate, 0.0)
    everything = [candidate for candidate, _ in found.values()]
    for candidate in everything:  # a sniffer's own roles rest on its evidence; assigned roles may not
        if not candidate.confidence:
            candidate.twins = sorted(
                o.label()
                for o in everything
                if o is not candidate and _same_fields(o, candidate) and o.prior >= candidate.prior
            )
    ordered = sorted(found.values(), key=lambda pair: (-pair[0].prior, -pair[1], pair[0].mapper_id, pair[0].label()))
    return [candidate for candidate, _ in ordered[:MAX_CANDIDATES]]


def _same_fields(a: Candidate, b: Candidate) -> bool:
    """The same mapper fed by the same dataset fields, in other roles."""
    return a.mapper_id == b.mapper_id and set(a.field_map) == set(b.field_map) and a.field_map != b.field_map


def role_maps(profile: SampleProfile, mapper: Mapper) -> list[dict[str, str]]:
    """Field maps that feed each required canonical field of ``mapper`` from a dataset field of a
    kind that can hold it (``ROLE_KINDS``: free text, a label column, a list, an object), each
    dataset field used once; at most ``ROLE_TRIES``, the most present and wordiest fields first."""
    required = [spec for spec in mapper.fields if spec.required]
    if not required:
        return []
    n = profile.n_rows
    kinds = {path: field_kind(path, fp, n, profile) for path, fp in profile.fields.items()}
    labels = label_candidates(profile)

    def pool(spec: FieldSpec) -> list[str]:
        wanted = ROLE_KINDS.get(spec.name, ("text",))
        paths = []
        for kind in wanted:
            if kind == "label":
                paths += labels
            elif kind == "text":  # free text first, then any other string column (short answers)
                paths += sorted(
                    (p for p, fp in profile.fields.items() if is_text(fp) and not is_metadata(p, fp)),
                    key=lambda p: (
                        kinds[p] != "text",
                        "." in p,
                        -profile.coverage(p),
                        -profile.fields[p].mean_words,
                        p,
                    ),
                )
            else:
                paths += sorted(
                    (p for p in profile.fields if kinds[p] == kind), key=lambda p: ("." in p, -profile.coverage(p), p)
                )
        return list(dict.fromkeys(paths))[:ROLE_POOL]

    pools = [pool(spec) for spec in required]
    maps: list[dict[str, str]] = []
    for combo in itertools.product(*pools):
        if len(set(combo)) == len(combo):
            maps.append({src: spec.name for src, spec in zip(combo, required)})
            if len(maps) >= ROLE_TRIES:
                break
    return maps


# --- the prompt ---------------------------------------------------------------------------------


def build_prompt(profile: SampleProfile, candidates: Sequence[Candidate], mappers: list[Any]) -> str:
    """The teacher's question: a few sample rows, then the lettered candidates (mapper, what it
    does, dataset field -> canonical field), then the request for one letter."""
    by_id = {m.id: m for m in mappers}
    lines = [f"Sample rows of a dataset ({len(profile.top_level())} fields):"]
    for row in profile.rows[:PROMPT_ROWS]:
        text = json.dumps(_shorten(row), ensure_ascii=False)
        lines.append(text if len(text) <= ROW_CHARS else text[:ROW_CHARS] + "…")
    lines.append("")
    lines.append("Candidate mappings (mapper: dataset field -> canonical field):")
    described: set[str] = set()
    for letter, candidate in zip(LETTERS, candidates):
        if candidate.mapper_id in described:  # a mapper's description once: a shorter prompt
            lines.append(f"{letter}. {candidate.label()}")
            continue
        described.add(candidate.mapper_id)
        mapper = by_id.get(candidate.mapper_id)
        description = " ".join((getattr(mapper, "description", "") or "").split())
        if len(description) > DESCRIPTION_CHARS:
            description = description[:DESCRIPTION_CHARS].rsplit(" ", 1)[0] + "…"
        task = getattr(mapper, "task_profile", "")
        lines.append(f"{letter}. {candidate.label()}  [{task}: {description}]")
    lines.append("")
    lines.append(
        f"Which candidate maps this dataset correctly? Answer with one letter ({LETTERS[0]}-{LETTERS[len(candidates) - 1]})."
    )
    return "\n".join(lines)


def _shorten(value: Any) -> Any:
    if isinstance(value, str):
        return value if len(value) <= VALUE_CHARS else value[:VALUE_CHARS] + "…"
    if isinstance(value, dict):
        return {str(k): _shorten(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        items = [_shorten(v) for v in value[:LIST_ITEMS]]
        if len(value) > LIST_ITEMS:
            items.append(f"… {len(value) - LIST_ITEMS} more")
        return items
    return value


# --- reading the answer -------------------------------------------------------------------------


class AnswerError(ValueError):
    """The teacher's answer holds no valid proposal."""


def first_json_object(text: str) -> dict[str, Any]:
    """The first ``{...}`` in ``text`` that parses as an object (JSON, or a Python-style dict
    with single quotes), wherever it sits in the answer."""
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            value, _ = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            value = _literal_object(text, start)
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    raise AnswerError("the answer contains no JSON object")


def _literal_object(text: str, start: int) -> Any:
    depth = 0
    for end in range(start, len(text)):
        if text[end] == "{":
            depth += 1
        elif text[end] == "}":
            depth -= 1
            if depth == 0:
                try:
                    return ast.literal_eval(text[start : end + 1])
                except (ValueError, SyntaxError, MemoryError, RecursionError):
                    return None
    return None


def parse_answer(text: str, profile: SampleProfile, mappers: dict[str, Any]) -> tuple[Proposal, list[str]]:
    """Turn the teacher's answer into a proposal, strictly: ``mapper_id`` a string, ``field_map``
    a non-empty object of strings. Returns the proposal and notes on any lenient reading.

    A field map written the wrong way round (canonical -> dataset field) is read reversed when
    that is the only reading that names dataset fields; everything else is left for the gate.
    """
    obj = first_json_object(text)
    mapper_id = obj.get("mapper_id", obj.get("mapper"))
    if not isinstance(mapper_id, str) or not mapper_id.strip():
        raise AnswerError('the answer has no "mapper_id" string')
    field_map = obj.get("field_map")
    if not isinstance(field_map, dict) or not field_map:
        raise AnswerError('the answer has no non-empty "field_map" object')
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in field_map.items()):
        raise AnswerError("the answer's field_map must map field names to field names (strings)")
    mapper_id = mapper_id.strip()
    field_map = {k.strip(): v.strip() for k, v in field_map.items()}
    notes: list[str] = []
    mapper = mappers.get(mapper_id)
    if mapper is not None:
        canonical = {spec.name for spec in mapper.fields}
        forward_ok = all(field_in_sample(profile, k) for k in field_map)
        reversed_ok = all(k in canonical for k in field_map) and all(
            field_in_sample(profile, v) for v in field_map.values()
        )
        if not forward_ok and reversed_ok:
            field_map = {v: k for k, v in field_map.items()}
            notes.append("the teacher wrote the field map as canonical -> dataset field; read it reversed")
    return Proposal(mapper_id, field_map, 0.0, evidence=[]), notes


# --- how much to believe the teacher ------------------------------------------------------------


def corroborate(proposal: Proposal, profile: SampleProfile, mapper: Mapper) -> tuple[float, list[str]]:
    """The prior confidence of a teacher's proposal, and why.

    A teacher is good at the part sniffers cannot do -- reading unusual field names -- and poor at
    judging values. So its field names are applied to the sample (each mapped field renamed to
    the name the mapper expects, the other fields left in place) and the mapper's own sniffer
    judges the result with its usual value-level evidence: label cardinality, BIO patterns,
    message roles, fields a generic mapper would drop. Its confidence becomes the prior, when its
    map agrees with the teacher's on the required fields; otherwise the prior stays below the
    threshold (``UNCORROBORATED_CAP``). Either way the gate's dry run comes after.
    """
    specs = {spec.name: spec for spec in mapper.fields}
    field_map = proposal.field_map
    if any(dst not in specs for dst in field_map.values()) or not all(field_in_sample(profile, s) for s in field_map):
        return 0.0, []  # the gate rejects this map and says why
    rename = {src: _expected_name(specs[dst]) for src, dst in field_map.items()}
    renamed = profile_rows(_renamed_rows(profile.rows, rename))
    try:
        second = mapper.sniff(renamed)
    except Exception as exc:  # noqa: BLE001 - a broken (plugin) sniffer only costs the teacher's proposal
        return 0.0, [f"the mapper's own sniffer failed on the sample: {type(exc).__name__}: {exc}"]
    names = ", ".join(f"{src} as '{name}'" for src, name in rename.items())
    if second is None:
        return 0.0, [f"with the teacher's names ({names}) the mapper's own sniffer still finds no fit"]
    back = {name: src for src, name in rename.items()}
    confirmed = {dst: back.get(src, src) for src, dst in second.field_map.items()}
    required = [dst for dst in field_map.values() if specs[dst].required]
    teacher_sources = {dst: src for src, dst in field_map.items()}
    disagree = [dst for dst in required if confirmed.get(dst) != teacher_sources[dst]]
    evidence = [f"with the teacher's names ({names}) the mapper's own sniffer gives {second.confidence:.2f}"]
    evidence += [f"sniffer: {line}" for line in second.evidence[:3]]
    if disagree:
        dst = disagree[0]
        evidence.append(
            f"but it would feed '{dst}' from '{confirmed.get(dst, 'nothing')}', not '{teacher_sources[dst]}'"
        )
        return min(second.confidence, UNCORROBORATED_CAP), evidence
    return float(second.confidence), evidence


def _expected_name(spec: FieldSpec) -> str:
    """The source name a mapper's sniffer looks for first for this canonical field."""
    if spec.name.lower() in (c.lower() for c in spec.candidates) or not spec.candidates:
        return spec.name
    return spec.candidates[0]


def _renamed_rows(rows: list[dict[str, Any]], rename: dict[str, str]) -> list[dict[str, Any]]:
    """Rows with each mapped source field under its expected name. Unmapped fields stay, unless
    they would collide with an expected name or are the parent of a mapped nested field."""
    hidden = set(rename.values()) | set(rename) | {src.split(".")[0] for src in rename if "." in src}
    out = []
    for row in rows:
        new = {k: v for k, v in row.items() if k not in hidden}
        for src, name in rename.items():
            value = get_path(row, src)
            if value is not MISSING:
                new[name] = value
        out.append(new)
    return out


def read_choice(answer: str, candidates: Sequence[Candidate], profile: SampleProfile, mappers: dict[str, Any]) -> int:
    """The candidate a text answer chooses: its letter, or a JSON ``{"mapper_id", "field_map"}``
    equal to one of the candidates (a field map written the wrong way round is read reversed).
    Anything else is an ``AnswerError``: a teacher may only choose among the candidates."""
    letter = read_letter(answer, LETTERS[: len(candidates)])
    if letter is not None:
        return letter
    proposal, _ = parse_answer(answer, profile, mappers)
    wanted = Candidate(proposal.mapper_id, proposal.field_map).key()
    for index, candidate in enumerate(candidates):
        if candidate.key() == wanted:
            return index
    raise AnswerError(
        f"the answer's mapping ({Candidate(proposal.mapper_id, proposal.field_map).label()}) is not one of the candidates"
    )


# --- the whole exchange -------------------------------------------------------------------------


@dataclass
class AssistOutcome:
    proposal: Proposal | None  # the gated teacher proposal (None when the answer had none)
    accepted: bool
    report: dict[str, Any] = field(default_factory=dict)


def ask_teacher(
    profile: SampleProfile, teacher: Teacher, threshold: float, proposals: Sequence[Proposal] = ()
) -> AssistOutcome:
    """Build the candidates, let ``teacher`` choose one, gate it, and describe the exchange.

    ``proposals`` are the sniffers' (gated) proposals; they seed the candidates. A teacher that
    cannot be asked (``TeacherError``) or answers with no candidate (``AnswerError``) gives a
    report with ``verdict`` ``failed`` or ``rejected`` and one line of ``reason``."""
    import time

    mappers = list_mappers()
    started = time.perf_counter()
    candidates = build_candidates(profile, proposals, mappers)
    report: dict[str, Any] = {
        "enabled": True,
        "used": True,
        "teacher": teacher.name,
        "candidates": [c.to_dict() for c in candidates],
    }
    if not candidates:
        report.update(
            verdict="rejected",
            proposal=None,
            reason="no candidate mapping to rank: no mapper's sniffer finds a fit for any assignment of the fields",
        )
        return AssistOutcome(None, False, report)
    prompt = build_prompt(profile, candidates, mappers)
    report["asked"] = {
        "candidates": len(candidates),
        "sample_rows_shown": min(PROMPT_ROWS, profile.n_rows),
        "prompt_chars": len(prompt),
    }
    ranking: Ranking | None = None
    try:
        if isinstance(teacher, RankingTeacher):
            report["mode"] = "ranked"
            ranking = teacher.rank(prompt, [c.label() for c in candidates])
            answer = ranking.answer
            report["raw_answer"] = answer if len(answer) <= ANSWER_CHARS else answer[:ANSWER_CHARS] + "…"
            report["scores"] = {LETTERS[i]: s for i, s in enumerate(ranking.scores)}
            choice = (
                ranking.choice
                if ranking.choice is not None
                else read_choice(answer, candidates, profile, {m.id: m for m in mappers})
            )
        else:
            report["mode"] = "free"
            answer = teacher.complete(prompt)
            report["raw_answer"] = answer if len(answer) <= ANSWER_CHARS else answer[:ANSWER_CHARS] + "…"
            choice = read_choice(answer, candidates, profile, {m.id: m for m in mappers})
    except TeacherError as exc:
        report.update(verdict="failed", proposal=None, reason=str(exc), seconds=round(time.perf_counter() - started, 2))
        return AssistOutcome(None, False, report)
    except AnswerError as exc:
        report.update(
            verdict="rejected",
            proposal=None,
            reason=f"unusable answer: {exc}",
            seconds=round(time.perf_counter() - started, 2),
        )
        return AssistOutcome(None, False, report)
    report["teacher"] = teacher.name  # an endpoint names its model once asked
    if getattr(teacher, "load_seconds", None) is not None:
        report["load_seconds"] = teacher.load_seconds
    if getattr(teacher, "prompt_truncated", False):
        report["asked"]["prompt_truncated"] = True
    chosen = candidates[choice]
    report["choice"] = LETTERS[choice]
    mapper = next(m for m in mappers if m.id == chosen.mapper_id)
    proposal = Proposal(chosen.mapper_id, dict(chosen.field_map), 0.0, evidence=[], options=dict(chosen.options))
    prior, support = corroborate(proposal, profile, mapper)
    prior = max(prior, chosen.confidence)  # a sniffer's own view of its proposal still counts
    if chosen.twins and not _decisive(ranking, choice, candidates, chosen):
        support.append(
            f"but its sniffer backs '{chosen.twins[0]}' as much: the roles rest on the teacher's reading "
            f"of the names alone, so the confidence stays at most {UNCORROBORATED_CAP}"
        )
        prior = min(prior, UNCORROBORATED_CAP)
    proposal.confidence = prior
    proposal.evidence = [
        f"chosen by the teacher model ({teacher.name}) from {len(candidates)} candidates "
        f"(option {LETTERS[choice]}: {chosen.origin})",
        *support,
    ]
    gated = gate(proposal, profile)
    accepted = gated.confidence >= threshold
    report["proposal"] = gated.to_dict()
    report["verdict"] = "accepted" if accepted else "rejected"
    report["reason"] = (
        f"passed the gate at {gated.confidence:.2f}"
        if accepted
        else _rejection_reason(gated, threshold, prior, support)
    )
    report["seconds"] = round(time.perf_counter() - started, 2)
    return AssistOutcome(gated, accepted, report)


def _decisive(ranking: Ranking | None, choice: int, candidates: Sequence[Candidate], chosen: Candidate) -> bool:
    """Whether the teacher told role-swapped twins apart with calibrated odds: the chosen letter
    at least ``TWIN_ODDS`` times as likely as each twin's (only an endpoint's logprobs give odds),
    and no twin is a sniffer's own proposal."""
    if ranking is None or not ranking.log_probabilities or ranking.scores[choice] is None:
        return False
    labels = [c.label() for c in candidates]
    for twin in chosen.twins:
        if twin not in labels or candidates[labels.index(twin)].confidence:
            return False  # a sniffer's own roles are value evidence: names alone never overrule them
        other = ranking.scores[labels.index(twin)]
        if other is not None and ranking.scores[choice] - other < math.log(TWIN_ODDS):
            return False
    return True


def _rejection_reason(gated: Proposal, threshold: float, prior: float, support: list[str]) -> str:
    for line in reversed(gated.evidence):
        if line.startswith("rejected by the gate: "):
            return line.removeprefix("rejected by the gate: ")
    if prior < threshold:
        why = support[-1] if support else "no evidence for it"
        return f"the mapper's own sniffer does not back it ({prior:.2f}): {why}"
    return f"confidence {gated.confidence:.2f} after the dry run is below {threshold}"
