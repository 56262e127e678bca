"""preference_pair: chosen/rejected pairs -> dpo records.

Accepted shapes:
- ``prompt`` + ``chosen`` + ``rejected`` strings (a plain prompt becomes one user message);
- chat-list ``chosen``/``rejected`` (message lists, with or without a separate prompt, or single
  message objects such as ShareGPT ``{"from": "gpt", "value": ...}``): the turns both lists share
  are the prompt, the diverging final assistant turns are the replies; two whole conversations
  that do not share their prompt turns are rejected (``missing_prompt``);
- HH-RLHF full transcripts with no prompt field (``"\\n\\nHuman: ...\\n\\nAssistant: ..."``): the
  turns are parsed and split the same way — prompt = the shared prefix up to the last assistant
  turn, chosen/rejected = the two final assistant replies;
- two responses in a fixed order (``response_a``, ``response_b``) oriented by
  * a verdict field (``preference``) whose values the ``preference_values`` option maps to
    ``response_a``, ``response_b`` or ``tie`` (e.g. ``{"1": "response_a", "2": "response_b",
    "0": "tie"}``, ``{"A": "response_a", "B": "response_b"}``, ``{"left": ..., "right": ...}``);
    the map is explicit, never guessed per row: a value it does not name is ``unknown_preference``;
  * several verdict fields (``preference.<name>``, e.g. three annotators): the strict majority
    of the verdicts given wins; no majority is ``no_majority``;
  * a score per response (``score_a``, ``score_b``): the higher score is chosen
    (``higher_score_wins: false`` for ranks/costs);
  * one-hot outcome flags (``wins_a``, ``wins_b``, optional ``tie``; 0/1 or true/false): exactly
    one must be set, two set is ``conflicting_preference``;
  a tie verdict or equal scores are rejected as ``tie``, an absent/blank verdict or score as
  ``missing_preference``: a pair is never oriented by a guess.
- a list of scored completions (``completions`` with the ``completion_text`` and
  ``completion_score`` options): the unique highest score is chosen, the lowest rejected (the
  first of equally low ones), equal top scores are a ``tie``;
- an Alpaca ``input`` beside the prompt: the user turn is ``prompt + input_joiner + input``
  (joiner ``"\\n\\n"`` by default) when the input is not blank, else the prompt alone.

The sniffer reads the orientation from the values: two sibling reply fields named alike but for
an index (``output_1``/``output_2``, ``response_a``/``response_b``) or named by a verdict's values
(``grade: agent`` beside ``agent_response``), and a verdict field anywhere in the row (nested
objects and first list items included) whose values point at them; the value -> response map is
in the proposal's options and evidence. An index base the values do not settle is read in the
fields' order below 0.8, and said so.

A prompt given as a transcript ending in an empty ``Assistant:`` marker (TRL style) loses that
marker. Plain reply strings are kept exactly; text cut out of a transcript loses only the
whitespace around its turn markers. Consecutive turns of one speaker are merged (newline) unless
``consecutive_turns: reject``; assistant turns before the first user turn are dropped and noted
in ``meta.dropped_turns``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any, Mapping

from brewslm.errors import MapperError
from brewslm.mappers._options import OptionsCache
from brewslm.mappers._sniffing import (
    RESPONSE_A,
    RESPONSE_B,
    TIE,
    TIE_WORDS,
    indexed_name,
    indexed_pairs,
    is_id_like_name,
    is_label_like,
    is_reply_text,
    is_text,
    leaf_name,
    name_words,
    pair_named_by,
    parent_path,
    read_verdict_values,
    score_pair,
)
from brewslm.mappers.base import (
    MISSING,
    FieldSpec,
    Mapper,
    Proposal,
    Record,
    Rejection,
    attach_source_id,
    fit_share,
    get_path,
    label_to_str,
    type_name,
)
from brewslm.mappers.messages import (
    CONSECUTIVE_OPTION,
    CONTENT_KEYS,
    ROLE_KEYS,
    ROLE_MAP_OPTION,
    SEPARATOR_OPTION,
    TOOL,
    TOOL_CALL,
    Turn,
    arrange_turns,
    canonical_role,
    consecutive_options,
    content_key,
    content_text,
    drop_blank,
    is_plain_text,
    is_transcript,
    read_system,
    read_turns,
    role_key,
    role_map_option,
)
from brewslm.tasks.messages import ASSISTANT, SYSTEM, USER

CHOSEN_NAMES = (
    "chosen",
    "chosen_response",
    "response_chosen",
    "chosen_text",
    "preferred",
    "preferred_response",
    "better",
    "winner",
)
REJECTED_NAMES = (
    "rejected",
    "rejected_response",
    "response_rejected",
    "rejected_text",
    "dispreferred",
    "dispreferred_response",
    "worse",
    "loser",
)
PROMPT_NAMES = ("prompt", "question", "instruction", "query", "input")


def _same(a: Turn, b: Turn) -> bool:
    return a.role == b.role and a.content == b.content


# --- orientation of two responses ------------------------------------------------------------
DEFAULT_INPUT_JOINER = "\n\n"


@dataclass(frozen=True)
class _Options:
    values: dict[str, str] | None  # verdict value (as read_label spells it) -> response_a | response_b | tie
    folded: dict[str, str] | None  # the same, keyed case-insensitively
    higher_wins: bool
    input_joiner: str
    completion_text: str | None = None
    completion_score: str | None = None


def _parse_options(options: Mapping[str, Any]) -> _Options:
    raw = options.get("preference_values")
    values = folded = None
    if raw is not None:
        if not isinstance(raw, Mapping) or not raw:
            raise MapperError(
                'option preference_values must be an object such as {"1": "response_a", "2": "response_b", "0": "tie"}'
            )
        values = {}
        for key, target in raw.items():
            key_str = label_to_str(key, "preference_values")
            if isinstance(key_str, Rejection) or target not in (RESPONSE_A, RESPONSE_B, TIE):
                raise MapperError(
                    f"option preference_values: {key!r} -> {target!r}; each value must map to response_a, response_b or tie"
                )
            values[key_str] = target
        if RESPONSE_A not in values.values() or RESPONSE_B not in values.values():
            raise MapperError("option preference_values must name a value for response_a and one for response_b")
        folded = {k.lower(): v for k, v in values.items()}
        if len(folded) != len(values) and any(folded[k.lower()] != v for k, v in values.items()):
            raise MapperError("option preference_values has values that differ only in case but mean different things")
    higher = options.get("higher_score_wins", True)
    if not isinstance(higher, bool):
        raise MapperError(f"option higher_score_wins must be true or false, not {higher!r}")
    joiner = options.get("input_joiner", DEFAULT_INPUT_JOINER)
    if not isinstance(joiner, str):
        raise MapperError(f"option input_joiner must be text, not a {type_name(joiner)}")
    keys = []
    for name in ("completion_text", "completion_score"):
        key = options.get(name)
        if key is not None and (not isinstance(key, str) or not key.strip()):
            raise MapperError(f'option {name} must be a key name such as "response" or "score"')
        keys.append(key)
    return _Options(values, folded, higher, joiner, *keys)


_cached_options = OptionsCache(_parse_options)


def _one_verdict(row: Any, path: str, opts: _Options) -> "str | None | Rejection":
    """What one verdict field says: response_a, response_b, tie, None when absent or blank."""
    value = get_path(row, path)
    if value is MISSING or value is None or (isinstance(value, str) and not value.strip()):
        return None
    if opts.values is None:
        raise MapperError(
            f"field '{path}' is mapped to preference but the preference_values option is not set; say what each "
            'value means, e.g. {"1": "response_a", "2": "response_b", "0": "tie"}'
        )
    key = label_to_str(value, path, "missing_preference")
    if isinstance(key, Rejection):
        return Rejection("wrong_type", f"field '{path}' is a {type_name(value)} where a preference verdict is expected")
    target = opts.values.get(key) or opts.folded.get(key.lower())  # type: ignore[union-attr]
    if target is None:
        known = ", ".join(sorted(opts.values))
        return Rejection(
            "unknown_preference", f"field '{path}' has {key!r}, not one of the preference_values ({known})"
        )
    return target


def _verdict(row: Any, paths: list[str], opts: _Options) -> "str | Rejection":
    votes: list[str] = []
    for path in paths:
        vote = _one_verdict(row, path, opts)
        if isinstance(vote, Rejection):
            return vote
        if vote is not None:
            votes.append(vote)
    where = f"field '{paths[0]}'" if len(paths) == 1 else f"fields {', '.join(repr(p) for p in paths)}"
    if not votes:
        verb = "is" if len(paths) == 1 else "are"
        return Rejection("missing_preference", f"{where} {verb} missing or blank", defect=True)
    winner, count = Counter(votes).most_common(1)[0]
    if len(paths) > 1 and count * 2 <= len(votes):
        tally = ", ".join(f"{v} {c}" for v, c in Counter(votes).most_common())
        return Rejection("no_majority", f"the verdicts of {where} have no majority ({tally})", defect=True)
    if winner == TIE:
        verb = "says" if len(votes) == 1 else "mostly say"
        return Rejection("tie", f"{where} {verb} the responses are tied", defect=True)
    return winner


def _score(row: Any, path: str) -> "float | None | Rejection":
    value = get_path(row, path)
    if value is MISSING or value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            return Rejection("wrong_type", f"field '{path}' holds {value!r}, not a score")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return Rejection("wrong_type", f"field '{path}' is a {type_name(value)} where a score is expected")
    return float(value)


def _by_scores(row: Any, path_a: str, path_b: str, higher_wins: bool) -> "str | Rejection":
    a, b = _score(row, path_a), _score(row, path_b)
    for s in (a, b):
        if isinstance(s, Rejection):
            return s
    if a is None or b is None:
        return Rejection("missing_preference", f"field '{path_a if a is None else path_b}' has no score", defect=True)
    if a == b:
        return Rejection("tie", f"fields '{path_a}' and '{path_b}' give both responses the score {a:g}", defect=True)
    return RESPONSE_A if (a > b) == higher_wins else RESPONSE_B


def _by_completion_scores(row: Any, path: str, opts: _Options) -> "tuple[str, str] | Rejection":
    """(chosen path, rejected path) into a list of scored completions: the unique highest score is
    chosen, the lowest rejected (the first of equally low ones, in list order); equal top scores
    are a tie, an item without a score is ``missing_preference``."""
    if opts.completion_text is None or opts.completion_score is None:
        raise MapperError(
            f"field '{path}' is mapped to completions but the completion_text and completion_score options are not "
            'both set; say where each item keeps its text and its score, e.g. {"completion_text": "response", '
            '"completion_score": "score"}'
        )
    items = get_path(row, path)
    if items is MISSING or items is None:
        return Rejection("missing_chosen", f"field '{path}' is missing")
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        return Rejection(
            "wrong_type", f"field '{path}' is a {type_name(items)} where a list of scored completions is expected"
        )
    if len(items) < 2:
        return Rejection("missing_rejected", f"field '{path}' has {len(items)} completion(s); a pair needs two")
    scores = []
    for i, item in enumerate(items):
        score = _score(item, opts.completion_score)
        if isinstance(score, Rejection):
            return Rejection(score.reason, f"completion {i} of field '{path}': {score.detail}")
        if score is None:
            return Rejection(
                "missing_preference",
                f"completion {i} of field '{path}' has no '{opts.completion_score}' score",
                defect=True,
            )
        scores.append(score if opts.higher_wins else -score)
    best = max(scores)
    if scores.count(best) > 1:
        return Rejection("tie", f"{scores.count(best)} completions of field '{path}' share the best score", defect=True)
    worst = scores.index(min(scores))
    return f"{path}.{scores.index(best)}.{opts.completion_text}", f"{path}.{worst}.{opts.completion_text}"


_TRUE, _FALSE = frozenset({"1", "true"}), frozenset({"0", "false"})


def _by_flags(row: Any, path_a: str, path_b: str, path_tie: str | None) -> "str | Rejection":
    """One-hot outcome flags (``winner_model_a``/``winner_model_b``/``winner_tie``): exactly one set."""
    set_flags = []
    for path, outcome in ((path_a, RESPONSE_A), (path_b, RESPONSE_B), (path_tie, TIE)):
        value = MISSING if path is None else get_path(row, path)
        if value is MISSING or value is None or (isinstance(value, str) and not value.strip()):
            continue
        flag = label_to_str(value, path)
        flag = flag.lower() if isinstance(flag, str) else None
        if flag not in _TRUE | _FALSE:
            return Rejection("wrong_type", f"field '{path}' holds {value!r}, not a 0/1 flag")
        if flag in _TRUE:
            set_flags.append((path, outcome))
    if not set_flags:
        return Rejection(
            "missing_preference",
            f"none of the flags '{path_a}', '{path_b}'" + (f", '{path_tie}'" if path_tie else "") + " is set",
            defect=True,
        )
    if len(set_flags) > 1:
        return Rejection(
            "conflicting_preference", f"flags {', '.join(repr(p) for p, _ in set_flags)} are all set", defect=True
        )
    if set_flags[0][1] == TIE:
        return Rejection("tie", f"field '{set_flags[0][0]}' says the responses are tied", defect=True)
    return set_flags[0][1]


def _input_text(row: Any, path: str | None) -> "str | None | Rejection":
    """The Alpaca ``input``: None when unmapped, absent or blank; text is kept exactly."""
    value = MISSING if path is None else get_path(row, path)
    if value is MISSING or value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str):
        return Rejection("wrong_type", f"field '{path}' is a {type_name(value)} where text is expected")
    return value


class PreferencePair(Mapper):
    id = "preference_pair"
    task_profile = "dpo"
    description = "Prompt + chosen/rejected replies (strings, chat lists or HH-RLHF transcripts) -> preference pairs."
    fields = (
        FieldSpec(
            "prompt", required=False, candidates=PROMPT_NAMES, description="the prompt text, transcript or message list"
        ),
        FieldSpec(
            "chosen",
            required=False,
            candidates=CHOSEN_NAMES,
            description="the preferred reply, transcript or message list",
        ),
        FieldSpec(
            "rejected",
            required=False,
            candidates=REJECTED_NAMES,
            description="the other reply, transcript or message list",
        ),
        FieldSpec("system", required=False, candidates=("system", "system_prompt"), description="a system prompt"),
        FieldSpec("id", required=False, candidates=("id", "pair_id", "prompt_id"), description="the source's row id"),
        FieldSpec(
            "response_a", required=False, description="the first of two responses (oriented by preference or scores)"
        ),
        FieldSpec("response_b", required=False, description="the second of two responses"),
        FieldSpec(
            "preference",
            required=False,
            description="which response is preferred (values mapped by the preference_values option); "
            "several verdict fields as preference.<name> are decided by majority",
        ),
        FieldSpec("score_a", required=False, description="a score of response_a (the higher score is chosen)"),
        FieldSpec("score_b", required=False, description="a score of response_b"),
        FieldSpec("input", required=False, description="an Alpaca-style input appended to the prompt (input_joiner)"),
        FieldSpec(
            "wins_a", required=False, description="a 0/1 (true/false) flag: response_a won (one-hot with wins_b, tie)"
        ),
        FieldSpec("wins_b", required=False, description="a 0/1 (true/false) flag: response_b won"),
        FieldSpec("tie", required=False, description="a 0/1 (true/false) flag: the two responses tied"),
        FieldSpec(
            "completions",
            required=False,
            description="a list of scored candidate responses (completion_text / completion_score say where "
            "the text and the score are in each item): the highest score is chosen, the lowest rejected",
        ),
    )
    options_doc = {
        "role_map": ROLE_MAP_OPTION,
        "consecutive_turns": CONSECUTIVE_OPTION,
        "merge_separator": SEPARATOR_OPTION,
        "preference_values": "what each value of the preference field means: an object value -> response_a | "
        'response_b | tie, e.g. {"1": "response_a", "2": "response_b", "0": "tie"}',
        "higher_score_wins": "with score_a/score_b: true (default) chooses the higher score, false the lower (ranks, costs)",
        "input_joiner": 'text between the prompt and a non-blank input field (default a blank line, "\\n\\n")',
        "completion_text": "with completions: the key (or dotted path) of the response text in each item",
        "completion_score": "with completions: the key (or dotted path) of the score in each item "
        "(higher_score_wins applies)",
    }

    def canonical_field_of(self, target: str) -> str | None:
        if target.startswith("preference.") and len(target) > len("preference."):
            return "preference"
        return super().canonical_field_of(target)

    def resolve_field_map(self, field_map: Mapping[str, str] | None, source_fields=None) -> dict[str, str]:
        resolved = super().resolve_field_map(field_map, source_fields)
        filled = {self.canonical_field_of(dst) for dst in resolved.values()}
        if {"chosen", "rejected"} <= filled or "completions" in filled:
            return resolved
        pair = {"response_a", "response_b"} <= filled
        oriented = "preference" in filled or {"score_a", "score_b"} <= filled or {"wins_a", "wins_b"} <= filled
        if pair and oriented:
            return resolved
        have = f"; source fields: {', '.join(sorted(source_fields))}" if source_fields else ""
        if pair:
            raise MapperError(
                f"mapper '{self.id}' needs to know which response is preferred: map a verdict field "
                f"(--field-map FIELD=preference, with the preference_values option) or two scores (score_a, score_b){have}"
            )
        missing = next(c for c in ("chosen", "rejected") if c not in filled)
        raise MapperError(
            f"mapper '{self.id}' needs a source for {missing} (or response_a + response_b with a preference "
            f"or scores); add --field-map SOURCE={missing}{have}"
        )

    def parse_options(self, options: Mapping[str, Any]) -> Any:
        return _cached_options(options)

    # --- mapping ----------------------------------------------------------------------------
    def map_row(
        self, row: dict[str, Any], fields: Mapping[str, str], options: Mapping[str, Any]
    ) -> "list[Record] | Rejection":
        role_map = role_map_option(options)
        consecutive, separator = consecutive_options(options)
        opts = _cached_options(options)

        paths = self._oriented_paths(row, fields, opts)
        if isinstance(paths, Rejection):
            return paths
        prompt = self._prompt(row, fields, role_map, opts)
        if isinstance(prompt, Rejection):
            return prompt
        sides: list[list[Turn]] = []
        for side, path in zip(("chosen", "rejected"), paths):
            full = self._side(row, path, side, prompt, role_map)
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
                return Rejection(
                    "invalid_role", f"{side} has a tool {'call' if bad.role == TOOL_CALL else 'result'} turn"
                )

        shared = 0
        while shared < min(len(chosen), len(rejected)) and _same(chosen[shared], rejected[shared]):
            shared += 1
        if shared == len(chosen) == len(rejected):
            return Rejection("identical_pair", "chosen and rejected are the same conversation", defect=True)
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

    @staticmethod
    def _oriented_paths(
        row: dict[str, Any], fields: Mapping[str, str], opts: "_Options"
    ) -> "tuple[str | None, str | None] | Rejection":
        """(chosen path, rejected path): the chosen/rejected fields, or the two responses put in
        order by the verdict field(s) or the scores."""
        if "completions" in fields and not ("chosen" in fields and "rejected" in fields):
            return _by_completion_scores(row, fields["completions"], opts)
        if "response_a" not in fields or "response_b" not in fields or ("chosen" in fields and "rejected" in fields):
            return fields.get("chosen"), fields.get("rejected")
        verdicts = sorted((k, v) for k, v in fields.items() if k == "preference" or k.startswith("preference."))
        if verdicts:
            winner = _verdict(row, [path for _, path in verdicts], opts)
        elif "score_a" in fields and "score_b" in fields:
            winner = _by_scores(row, fields["score_a"], fields["score_b"], opts.higher_wins)
        elif "wins_a" in fields and "wins_b" in fields:
            winner = _by_flags(row, fields["wins_a"], fields["wins_b"], fields.get("tie"))
        else:
            return Rejection("missing_preference", "no preference field or scores are mapped for response_a/response_b")
        if isinstance(winner, Rejection):
            return winner
        a, b = fields["response_a"], fields["response_b"]
        return (a, b) if winner == RESPONSE_A else (b, a)

    def _prompt(
        self,
        row: dict[str, Any],
        fields: Mapping[str, str],
        role_map: Mapping[str, Any],
        opts: "_Options | None" = None,
    ) -> "list[Turn] | None | Rejection":
        system = read_system(row, fields.get("system"))
        if isinstance(system, Rejection):
            return system
        turns = [Turn(SYSTEM, system)] if system else []
        path = fields.get("prompt")
        value = get_path(row, path) if path else MISSING
        extra = _input_text(row, fields.get("input"))
        if isinstance(extra, Rejection):
            return extra
        if extra is not None:
            if not isinstance(value, str) or not value.strip():
                return Rejection(
                    "missing_prompt",
                    f"field '{fields.get('input')}' has an input but the prompt "
                    f"{'field is blank' if path else 'field is not mapped'}",
                )
            joiner = opts.input_joiner if opts is not None else DEFAULT_INPUT_JOINER
            return turns + [Turn(USER, value + joiner + extra)]
        if value is MISSING or value is None or (isinstance(value, (str, list)) and not value):
            return turns or None
        if is_plain_text(value):
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
        single = isinstance(value, dict)
        if single:  # a single message object: its text is the reply, whatever it starts with
            rkey = role_key(value)
            role = canonical_role(value[rkey], role_map) if rkey else ASSISTANT
            if role != ASSISTANT:
                return Rejection("invalid_role", f"field '{path}' is a {value[rkey]!r} message, not an assistant reply")
            ckey = content_key(value)
            text = content_text(value.get(ckey) if ckey else None, f"field '{path}'")
            if isinstance(text, Rejection):
                return text
            value = text if text is not None else ""
        if single or is_plain_text(value):
            if not value.strip():
                return Rejection(missing, f"field '{path}' is empty", defect=True)
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
        n = profile.n_rows
        if not n:
            return None
        named = _named_sides(profile)
        if named is not None:
            chosen, rejected, how = named
            field_map = {chosen: "chosen", rejected: "rejected"}
            evidence = [f"fields '{chosen}' and '{rejected}' hold the chosen and rejected replies{how}"]
            return self._finish(profile, field_map, evidence, 0.95)
        pairs = indexed_pairs(profile, accept=lambda fp: _is_messages(fp) or is_reply_text(fp, n))
        replies = sum(is_reply_text(fp, n) for fp in profile.fields.values())
        orientation = _orientation(profile, pairs) if pairs or replies >= 2 else None
        if orientation is None:
            return self._sniff_completions(profile)
        (a, b), paths, mapping, how, ceiling, note = orientation
        field_map = {a: RESPONSE_A, b: RESPONSE_B}
        evidence = [f"fields '{a}' and '{b}' hold two responses to one prompt, no chosen/rejected fields", how]
        options: dict[str, Any] = {}
        if mapping == "flags":
            for path, target in zip(paths, ("wins_a", "wins_b", "tie")):
                field_map[path] = target
        elif mapping is None:  # scores
            field_map[paths[0]], field_map[paths[1]] = "score_a", "score_b"
        elif len(paths) == 1:
            field_map[paths[0]] = "preference"
            options["preference_values"] = mapping
        else:
            for path in paths:
                field_map[path] = f"preference.{leaf_name(path)}"
            options["preference_values"] = mapping
        if note:
            evidence.append(note)
        return self._finish(profile, field_map, evidence, ceiling, options)

    def _sniff_completions(self, profile) -> Proposal | None:
        """A list of objects holding a response text and a numeric score each (not messages)."""
        found = _scored_list(profile)
        if found is None:
            return None
        path, text_key, score_key, mean = found
        evidence = [
            f"field '{path}' lists {mean:.1f} candidate responses per row, each with a text ('{text_key}') and a "
            f"numeric score ('{score_key}'): the highest score is chosen, the lowest rejected, equal top scores are a tie"
        ]
        options = {"completion_text": text_key, "completion_score": score_key}
        return self._finish(profile, {path: "completions"}, evidence, 0.85, options)

    def _finish(
        self,
        profile,
        field_map: dict[str, str],
        evidence: list[str],
        ceiling: float,
        options: dict[str, Any] | None = None,
    ) -> Proposal:
        """Add the prompt, input, system and id fields, dry-run the sample, weigh the evidence."""
        used = list(field_map)
        parent = parent_path(next(iter(field_map)))
        prompt, prompt_how = _prompt_field(profile, used, parent)
        if prompt:
            field_map[prompt] = "prompt"
            evidence.append(prompt_how)
            extra = _input_field(profile, prompt, list(field_map))
            if extra:
                field_map[extra] = "input"
                evidence.append(
                    f"field '{extra}' is the Alpaca input beside the instruction: the user turn is "
                    f"'{leaf_name(prompt)}' + a blank line + '{leaf_name(extra)}' when it is not blank"
                )
        for spec in self.fields[3:5]:
            src = profile.find(spec.candidates, lambda fp: fp.main_type in ("string", "number"), exclude=field_map)
            if src:
                field_map[src] = spec.name
        fields = self.canonical_map(field_map)
        options = dict(options or {})
        rows = profile.rows[:_TRIAL_ROWS]  # the gate dry-runs the whole sample; this only weighs the reading
        n = len(rows)
        accepted, multi_turn, transcripts, defects = 0, 0, 0, 0
        rejected_reasons: Counter = Counter()
        chosen_path = fields.get("chosen")
        for row in rows:
            value = row.get(chosen_path) if chosen_path else None
            transcripts += isinstance(value, str) and is_transcript(value)
            try:
                out = self.map_row(row, fields, options)
            except MapperError as exc:
                out = Rejection("mapper_error", str(exc))
            if isinstance(out, Rejection):
                rejected_reasons[out.reason] += 1
                defects += out.defect
            else:
                accepted += 1
                multi_turn += any(m["role"] == ASSISTANT for m in out[0]["prompt"])
        # a tie, a missing verdict or an empty reply is the data's own (Rejection.defect), not a misreading
        share = fit_share(accepted, n, defects)
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
        return Proposal(self.id, field_map, min(confidence, ceiling), evidence, options)


# --- sniffing helpers (evidence from values; names only as generic synonyms) -------------------
_CHOSEN_WORDS = frozenset({"chosen", "preferred", "better", "winner", "winning", "accepted", "win"})
_NEGATIONS = frozenset({"non", "not", "un", "dis", "no", "less"})
_REJECTED_WORDS = frozenset({"rejected", "dispreferred", "worse", "loser", "losing", "lose"})
_VERDICT_WORDS = frozenset(
    {
        "preference",
        "preferred",
        "label",
        "winner",
        "choice",
        "selected",
        "selection",
        "verdict",
        "better",
        "best",
        "chosen",
        "judgement",
        "judgment",
        "annotation",
        "vote",
        "pick",
        "gold",
        "grade",
    }
)
_SCORE_WORDS = frozenset({"score", "scores", "rating", "ratings", "reward", "rewards", "points", "quality", "logprob"})
# where preference data keeps the prompt besides the usual names (sniffing only)
_MORE_PROMPT_NAMES = ("history", "post", "context", "conversation", "conversations", "dialog", "dialogue", "source")
_REPLY_WORDS = frozenset({"response", "text", "completion", "output", "answer", "content", "generation", "reply"})
_LEAF_ROWS = 300  # rows walked for verdict fields nested deeper than the profile goes
_TRIAL_ROWS = 500  # rows the sniffer maps to weigh its own reading


def _is_messages(fp) -> bool:
    """A list field whose items are message objects (a role key and a content key)."""
    if fp.main_type != "list" or fp.item_frac("object") < 0.9:
        return False
    keys = set(fp.item_keys)
    return bool(keys & set(ROLE_KEYS)) and bool(keys & set(CONTENT_KEYS))


def _reply_like(fp, n: int) -> bool:
    """Text that can be a reply (not a short class), a message list, or one message object."""
    return (
        _is_messages(fp) or fp.main_type == "object" or (is_text(fp) and not is_label_like(fp, n) and fp.mean_chars > 0)
    )


def _named_sides(profile) -> "tuple[str, str, str] | None":
    """The chosen and rejected fields: by their usual names, else by a name word that says so
    (``chosen_messages``/``rejected_messages``) when both hold the same kind of value."""
    n = profile.n_rows

    def usable(fp) -> bool:
        return fp.main_type in ("string", "list", "object")

    chosen = profile.find(CHOSEN_NAMES, usable)
    rejected = profile.find(REJECTED_NAMES, usable, exclude=[chosen] if chosen else [])
    if chosen and rejected:
        return chosen, rejected, ""
    top = profile.top_level()
    sides = {p: _side_named(p) for p in top if _reply_like(profile.fields[p], n)}
    wins = [p for p, side in sides.items() if side == "chosen"]
    loses = [p for p, side in sides.items() if side == "rejected"]
    if len(wins) == 1 and len(loses) == 1 and profile.fields[wins[0]].main_type == profile.fields[loses[0]].main_type:
        kind = "message lists" if _is_messages(profile.fields[wins[0]]) else f"{profile.fields[wins[0]].main_type}s"
        return wins[0], loses[0], f" (their names say so; both are {kind})"
    return None


def _scored_list(profile) -> "tuple[str, str, str, float] | None":
    """``(field, text key, score key, mean items)`` of a top-level list of scored completions."""
    for path in profile.top_level():
        fp = profile.fields[path]
        if fp.main_type != "list" or fp.item_frac("object") < 0.9 or _is_messages(fp) or fp.mean_list_len < 2:
            continue
        texts: dict[str, list[int]] = {}
        numbers: Counter = Counter()
        items = 0
        for row in profile.rows[:_LEAF_ROWS]:
            value = row.get(path)
            for item in value if isinstance(value, list) else []:
                if not isinstance(item, dict):
                    continue
                items += 1
                for key, sub in item.items():
                    if isinstance(sub, str) and sub.strip():
                        texts.setdefault(key, []).append(len(sub.split()))
                    elif isinstance(sub, (int, float)) and not isinstance(sub, bool):
                        numbers[key] += 1
        if not items:
            continue
        text_keys = [k for k, words in texts.items() if len(words) >= 0.9 * items and sum(words) / len(words) >= 2]
        score_keys = [k for k, c in numbers.items() if c >= 0.9 * items]
        if len(score_keys) > 1:  # several numbers: a score-like name must single one out
            score_keys = [k for k in score_keys if name_words(k) & _SCORE_WORDS]
            if len(score_keys) > 1:
                score_keys = [k for k in score_keys if "overall" in name_words(k)]
        if len(text_keys) > 1:  # several texts (a critique beside the response): a reply-like name decides
            text_keys = [k for k in text_keys if name_words(k) & _REPLY_WORDS]
        if len(score_keys) != 1 or len(text_keys) != 1:
            continue  # nothing tells which number ranks which text
        return path, text_keys[0], score_keys[0], fp.mean_list_len
    return None


def _side_named(path: str) -> str | None:
    """ "chosen" or "rejected" when a field's name says so: a chosen word (``preferred_output``), a
    rejected word (``rejected_messages``), or a chosen word negated (``non_preferred_output``)."""
    words = name_words(path)
    if words & _CHOSEN_WORDS:
        return "rejected" if words & _NEGATIONS else "chosen"
    return "rejected" if words & _REJECTED_WORDS else None


def _scalar_leaves(rows: list[Any], skip: set[str]) -> "tuple[dict[str, Counter], Counter, int]":
    """Short scalar values under every path of the first rows, lists followed into their first
    item (``annotations.0.result.0.value.selected``); ``multi[path]`` counts rows where a list on
    the way held more than one item (other annotations that path does not read)."""
    values: dict[str, Counter] = {}
    multi: Counter = Counter()

    def walk(value: Any, path: str, depth: int, several: bool) -> None:
        if isinstance(value, dict):
            if depth < 7:
                for key, sub in value.items():
                    child = f"{path}.{key}" if path else str(key)
                    if child not in skip:
                        walk(sub, child, depth + 1, several)
        elif isinstance(value, list):
            if value and depth < 7 and isinstance(value[0], dict):
                walk(value[0], f"{path}.0", depth + 1, several or len(value) > 1)
        elif value is not None and not (isinstance(value, str) and (len(value) > 40 or not value.strip())):
            key = label_to_str(value, path)
            if isinstance(key, str):
                values.setdefault(path, Counter())[key] += 1
                multi[path] += several

    rows = rows[:_LEAF_ROWS]
    for row in rows:
        walk(row, "", 0, False)
    return values, multi, len(rows)


def _orientation(profile, pairs: list[tuple[str, str]]):
    """How two responses are oriented: ``((a, b), verdict paths or score paths, preference_values
    or None for scores, evidence, confidence ceiling, note)``, or None when nothing in the rows
    says which one is preferred. ``pairs`` are the index-named reply pairs; a verdict field whose
    values name two other reply fields (``grade: agent`` / ``agent_response``) brings its own."""
    flags = _one_hot_flags(profile, pairs)
    if flags is not None:
        return flags
    values, multi, walked = _scalar_leaves(profile.rows, {p for pair in pairs for p in pair})
    # two numbers indexed like the responses may be their scores or two judges' verdicts (1/2 or
    # 0/1/2 read either way): a score-like name settles it, else the verdict reading stays below 0.8
    scored = {p for a, b in pairs for p in (score_pair(profile, a, b) or ())}
    found = []
    for path, counts in values.items():
        if is_id_like_name(path) or sum(counts.values()) < 0.8 * walked or not 2 <= len(counts) <= 5:
            continue
        if path in scored and name_words(path) & _SCORE_WORDS:
            continue
        tries = list(pairs)
        named = pair_named_by(profile, counts, exclude=[path])
        if named and named not in tries:
            tries.append(named)
        for a, b in tries:
            read = None if path in (a, b) else read_verdict_values(counts, a, b)
            if read is not None:
                if path in scored and not name_words(path) & _VERDICT_WORDS:
                    read = (
                        read[0],
                        read[1] + "; these numbers could also be the responses' scores: check it",
                        min(read[2], 0.7),
                    )
                found.append((path, (a, b), *read))
                break
    if found:
        found.sort(key=lambda f: (-f[4], not name_words(f[0]) & _VERDICT_WORDS, f[0].count("."), f[0]))
        path, (a, b), mapping, how, conf = found[0]
        stem = indexed_name(path)
        sides = {v: t for v, t in mapping.items() if t != TIE}
        same = [
            f
            for f in found
            if f[1] == (a, b)
            and stem
            and indexed_name(f[0])
            and indexed_name(f[0])[0] == stem[0]
            and {v: t for v, t in f[2].items() if t != TIE} == sides
        ]
        paths = [f[0] for f in same] if len(same) >= 2 else [path]
        if len(paths) > 1:  # sibling verdicts (annotator1..3) read alike: one map for all, ties of any
            mapping = {**sides, **{v: TIE for f in same for v, t in f[2].items() if t == TIE}}
            conf = min(f[4] for f in same)
        shown = ", ".join(
            f"{v} -> {leaf_name(a) if t == RESPONSE_A else leaf_name(b) if t == RESPONSE_B else 'tie (rejected)'}"
            for v, t in mapping.items()
        )
        if len(paths) > 1:
            text = (
                f"fields {', '.join(repr(p) for p in paths)} are {len(paths)} verdicts on the pair ({shown}; {how}): "
                "the majority verdict is chosen, no majority or a tie is rejected"
            )
        else:
            text = f"field '{path}' says which response is preferred: {shown} ({how})"
        notes = []
        deep = max(multi[p] for p in paths)
        if deep:
            notes.append(
                f"{deep}/{walked} rows hold more than one item in a list on the way to '{paths[0]}': only the first is read"
            )
            conf = min(conf, 0.7)
        # siblings (judge_0, judge_1, judge_2) are votes of one panel: a sibling left out of the majority -
        # read with another value map (0/1 beside 1/2), or one value throughout in this sample - would
        # change who wins, and the values alone do not say how to read it
        split = [
            p
            for p in values
            if p not in paths and p not in (a, b) and stem and indexed_name(p) and indexed_name(p)[0] == stem[0]
        ]
        if split:
            notes.append(
                f"sibling field(s) {', '.join(repr(p) for p in split[:3])} of {', '.join(repr(p) for p in paths)} "
                "are not read as votes here (another value map, or one value in the sample): check them"
            )
            conf = min(conf, 0.7)
        named = bool(name_words(path) & _VERDICT_WORDS)
        others = [f for f in found if f[0] not in paths and f[4] >= found[0][4]]
        rivals = [f[0] for f in others if bool(name_words(f[0]) & _VERDICT_WORDS) >= named]
        if rivals:  # another field reads as well as a verdict and nothing tells them apart
            notes.append(
                f"'{rivals[0]}' reads as a verdict just as well ({len(rivals)} such field(s)); "
                f"'{paths[0]}' was taken first by position: check it"
            )
            conf = min(conf, 0.7)
        elif others:
            notes.append(
                f"also reads as a verdict: {', '.join(f[0] for f in others[:3])}; '{paths[0]}' was chosen for its name"
            )
        verdict = (a, b), paths, mapping, text, conf, "; ".join(notes)
        if conf >= 0.8:
            return verdict
    scored_pair = next(((pair, sp) for pair in pairs if (sp := score_pair(profile, *pair))), None)
    if scored_pair is not None:
        (a, b), (sa, sb) = scored_pair
        text = (
            f"fields '{sa}' and '{sb}' score the two responses: the higher score is chosen, "
            "equal scores are rejected as a tie"
        )
        if {sa, sb} & {f[0] for f in found} and not name_words(sa) & _SCORE_WORDS:
            return verdict  # the same two numbers read as verdicts just as well: stays below 0.8, says so
        note = f"'{verdict[1][0]}' might say the same, but its reading is unsure ({verdict[4]:.2f})" if found else ""
        return (a, b), [sa, sb], None, text, 0.85, note
    return verdict if found else None


def _one_hot_flags(profile, pairs: list[tuple[str, str]]):
    """0/1 flags named after each response's index (``winner_model_a``/``winner_model_b``, a
    ``winner_tie`` beside them) of which exactly one is set in (nearly) every row: one-hot outcomes."""
    n = profile.n_rows

    def is_flag(fp) -> bool:
        return (
            fp.present >= 0.8 * n
            and not fp.distinct_overflow
            and 1 <= fp.distinct <= 2
            and {v.lower() for v in fp.values} <= _TRUE | _FALSE
        )

    flags = [p for p, fp in profile.fields.items() if is_flag(fp)]
    for a, b in pairs:
        ta, tb = (indexed_name(a) or ("", ""))[1].lower(), (indexed_name(b) or ("", ""))[1].lower()
        groups: dict[str, dict[str, str]] = {}
        for p in flags:
            indexed = indexed_name(p)
            if indexed and indexed[1].lower() in (ta, tb) and p not in (a, b):
                groups.setdefault(indexed[0], {})[indexed[1].lower()] = p
        for stem, members in groups.items():
            if set(members) != {ta, tb}:
                continue
            fa, fb = members[ta], members[tb]
            stem_words = name_words(stem.split("|")[1])
            ties = [p for p in flags if p not in (fa, fb) and name_words(p) & TIE_WORDS and name_words(p) & stem_words]
            tie = ties[0] if len(ties) == 1 else None
            paths = [fa, fb] + ([tie] if tie else [])
            one_hot = sum(
                sum(str(label_to_str(get_path(r, p), p)).lower() in _TRUE for p in paths) == 1 for r in profile.rows
            )
            if one_hot < 0.95 * n:
                continue
            text = (
                f"fields {', '.join(repr(p) for p in paths)} are one-hot outcome flags (exactly one is set in "
                f"{one_hot}/{n} rows): {leaf_name(fa)} -> {leaf_name(a)}, {leaf_name(fb)} -> {leaf_name(b)}"
                + (f", {leaf_name(tie)} -> tie (rejected)" if tie else "")
            )
            return (a, b), paths, "flags", text, 0.9, ""
    return None


def _prompt_field(profile, used: list[str], parent: str) -> "tuple[str | None, str]":
    """The prompt: a field with a usual prompt name (beside the replies first), else a list of
    message objects (a ShareGPT/OpenAI conversation) that is not one of the replies."""
    n = profile.n_rows

    def ok(fp) -> bool:
        return fp.main_type in ("string", "list") and (fp.main_type == "list" or not is_label_like(fp, n))

    for name in PROMPT_NAMES + _MORE_PROMPT_NAMES:
        for path in (f"{parent}.{name}" if parent else name, name):
            fp = profile.field(path)
            if fp is None:
                hit = profile.find([path], ok, exclude=used)
                fp = profile.field(hit) if hit else None
                path = hit or path
            if fp is not None and path not in used and ok(fp):
                return path, f"field '{path}' holds the prompt"
    lists = [p for p in profile.top_level() if p not in used and _is_messages(profile.fields[p])]
    if not lists:  # one object level down (``input.messages``)
        lists = [p for p, fp in profile.fields.items() if "." in p and p.split(".")[0] not in used and _is_messages(fp)]
    if len(lists) == 1:
        keys = "/".join(k for k in (*ROLE_KEYS, *CONTENT_KEYS) if k in profile.fields[lists[0]].item_keys)
        return lists[0], f"field '{lists[0]}' is a list of messages ({keys}): the prompt conversation"
    return None, ""


def _input_field(profile, prompt: str, used: list[str]) -> str | None:
    """An Alpaca ``input`` beside an ``instruction`` style prompt."""
    if leaf_name(prompt).lower() == "input" or profile.fields[prompt].main_type != "string":
        return None
    parent = parent_path(prompt)
    path = f"{parent}.input" if parent else "input"
    fp = profile.field(path)
    if path in used or fp is None or fp.frac("string") < 0.9:
        return None
    return path


MAPPER = PreferencePair()
