"""chat_messages_passthrough: conversations -> chat_sft records.

Reads a message list in the common spellings (``{role, content}``, ShareGPT ``{from, value}``,
Taskmaster ``{speaker, text}``, bare alternating strings, ``Human:/Assistant:`` transcripts) and
OpenAssistant-style message trees (a root ``{text, role: prompter|assistant, replies: [...]}``).

Decisions, so a person can predict the output:
- consecutive turns of one speaker are merged (joined with a newline), which is what utterances
  split across chat bubbles (Taskmaster) mean; ``consecutive_turns: reject`` rejects them instead;
- trailing user turns (a question never answered) and assistant turns before the first user turn
  (a greeting) are dropped, noted in the record's ``meta.dropped_turns``; a conversation with no
  assistant reply left is ``missing_assistant_reply``;
- the assistant side is found by its place, not only its name: a speaker read as ``system`` (task-
  oriented dialogue's ``USER``/``SYSTEM``) or as no known role (``wizard``) that answers the user's
  turns all through nearly every dialogue it is in, where no other speaker is the assistant, is the
  assistant (``messages.answering_speakers``; a system prompt is at most the first turn). The
  sniffer proposes it as ``role_map`` and says so in the evidence; ``map_row`` reads roles only as
  named or mapped;
- a list of objects with a speaker-like key is a conversation only when its items carry a message
  text or their speakers are role words (``reads_as_turns``: poems with an ``author`` are not turns);
- a message tree yields one conversation per root-to-leaf path (``tree_mode: all_paths``, the
  default) or one along the best-ranked reply at each level (``best_path``). Messages marked
  ``deleted`` or with ``review_result: false`` are skipped with their whole subtree. Paths that end
  in an unanswered prompter message are trimmed to their last assistant reply; sibling unanswered
  prompts then give the same conversation, which is emitted once.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Mapping

from brewslm.errors import MapperError
from brewslm.mappers._sniffing import is_metadata
from brewslm.mappers.base import (
    MISSING,
    FieldSpec,
    Mapper,
    Proposal,
    Record,
    Rejection,
    fit_share,
    get_path,
    read_source_id,
    structure_from_text,
    type_name,
)
from brewslm.mappers.messages import (
    CONSECUTIVE_OPTION,
    CONTENT_KEYS,
    ROLE_KEYS,
    ROLE_MAP_OPTION,
    SEPARATOR_OPTION,
    SKIP,
    TOOL,
    TOOL_CALL,
    Turn,
    answering_speakers,
    arrange_turns,
    call_shape,
    canonical_role,
    consecutive_options,
    content_key,
    drop_blank,
    json_list,
    read_system,
    read_turns,
    role_key,
    role_map_option,
    tools_value_share,
)
from brewslm.tasks.messages import ASSISTANT, SYSTEM, USER

REPLY_KEYS = ("replies", "children")
TREE_MODES = ("all_paths", "best_path")
TOOL_FIELDS = ("tools", "functions", "function", "tool_schemas")
MESSAGE_FIELD_NAMES = (
    "messages",
    "conversations",
    "conversation",
    "dialog",
    "dialogue",
    "utterances",
    "turns",
    "chat",
    "history",
)
PAIR_FIELD_NAMES = ("chosen", "rejected", "chosen_messages", "rejected_messages")


def is_tree_node(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and any(isinstance(value.get(k), list) for k in REPLY_KEYS)
        and (content_key(value) is not None)
    )


def _replies(node: Mapping[str, Any]) -> list[Any]:
    return next((node[k] for k in REPLY_KEYS if isinstance(node.get(k), list)), [])


def _usable(node: Any) -> bool:
    return isinstance(node, dict) and not node.get("deleted") and node.get("review_result") is not False


def _unusable_count(root: Any) -> int:
    """Messages of a tree that ``_usable`` leaves out (their subtrees are not counted again)."""
    count, stack = 0, [root]
    while stack:
        node = stack.pop()
        if not _usable(node):
            count += 1
            continue
        stack.extend(_replies(node))
    return count


def _rank(node: Mapping[str, Any], position: int) -> tuple[float, int]:
    rank = node.get("rank")
    return (float(rank) if isinstance(rank, (int, float)) and not isinstance(rank, bool) else float("inf"), position)


def _text_list(value: Any) -> list[str] | None:
    """A list of strings (or a string holding one complete JSON list of strings), else None."""
    return structure_from_text(value, list, items=str)


def parallel_turns(users: Any, replies: Any, path: str, replies_path: str) -> "list[Turn] | Rejection":
    """User turns and the assistant's replies given as two parallel lists, interleaved:
    user 1, reply 1, user 2, reply 2... Every turn must be non-blank text and the lists the same
    length; a row with no replies at all (an unanswered question) is ``missing_assistant_reply``."""
    user_texts = _text_list(users)
    if user_texts is None or not user_texts:
        return Rejection("wrong_type", f"field '{path}' is not a list of user turns (text)")
    if replies is MISSING or replies is None:
        return Rejection(
            "missing_assistant_reply", f"field '{replies_path}' is missing: the turns are unanswered", defect=True
        )
    reply_texts = _text_list(replies)
    if reply_texts is None:
        return Rejection("wrong_type", f"field '{replies_path}' is not a list of replies (text)")
    if len(reply_texts) != len(user_texts):
        return Rejection(
            "invalid_turn_order",
            f"field '{path}' has {len(user_texts)} user turns but '{replies_path}' has {len(reply_texts)} replies",
        )
    turns: list[Turn] = []
    for i, (user, reply) in enumerate(zip(user_texts, reply_texts)):
        if not user.strip():
            return Rejection("missing_messages", f"field '{path}' turn {i} is empty")
        if not reply.strip():
            return Rejection("missing_assistant_reply", f"field '{replies_path}' reply {i} is empty", defect=True)
        turns += [Turn(USER, user), Turn(ASSISTANT, reply)]
    return turns


def string_list_paths(row: Any, depth: int = 3, prefix: str = "") -> dict[str, list[str]]:
    """Every path in a row (through objects, and the first item of lists of objects) holding a
    non-empty list of strings: where a parallel list of replies may hide (``choices.0.turns``)."""
    found: dict[str, list[str]] = {}
    if depth < 0:
        return found
    if isinstance(row, dict):
        for key, value in row.items():
            if not isinstance(key, str) or "." in key:
                continue
            path = f"{prefix}{key}"
            if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
                found[path] = value
            else:
                found.update(string_list_paths(value, depth - 1, path + "."))
    elif isinstance(row, list) and row and isinstance(row[0], dict):
        found.update(string_list_paths(row[0], depth - 1, prefix + "0."))
    return found


def find_parallel_replies(profile, name: str) -> tuple[str, int] | None:
    """A list of strings that runs parallel to the user-turn list ``name``: in every row where both
    are present, as many items as ``name``'s. Of several, the one whose items are never blank and
    longest on average (replies, not short grading hints). ``(path, rows where present)``."""
    stats: dict[str, list[int]] = {}  # path -> [rows, rows of equal length, blank items, chars, items]
    for row in profile.rows:
        users = row.get(name) if isinstance(row, dict) else None
        if not isinstance(users, list):
            continue
        for path, items in string_list_paths(row).items():
            if path == name:
                continue
            st = stats.setdefault(path, [0, 0, 0, 0, 0])
            st[0] += 1
            st[1] += len(items) == len(users)
            st[2] += sum(not i.strip() for i in items)
            st[3] += sum(len(i) for i in items)
            st[4] += len(items)
    fits = [(p, st) for p, st in stats.items() if st[0] >= 2 and st[1] == st[0]]
    if not fits:
        return None
    path, st = min(fits, key=lambda ps: (ps[1][2] > 0, -ps[1][3] / max(ps[1][4], 1)))
    return path, st[0]


def reads_as_turns(profile, name: str) -> bool:
    """A list of objects with a speaker-like key (role/from/speaker/author...) is a list of turns
    only when its items carry a message text (content/value/text/utterance...) or their speakers
    are role words (user, assistant, human, gpt...): records with an ``author`` and a title are
    not messages, whoever wrote them."""
    speakers = texts = items = 0
    for row in profile.rows:
        value = json_list(row.get(name)) if isinstance(row, dict) else None
        for item in value or ():
            if not isinstance(item, dict) or role_key(item) is None:
                continue
            items += 1
            texts += content_key(item) is not None
            speakers += canonical_role(item[role_key(item)]) is not None
    return items > 0 and (texts >= 0.5 * items or speakers >= 0.5 * items)


def bare_dialogue(profile, name: str) -> bool:
    """A list of utterances under any name, by its values: the row holds nothing else of substance
        (ids, split names aside), nearly every list has two or more strings of several words (or
    characters, for unspaced scripts), and the number
        of turns varies from row to row. Tokens (one word each), fixed-size tuples and lists beside a
        question or a label are not dialogues."""
    others = [p for p in profile.top_level() if p != name and not is_metadata(p, profile.fields[p])]
    if others:
        return False
    lengths: set[int] = set()
    dialogues = words = chars = items = 0
    for row in profile.rows:
        value = row.get(name) if isinstance(row, dict) else None
        if not isinstance(value, list) or len(value) < 2 or not all(isinstance(v, str) for v in value):
            continue
        dialogues += 1
        lengths.add(len(value))
        items += len(value)
        words += sum(len(v.split()) for v in value)
        chars += sum(len(v) for v in value)
    # several words per utterance, or several characters where words are not spaced (Chinese)
    wordy = items > 0 and (words / items >= 2 or chars / items >= 6)
    return dialogues >= 0.9 * profile.n_rows and len(lengths) > 1 and wordy


class ChatMessagesPassthrough(Mapper):
    id = "chat_messages_passthrough"
    task_profile = "chat_sft"
    description = "Message lists, transcripts or OpenAssistant message trees -> chat conversations."
    fields = (
        FieldSpec(
            "messages",
            candidates=MESSAGE_FIELD_NAMES + ("prompt",),
            description="a list of messages, a Human:/Assistant: transcript, or the root of a message tree",
        ),
        FieldSpec("system", required=False, candidates=("system", "system_prompt"), description="a system prompt"),
        FieldSpec(
            "replies",
            required=False,
            candidates=(),
            description="the assistant's turns as a list PARALLEL to a messages list of user turns "
            "(user turn i is answered by reply i; MT-bench: turns + choices.0.turns)",
        ),
        FieldSpec(
            "id",
            required=False,
            candidates=("id", "conversation_id", "dialog_id", "dialogue_id", "message_tree_id", "conv_id"),
            description="the source's conversation id",
        ),
    )
    options_doc = {
        "role_map": ROLE_MAP_OPTION,
        "consecutive_turns": CONSECUTIVE_OPTION,
        "merge_separator": SEPARATOR_OPTION,
        "tree_mode": "message trees: 'all_paths' (default, one conversation per root-to-leaf path) or "
        "'best_path' (follow the best-ranked reply at each level)",
    }

    # --- mapping ----------------------------------------------------------------------------
    def map_row(
        self, row: dict[str, Any], fields: Mapping[str, str], options: Mapping[str, Any]
    ) -> "list[Record] | Rejection":
        role_map = role_map_option(options)
        consecutive, separator = consecutive_options(options)
        tree_mode = options.get("tree_mode", "all_paths")
        if tree_mode not in TREE_MODES:
            raise MapperError(f"option tree_mode must be one of {', '.join(TREE_MODES)}, not {tree_mode!r}")
        path = fields.get("messages")
        if path is None:
            return Rejection("missing_messages", "no source field mapped to messages")
        value = get_path(row, path)

        system = read_system(row, fields.get("system"))
        if isinstance(system, Rejection):
            return system
        extra: dict[str, Any] = {}
        source_id = read_source_id(row, fields.get("id"))
        if isinstance(source_id, Rejection):
            return source_id
        if source_id is not None:
            extra["id"] = source_id

        if fields.get("replies"):
            turns = parallel_turns(value, get_path(row, fields["replies"]), path, fields["replies"])
            if isinstance(turns, Rejection):
                return turns
            conversations = [(turns, {})]
        elif is_tree_node(value):
            conversations = self._tree_conversations(value, path, role_map, tree_mode)
        elif isinstance(value, dict):
            return Rejection(
                "wrong_type",
                f"field '{path}' is an object that is not a message tree (no replies list); map a message list",
            )
        else:
            turns = read_turns(value, path, role_map)
            if isinstance(turns, Rejection):
                return turns
            conversations = [(turns, {})]
        if isinstance(conversations, Rejection):
            return conversations

        records: list[Record] = []
        seen: set[tuple[tuple[str, str], ...]] = set()
        for turns, meta in conversations:
            if system:
                turns = [Turn(SYSTEM, system)] + turns
            result = self._conversation(turns, path, consecutive, separator)
            if isinstance(result, Rejection):
                if len(conversations) == 1 or result.reason != "missing_assistant_reply":
                    return result
                continue  # a tree path with no reply at all; the other paths still count
            messages, dropped = result
            key = tuple((m["role"], m["content"]) for m in messages)
            if key in seen:
                continue
            seen.add(key)
            record: Record = {"messages": messages, **extra}
            meta = dict(meta)
            if dropped:
                meta["dropped_turns"] = dropped
            if meta:
                record["meta"] = meta
            records.append(record)
        if not records:
            return Rejection(
                "missing_assistant_reply", f"field '{path}': no path of the message tree has an assistant reply"
            )
        return records

    def _conversation(
        self, turns: list[Turn], path: str, consecutive: str, separator: str
    ) -> "tuple[list[dict[str, str]], dict[str, int]] | Rejection":
        for i, turn in enumerate(turns):
            raw = turn.raw if isinstance(turn.raw, dict) else {}
            if turn.role in (TOOL, TOOL_CALL) or turn.calls or raw.get("tool_calls") or raw.get("function_call"):
                return Rejection(
                    "invalid_role",
                    f"field '{path}' message {i} is a tool {'result' if turn.role == TOOL else 'call'}; "
                    f"import tool-calling conversations with tool_call_passthrough",
                )
        reasoning = sum(len(t.reasoning) for t in turns)
        turns = drop_blank(turns)
        arranged = arrange_turns(turns, consecutive, separator, f"field '{path}'")
        if isinstance(arranged, Rejection):
            return arranged
        head = [t for t in arranged if t.role == SYSTEM]
        body = [t for t in arranged if t.role != SYSTEM]
        dropped: dict[str, int] = {}
        lead = next((i for i, t in enumerate(body) if t.role == USER), None)
        if lead is None:
            if any(t.role == ASSISTANT for t in body):
                return Rejection("invalid_turn_order", f"field '{path}': the conversation has no user turn")
            return Rejection("missing_assistant_reply", f"field '{path}': the conversation has no assistant reply")
        if lead:
            dropped["leading_assistant"] = lead
            body = body[lead:]
        last = max((i for i, t in enumerate(body) if t.role == ASSISTANT), default=None)
        if last is None:
            return Rejection("missing_assistant_reply", f"field '{path}': no assistant reply follows the user turn")
        if last < len(body) - 1:
            dropped["trailing_user"] = len(body) - 1 - last
            body = body[: last + 1]
        if reasoning:
            dropped["reasoning_parts"] = reasoning  # thoughts are not reply text; counted, not trained
        return [t.as_message() for t in head + body], dropped

    def _tree_conversations(
        self, root: dict[str, Any], path: str, role_map: Mapping[str, Any], mode: str
    ) -> "list[tuple[list[Turn], dict[str, Any]]] | Rejection":
        if not _usable(root):
            return Rejection("missing_messages", f"field '{path}': the root message is deleted or failed review")
        conversations: list[tuple[list[Turn], dict[str, Any]]] = []
        # iterative depth-first walk: each stack entry is the path of nodes from the root
        stack: list[list[dict[str, Any]]] = [[root]]
        while stack:
            nodes = stack.pop()
            replies = _replies(nodes[-1])
            if any(not isinstance(c, dict) for c in replies):
                return Rejection(
                    "wrong_type", f"field '{path}' (depth {len(nodes)}) has a reply that is not a message object"
                )
            children = [c for c in replies if _usable(c)]
            if mode == "best_path" and children:
                children = [min(enumerate(children), key=lambda ic: _rank(ic[1], ic[0]))[1]]
            if children:
                stack.extend(nodes + [child] for child in reversed(children))
                continue
            turns: list[Turn] = []
            for depth, node in enumerate(nodes):
                turn = self._tree_turn(node, f"{path} (depth {depth})", role_map)
                if isinstance(turn, Rejection):
                    return turn
                if turn is not None:
                    turns.append(turn)
            ids = [n.get("message_id") for n in nodes if isinstance(n.get("message_id"), str)]
            conversations.append((turns, {"message_ids": ids} if ids else {}))
        return conversations

    @staticmethod
    def _tree_turn(node: dict[str, Any], where: str, role_map: Mapping[str, Any]) -> "Turn | None | Rejection":
        rkey = role_key(node)
        role = canonical_role(node.get(rkey), role_map) if rkey else None
        if role is None:
            raw = node.get(rkey) if rkey else None
            return Rejection("invalid_role", f"message at {where} has role {raw!r}; map it with the role_map option")
        if role == SKIP:
            return None
        text = node.get(content_key(node) or "text")
        if not isinstance(text, str):
            return Rejection("wrong_type", f"message at {where} has {type_name(text)} text where text is expected")
        return Turn(role, text, node)

    # --- introspection ----------------------------------------------------------------------
    def sniff(self, profile) -> Proposal | None:
        candidates = []
        for name in profile.top_level():
            fp = profile.field(name)
            if fp is None or not fp.present:
                continue
            tree_share = sum(is_tree_node(r.get(name)) for r in profile.rows) / profile.n_rows
            message_items = (
                fp.main_type == "list"
                and fp.item_frac("object") > 0.9
                and (any(k in fp.item_keys for k in ROLE_KEYS))
                and reads_as_turns(profile, name)
            )
            if fp.main_type == "string" and fp.json_like >= 0.9 * fp.str_count:
                # CSV cells carry message lists as JSON text
                decoded = [json_list(v) for v in fp.examples]
                message_items = all(d and all(isinstance(m, dict) and role_key(m) for m in d) for d in decoded)
            string_dialog = (
                fp.main_type == "list"
                and fp.item_frac("string") > 0.9
                and (name.lower() in MESSAGE_FIELD_NAMES or bare_dialogue(profile, name))
            )
            if tree_share > 0.5 or message_items or string_dialog:
                candidates.append((name, tree_share > 0.5))
        if not candidates:
            return None
        # prefer a conventionally named field, then the one with the best coverage
        candidates.sort(key=lambda c: (c[0].lower() not in MESSAGE_FIELD_NAMES + ("prompt",), -profile.coverage(c[0])))
        name, is_tree = candidates[0]
        field_map = {name: "messages"}
        parallel = None
        if profile.field(name) is not None and profile.field(name).main_type == "list" and not is_tree:
            parallel = find_parallel_replies(profile, name)
            if parallel:
                field_map[parallel[0]] = "replies"
        for spec in self.fields[1:]:
            src = profile.find(spec.candidates, lambda fp: fp.main_type in ("string", "number"))
            if src and src not in field_map:
                field_map[src] = spec.name
        fields = self.canonical_map(field_map)
        options: dict[str, Any] = {}
        evidence: list[str] = []
        answering = {} if is_tree or parallel else answering_speakers([r.get(name) for r in profile.rows])
        if answering:
            options["role_map"] = {speaker: ASSISTANT for speaker in answering}
            evidence += [
                f"speaker '{speaker}' is read as the assistant: it answers the user's turns all through "
                f"{hits}/{seen} dialogues (a system prompt is at most the first turn); option role_map "
                f"{{'{speaker}': 'assistant'}}"
                for speaker, (hits, seen) in answering.items()
            ]
        roles: Counter = Counter()
        tool_turns = 0
        for row in profile.rows:
            value = json_list(row.get(name))
            if value:
                for item in value:
                    if isinstance(item, dict):
                        rkey = role_key(item)
                        raw = item.get(rkey) if rkey else None
                        roles[str(raw)] += 1
                        if call_shape(item):
                            tool_turns += 1
        accepted, rejected = 0, Counter()
        records = defects = 0
        for row in profile.rows:
            out = self.map_row(row, fields, options)
            if isinstance(out, Rejection):
                rejected[out.reason] += 1
                defects += out.defect
            else:
                accepted += 1
                records += len(out)
        n = profile.n_rows
        accept_share = fit_share(accepted, n, defects)
        if is_tree:
            paths = sum(
                len(convs)
                for r in profile.rows
                if is_tree_node(r.get(name))
                and not isinstance(convs := self._tree_conversations(r[name], name, {}, "all_paths"), Rejection)
            )
            skipped = sum(_unusable_count(r[name]) for r in profile.rows if is_tree_node(r.get(name)))
            evidence.append(f"field '{name}' holds message trees (text/role/replies) in {accepted}/{n} rows")
            if skipped:
                evidence.append(f"{skipped} deleted or review-failed messages are skipped with their replies")
            evidence.append(
                f"{paths} root-to-leaf paths give {records} distinct conversations "
                "(paths ending in unanswered prompts are trimmed to their last reply)"
            )
        elif parallel:
            evidence.append(
                f"field '{name}' holds lists of user turns and '{parallel[0]}' (in {parallel[1]}/{profile.n_rows} rows) "
                "a list of as many replies: turns interleaved user/assistant; rows without replies are rejected"
            )
        elif roles:
            top = ", ".join(f"{r} ({c})" for r, c in roles.most_common(5))
            evidence.append(f"field '{name}' holds message lists; speaker roles: {top}")
            fp = profile.field(name)
            read = {*ROLE_KEYS, *CONTENT_KEYS, "tool_calls", "function_call", "name", "tool_call_id", *REPLY_KEYS}
            extra_keys = sorted(k for k in (fp.item_keys if fp else ()) if k not in read)
            if extra_keys:
                evidence.append(f"left out of each message: {', '.join(extra_keys[:6])} (annotations beside the text)")
        else:
            evidence.append(f"field '{name}' holds lists of utterances")
        evidence.append(f"{accepted}/{n} sampled rows map to valid conversations")
        if rejected:
            evidence.append("rejections: " + ", ".join(f"{r} ({c})" for r, c in rejected.most_common(3)))

        confidence = 0.65
        if accept_share >= 0.9:
            confidence = 0.93 if (is_tree or roles or parallel) else 0.82
        elif accept_share >= 0.6:
            confidence = 0.75
        tool_field = next((f for f in TOOL_FIELDS if profile.coverage(f) > 0), None) or next(
            (
                p
                for p in profile.top_level()
                if p != name
                and tools_value_share([r.get(p) for r in profile.rows]) >= 0.9
                and any(json_list(r.get(p)) or isinstance(r.get(p), dict) for r in profile.rows)
            ),
            None,
        )
        if tool_turns or tool_field:
            confidence = min(confidence, 0.5)
            evidence.append(
                f"tool-calling data ({tool_turns} tool turns"
                + (f", field '{tool_field}'" if tool_field else "")
                + "): tool_call_passthrough fits better"
            )
        if name.lower() in PAIR_FIELD_NAMES or all(profile.coverage(f) > 0 for f in ("chosen", "rejected")):
            confidence = min(confidence, 0.5)
            evidence.append("chosen/rejected pairs: preference_pair fits better")
        return Proposal(self.id, field_map, confidence, evidence, options)


MAPPER = ChatMessagesPassthrough()
