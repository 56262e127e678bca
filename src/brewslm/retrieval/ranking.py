"""What every retriever returns and the pure functions on rankings: top-k, reciprocal-rank fusion
and recall@k.

A ranking is a list of ``Hit`` (index into the retriever's chunk list, score), best first; scores
are comparable only within one retriever. Ties keep the lower index first, so results are
deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Collection, Sequence

import numpy as np

RRF_K = 60
"""The rank offset of reciprocal-rank fusion (Cormack et al., 2009): large enough that one
retriever's first place does not outvote agreement lower down."""


@dataclass(frozen=True)
class Hit:
    index: int
    score: float


def top_k(scores: np.ndarray, k: int) -> list[Hit]:
    """The ``k`` best-scoring indices, best first (stable on ties)."""
    k = min(k, len(scores))
    if k <= 0:
        return []
    order = np.argsort(-scores, kind="stable")[:k]
    return [Hit(int(i), float(scores[i])) for i in order]


def reciprocal_rank_fusion(
    rankings: Sequence[Sequence[Hit]],
    *,
    k: int = RRF_K,
    weights: Sequence[float] | None = None,
    limit: int | None = None,
) -> list[Hit]:
    """Fuse rankings by summed ``weight / (k + rank)`` (rank from 1): only ranks count, so
    retrievers whose scores live on different scales (BM25, cosine) combine without tuning."""
    if weights is not None and len(weights) != len(rankings):
        raise ValueError(f"{len(weights)} weights for {len(rankings)} rankings")
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights if weights is not None else [1.0] * len(rankings)):
        for rank, hit in enumerate(ranking, 1):
            fused[hit.index] = fused.get(hit.index, 0.0) + weight / (k + rank)
    ordered = sorted(fused.items(), key=lambda item: (-item[1], item[0]))
    return [Hit(index, score) for index, score in ordered[:limit]]


def recall_at_k(retrieved: Sequence[Sequence[Hit]], relevant: Sequence[Collection[int]], k: int) -> float | None:
    """Share of queries with at least one relevant index in their top ``k`` hits; queries with no
    relevant index (nothing to find) are left out; None when no query has one."""
    if len(retrieved) != len(relevant):
        raise ValueError(f"{len(retrieved)} rankings for {len(relevant)} relevance sets")
    found = total = 0
    for hits, gold in zip(retrieved, relevant):
        if not gold:
            continue
        total += 1
        found += any(hit.index in gold for hit in hits[:k])
    return found / total if total else None
