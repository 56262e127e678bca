import pytest

from brewslm.tasks import get_task_profile
from brewslm.tasks.rag_qa import REFUSAL_OPENINGS, content_words, is_refusal, lexical_faithfulness, split_sentences
from brewslm.tasks.rendering import REFUSAL

PROFILE = get_task_profile("rag_qa")


def rec(**kw):
    base = {"question": "Who?", "passages": ["Ada wrote it."], "answer": "Ada", "is_refusal": False}
    base.update(kw)
    return base


def test_valid():
    assert PROFILE.validate(rec()) is None
    assert PROFILE.validate(rec(answer="", is_refusal=True)) is None
    assert PROFILE.validate(rec(alternatives=["Ada Lovelace"])) is None


def test_invalid():
    for bad, fragment in [
        (rec(answer=""), "is_refusal"),
        (rec(is_refusal=True), "is_refusal"),
        (rec(answer="", is_refusal=True, alternatives=["x"]), "no alternative"),
        (rec(passages=[]), "no passages"),
        (rec(passages=["a", "  "]), "empty passage"),
        (rec(passages="Ada wrote it."), "passages"),
        (rec(is_refusal="no"), "is_refusal"),
    ]:
        problem = PROFILE.validate(bad)
        assert problem is not None and problem.reason == "invalid_record", bad
        assert fragment in problem.detail, problem.detail


def test_summary_refusal_share():
    summary = PROFILE.new_summary({})
    summary.add(rec())
    summary.add(rec(answer="Bob", passages=["p1", "p2", "p3"], alternatives=["Robert"]))
    summary.add(rec(answer="", is_refusal=True))
    summary.add(rec(answer="", is_refusal=True))
    stats = summary.result()["stats"]
    assert stats["refusals"] == 2 and stats["refusal_share"] == 0.5
    assert stats["max_passages"] == 3 and stats["mean_passages"] == 1.5
    assert stats["extractive_share"] == 0.5
    assert stats["alternatives_share"] == 0.25


# --- reading a reply: the answer, refusals and lexical grounding (hand-computed) -------------------


def test_the_reader_reads_the_answer_stripped():
    reader = PROFILE.reply_reader()
    assert reader.parse("  Ada wrote it.\n", rec()) == "Ada wrote it." and reader.max_new_tokens == 160
    assert is_refusal(reader.parse(f" {REFUSAL} ", rec()))


PASSAGES = [
    "The Eiffel Tower was completed in 1889 for the World's Fair in Paris.",
    "Gustave Eiffel's company designed and built the tower.",
]


def test_split_sentences():
    assert split_sentences('It cost 3.5 francs, e.g. cheap. Then "it rose." Done!\n\nNew line? yes') == [
        "It cost 3.5 francs, e.g. cheap.",
        'Then "it rose."',
        "Done!",
        "New line? yes",
    ]
    assert split_sentences("Denver Broncos") == ["Denver Broncos"]
    assert split_sentences("  \n ") == []


def test_content_words_drop_function_words_and_articles():
    assert content_words("It was completed in the year 1889.") == {"completed", "year", "1889"}


def test_supported_and_unsupported_sentences():
    result = lexical_faithfulness("The tower was completed in 1889. It is painted bright green every spring.", PASSAGES)
    first, second = result.sentences
    assert first.support == 1.0 and first.supported  # tower, completed, 1889: all in passage 1
    # painted, bright, green, every, spring: none in any passage
    assert second.support == 0.0 and not second.supported
    assert result.checked == 2 and result.supported == 1 and result.score == 0.5
    assert result.unsupported == ["It is painted bright green every spring."]


def test_support_is_measured_against_the_best_single_passage():
    # content words: eiffel, company, built, 1889 (possessive dropped); passage 2 has eiffel/company/built
    # (3/4), passage 1 has eiffel/1889 (2/4): the best passage gives 0.75, not the union's 4/4
    result = lexical_faithfulness("Eiffel's company built it in 1889.", PASSAGES)
    assert result.sentences[0].support == pytest.approx(0.75)


def test_threshold():
    answer = "Eiffel designed a bridge."  # eiffel, designed, bridge: 2 of 3 in passage 2
    assert lexical_faithfulness(answer, PASSAGES, threshold=0.6).score == 1.0
    assert lexical_faithfulness(answer, PASSAGES, threshold=0.7).score == 0.0


def test_sentences_without_content_are_not_checked():
    result = lexical_faithfulness("Yes. It was.", PASSAGES)
    assert result.checked == 0 and result.score == 1.0
    assert lexical_faithfulness("", PASSAGES).score == 1.0


@pytest.mark.parametrize(
    "reply",
    [
        REFUSAL,
        REFUSAL.upper(),
        "I don\u2019t have that information",
        "I don't know.",
        "I cannot answer that.",
        "The passages do not say who built it.",
        "Not enough information to answer.",
    ],
)
def test_refusals(reply):
    assert is_refusal(reply)


@pytest.mark.parametrize(
    "reply",
    ["Not in 1889 but in 1890.", "The tower.", "", "I don't think so, it was 1889.", "Nothing else was built."],
)
def test_answers_are_not_refusals(reply):
    assert not is_refusal(reply)


def test_the_trained_sentence_is_an_opening():
    assert REFUSAL_OPENINGS[0] == REFUSAL


def test_possessives_match_their_noun_and_dashes_split_words():
    assert content_words("Eiffel\u2019s tower") == {"eiffel", "tower"}
    assert lexical_faithfulness("1775", ["Watt developed (1763\u20131775) an improved engine."]).score == 1.0
