"""rag_passthrough: question + context/passages + answer -> rag_qa records, refusals included.

Context comes as one string, a list of strings, a list of passage objects (``text``, ``content``,
``passage_text``...), HotpotQA-style ``[title, [sentences]]`` pairs, or an MS MARCO-style object
of lists (``{passage_text: [...]}``). Answers come in the forms ``qa_pair_passthrough`` reads
(string, list, SQuAD list, HF dict); the first is the answer, the other distinct ones are
``alternatives``. No gold answer (absent, empty, ``[]``), an unanswerable flag that is true
(``is_impossible``), or an answer listed in the ``refusal_answers`` option makes a refusal
record: ``is_refusal`` true and ``answer`` "". SQuAD's ``plausible_answers`` are decoys, not gold.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, Mapping

from brewslm.errors import MapperError
from brewslm.mappers.base import (
    MISSING,
    FieldSpec,
    Mapper,
    Proposal,
    Record,
    Rejection,
    attach_source_id,
    get_path,
    read_text,
    type_name,
)
from brewslm.mappers.qa_pair_passthrough import (
    ANSWER_NAMES,
    CONTEXT_NAMES,
    QUESTION_NAMES,
    UNANSWERABLE_NAMES,
    answer_like,
    read_answers,
)

PASSAGE_TEXT_KEYS = ("text", "content", "passage_text", "passage", "page_content", "contents", "body", "snippet", "context")
TRUE_WORDS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False, "": False}


def read_passages(row: Any, path: str | None) -> "list[str] | Rejection":
    """The passages at ``path`` as a list of non-blank strings, kept exactly as written."""
    value = MISSING if path is None else get_path(row, path)
    if value is MISSING or value is None:
        return Rejection("missing_context", f"field '{path}' is missing" if path else "no source field mapped to context")
    if isinstance(value, str) and value.lstrip().startswith("["):
        try:
            decoded = json.loads(value)
        except ValueError:
            decoded = None
        if isinstance(decoded, list):
            value = decoded
    if isinstance(value, dict):
        key = next((k for k in PASSAGE_TEXT_KEYS if k in value), None)
        if key is None:
            return Rejection("wrong_type", f"field '{path}' is an object without a text/content/passage_text key")
        value = value[key]
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        return Rejection("wrong_type", f"field '{path}' is a {type_name(value)} where passages are expected")
    passages: list[str] = []
    for i, item in enumerate(items):
        where = f"{path}[{i}]"
        if isinstance(item, dict):
            key = next((k for k in PASSAGE_TEXT_KEYS if k in item), None)
            item = item.get(key) if key else MISSING
            if item is MISSING:
                return Rejection("wrong_type", f"passage {where} is an object without a text/content key")
        elif (
            isinstance(item, list) and len(item) == 2 and isinstance(item[0], str)
            and isinstance(item[1], list) and all(isinstance(s, str) for s in item[1])
        ):
            item = "".join(item[1])  # HotpotQA [title, [sentences]]: sentences carry their own spacing
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


class RagPassthrough(Mapper):
    id = "rag_passthrough"
    task_profile = "rag_qa"
    description = "Question + context or passages + answer; an empty answer or unanswerable flag is a refusal case."
    fields = (
        FieldSpec("question", candidates=QUESTION_NAMES, description="the question"),
        FieldSpec("context", candidates=CONTEXT_NAMES, description="a context string or a list of passages"),
        FieldSpec("answer", candidates=ANSWER_NAMES, description="the answer, or a list of gold answers; empty = refusal"),
        FieldSpec(
            "unanswerable", required=False, candidates=UNANSWERABLE_NAMES,
            description="a flag that is true when the passages do not answer the question",
        ),
        FieldSpec("id", required=False, candidates=("id", "qid", "question_id"), description="the source's row id"),
    )
    options_doc = {
        "refusal_answers": "answer texts that mean 'no answer' (e.g. [\"unanswerable\", \"No answer\"]); "
        "matched case-insensitively, they make refusal records",
    }

    def map_row(self, row: dict[str, Any], fields: Mapping[str, str], options: Mapping[str, Any]) -> "list[Record] | Rejection":
        refusal_words = options.get("refusal_answers") or []
        if not isinstance(refusal_words, list) or not all(isinstance(w, str) for w in refusal_words):
            raise MapperError("option refusal_answers must be a list of texts")
        question = read_text(row, fields.get("question"), "missing_question")
        if isinstance(question, Rejection):
            return question
        passages = read_passages(row, fields.get("context"))
        if isinstance(passages, Rejection):
            return passages
        unanswerable = read_flag(row, fields.get("unanswerable"))
        if isinstance(unanswerable, Rejection):
            return unanswerable
        answers = read_answers(row, fields.get("answer"))
        if isinstance(answers, Rejection):
            return answers
        refusal_set = {w.strip().lower() for w in refusal_words}
        answers = [a for a in answers if a.strip().lower() not in refusal_set]
        record: Record = {"question": question, "passages": passages}
        if unanswerable or not answers:
            record.update(answer="", is_refusal=True)
        else:
            record.update(answer=answers[0], is_refusal=False)
            if len(answers) > 1:
                record["alternatives"] = answers[1:]
        return attach_source_id([record], row, fields)

    def sniff(self, profile) -> Proposal | None:
        question = profile.find(QUESTION_NAMES, lambda fp: fp.main_type == "string")
        if not question:
            return None
        context = profile.find(CONTEXT_NAMES, lambda fp: fp.main_type in ("string", "list", "object"), exclude=[question])
        if not context:
            return None
        answer = profile.find(ANSWER_NAMES, answer_like, exclude=[question, context])
        if not answer:
            return None
        field_map = {question: "question", context: "context", answer: "answer"}
        for spec in self.fields[3:]:
            src = profile.find(
                spec.candidates, lambda fp: fp.main_type in ("string", "number", "boolean"), exclude=field_map
            )
            if src:
                field_map[src] = spec.name
        fields = self.canonical_map(field_map)

        n = profile.n_rows
        reasons: Counter = Counter()
        accepted = refusals = extractive = 0
        for row in profile.rows:
            out = self.map_row(row, fields, {})
            if isinstance(out, Rejection):
                reasons[out.reason] += 1
                continue
            accepted += 1
            record = out[0]
            if record["is_refusal"]:
                refusals += 1
            else:
                extractive += any(record["answer"] in p for p in record["passages"])
        answerable = accepted - refusals
        share = accepted / n if n else 0.0
        evidence = [f"field '{question}' holds questions, '{context}' their context, '{answer}' the answers"]
        evidence.append(f"{accepted}/{n} sampled rows have a question, passages and an answer or refusal")
        if answerable:
            evidence.append(f"{extractive}/{answerable} answers are quoted verbatim from the passages")
        if refusals:
            flag = fields.get("unanswerable")
            evidence.append(
                f"{refusals}/{accepted} questions are unanswerable (refusal cases"
                + (f", flagged by '{flag}'" if flag else ", empty answers") + ")"
            )
        if reasons:
            evidence.append("rejections: " + ", ".join(f"{r} ({c})" for r, c in reasons.most_common(3)))
        confidence = 0.6
        if share >= 0.9:
            confidence = 0.85
            if answerable and extractive / answerable >= 0.8:
                confidence += 0.05
            if refusals:
                confidence += 0.05
        elif share >= 0.6:
            confidence = 0.75
        return Proposal(self.id, field_map, round(confidence, 4), evidence)


MAPPER = RagPassthrough()
