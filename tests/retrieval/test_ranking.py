from __future__ import annotations

import numpy as np
import pytest

from brewslm.retrieval import Hit, recall_at_k, reciprocal_rank_fusion, top_k


def test_top_k_is_best_first_and_stable_on_ties():
    assert top_k(np.array([0.1, 0.9, 0.5, 0.9]), 3) == [Hit(1, 0.9), Hit(3, 0.9), Hit(2, 0.5)]
    assert top_k(np.array([1.0]), 5) == [Hit(0, 1.0)]
    assert top_k(np.array([]), 3) == []


def test_rrf_sums_reciprocal_ranks():
    lexical = [Hit(7, 12.0), Hit(3, 8.0), Hit(5, 1.0)]
    dense = [Hit(3, 0.9), Hit(9, 0.8)]
    fused = reciprocal_rank_fusion([lexical, dense], k=60)
    scores = {hit.index: hit.score for hit in fused}
    assert scores[3] == pytest.approx(1 / 62 + 1 / 61)
    assert scores[7] == pytest.approx(1 / 61)
    assert scores[9] == pytest.approx(1 / 62)
    assert [hit.index for hit in fused] == [3, 7, 9, 5]  # agreement beats one first place
    assert reciprocal_rank_fusion([lexical, dense], limit=2) == fused[:2]


def test_rrf_weights_and_ties_by_index():
    fused = reciprocal_rank_fusion([[Hit(4, 1.0)], [Hit(2, 1.0)]])
    assert [hit.index for hit in fused] == [2, 4]
    weighted = reciprocal_rank_fusion([[Hit(4, 1.0)], [Hit(2, 1.0)]], weights=[2.0, 1.0])
    assert [hit.index for hit in weighted] == [4, 2]
    with pytest.raises(ValueError):
        reciprocal_rank_fusion([[Hit(1, 1.0)]], weights=[1.0, 2.0])


def test_recall_at_k_skips_queries_with_nothing_to_find():
    retrieved = [[Hit(1, 1.0), Hit(2, 0.5)], [Hit(3, 1.0), Hit(4, 0.5)], [Hit(5, 1.0)]]
    relevant = [{2}, {9}, set()]
    assert recall_at_k(retrieved, relevant, 2) == 0.5
    assert recall_at_k(retrieved, relevant, 1) == 0.0
    assert recall_at_k(retrieved[2:], relevant[2:], 1) is None
