"""rag_passthrough: question + context/passages + answer -> rag_qa records, refusals included.

Context comes as one string, a list of strings, a list of passage objects (``text``, ``content``,
``passage_text``...: the text is taken, a title is not part of it), HotpotQA-style
``[title, [sentences]]`` pairs, or an MS MARCO-style object of lists (``{passage_text: [...]}``).
Answers come in the forms ``qa_pair_passthrough`` reads (string, alias list, SQuAD list, HF
dict, a yes/no/maybe decision, a long-form answer); the first is the answer (the training
target), the other distinct ones are ``alternatives``, in source order. No gold answer (absent,
empty, ``[]``), an unanswerable flag that is true (``is_impossible``), or an answer listed in the
``refusal_answers`` option makes a refusal record: ``is_refusal`` true and ``answer`` "". SQuAD's
``plausible_answers`` are decoys, not gold. How the fields are found, and when this mapper
rather than ``qa_pair_passthrough`` fits (a list of passages, or unanswerable questions), is
``brewslm.mappers._reading``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Mapping

from brewslm.errors import MapperError
from brewslm.mappers._reading import (  # noqa: F401 - the readers are imported from here too
    ANSWER_NAMES,
    CONTEXT_NAMES,
    PASSAGE_TEXT_KEYS,
    QUESTION_NAMES,
    TRUE_WORDS,
    UNANSWERABLE_NAMES,
    find_reading_fields,
    read_answers,
    read_flag,
    read_passages,
)
from brewslm.mappers.base import (
    FieldSpec,
    Mapper,
    Proposal,
    Record,
    Rejection,
    attach_source_id,
    read_text,
)


class RagPassthrough(Mapper):
    id = "rag_passthrough"
    task_profile = "rag_qa"
    description = "Question + context or passages + answer; an empty answer or unanswerable flag is a refusal case."
    fields = (
        FieldSpec("question", candidates=QUESTION_NAMES, description="the question"),
        FieldSpec("context", candidates=CONTEXT_NAMES, description="a context string or a list of passages"),
        FieldSpec(
            "answer", candidates=ANSWER_NAMES, description="the answer, or a list of gold answers; empty = refusal"
        ),
        FieldSpec(
            "unanswerable",
            required=False,
            candidates=UNANSWERABLE_NAMES,
            description="a flag that is true when the passages do not answer the question",
        ),
        FieldSpec("id", required=False, candidates=("id", "qid", "question_id"), description="the source's row id"),
    )
    options_doc = {
        "refusal_answers": 'answer texts that mean \'no answer\' (e.g. ["unanswerable", "No answer"]); '
        "matched case-insensitively, they make refusal records",
    }

    def map_row(
        self, row: dict[str, Any], fields: Mapping[str, str], options: Mapping[str, Any]
    ) -> "list[Record] | Rejection":
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
        reading = find_reading_fields(profile)
        if reading is None or reading.context is None or reading.answer is None:
            return None
        question, context, answer = reading.question, reading.context, reading.answer
        field_map = {question: "question", context: "context", answer: "answer"}
        if reading.unanswerable:
            field_map[reading.unanswerable] = "unanswerable"
        source_id = profile.find(
            self.fields[4].candidates, lambda fp: fp.main_type in ("string", "number", "boolean"), exclude=field_map
        )
        if source_id:
            field_map[source_id] = "id"
        fields = self.canonical_map(field_map)
        options = {"refusal_answers": list(reading.refusal_answers)} if reading.refusal_answers else {}

        n = profile.n_rows
        reasons: Counter = Counter()
        accepted = refusals = extractive = aliased = 0
        for row in profile.rows:
            out = self.map_row(row, fields, options)
            if isinstance(out, Rejection):
                reasons[out.reason] += 1
                continue
            accepted += 1
            record = out[0]
            if record["is_refusal"]:
                refusals += 1
            else:
                extractive += any(record["answer"] in p for p in record["passages"])
                aliased += bool(record.get("alternatives"))
        answerable = accepted - refusals
        share = accepted / n if n else 0.0
        evidence = [
            f"field '{question}' holds questions, '{context}' their "
            + ("passages" if reading.passage_list else "context")
            + f", '{answer}' the answers"
        ]
        found = reading.describe_found()
        if found:
            evidence.append(found)
        evidence.extend(reading.notes)
        evidence.append(f"{accepted}/{n} sampled rows have a question, passages and an answer or refusal")
        if answerable:
            evidence.append(f"{extractive}/{answerable} answers are quoted verbatim from the passages")
        if aliased:
            evidence.append(
                f"{aliased}/{answerable} questions have several gold answers: all kept, the first is the "
                "training target, evaluation takes the best"
            )
        if refusals:
            flag = fields.get("unanswerable")
            marked = [f"flagged by '{flag}'"] if flag else []
            if options:
                marked.append(
                    "answers " + ", ".join(repr(a) for a in options["refusal_answers"]) + " (option refusal_answers)"
                )
            evidence.append(
                f"{refusals}/{accepted} questions are unanswerable (refusal cases: "
                + ", ".join(marked + ["empty answers"])
                + ")"
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
        if not reading.named:
            strong = answerable and extractive / answerable >= 0.8
            confidence = min(confidence, 0.8 if strong else 0.7)
            evidence.append("the question or answer field was found by its values, not by its name")
        if not reading.passage_list and not refusals and not fields.get("unanswerable"):
            confidence = min(confidence, 0.7)
            evidence.append(
                f"one context text per question and every question answered: qa_pair_passthrough "
                f"keeps '{context}' as the record's context"
            )
        return Proposal(self.id, field_map, round(confidence, 4), evidence, options)


MAPPER = RagPassthrough()
