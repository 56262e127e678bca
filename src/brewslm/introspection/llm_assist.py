"""LLM assist: when no deterministic proposal reaches the threshold, ask a local teacher model.

The teacher sees the mapper catalogue (ids, task profiles, canonical fields, descriptions) and a
few truncated sample rows, and answers with a JSON object ``{"mapper_id", "field_map"}``. Its
answer is parsed leniently (the first JSON object in the text, code fences and chatter around it
ignored) but validated strictly, and the resulting proposal goes through the same gate as every
sniffer's: an unknown mapper or field is rejected, never trusted.

The teacher sits behind a small protocol so the assist logic is independent of the model:
``Teacher.complete(prompt)`` for free text, and optionally ``ChoosingTeacher.choose(...)``, which
ranks given continuations. ``HFTeacher`` runs any local Hugging Face causal LM (default: the
embedded SmolLM2) with its chat template; it writes its answer by choosing (guided decoding: the
mapper id among the registered ones, then a dataset field for each required canonical field), so
even a 135M model yields a well-formed answer, or greedily in free text with ``guided=False``.

A teacher names fields well and judges values poorly, so its proposal's prior confidence comes
from the proposed mapper's own sniffer run on the sample with the teacher's names applied
(``corroborate``); the gate's dry run then scales it like any other proposal's.
"""
from __future__ import annotations

import ast
import json
from dataclasses import dataclass, field
from typing import Any, Protocol, Sequence, runtime_checkable

from brewslm.introspection.gate import field_in_sample, gate
from brewslm.introspection.profile import SampleProfile, profile_rows
from brewslm.mappers.base import MISSING, FieldSpec, Proposal, get_path
from brewslm.models.kv_cache import cache_argument, output_cache

MAX_NEW_TOKENS = 160
PROMPT_ROWS = 3
VALUE_CHARS = 160  # a string value in a prompt row is cut to this many characters
LIST_ITEMS = 4  # list values in prompt rows keep this many items
ROW_CHARS = 700  # one prompt row's JSON is cut to this many characters
ANSWER_CHARS = 2000  # the raw answer kept in the result
GUIDED_FIELD_OPTIONS = 40  # dataset fields a guided teacher ranks per canonical field
OPTION_BATCH = 8  # options scored in one forward pass
UNCORROBORATED_CAP = 0.6  # a teacher map the mapper's own sniffer does not confirm stays below the gate

SYSTEM_PROMPT = (
    "You match datasets to BrewSLM data mappers. Reply with one JSON object and nothing else."
)


@runtime_checkable
class Teacher(Protocol):
    """Anything that completes a prompt: a local model, or a scripted stand-in in tests."""

    name: str

    def complete(self, prompt: str) -> str: ...


@runtime_checkable
class ChoosingTeacher(Teacher, Protocol):
    """A teacher that can also rank given continuations of its answer. Small local models write
    free-form JSON poorly but rank options well, so the answer is then built choice by choice
    (guided decoding) and is well-formed by construction; the gate still judges it."""

    def choose(self, prompt: str, answer_prefix: str, options: Sequence[str]) -> int: ...


class HFTeacher:
    """A local Hugging Face causal LM as the teacher: chat template, greedy decoding, token budget.

    The model loads on first use through ``brewslm.models.load_causal_lm`` (None -> the embedded
    SmolLM2, converted once and cached).
    """

    def __init__(
        self,
        name_or_path: str | None = None,
        *,
        max_new_tokens: int = MAX_NEW_TOKENS,
        device: Any = None,
        guided: bool = True,
    ):
        self.name_or_path = name_or_path
        self.name = name_or_path or "embedded SmolLM2-135M-Instruct"
        self.max_new_tokens = max_new_tokens
        self.device = device
        self.guided = guided  # False: free-form generation only (``choose`` still works if called)
        self._model = None
        self._tokenizer = None
        self._context: tuple[list[int], Any, Any] | None = None  # ids, KV cache, last logits
        self.prompt_truncated = False

    def _load(self) -> None:
        if self._model is None:
            from brewslm.models import load_causal_lm

            self._model, self._tokenizer = load_causal_lm(self.name_or_path, device=self.device)

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
        return tokenizer.decode(output[0, input_ids.shape[1]:], skip_special_tokens=True)

    def choose(self, prompt: str, answer_prefix: str, options: Sequence[str]) -> int:
        """The index of the option the model finds most likely to come next after the chat
        prompt and ``answer_prefix`` (ties go to the earlier option)."""
        scores = self.option_logprobs(prompt, answer_prefix, options)
        return max(range(len(options)), key=lambda i: (scores[i], -i))

    def option_logprobs(self, prompt: str, answer_prefix: str, options: Sequence[str]) -> list[float]:
        """Each option's log-probability (the sum over its tokens) as the continuation of the
        chat prompt and ``answer_prefix``.

        The context's key/value cache is kept and extended between calls (a guided answer only
        grows), and the options are scored in batches on copies of it."""
        import torch

        if not options:
            raise ValueError("choose() needs at least one option")
        self._load()
        context = self._chat_text(prompt) + answer_prefix
        context_ids = self._ids(context)
        scores: dict[int, float] = {}
        with torch.no_grad():
            cache, last_logits = self._context_state(context_ids)
            first_logps = torch.log_softmax(last_logits.float(), dim=-1)
            tails: dict[int, list[int]] = {}
            for index, option in enumerate(options):
                full = self._ids(context + option)
                if full[:len(context_ids)] == context_ids and len(full) > len(context_ids):
                    tails[index] = full[len(context_ids):]
                else:  # the option merged with the context's last token: score the whole text
                    scores[index] = self._full_logprob(context_ids, full)
            for index, tail in tails.items():
                scores[index] = first_logps[tail[0]].item()
            longer = [i for i, tail in tails.items() if len(tail) > 1]
            for chunk_start in range(0, len(longer), OPTION_BATCH):
                chunk = longer[chunk_start:chunk_start + OPTION_BATCH]
                for index, logprob in zip(chunk, self._tail_logprobs(cache, len(context_ids), [tails[i] for i in chunk])):
                    scores[index] += logprob
        return [scores[i] for i in range(len(options))]

    def _context_state(self, context_ids: list[int]) -> tuple[Any, Any]:
        """The key/value cache and last-position logits for ``context_ids``, extending the
        previous call's context when it is a prefix of this one."""
        import torch

        model = self._model
        known = self._context
        if known is not None and context_ids == known[0]:
            return known[1], known[2]
        if known is not None and len(context_ids) > len(known[0]) and context_ids[:len(known[0])] == known[0]:
            new_ids, cache = context_ids[len(known[0]):], known[1]
        else:
            new_ids, cache = context_ids, None
        out = model(input_ids=torch.tensor([new_ids], device=model.device), **cache_argument(model, cache), use_cache=True)
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
        mask = torch.tensor([[1] * context_len + [1] * (len(t) - 1) + [0] * (width - len(t) + 1) for t in tails],
                            device=model.device)
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


# --- the prompt ---------------------------------------------------------------------------------

def build_prompt(profile: SampleProfile, mappers: list[Any]) -> str:
    """The teacher's question: the mapper catalogue, the dataset's fields and a few sample rows."""
    lines = ["Available mappers (id, task profile: what it does; canonical fields, * = required):"]
    for mapper in mappers:
        fields = ", ".join(f"{spec.name}{'*' if spec.required else ''}" for spec in mapper.fields)
        description = " ".join((mapper.description or "").split())
        lines.append(f"- {mapper.id} ({mapper.task_profile}): {description} Fields: {fields}")
    lines.append("")
    lines.append(f"Dataset fields ({profile.n_rows} sample rows; name: type, share of rows present):")
    for path, fp in profile.fields.items():
        lines.append(f"- {path}: {fp.main_type}, {profile.coverage(path):.0%}")
    lines.append("")
    lines.append("Sample rows:")
    for row in profile.rows[:PROMPT_ROWS]:
        text = json.dumps(_shorten(row), ensure_ascii=False)
        lines.append(text if len(text) <= ROW_CHARS else text[:ROW_CHARS] + "…")
    lines.append("")
    lines.append(
        "Which mapper fits this dataset, and which dataset field feeds each canonical field? "
        'Answer with JSON only, in this form: {"mapper_id": "<mapper id>", '
        '"field_map": {"<dataset field>": "<canonical field>"}}'
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
                    return ast.literal_eval(text[start:end + 1])
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
        raise AnswerError("the answer has no \"mapper_id\" string")
    field_map = obj.get("field_map")
    if not isinstance(field_map, dict) or not field_map:
        raise AnswerError("the answer has no non-empty \"field_map\" object")
    if not all(isinstance(k, str) and isinstance(v, str) for k, v in field_map.items()):
        raise AnswerError("the answer's field_map must map field names to field names (strings)")
    mapper_id = mapper_id.strip()
    field_map = {k.strip(): v.strip() for k, v in field_map.items()}
    notes: list[str] = []
    mapper = mappers.get(mapper_id)
    if mapper is not None:
        canonical = {spec.name for spec in mapper.fields}
        forward_ok = all(field_in_sample(profile, k) for k in field_map)
        reversed_ok = all(k in canonical for k in field_map) and all(field_in_sample(profile, v) for v in field_map.values())
        if not forward_ok and reversed_ok:
            field_map = {v: k for k, v in field_map.items()}
            notes.append("the teacher wrote the field map as canonical -> dataset field; read it reversed")
    return Proposal(mapper_id, field_map, 0.0, evidence=[]), notes


# --- how much to believe the teacher ------------------------------------------------------------

def corroborate(proposal: Proposal, profile: SampleProfile, mapper: Any) -> tuple[float, list[str]]:
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


# --- guided answers -----------------------------------------------------------------------------

def guided_answer(teacher: ChoosingTeacher, prompt: str, profile: SampleProfile, mappers: list[Any]) -> str:
    """Build the JSON answer choice by choice: the teacher ranks the mapper ids after
    ``{"mapper_id": "``, then, for each required canonical field of its mapper, the dataset
    fields as the entry ``"<field>": "<canonical>"``. Optional fields are left to the gate's
    name-based defaults."""
    answer = '{"mapper_id": "'
    pick = teacher.choose(prompt, answer, [f'{m.id}"' for m in mappers])
    mapper = mappers[pick]
    answer += f'{mapper.id}", "field_map": {{'
    candidates = _guided_field_candidates(profile)
    used: set[str] = set()
    for spec in (s for s in mapper.fields if s.required):
        free = [f for f in candidates if f not in used]
        if not free:
            break
        # The split falls right after an opening quote: punctuation runs such as `{"` or `", "`
        # are single tokens in byte-level BPE, so ending the context inside one would make
        # every option re-tokenise the context.
        answer += ', "' if used else '"'
        options = [f"{json.dumps(f, ensure_ascii=False)[1:]}: {json.dumps(spec.name)}" for f in free]
        choice = teacher.choose(prompt, answer, options)
        answer += options[choice]
        used.add(free[choice])
    return answer + "}}"


def _guided_field_candidates(profile: SampleProfile) -> list[str]:
    """Dataset fields worth offering: top-level first, then nested, most present first, capped."""
    paths = sorted(profile.fields, key=lambda p: ("." in p, -profile.coverage(p)))
    return paths[:GUIDED_FIELD_OPTIONS]


# --- the whole exchange -------------------------------------------------------------------------

@dataclass
class AssistOutcome:
    proposal: Proposal | None  # the gated teacher proposal (None when the answer had none)
    accepted: bool
    report: dict[str, Any] = field(default_factory=dict)


def ask_teacher(profile: SampleProfile, teacher: Teacher, threshold: float) -> AssistOutcome:
    """Ask ``teacher`` for a proposal, gate it, and describe the exchange for the result."""
    from brewslm.mappers import list_mappers

    mappers = list_mappers()
    prompt = build_prompt(profile, mappers)
    report: dict[str, Any] = {
        "enabled": True,
        "used": True,
        "teacher": teacher.name,
        "asked": {
            "mappers": [m.id for m in mappers],
            "sample_rows_shown": min(PROMPT_ROWS, profile.n_rows),
            "prompt_chars": len(prompt),
        },
    }
    guided = isinstance(teacher, ChoosingTeacher) and getattr(teacher, "guided", True)
    report["mode"] = "guided" if guided else "free"
    answer = guided_answer(teacher, prompt, profile, mappers) if guided else teacher.complete(prompt)
    if getattr(teacher, "prompt_truncated", False):
        report["asked"]["prompt_truncated"] = True
    report["raw_answer"] = answer if len(answer) <= ANSWER_CHARS else answer[:ANSWER_CHARS] + "…"
    try:
        proposal, notes = parse_answer(answer, profile, {m.id: m for m in mappers})
    except AnswerError as exc:
        report["verdict"] = "rejected"
        report["reason"] = f"unusable answer: {exc}"
        report["proposal"] = None
        return AssistOutcome(None, False, report)
    mapper = next((m for m in mappers if m.id == proposal.mapper_id), None)
    prior, support = corroborate(proposal, profile, mapper) if mapper is not None else (0.0, [])
    proposal.confidence = prior
    proposal.evidence = [f"proposed by the teacher model ({teacher.name})", *notes, *support]
    gated = gate(proposal, profile)
    accepted = gated.confidence >= threshold
    report["proposal"] = gated.to_dict()
    report["verdict"] = "accepted" if accepted else "rejected"
    report["reason"] = (
        f"passed the gate at {gated.confidence:.2f}" if accepted
        else _rejection_reason(gated, threshold, prior, support)
    )
    return AssistOutcome(gated, accepted, report)


def _rejection_reason(gated: Proposal, threshold: float, prior: float, support: list[str]) -> str:
    for line in reversed(gated.evidence):
        if line.startswith("rejected by the gate: "):
            return line.removeprefix("rejected by the gate: ")
    if prior < threshold:
        why = support[-1] if support else "no evidence for it"
        return f"the mapper's own sniffer does not back it ({prior:.2f}): {why}"
    return f"confidence {gated.confidence:.2f} after the dry run is below {threshold}"
