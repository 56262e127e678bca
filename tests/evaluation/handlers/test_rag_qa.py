"""rag_qa handler: answer EM/F1 on answerable rows, faithfulness, refusal accuracy / precision /
recall, format compliance, options (hand-computed)."""

from __future__ import annotations

import pytest

from brewslm.errors import ConfigError
from brewslm.evaluation.handlers import get_eval_handler
from brewslm.evaluation.handlers.rag_qa import RagQaHandler, format_problems
from brewslm.tasks import get_task_profile
from brewslm.tasks.rendering import REFUSAL
from helpers.mapping import needs_shared, run_mapper, shared_rows, sniff
from helpers.scoring import metrics_of

PASSAGES = [
    "The Eiffel Tower was completed in 1889 for the World's Fair in Paris.",
    "Gustave Eiffel's company designed and built the tower.",
]
ANSWERABLE = {
    "question": "When was it completed?",
    "passages": PASSAGES,
    "answer": "1889",
    "is_refusal": False,
    "alternatives": ["in 1889"],
}
WHO = {"question": "Who built it?", "passages": PASSAGES, "answer": "Gustave Eiffel's company", "is_refusal": False}
UNANSWERABLE = {"question": "How tall is it?", "passages": PASSAGES, "answer": "", "is_refusal": True}


def test_registered():
    handler = get_eval_handler("rag_qa")
    assert isinstance(handler, RagQaHandler) and handler.headline == "overall_f1"


def test_a_perfect_model():
    handler, profile = RagQaHandler(), get_task_profile("rag_qa")
    records = [ANSWERABLE, WHO, UNANSWERABLE]
    predictions = [handler.parse(profile.render(r).completion, r) for r in records]
    assert predictions == [handler.gold(r) for r in records] == ["1889", "Gustave Eiffel's company", REFUSAL]
    metrics, _ = metrics_of(handler, records, predictions)
    assert metrics == {
        "overall_f1": 1.0,
        "overall_exact_match": 1.0,
        "exact_match": 1.0,
        "f1": 1.0,
        "faithfulness": 1.0,
        "refusal_accuracy": 1.0,
        "refusal_precision": 1.0,
        "refusal_recall": 1.0,
        "refusal_rate": pytest.approx(1 / 3),
        "format_compliance": 1.0,
        "length_ratio": 1.0,
        "unparseable_rate": 0.0,
    }


def test_a_refusal_gold_with_a_non_refusal_answer():
    handler = RagQaHandler()
    metrics, scored = metrics_of(handler, [UNANSWERABLE], ["It is 330 metres tall."])
    # not a refusal: refusal accuracy 0; no answerable rows: EM/F1 undefined; the answer's content words
    # (330, metres, tall) are in no passage: faithfulness 0
    assert metrics["refusal_accuracy"] == 0.0 and metrics["refusal_recall"] == 0.0
    assert metrics["refusal_precision"] is None  # it never refused
    assert metrics["exact_match"] is None and metrics["f1"] is None
    assert metrics["overall_f1"] == metrics["overall_exact_match"] == 0.0  # answered where it should refuse
    assert metrics["faithfulness"] == 0.0
    assert scored[0].detail["unsupported_sentences"] == ["It is 330 metres tall."]
    assert scored[0].detail["refused"] is False and scored[0].detail["gold_refusal"] is True


def test_refusing_an_answerable_question():
    handler = RagQaHandler()
    metrics, scored = metrics_of(handler, [ANSWERABLE, UNANSWERABLE], [REFUSAL, REFUSAL])
    assert metrics["f1"] == 0.0 and metrics["exact_match"] == 0.0
    assert metrics["overall_f1"] == 0.5  # the refusal row scores 1, the refused answerable row 0
    assert metrics["refusal_accuracy"] == 0.5
    assert metrics["refusal_precision"] == 0.5 and metrics["refusal_recall"] == 1.0 and metrics["refusal_rate"] == 1.0
    assert metrics["faithfulness"] is None  # nothing was answered
    assert "faithfulness" not in scored[0].detail


def test_answer_scores_use_alternatives_and_only_answerable_rows():
    handler = RagQaHandler()
    # row 1: "completed in 1889" vs best of "1889"/"in 1889": F1 = 2*(2/3*1)/(2/3+1) = 0.8, EM 0
    # row 2: exact alternative "in 1889": EM 1, F1 1; row 3 (refusal gold) correctly refused: not in EM/F1
    metrics, _ = metrics_of(handler, [ANSWERABLE, ANSWERABLE, UNANSWERABLE], ["completed in 1889", "In 1889.", REFUSAL])
    assert metrics["exact_match"] == 0.5
    assert metrics["f1"] == pytest.approx((0.8 + 1.0) / 2)
    # SQuAD 2.0's official scores count the correctly refused row as 1
    assert metrics["overall_f1"] == pytest.approx((0.8 + 1.0 + 1.0) / 3)
    assert metrics["overall_exact_match"] == pytest.approx(2 / 3)
    assert metrics["refusal_accuracy"] == 1.0


def test_faithfulness_is_averaged_over_answered_rows():
    handler = RagQaHandler()
    answers = [
        "The tower was completed in 1889. It is painted green every spring.",  # 1 of 2 sentences
        "Gustave Eiffel's company built it.",
    ]  # supported
    metrics, _ = metrics_of(handler, [ANSWERABLE, WHO, UNANSWERABLE], answers + [REFUSAL])
    assert metrics["faithfulness"] == pytest.approx((0.5 + 1.0) / 2)


def test_support_threshold_option():
    answer = ["Eiffel designed a bridge."]  # eiffel, designed, bridge: 2 of 3 in one passage
    assert metrics_of(RagQaHandler({"support_threshold": 0.6}), [WHO], answer)[0]["faithfulness"] == 1.0
    assert metrics_of(RagQaHandler({"support_threshold": 0.7}), [WHO], answer)[0]["faithfulness"] == 0.0


def test_format_compliance():
    assert format_problems("1889", 500) == []
    assert format_problems("  ", 500) == ["empty reply"]
    assert format_problems("1889<|im_end|>", 500) == ["chat-template debris"]
    assert format_problems("assistant: 1889", 500) == ["chat-template debris"]
    assert format_problems("[INST] 1889", 500) == ["chat-template debris"]
    assert format_problems("I don't know.", 500) == ["refusal not worded exactly as trained"]
    assert format_problems(REFUSAL, 500) == []
    assert format_problems("x" * 11, 10) == ["longer than 10 characters"]
    handler = RagQaHandler({"max_answer_chars": 10})
    metrics, scored = metrics_of(
        handler, [ANSWERABLE, ANSWERABLE, UNANSWERABLE], ["1889", "It was completed in 1889.", "I don't know."]
    )
    assert metrics["format_compliance"] == pytest.approx(1 / 3)
    assert scored[1].detail["format_problems"] == ["longer than 10 characters"]
    assert metrics["refusal_accuracy"] == 1.0  # a loosely worded refusal is still a refusal


def test_unparseable():
    metrics, scored = metrics_of(RagQaHandler(), [ANSWERABLE, UNANSWERABLE], [None, None])
    assert metrics["unparseable_rate"] == 1.0 and metrics["refusal_accuracy"] == 0.0
    assert metrics["f1"] == 0.0 and metrics["format_compliance"] == 0.0 and metrics["faithfulness"] is None
    assert scored[0].detail["format_problems"] == ["unparseable"]


def test_length_ratio_counts_the_refusal_sentence():
    metrics, _ = metrics_of(RagQaHandler(), [UNANSWERABLE, ANSWERABLE], [REFUSAL, "1889 AD"])
    assert metrics["length_ratio"] == pytest.approx((len(REFUSAL) + 7) / (len(REFUSAL) + 4))


@pytest.mark.parametrize(
    "options, message",
    [
        ({"faithfulness": "nli"}, "faithfulness='nli' is not available for rag_qa; scorers: lexical"),
        ({"support_threshold": 2}, "support_threshold must be a number from 0 to 1"),
        ({"max_answer_chars": 0}, "max_answer_chars must be a whole number"),
        (
            {"suport_threshold": 0.5},
            "unknown handler option 'suport_threshold' for rag_qa; did you mean 'support_threshold'?",
        ),
    ],
)
def test_bad_options(options, message):
    with pytest.raises(ConfigError) as caught:
        RagQaHandler(options)
    assert message in str(caught.value) and "\n" not in str(caught.value)


@needs_shared
def test_shared_squad_gold_replies_are_correct_grounded_and_compliant():
    data = shared_rows("jsonl:qa_squad2/dev.jsonl")
    records = run_mapper("rag_passthrough", data, sniff("rag_passthrough", data).field_map).records
    handler, profile = RagQaHandler(), get_task_profile("rag_qa")
    replies = [handler.parse(profile.render(r).completion, r) for r in records]
    metrics, _ = metrics_of(handler, records, replies)
    # SQuAD answers are quoted from their passage: fully supported
    assert metrics["f1"] == metrics["faithfulness"] == metrics["refusal_accuracy"] == 1.0
    assert metrics["format_compliance"] == 1.0
    # never refusing: every refusal row is wrong, answerable rows keep their scores
    never, _ = metrics_of(handler, records, [r["answer"] or "It was in 1850." for r in records])
    answerable_share = sum(not r["is_refusal"] for r in records) / len(records)
    assert never["refusal_accuracy"] == pytest.approx(answerable_share) and never["refusal_recall"] == 0.0
    assert never["f1"] == 1.0 and never["faithfulness"] < 1.0
