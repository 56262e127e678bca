"""qa_pair_passthrough: question + answer (+ optional context) -> qa records.

Answers come as a string, a number, a list of strings, a SQuAD list ``[{text, answer_start}]`` or
a Hugging Face dict ``{text: [...], answer_start: [...]}``; the first answer is the answer and the
other distinct ones are kept in ``meta.alternatives``. A dataset with a context field and
unanswerable questions is retrieval QA: ``rag_passthrough`` handles it, with refusals.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, Mapping

from brewslm.mappers._sniffing import (  # the names live there: other sniffers weigh QA against their own reading
    ANSWER_NAMES,
    LABEL_NAMES,
    QUESTION_NAMES,
    QUESTION_SHARE,
    SPECIFIC_QUESTION_NAMES,
    describe_values,
    is_free_text,
    is_id_like_name,
    is_label_like,
    leaf_name,
    question_share,
)
from brewslm.mappers.base import (
    MISSING,
    FieldSpec,
    Mapper,
    Proposal,
    Record,
    Rejection,
    attach_source_id,
    get_path,
    label_to_str,
    read_text,
    type_name,
)

CONTEXT_NAMES = (
    "context", "contexts", "passage", "passages", "document", "documents", "paragraph", "paragraphs", "article",
    "retrieved_contexts", "retrieved_passages", "ctxs", "docs", "search_results", "evidence",
)
# Alpaca-style 'input' is an optional addition to the instruction, not retrieved context.
OPTIONAL_CONTEXT_NAMES = CONTEXT_NAMES + ("input",)
UNANSWERABLE_NAMES = ("is_impossible", "unanswerable", "is_unanswerable", "impossible", "no_answer")
ANSWER_TEXT_KEYS = ("text", "answer", "value", "span_text")


def read_answers(row: Any, path: str | None) -> "list[str] | Rejection":
    """All gold answer texts at ``path``, first one first, duplicates and blanks left out.

    An absent, null or empty answer gives ``[]`` (the caller decides whether that is a refusal or
    a rejection); a value that is not text, a number or a list/object of them is ``wrong_type``.
    """
    value = MISSING if path is None else get_path(row, path)
    if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
        try:  # CSV cells carry answer lists as JSON; text that merely starts with a bracket stays text
            value = json.loads(value)
        except ValueError:
            pass
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
            if key is None:
                return Rejection("wrong_type", f"field '{where}' is an object without a text/answer key")
            inner = item[key]
            items = inner if isinstance(inner, list) else [inner]
            for sub in items:
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


def answer_like(fp) -> bool:
    return fp.main_type in ("string", "list", "object", "number", "boolean")


class QaPairPassthrough(Mapper):
    id = "qa_pair_passthrough"
    task_profile = "qa"
    description = "Question + answer (+ optional context) pairs; SQuAD-style answer lists read their first answer."
    fields = (
        FieldSpec("question", candidates=QUESTION_NAMES, description="the question"),
        FieldSpec("answer", candidates=ANSWER_NAMES, description="the answer text, or a list of gold answers"),
        FieldSpec("context", required=False, candidates=OPTIONAL_CONTEXT_NAMES, description="a context passage"),
        FieldSpec("id", required=False, candidates=("id", "qid", "question_id"), description="the source's row id"),
    )

    def map_row(self, row: dict[str, Any], fields: Mapping[str, str], options: Mapping[str, Any]) -> "list[Record] | Rejection":
        question = read_text(row, fields.get("question"), "missing_question")
        if isinstance(question, Rejection):
            return question
        answers = read_answers(row, fields.get("answer"))
        if isinstance(answers, Rejection):
            return answers
        if not answers:
            src = fields.get("answer")
            return Rejection("missing_answer", f"field '{src}' has no answer" if src else "no source field mapped to answer")
        record: Record = {"question": question, "answer": answers[0]}
        if fields.get("context"):
            value = get_path(row, fields["context"])
            if value is not MISSING and value is not None and not (isinstance(value, str) and not value.strip()):
                context = read_text(row, fields["context"], "missing_context")
                if isinstance(context, Rejection):
                    return context
                record["context"] = context
        if len(answers) > 1:
            record["meta"] = {"alternatives": answers[1:]}
        return attach_source_id([record], row, fields)

    def sniff(self, profile) -> Proposal | None:
        n = profile.n_rows
        if not n:
            return None
        question = profile.find(QUESTION_NAMES, lambda fp: fp.main_type == "string")
        answer = profile.find(ANSWER_NAMES, answer_like, exclude=[question] if question else [])
        by_name = bool(question and answer)
        if not by_name:
            # no usual names: a column of questions beside one other text column
            question, answer = _questions_by_value(profile)
            if not question or not answer:
                return None
        field_map = {question: "question", answer: "answer"}
        context = profile.find(OPTIONAL_CONTEXT_NAMES, lambda fp: fp.present > 0, exclude=field_map)
        if context and profile.field(context).main_type == "string":
            field_map[context] = "context"
        retrieval = context if context and context.lower() in CONTEXT_NAMES else None
        source_id = profile.find(self.fields[3].candidates, lambda fp: fp.main_type in ("string", "number"), exclude=field_map)
        if source_id:
            field_map[source_id] = "id"
        fields = self.canonical_map(field_map)

        reasons: Counter = Counter()
        accepted = asked = 0
        for row in profile.rows:
            q = row.get(question)
            asked += isinstance(q, str) and q.rstrip().endswith("?")
            out = self.map_row(row, fields, {})
            if isinstance(out, Rejection):
                reasons[out.reason] += 1
            else:
                accepted += 1
        share = accepted / n if n else 0.0
        evidence = [f"field '{question}' holds questions, '{answer}' their answers"]
        evidence.append(f"{accepted}/{n} sampled rows have a question and an answer")
        if asked:
            evidence.append(f"{asked}/{n} questions end with '?'")
        confidence = 0.6
        asked_share = question_share(profile, question)
        if share >= 0.9:
            # generic names (prompt/input -> output) need questions that read like questions
            specific = question.lower() in SPECIFIC_QUESTION_NAMES or answer.lower() == "completion"
            confidence = 0.85 if (specific or asked_share >= 0.3) else 0.75
        elif share >= 0.6:
            confidence = 0.7
        if not by_name:
            confidence = min(confidence, 0.7)
            evidence.append(f"no usual question/answer names: '{question}' was chosen because its values read as questions")
        answer_fp = profile.fields[answer]
        if is_label_like(answer_fp, n) and asked_share < QUESTION_SHARE:
            # "answers" drawn from a few classes, to inputs that are not questions: a classifier's data
            confidence = min(confidence, 0.6)
            evidence.append(
                f"'{answer}' holds {answer_fp.distinct} recurring values ({describe_values(answer_fp)}) and only "
                f"{asked_share:.0%} of '{question}' read as questions: more like class labels than answers"
            )
        unanswerable = profile.find(UNANSWERABLE_NAMES)
        empty_answers = reasons.get("missing_answer", 0)
        if retrieval:
            confidence = min(confidence, 0.55)
            evidence.append(f"field '{retrieval}' holds context passages: rag_passthrough fits better")
        if retrieval and (unanswerable or empty_answers):
            confidence = min(confidence, 0.45)
            evidence.append(
                f"unanswerable questions ({empty_answers} rows without an answer"
                + (f", field '{unanswerable}'" if unanswerable else "") + ") are refusal cases"
            )
        if reasons:
            evidence.append("rejections: " + ", ".join(f"{r} ({c})" for r, c in reasons.most_common(3)))
        return Proposal(self.id, field_map, confidence, evidence)


def _questions_by_value(profile) -> tuple[str | None, str | None]:
    """A top-level text column whose values read as questions (most of them), and the text
    column beside it with the most words per value as the answers (a column named like a class
    label, TREC's questions with their ``coarse_label``, is not an answer); or ``(None, None)``."""
    n = profile.n_rows
    question = profile.best(
        lambda fp: fp.frac("string") >= 0.9 and fp.present >= 0.8 * n and not is_id_like_name(fp.path)
        and question_share(profile, fp.path) >= 0.8,
        key=lambda fp: question_share(profile, fp.path),
        top_level_only=True,
    )
    if question is None:
        return None, None
    answer = profile.best(
        lambda fp: fp.present >= 0.8 * n and not is_id_like_name(fp.path) and leaf_name(fp.path).lower() not in LABEL_NAMES
        and (is_free_text(fp, n, 1.0) or (fp.frac("string") >= 0.9 and is_label_like(fp, n)))
        and question_share(profile, fp.path) < QUESTION_SHARE,
        key=lambda fp: fp.mean_words,
        exclude=[question],
        top_level_only=True,
    )
    return question, answer


MAPPER = QaPairPassthrough()
