from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest

from brewslm.retrieval import BM25Index, tokenize

CORPUS = [
    "Refunds are paid within 14 days of the return arriving.",
    "Shipping is free on orders over 50 euros; express shipping costs 9 euros.",
    "Gift cards never expire.",
    "The return window is 30 days; refunds go to the original payment method.",
    "",
]


def reference_scores(corpus, query, k1, b):
    """BM25 written out term by term, straight from the formula."""
    docs = [tokenize(text) for text in corpus]
    average = sum(len(d) for d in docs) / len(docs)
    n = len(docs)
    out = []
    for doc in docs:
        counts = Counter(doc)
        score = 0.0
        for term in tokenize(query):
            df = sum(term in d for d in docs)
            if not df:
                continue
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            tf = counts[term]
            if not tf:
                continue
            score += idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len(doc) / average))
        out.append(score)
    return np.array(out)


@pytest.mark.parametrize("k1,b", [(1.5, 0.75), (1.2, 0.0), (0.0, 1.0), (2.0, 1.0)])
@pytest.mark.parametrize("query", ["refunds days", "shipping shipping euros", "Gift, cards!", "nothing matches"])
def test_scores_match_the_formula(query, k1, b):
    index = BM25Index(CORPUS, k1=k1, b=b)
    np.testing.assert_allclose(index.scores(query), reference_scores(CORPUS, query, k1, b), rtol=1e-12)


def test_search_ranks_and_drops_texts_without_a_shared_term():
    index = BM25Index(CORPUS)
    hits = index.search("how many days for a refund of my return", 10)
    assert [hit.index for hit in hits][:2] == [0, 3] or [hit.index for hit in hits][:2] == [3, 0]
    assert all(hit.score > 0 for hit in hits) and 2 not in [hit.index for hit in hits]
    assert index.search("express", 3)[0].index == 1
    assert index.search("zebra", 3) == []


def test_tokens_are_casefolded_words():
    assert tokenize("Refund, REFUND's 14-day") == ["refund", "refund", "s", "14", "day"]


def test_bad_parameters_and_empty_corpus():
    with pytest.raises(ValueError):
        BM25Index(CORPUS, b=1.5)
    assert BM25Index([]).search("anything", 3) == []
