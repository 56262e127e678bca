"""preference_pair: chosen/rejected pairs -> dpo records.

Accepted shapes:
- ``prompt`` + ``chosen`` + ``rejected`` strings (a plain prompt becomes one user message);
- chat-list ``chosen``/``rejected`` (message lists, with or without a separate prompt): the turns
  both lists share are the prompt, the diverging final assistant turns are the replies;
- HH-RLHF full transcripts with no prompt field (``"\\n\\nHuman: ...\\n\\nAssistant: ..."``): the
  turns are parsed and split the same way — prompt = the shared prefix up to the last assistant
  turn, chosen/rejected = the two final assistant replies.

A prompt given as a transcript ending in an empty ``Assistant:`` marker (TRL style) loses that
marker. Plain reply strings are kept exactly; text cut out of a transcript loses only the
whitespace around its turn markers. Consecutive turns of one speaker are merged (newline) unless
``consecutive_turns: reject``; assistant turns before the first user turn are dropped and noted
in ``meta.dropped_turns``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Mapping

from brewslm.mappers.base import (
    MISSING,
    FieldSpec,
    Mapper,
    Proposal,
    Record,
    Rejection,
    attach_source_id,
    get_path,
)
from brewslm.mappers.messages import (
    CONSECUTIVE_OPTION,
    ROLE_MAP_OPTION,
    SEPARATOR_OPTION,
    TOOL,
    TOOL_CALL,
    Turn,
    arrange_turns,
    consecutive_options,
    content_text,
    drop_blank,
    is_transcript,
    read_system,
    read_turns,
    role_map_option,
)
from brewslm.tasks.messages import ASSISTANT, SYSTEM, USER

CHOSEN_NAMES = ("chosen", "chosen_response", "response_chosen", "chosen_text", "preferred", "preferred_response", "better", "winner")
REJECTED_NAMES = (
    "rejected", "rejected_response", "response_rejected", "rejected_text", "dispreferred", "dispreferred_response",
    "worse", "loser",
)
PROMPT_NAMES = ("prompt", "question", "instruction", "query", "input")


def _same(a: Turn, b: Turn) -> bool:
    return a.role == b.role and a.content == b.content


class PreferencePair(Mapper):
    id = "preference_pair"
    task_profile = "dpo"
    description = "Prompt + chosen/rejected replies (strings, chat lists or HH-RLHF transcripts) -> preference pairs."
    fields = (
        FieldSpec("prompt", required=False, candidates=PROMPT_NAMES, description="the prompt text, transcript or message list"),
        FieldSpec("chosen", candidates=CHOSEN_NAMES, description="the preferred reply, transcript or message list"),
        FieldSpec("rejected", candidates=REJECTED_NAMES, description="the other reply, transcript or message list"),
        FieldSpec("system", required=False, candidates=("system", "system_prompt"), description="a system prompt"),
        FieldSpec("id", required=False, candidates=("id", "pair_id", "prompt_id"), description="the source's row id"),
    )
    options_doc = {
        "role_map": ROLE_MAP_OPTION,
        "consecutive_turns": CONSECUTIVE_OPTION,
        "merge_separator": SEPARATOR_OPTION,
    }

    # --- mapping ----------------------------------------------------------------------------
    def map_row(self, row: dict[str, Any], fields: Mapping[str, str], options: Mapping[str, Any]) -> "list[Record] | Rejection":
        role_map = role_map_option(options)
        consecutive, separator = consecutive_options(options)

        prompt = self._prompt(row, fields, role_map)
        if isinstance(prompt, Rejection):
            return prompt
        sides: list[list[Turn]] = []
        for side in ("chosen", "rejected"):
            full = self._side(row, fields.get(side), side, prompt, role_map)
            if isinstance(full, Rejection):
                return full
            full = arrange_turns(drop_blank(full), consecutive, separator, f"{side}")
            if isinstance(full, Rejection):
                return full
            sides.append(full)
        chosen, rejected = sides
        for side, turns in (("chosen", chosen), ("rejected", rejected)):
            bad = next((t for t in turns if t.role in (TOOL, TOOL_CALL)), None)
            if bad is not None:
                return Rejection("invalid_role", f"{side} has a tool {'call' if bad.role == TOOL_CALL else 'result'} turn")

        shared = 0
        while shared < min(len(chosen), len(rejected)) and _same(chosen[shared], rejected[shared]):
            shared += 1
        if shared == len(chosen) == len(rejected):
            return Rejection("identical_pair", "chosen and rejected are the same conversation")
        head, tail_c, tail_r = chosen[:shared], chosen[shared:], rejected[shared:]
        if not tail_c:
            return Rejection("missing_chosen", "chosen has no reply beyond the turns it shares with rejected")
        if not tail_r:
            return Rejection("missing_rejected", "rejected has no reply beyond the turns it shares with chosen")
        if not head or head[-1].role != USER or tail_c[0].role != ASSISTANT or tail_r[0].role != ASSISTANT:
            return Rejection(
                "missing_prompt",
                "chosen and rejected do not share a prompt ending in a user turn"
                + (f" (they differ from turn {shared}, a {tail_c[0].role} turn)" if shared or head else ""),
            )
        for side, tail in (("chosen", tail_c), ("rejected", tail_r)):
            if len(tail) > 1:
                return Rejection(
                    "invalid_turn_order",
                    f"{side} continues for {len(tail) - 1} more turn(s) after the reply where the pair diverges; "
                    "only the final assistant reply may differ",
                )
        dropped: dict[str, int] = {}
        lead = next(i for i, t in enumerate(head) if t.role != SYSTEM)
        first_user = next(i for i, t in enumerate(head) if t.role == USER)
        if first_user > lead:
            dropped["leading_assistant"] = first_user - lead
            head = head[:lead] + head[first_user:]

        record: Record = {
            "prompt": [t.as_message() for t in head],
            "chosen": tail_c[0].content,
            "rejected": tail_r[0].content,
        }
        if dropped:
            record["meta"] = {"dropped_turns": dropped}
        return attach_source_id([record], row, fields)

    def _prompt(self, row: dict[str, Any], fields: Mapping[str, str], role_map: Mapping[str, Any]) -> "list[Turn] | None | Rejection":
        system = read_system(row, fields.get("system"))
        if isinstance(system, Rejection):
            return system
        turns = [Turn(SYSTEM, system)] if system else []
        path = fields.get("prompt")
        value = get_path(row, path) if path else MISSING
        if value is MISSING or value is None or (isinstance(value, (str, list)) and not value):
            return turns or None
        if isinstance(value, str) and not is_transcript(value) and not value.lstrip().startswith("["):
            if not value.strip():
                return turns or None
            return turns + [Turn(USER, value)]
        read = read_turns(value, path, role_map, missing_reason="missing_prompt")
        if isinstance(read, Rejection):
            return read
        return turns + drop_blank(read)

    @staticmethod
    def _side(
        row: dict[str, Any], path: str | None, side: str, prompt: list[Turn] | None, role_map: Mapping[str, Any]
    ) -> "list[Turn] | Rejection":
        missing = f"missing_{side}"
        value = get_path(row, path) if path else MISSING
        if value is MISSING or value is None:
            return Rejection(missing, f"field '{path}' is missing" if path else f"no source field mapped to {side}")
        if isinstance(value, dict):  # a single message object
            text = content_text(value.get("content", value.get("value", value.get("text"))), f"field '{path}'")
            if isinstance(text, Rejection):
                return text
            value = text if text is not None else ""
        if isinstance(value, str) and not is_transcript(value) and not value.lstrip().startswith("["):
            if not value.strip():
                return Rejection(missing, f"field '{path}' is empty")
            if prompt is None:
                return Rejection("missing_prompt", f"{side} is a bare reply and no prompt field is mapped or filled")
            return prompt + [Turn(ASSISTANT, value)]
        turns = read_turns(value, path, role_map, missing_reason=missing)
        if isinstance(turns, Rejection):
            return turns
        if prompt and not (len(turns) >= len(prompt) and all(_same(a, b) for a, b in zip(prompt, turns))):
            turns = prompt + turns
        return turns

    # --- introspection ----------------------------------------------------------------------
    def sniff(self, profile) -> Proposal | None:
        def usable(fp) -> bool:
            return fp.main_type in ("string", "list", "object")

        chosen = profile.find(CHOSEN_NAMES, usable)
        rejected = profile.find(REJECTED_NAMES, usable, exclude=[chosen] if chosen else [])
        if not chosen or not rejected:
            return None
        field_map = {chosen: "chosen", rejected: "rejected"}
        prompt = profile.find(PROMPT_NAMES, lambda fp: fp.main_type in ("string", "list"), exclude=field_map)
        if prompt:
            field_map[prompt] = "prompt"
        for spec in self.fields[3:]:
            src = profile.find(spec.candidates, lambda fp: fp.main_type in ("string", "number"), exclude=field_map)
            if src:
                field_map[src] = spec.name
        fields = self.canonical_map(field_map)

        n = profile.n_rows
        accepted, multi_turn, transcripts = 0, 0, 0
        rejected_reasons: Counter = Counter()
        for row in profile.rows:
            value = row.get(chosen)
            transcripts += isinstance(value, str) and is_transcript(value)
            out = self.map_row(row, fields, {})
            if isinstance(out, Rejection):
                rejected_reasons[out.reason] += 1
            else:
                accepted += 1
                multi_turn += any(m["role"] == ASSISTANT for m in out[0]["prompt"])
        share = accepted / n if n else 0.0
        evidence = [f"fields '{chosen}' and '{rejected}' hold the chosen and rejected replies"]
        if prompt:
            evidence.append(f"field '{prompt}' holds the prompt")
        if transcripts:
            evidence.append(
                f"{transcripts}/{n} rows are Human:/Assistant: transcripts; the prompt is their shared prefix"
            )
        evidence.append(f"{accepted}/{n} sampled rows split into a prompt and two different replies")
        if multi_turn:
            evidence.append(f"{multi_turn} pairs have multi-turn prompts")
        if rejected_reasons:
            evidence.append("rejections: " + ", ".join(f"{r} ({c})" for r, c in rejected_reasons.most_common(3)))
        if share >= 0.9:
            confidence = 0.95
        elif share >= 0.6:
            confidence = 0.8
        else:
            confidence = 0.6
        return Proposal(self.id, field_map, confidence, evidence)


MAPPER = PreferencePair()
