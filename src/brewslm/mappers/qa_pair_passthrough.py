"""qa_pair_passthrough: question + answer (+ optional context) -> qa records.

Answers come as a string, a number, a list of strings (an alias list), a SQuAD list
``[{text, answer_start}]`` or a Hugging Face dict ``{text: [...], answer_start: [...]}``: every
distinct gold is kept, the first as ``answer`` (the training target) and the others, in source
order, as ``alternatives`` (evaluation scores a reply by the best of them). The context is one
text; a list of passages, or unanswerable questions (an empty answer list, a true
``is_impossible``), are retrieval QA: ``rag_passthrough`` reads them, with refusals. Here a row
flagged unanswerable is rejected (``unanswerable``): a qa record cannot say "no answer".
How the fields are found is ``brewslm.mappers._reading``.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Mapping

from brewslm.mappers._reading import (  # noqa: F401 - read_answers and the names are imported from here too
    ANSWER_TEXT_KEYS,
    CONTEXT_NAMES,
    UNANSWERABLE_NAMES,
    answer_like,
    find_reading_fields,
    read_answers,
    read_flag,
)
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
    read_text,
)

# Names guessed for the one context text (a field the sniffer leaves out, such as a list of
# passages, must not come back by its name): Alpaca-style 'input' is an optional addition to the
# instruction, not retrieved context.
OPTIONAL_CONTEXT_NAMES = ("context", "passage", "document", "paragraph", "article", "input")


class QaPairPassthrough(Mapper):
    id = "qa_pair_passthrough"
    task_profile = "qa"
    description = "Question + answer (+ optional context) pairs; every gold of an alias or SQuAD answer list is kept."
    fields = (
        FieldSpec("question", candidates=QUESTION_NAMES, description="the question"),
        FieldSpec("answer", candidates=ANSWER_NAMES, description="the answer text, or a list of gold answers"),
        FieldSpec("context", required=False, candidates=OPTIONAL_CONTEXT_NAMES, description="a context passage"),
        FieldSpec(
            "unanswerable",
            required=False,
            candidates=UNANSWERABLE_NAMES,
            description="a flag that is true when the question has no answer (such rows are rejected)",
        ),
        FieldSpec("id", required=False, candidates=("id", "qid", "question_id"), description="the source's row id"),
    )

    def map_row(
        self, row: dict[str, Any], fields: Mapping[str, str], options: Mapping[str, Any]
    ) -> "list[Record] | Rejection":
        question = read_text(row, fields.get("question"), "missing_question")
        if isinstance(question, Rejection):
            return question
        unanswerable = read_flag(row, fields.get("unanswerable"))
        if isinstance(unanswerable, Rejection):
            return unanswerable
        if unanswerable:
            return Rejection(
                "unanswerable",
                f"field '{fields['unanswerable']}' flags the question as unanswerable; "
                "qa records have no refusal (rag_passthrough keeps such rows as refusals)",
            )
        answers = read_answers(row, fields.get("answer"))
        if isinstance(answers, Rejection):
            return answers
        if not answers:
            src = fields.get("answer")
            return Rejection(
                "missing_answer", f"field '{src}' has no answer" if src else "no source field mapped to answer"
            )
        record: Record = {"question": question, "answer": answers[0]}
        if fields.get("context"):
            value = get_path(row, fields["context"])
            if value is not MISSING and value is not None and not (isinstance(value, str) and not value.strip()):
                context = read_text(row, fields["context"], "missing_context")
                if isinstance(context, Rejection):
                    return context
                record["context"] = context
        if len(answers) > 1:
            record["alternatives"] = answers[1:]
        return attach_source_id([record], row, fields)

    def sniff(self, profile) -> Proposal | None:
        n = profile.n_rows
        if not n:
            return None
        reading = find_reading_fields(profile)
        if reading is not None and reading.answer is not None:
            question, answer, by_name = reading.question, reading.answer, reading.named
        elif reading is not None and reading.context is not None:
            return None  # questions and their context, but no gold answer (decoys, predictions) to map
        else:
            # no usual names: a column of questions beside one other text column
            reading = None
            question, answer = _questions_by_value(profile)
            by_name = False
            if not question or not answer:
                return None
        field_map = {question: "question", answer: "answer"}
        passages = context = None
        if reading is not None and reading.context is not None:
            if reading.passage_list:
                passages = reading.context
            else:
                context = reading.context
                field_map[context] = "context"
        else:
            optional = profile.find(("input",), lambda fp: fp.main_type == "string", exclude=field_map)
            if optional:
                field_map[optional] = "context"
        unanswerable = reading.unanswerable if reading is not None else None
        if unanswerable:
            field_map[unanswerable] = "unanswerable"
        source_id = profile.find(
            self.fields[4].candidates, lambda fp: fp.main_type in ("string", "number"), exclude=field_map
        )
        if source_id:
            field_map[source_id] = "id"
        fields = self.canonical_map(field_map)

        reasons: Counter = Counter()
        accepted = asked = aliased = with_context = extractive = 0
        for row in profile.rows:
            q = row.get(question)
            asked += isinstance(q, str) and q.rstrip().endswith("?")
            out = self.map_row(row, fields, {})
            if isinstance(out, Rejection):
                reasons[out.reason] += 1
            else:
                accepted += 1
                record = out[0]
                aliased += bool(record.get("alternatives"))
                if "context" in record:
                    with_context += 1
                    extractive += record["answer"] in record["context"]
        share = accepted / n if n else 0.0
        evidence = [f"field '{question}' holds questions, '{answer}' their answers"]
        if reading is not None:
            found = reading.describe_found()
            if found:
                evidence.append(found)
            evidence.extend(reading.notes)
        evidence.append(f"{accepted}/{n} sampled rows have a question and an answer")
        if aliased:
            evidence.append(
                f"{aliased}/{accepted} questions have several gold answers: all kept, the first is the "
                "training target, evaluation takes the best"
            )
        if asked:
            evidence.append(f"{asked}/{n} questions end with '?'")
        confidence = 0.6
        asked_share = question_share(profile, question)
        if share >= 0.9:
            # generic names (prompt/input -> output) need questions that read like questions
            specific = question.lower() in SPECIFIC_QUESTION_NAMES or answer.lower() == "completion"
            confidence = 0.85 if (specific or asked_share >= 0.3) else 0.75
            if (
                context
                and by_name
                and asked_share >= QUESTION_SHARE
                and with_context >= 0.9 * accepted
                and extractive >= 0.8 * with_context
            ):
                # reading comprehension: questions, and answers quoted from their context (SQuAD v1);
                # the questions' words recur in the context too, which is no extraction target
                confidence = 0.92
                evidence.append(f"{extractive}/{with_context} answers are quoted verbatim from '{context}'")
        elif share >= 0.6:
            confidence = 0.7
        if not by_name:
            confidence = min(confidence, 0.7)
            evidence.append(
                f"no usual question/answer names: '{question}' was chosen because its values read as questions"
            )
        answer_fp = profile.fields[answer]
        if is_label_like(answer_fp, n) and asked_share < QUESTION_SHARE:
            # "answers" drawn from a few classes, to inputs that are not questions: a classifier's data
            confidence = min(confidence, 0.6)
            evidence.append(
                f"'{answer}' holds {answer_fp.distinct} recurring values ({describe_values(answer_fp)}) and only "
                f"{asked_share:.0%} of '{question}' read as questions: more like class labels than answers"
            )
        refusals = reasons.get("missing_answer", 0) + reasons.get("unanswerable", 0)
        if reading is not None and reading.refusal_answers:
            said = set(reading.refusal_answers)
            refusals += sum(
                1
                for row in profile.rows
                if isinstance(golds := read_answers(row, answer), list) and golds and golds[0] in said
            )
            evidence.append(
                "answers "
                + ", ".join(repr(a) for a in reading.refusal_answers)
                + " say the question has no answer: refusal cases a qa record cannot hold"
            )
        if reading is not None and reading.context_unread:
            confidence = min(confidence, 0.6)  # (the evidence line is among the reading notes)
        back = [
            src
            for src, dst in self.resolve_field_map(field_map, list(profile.fields)).items()
            if dst == "context" and src not in field_map
        ]
        if back:
            # the sniffer left this field out (the answer again, passages, unreadable values), but an
            # import guesses an unmapped optional field by its usual name: not silently, then
            confidence = min(confidence, 0.6)
            evidence.append(
                f"'{back[0]}' was left out as a context, but its name makes the import take it as "
                "the context anyway: rename or drop that column to import without it"
            )
        if passages:
            confidence = min(confidence, 0.55)
            evidence.append(f"field '{passages}' holds a list of passages per question: rag_passthrough fits better")
        if (passages or context) and refusals:
            confidence = min(confidence, 0.45)
            evidence.append(
                f"unanswerable questions ({refusals} rows without an answer"
                + (f", field '{unanswerable}'" if unanswerable else "")
                + ") are refusal cases: rag_passthrough keeps them"
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
        lambda fp: (
            fp.frac("string") >= 0.9
            and fp.present >= 0.8 * n
            and not is_id_like_name(fp.path)
            and question_share(profile, fp.path) >= 0.8
        ),
        key=lambda fp: question_share(profile, fp.path),
        top_level_only=True,
    )
    if question is None:
        return None, None
    answer = profile.best(
        lambda fp: (
            fp.present >= 0.8 * n
            and not is_id_like_name(fp.path)
            and leaf_name(fp.path).lower() not in LABEL_NAMES
            and (is_free_text(fp, n, 1.0) or (fp.frac("string") >= 0.9 and is_label_like(fp, n)))
            and question_share(profile, fp.path) < QUESTION_SHARE
        ),
        key=lambda fp: fp.mean_words,
        exclude=[question],
        top_level_only=True,
    )
    return question, answer


MAPPER = QaPairPassthrough()
