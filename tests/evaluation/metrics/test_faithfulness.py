"""metrics.faithfulness: sentence splitting, lexical support, refusal detection (hand-computed)."""

from __future__ import annotations

import pytest

from brewslm.evaluation.metrics.faithfulness import (
    REFUSAL_OPENINGS,
    content_words,
    is_refusal,
    lexical_faithfulness,
    split_sentences,
)
from brewslm.tasks.rendering import REFUSAL

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
