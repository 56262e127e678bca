"""Reading comprehension read off the values: the question, its context or passages, its golds.

Shared by ``qa_pair_passthrough`` and ``rag_passthrough``, so the two read a dataset alike and
agree on which of them fits it.

Readers (each keeps every text exactly as written, or rejects the row with a reason):
``read_answers`` (every gold of an alias list, a SQuAD answer list or a Hugging Face answer
dict), ``read_passages`` (one text, a list of texts, passage objects, HotpotQA pairs, an object
of lists) and ``read_flag`` (an unanswerable flag).

``find_reading_fields`` finds, from names made of generic words and from the values:

- the question: a usual name, else a name made of question words (``query_text``), else the
  text column whose values read as questions (``_sniffing.reads_as_question``: ``?``, ``？``,
  ``؟`` at the end, ``;`` ending a Greek text, ``¿`` first, a question word of several languages
  first);
- the gold answers: a usual name, else a name made of answer words (``final_decision``,
  ``LONG_ANSWER``); a model's ``*_pred`` and SQuAD's ``plausible_answers`` are not golds; of
  several, the one with the shortest answers is the gold (a long-form explanation beside a short
  answer or a yes/no/maybe decision is named in the notes, for the user to choose instead);
- the context: among the fields named like a context (a usual name, then a name made of context
  words: ``positive_ctxs``, ``context_text``) or, failing names, shaped like one (passage
  objects, lists of long texts, a long text that the answers are quoted from), the one whose
  passages hold the answers most often - retrieval data keeps negatives beside the positives; a
  candidate that is the answer itself again in most rows (an FAQ's ``answer_html`` twin: the same
  words once markup and case are stripped, ``renders_answer``) is no context and is left out, said
  in the notes;
- an unanswerable flag (``is_impossible``...).

Which mapper: a LIST of passages per question, or unanswerable questions (refusals, which only
``rag_qa`` records hold), make retrieval QA (``rag_passthrough``); one context text or none, with
every question answered, is ``qa_pair_passthrough``.
"""

from __future__ import annotations

import html
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from brewslm.mappers._sniffing import (
    ANSWER_NAMES,
    QUESTION_NAMES,
    QUESTION_SHARE,
    is_id_like_name,
    is_label_like,
    name_words,
    question_share,
)
from brewslm.mappers.base import MISSING, Rejection, get_path, label_to_str, structure_from_text, type_name

CONTEXT_NAMES = (
    "context",
    "contexts",
    "passage",
    "passages",
    "document",
    "documents",
    "paragraph",
    "paragraphs",
    "article",
    "retrieved_contexts",
    "retrieved_passages",
    "ctxs",
    "docs",
    "search_results",
    "evidence",
)
UNANSWERABLE_NAMES = ("is_impossible", "unanswerable", "is_unanswerable", "impossible", "no_answer")
ANSWER_TEXT_KEYS = ("text", "answer", "value", "span_text")
# an answer object's other golds, after its text (TriviaQA's {"value": ..., "aliases": [...]})
ALIAS_KEYS = ("aliases", "alternatives")
# names of a gold answer that win over an "answer" beside them (RAG evaluation sets keep the
# model's generated answer as "answer" and the gold as "ground_truth")
GOLD_NAMES = ("ground_truth", "ground_truths", "gold_answer", "gold_answers", "reference_answer", "reference_answers")
PASSAGE_TEXT_KEYS = (
    "text",
    "content",
    "passage_text",
    "passage",
    "page_content",
    "contents",
    "body",
    "snippet",
    "context",
)
TRUE_WORDS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False, "": False}

# generic words that name a role inside a longer field name (snake_case, camelCase, UPPER_CASE)
QUESTION_WORDS = frozenset({"question", "questions", "query", "queries", "q"})
ANSWER_WORDS = frozenset({"answer", "answers", "ans", "decision"})
CONTEXT_WORDS = frozenset(
    {
        "context",
        "contexts",
        "ctx",
        "ctxs",
        "passage",
        "passages",
        "paragraph",
        "paragraphs",
        "document",
        "documents",
        "doc",
        "docs",
        "evidence",
        "evidences",
        "article",
        "articles",
        "snippet",
        "snippets",
        "retrieved",
    }
)
# words that say a field is not the gold: a model's output, a decoy, a negative
NOT_GOLD_WORDS = frozenset(
    {
        "pred",
        "preds",
        "prediction",
        "predictions",
        "predicted",
        "generated",
        "plausible",
        "wrong",
        "incorrect",
        "distractor",
        "distractors",
        "negative",
        "negatives",
        "neg",
        "candidate",
        "candidates",
    }
)
PASSAGE_WORDS = CONTEXT_WORDS | {"text", "content", "contents", "body"}

PASSAGE_MIN_CHARS = 60  # a passage found by its shape alone is at least this long on average
QUOTED_SHARE = 0.5  # a context found by its shape alone quotes the answers in this share of rows
# a gold that says there is no answer (MS MARCO's "No Answer Present."), when the same text recurs
_NO_ANSWER = re.compile(
    r"\b(?:no answer|not answerable|unanswerable|cannot be answered|can ?not answer|can't be answered|"
    r"no information|not enough information|insufficient information|"
    r"not (?:mentioned|stated|given|provided) in the (?:context|passages?|text|documents?))\b|^\W*n/?a\W*$",
    re.IGNORECASE,
)
JUDGED_ROWS = 300  # sample rows read to weigh context and answer candidates (sniffing stays cheap)
# a context candidate that is the answer itself again (its HTML twin, a copy) in this share of rows
# is another rendering of the answer, not a passage: it is left out
RENDERING_SHARE = 0.5
RENDERING_COVER = 0.8  # the answer's words make up this share of the text's words, and vice versa
_MARKUP = re.compile(r"<[^<>]*>")
_WORD = re.compile(r"\w+")


# --- readers --------------------------------------------------------------------------------------


def _decoded_answers(value: str) -> Any:
    """A CSV cell's answer list or answer object (``'["Paris", "paris, france"]'``,
    ``'[{"text": ...}]'``, ``'{"text": [...]}'``), decoded only when it is one complete JSON
    document whose items are answer texts or answer objects; any other string (``"[0, 1, 3]"``,
    ``"[citation needed]"``) is the answer text exactly as written."""
    decoded = structure_from_text(value, (list, dict))
    if isinstance(decoded, list) and (
        all(isinstance(i, str) for i in decoded) or all(isinstance(i, dict) for i in decoded)
    ):
        return decoded
    if isinstance(decoded, dict) and any(k in decoded for k in ANSWER_TEXT_KEYS + ALIAS_KEYS):
        return decoded
    return value


def read_answers(row: Any, path: str | None) -> "list[str] | Rejection":
    """All gold answer texts at ``path`` (an alias list keeps every alias), first one first,
    exact duplicates and blanks left out.

    An absent, null or empty answer gives ``[]`` (the caller decides whether that is a refusal or
    a rejection); a value that is not text, a number or a list/object of them is ``wrong_type``.
    A string is decoded as JSON only when it is a whole answer list or answer object
    (``_decoded_answers``); otherwise it is one answer, kept exactly as written.
    """
    value = MISSING if path is None else get_path(row, path)
    if isinstance(value, str):
        value = _decoded_answers(value)
    texts: list[str] = []

    def take(item: Any, where: str) -> Rejection | None:
        if item is None:
            return None
        if isinstance(item, str):
            texts.append(item)
            return None
        if isinstance(item, (int, float, bool)):
            text = label_to_str(item, where, "missing_answer")
            if isinstance(text, Rejection):
                return text
            texts.append(text)
            return None
        if isinstance(item, dict):
            key = next((k for k in ANSWER_TEXT_KEYS if k in item), None)
            keys = ([key] if key else []) + [k for k in ALIAS_KEYS if k in item]
            if not keys:
                return Rejection("wrong_type", f"field '{where}' is an object without a text/answer key")
            for key in keys:
                inner = item[key]
                for sub in inner if isinstance(inner, list) else [inner]:
                    if isinstance(sub, (list, dict)):
                        return Rejection("wrong_type", f"field '{where}.{key}' nests a {type_name(sub)}")
                    problem = take(sub, f"{where}.{key}")
                    if problem:
                        return problem
            return None
        if isinstance(item, list):
            for i, sub in enumerate(item):
                if isinstance(sub, list):
                    return Rejection("wrong_type", f"field '{where}[{i}]' is a nested list where an answer is expected")
                problem = take(sub, f"{where}[{i}]")
                if problem:
                    return problem
            return None
        return Rejection("wrong_type", f"field '{where}' is a {type_name(item)} where an answer is expected")

    if value is not MISSING:
        problem = take(value, path or "answer")
        if problem:
            return problem
    seen: set[str] = set()
    out = []
    for text in texts:
        if text.strip() and text not in seen:
            seen.add(text)
            out.append(text)
    return out


def _passage_key(obj: dict) -> str | None:
    """The key of a passage object (or an object of passage lists) that holds the text: a usual
    one (``text``, ``content``...), else the first whose name is made of passage words
    (``search_context``, ``wiki_context``) and holds text or a list."""
    key = next((k for k in PASSAGE_TEXT_KEYS if k in obj), None)
    if key is not None:
        return key
    return next(
        (
            k
            for k, v in obj.items()
            if isinstance(k, str)
            and isinstance(v, (str, list))
            and name_words(k) & PASSAGE_WORDS
            and not name_words(k) & NOT_GOLD_WORDS
            and not is_id_like_name(k)
        ),
        None,
    )


def _passage_list_text(value: str) -> list | None:
    """A CSV cell holding the passages as one complete JSON list of texts or passage objects."""
    decoded = structure_from_text(value, list)
    if decoded is not None and all(isinstance(i, (str, dict, list)) or i is None for i in decoded):
        return decoded
    return None


def read_passages(row: Any, path: str | None) -> "list[str] | Rejection":
    """The passages at ``path`` as a list of non-blank strings, kept exactly as written (a passage
    object gives its text; HotpotQA ``[title, [sentences]]``, or its Hugging Face layout
    ``{title: [...], sentences: [[...], ...]}``, gives each passage's sentences joined as they are,
    since they carry their own spacing; a document object with a list of paragraphs gives each
    paragraph). A string is one passage unless it is a whole JSON list of passages
    (``_passage_list_text``)."""
    value = MISSING if path is None else get_path(row, path)
    if value is MISSING or value is None:
        return Rejection(
            "missing_context", f"field '{path}' is missing" if path else "no source field mapped to context"
        )
    if isinstance(value, str):
        decoded = _passage_list_text(value)
        value = value if decoded is None else decoded
    if isinstance(value, dict):
        key = _passage_key(value)
        sentences = value.get("sentences")
        if (
            key is None
            and isinstance(sentences, list)
            and all(isinstance(group, list) and all(isinstance(t, str) for t in group) for group in sentences)
        ):
            value = ["".join(group) for group in sentences]
        elif key is None:
            return Rejection("wrong_type", f"field '{path}' is an object without a text/content/passage_text key")
        else:
            value = value[key]
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        return Rejection("wrong_type", f"field '{path}' is a {type_name(value)} where passages are expected")
    passages: list[str] = []
    for i, item in enumerate(items):
        where = f"{path}[{i}]"
        if isinstance(item, dict):
            key = _passage_key(item)
            item = item.get(key) if key else MISSING
            if item is MISSING:
                return Rejection("wrong_type", f"passage {where} is an object without a text/content key")
            if isinstance(item, list) and all(isinstance(t, str) for t in item):
                # a document object holding its paragraphs: each paragraph is a passage, as written
                passages.extend(t for t in item if t.strip())
                continue
        elif (
            isinstance(item, list)
            and len(item) == 2
            and isinstance(item[0], str)
            and isinstance(item[1], list)
            and all(isinstance(s, str) for s in item[1])
        ):
            item = "".join(item[1])
        if item is None:
            continue
        if not isinstance(item, str):
            return Rejection("wrong_type", f"passage {where} is a {type_name(item)} where text is expected")
        if item.strip():
            passages.append(item)
    if not passages:
        return Rejection("missing_context", f"field '{path}' has no non-empty passage")
    return passages


def read_flag(row: Any, path: str | None) -> "bool | Rejection":
    """An unanswerable flag: booleans, 0/1, or true/false/yes/no text (CSV); absent is False."""
    value = MISSING if path is None else get_path(row, path)
    if value is MISSING or value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS:
        return TRUE_WORDS[value.strip().lower()]
    return Rejection("wrong_type", f"field '{path}' is {value!r}, not true/false")


def holds_passage_list(value: Any) -> bool:
    """A raw context value that is a list of passages (a list, an object of lists, a JSON list in a
    string), not one text."""
    if isinstance(value, str):
        return _passage_list_text(value) is not None
    return isinstance(value, (list, dict))


# --- finding the fields ---------------------------------------------------------------------------


def answer_like(fp) -> bool:
    return fp.main_type in ("string", "list", "object", "number", "boolean")


@dataclass
class ReadingFields:
    """What ``find_reading_fields`` found; ``found`` says how each role was found ("name",
    "words" or "values"), ``notes`` are evidence lines for the proposals."""

    question: str
    answer: str | None = None
    context: str | None = None
    passage_list: bool = False  # the context holds a list of passages in most rows
    unanswerable: str | None = None
    refusal_answers: list[str] = field(default_factory=list)  # recurring golds that say "no answer"
    context_unread: bool = False  # a field named like a context holds values no reader takes
    found: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def describe_found(self) -> str | None:
        """An evidence line for the roles not found by a usual name, or None."""
        ways = {"words": "by the words of its name", "values": "by its values"}
        paths = {"question": self.question, "answer": self.answer, "context": self.context}
        parts = [f"{role} '{paths[role]}' {ways[how]}" for role, how in self.found.items() if how in ways]
        return ("found: " + "; ".join(parts)) if parts else None

    @property
    def named(self) -> bool:
        """Question and answer were found by their names, not by their values alone."""
        return self.found.get("question") != "values" and self.found.get("answer") not in (None, "values")


def _top_level(profile, exclude) -> list:
    return [fp for path, fp in profile.fields.items() if "." not in path and path not in exclude]


def _find_question(profile) -> tuple[str | None, str]:
    n = profile.n_rows
    named = profile.find(QUESTION_NAMES, lambda fp: fp.main_type == "string")
    if named:
        return named, "name"
    texts = [fp for fp in _top_level(profile, ()) if fp.frac("string") >= 0.9 and not is_id_like_name(fp.path)]
    worded = [fp for fp in texts if name_words(fp.path) & QUESTION_WORDS and not is_label_like(fp, n)]
    if worded:
        return max(worded, key=lambda fp: question_share(profile, fp.path)).path, "words"
    asked = [(question_share(profile, fp.path), fp.path) for fp in texts if fp.present >= 0.8 * n]
    asked = [(share, path) for share, path in asked if share >= QUESTION_SHARE]
    if asked:
        return max(asked, key=lambda a: a[0])[1], "values"
    return None, ""


def _mean_first_gold_chars(profile, path: str) -> tuple[float, int]:
    """Mean length of the first gold over the rows that have one, and how many rows read."""
    total = read = 0
    for row in profile.rows[:JUDGED_ROWS]:
        golds = read_answers(row, path)
        if isinstance(golds, list) and golds:
            total += len(golds[0])
            read += 1
    return (total / read if read else 0.0), read


def _find_answer(profile, question: str, notes: list[str]) -> tuple[str | None, str]:
    named = profile.find(GOLD_NAMES + ANSWER_NAMES, answer_like, exclude=[question])
    if named and named.lower() == "response":
        # a model's response beside a reference (RAG evaluation sets): the reference is the gold
        named = profile.find(("reference", "references"), answer_like, exclude=[question]) or named
    if named:
        other = profile.find(ANSWER_NAMES, answer_like, exclude=[question, named])
        if other and named.lower() in GOLD_NAMES + ("reference", "references"):
            notes.append(
                f"'{named}' is named as the gold: '{other}' beside it is taken for a generated answer, "
                f"not a gold (map {other}=answer to use it instead)"
            )
        return named, "name"
    worded = []
    for fp in _top_level(profile, (question,)):
        words = name_words(fp.path)
        if words & ANSWER_WORDS and not words & NOT_GOLD_WORDS and answer_like(fp) and not is_id_like_name(fp.path):
            chars, read = _mean_first_gold_chars(profile, fp.path)
            if read >= 0.5 * min(profile.n_rows, JUDGED_ROWS):
                worded.append((chars, fp.path))
    if not worded:
        return None, ""
    worded.sort(key=lambda w: w[0])
    chosen = worded[0][1]
    for chars, path in worded[1:]:
        notes.append(
            f"'{path}' holds answers too ({chars:.0f} characters on average, "
            f"'{chosen}' {worded[0][0]:.0f}): the shorter is taken as the gold; map {path}=answer "
            f"for the other"
        )
    return chosen, "words"


def _plain_text(text: str) -> str:
    """A text with its markup (tags, character entities) stripped."""
    return html.unescape(_MARKUP.sub(" ", text)) if "<" in text or "&" in text else text


def _words(text: str) -> Counter:
    return Counter(_WORD.findall(text.casefold()))


def renders_answer(passages: list[str], golds: list[str]) -> bool:
    """The passages are the answer itself in another rendering (its HTML, a copy with other
    spacing): once markup and case are stripped, the words of a gold (as written, or stripped of
    markup too) make up at least 80% of the passages' words and the passages hold at least 80% of
    the gold's (texts without words: equal once whitespace is stripped)."""
    plain = _plain_text(" ".join(passages))
    words = _words(plain)
    for gold in golds:
        for form in {gold, _plain_text(gold)}:
            gold_words = _words(form)
            if not words or not gold_words:
                if plain.strip() and "".join(plain.split()) == "".join(form.split()):
                    return True
                continue
            shared = sum((words & gold_words).values())
            if shared >= RENDERING_COVER * sum(words.values()) and shared >= RENDERING_COVER * sum(gold_words.values()):
                return True
    return False


@dataclass
class _ContextCandidate:
    path: str
    tier: int  # 0 a usual name, 1 a name made of context words, 2 the values' shape alone
    demoted: bool  # named like a negative/decoy
    order: int
    readable: int = 0
    unreadable: int = 0  # values there, in a shape read_passages does not read
    lists: int = 0
    checked: int = 0
    quoted: int = 0
    renders: int = 0  # rows where it is the answer itself again (renders_answer)

    @property
    def quoted_share(self) -> float:
        return self.quoted / self.checked if self.checked else 0.0


def _shaped_like_passages(profile, fp, question_chars: float) -> bool:
    if fp.main_type == "string":
        return fp.mean_chars >= max(PASSAGE_MIN_CHARS, 3 * question_chars)
    if fp.main_type == "list":
        if fp.item_frac("object") >= 0.9:
            return any(k in PASSAGE_TEXT_KEYS or name_words(str(k)) & PASSAGE_WORDS for k in fp.item_keys)
        if fp.item_frac("string") >= 0.9:
            lists = (row.get(fp.path) for row in profile.rows[:JUDGED_ROWS])
            lengths = [
                len(item) for value in lists if isinstance(value, list) for item in value if isinstance(item, str)
            ]
            return bool(lengths) and sum(lengths) / len(lengths) >= PASSAGE_MIN_CHARS
    return False


def _find_context(
    profile, question: str, answer: str | None, golds: list, notes: list[str]
) -> tuple[_ContextCandidate | None, bool]:
    """The context candidate that fits best, and whether a field named like a context was
    left out because no reader takes its values."""
    exclude = {question, answer}
    question_fp = profile.field(question)
    question_chars = question_fp.mean_chars if question_fp else 0.0
    candidates: dict[str, _ContextCandidate] = {}
    by_lower = {path.lower(): path for path in profile.fields}
    for name in CONTEXT_NAMES:
        path = by_lower.get(name)
        if path and path not in exclude and profile.fields[path].main_type in ("string", "list", "object"):
            candidates.setdefault(path, _ContextCandidate(path, 0, False, len(candidates)))
    for order, fp in enumerate(_top_level(profile, exclude)):
        if fp.path in candidates or is_id_like_name(fp.path) or fp.main_type not in ("string", "list", "object"):
            continue
        words = name_words(fp.path)
        if words & CONTEXT_WORDS:
            candidates[fp.path] = _ContextCandidate(fp.path, 1, bool(words & NOT_GOLD_WORDS), 100 + order)
        elif _shaped_like_passages(profile, fp, question_chars):
            candidates[fp.path] = _ContextCandidate(fp.path, 2, bool(words & NOT_GOLD_WORDS), 100 + order)
    if not candidates:
        return None, False
    rows = profile.rows[:JUDGED_ROWS]
    n = len(rows)
    for cand in candidates.values():
        for row, row_golds in zip(rows, golds):
            passages = read_passages(row, cand.path)
            if isinstance(passages, Rejection):
                cand.unreadable += passages.reason == "wrong_type"
                continue
            cand.readable += 1
            cand.lists += holds_passage_list(get_path(row, cand.path))
            if isinstance(row_golds, list) and row_golds:
                cand.checked += 1
                cand.quoted += any(g in p for g in row_golds for p in passages)
                cand.renders += renders_answer(passages, row_golds)
    for cand in list(candidates.values()):
        if cand.checked and cand.renders >= RENDERING_SHARE * cand.checked:
            del candidates[cand.path]
            notes.append(
                f"'{cand.path}' is not a context: in {cand.renders}/{cand.checked} rows it is the answer itself "
                f"again (the words of '{answer}' once markup and case are stripped), another rendering of the "
                "answer; left out, so no record carries its own answer as its passage"
            )
    usable = [
        c
        for c in candidates.values()
        if c.readable and (c.tier == 0 or c.readable >= 0.5 * n) and (c.tier < 2 or c.quoted_share >= QUOTED_SHARE)
    ]
    if not usable:
        unread = [c for c in candidates.values() if c.tier < 2 and c.unreadable >= 0.5 * n]
        if unread:
            notes.append(
                f"field '{unread[0].path}' is named like a context, but {unread[0].unreadable}/{n} of its "
                "values are in a shape neither QA mapper reads as passages: the records would lose it"
            )
        return None, bool(unread)
    usable.sort(key=lambda c: (c.tier, c.demoted, -round(c.quoted_share, 2), c.order))
    chosen = usable[0]
    if chosen.tier or len(usable) > 1:
        passed = [f"'{c.path}' {c.quoted}/{c.checked}" for c in usable[1:]]
        notes.append(
            f"'{chosen.path}' holds the context: it quotes the answer in {chosen.quoted}/{chosen.checked} rows"
            + (f" (passed over: {', '.join(passed)})" if passed else "")
        )
    return chosen, False


def _answer_by_quotes(profile, question: str, context: str) -> str | None:
    """No field named like an answer: the short text field whose values are quoted from the
    context in most rows (extractive QA under other names)."""
    context_fp = profile.field(context)
    best, best_share = None, QUOTED_SHARE
    for fp in _top_level(profile, (question, context)):
        if (
            is_id_like_name(fp.path)
            or name_words(fp.path) & NOT_GOLD_WORDS
            or fp.main_type not in ("string", "list")
            or fp.present < 0.8 * profile.n_rows
        ):
            continue
        if (
            fp.main_type == "string"
            and context_fp is not None
            and context_fp.main_type == "string"
            and fp.mean_chars * 2 > context_fp.mean_chars
        ):
            continue
        checked = quoted = 0
        rows = profile.rows[:JUDGED_ROWS]
        for row in rows:
            golds, passages = read_answers(row, fp.path), read_passages(row, context)
            if isinstance(golds, list) and golds and isinstance(passages, list):
                checked += 1
                quoted += any(g in p for g in golds for p in passages)
        share = quoted / checked if checked >= 0.8 * len(rows) else 0.0
        if share > best_share:
            best, best_share = fp.path, share
    return best


def find_reading_fields(profile) -> ReadingFields | None:
    """The question, answer, context and unanswerable-flag fields of reading-comprehension
    data (see the module doc), or None when no field holds questions. Worked out once per
    profile: both QA sniffers ask."""
    memo = profile.__dict__.get("_reading_fields", MISSING)
    if memo is MISSING:
        memo = profile.__dict__["_reading_fields"] = _find_reading_fields(profile)
    return memo


def _find_reading_fields(profile) -> ReadingFields | None:
    if not profile.n_rows:
        return None
    question, how = _find_question(profile)
    if question is None:
        return None
    found = ReadingFields(question, found={"question": how})
    answer, how = _find_answer(profile, question, found.notes)
    golds = [read_answers(row, answer) if answer else [] for row in profile.rows[:JUDGED_ROWS]]
    context, found.context_unread = _find_context(profile, question, answer, golds, found.notes)
    if answer is None and context is not None:
        answer = _answer_by_quotes(profile, question, context.path)
        how = "values"
    if answer is not None:
        found.answer, found.found["answer"] = answer, how
    if context is not None:
        found.context = context.path
        found.found["context"] = ("name", "words", "values")[context.tier]
        found.passage_list = context.lists >= 0.5 * max(context.readable, 1)
    if answer is not None:
        found.refusal_answers = _refusal_answers(profile, answer)
    found.unanswerable = profile.find(
        UNANSWERABLE_NAMES,
        lambda fp: fp.main_type in ("string", "number", "boolean"),
        exclude=[f for f in (question, answer, found.context) if f],
    )
    return found


def _refusal_answers(profile, answer: str) -> list[str]:
    """Gold texts that say there is no answer ("No Answer Present.", "unanswerable", "N/A") and
    recur (in at least 3 rows and 2% of them): the dataset's way of marking a refusal."""
    counts: dict[str, int] = {}
    for row in profile.rows:
        golds = read_answers(row, answer)
        if isinstance(golds, list):
            for gold in golds:
                if _NO_ANSWER.search(gold) and len(gold) <= 60:
                    counts[gold] = counts.get(gold, 0) + 1
    least = max(3, 0.02 * profile.n_rows)
    return [text for text, count in counts.items() if count >= least]
