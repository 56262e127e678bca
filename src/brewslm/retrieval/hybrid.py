"""One retriever over a chunk list: BM25, embeddings, or both fused by reciprocal rank.

Hybrid takes each retriever's top ``candidates`` and fuses the two rankings with RRF, so a chunk
that both rank well beats one that only one of them ranks first: BM25 catches exact names,
numbers and rare words, embeddings catch paraphrases. ``search_many`` embeds all queries in
batches, the way a recipe retrieves for a whole split at once.
"""

from __future__ import annotations

from typing import Literal, Sequence

from brewslm.errors import ConfigError
from brewslm.retrieval.bm25 import BM25Index
from brewslm.retrieval.chunking import Chunk
from brewslm.retrieval.embedding import Embedder, EmbeddingIndex, ProgressFn
from brewslm.retrieval.ranking import RRF_K, Hit, reciprocal_rank_fusion, top_k

RetrievalMode = Literal["bm25", "embedding", "hybrid"]
RETRIEVAL_MODES: tuple[str, ...] = ("bm25", "embedding", "hybrid")


class Retriever:
    """Search ``chunks`` by ``mode``; hits index into ``chunks``.

    ``embedder``: needed for embedding and hybrid (None = load the bundled all-MiniLM-L6-v2).
    """

    def __init__(
        self,
        chunks: Sequence[Chunk],
        *,
        mode: RetrievalMode = "hybrid",
        embedder: Embedder | None = None,
        candidates: int = 50,
        rrf_k: int = RRF_K,
        bm25_k1: float = 1.5,
        bm25_b: float = 0.75,
        progress: ProgressFn = None,
    ):
        if mode not in RETRIEVAL_MODES:
            raise ConfigError(f"retrieval mode '{mode}' is unknown: use one of {', '.join(RETRIEVAL_MODES)}")
        if not chunks:
            raise ConfigError("nothing to retrieve from: the document collection has no text")
        self.chunks = list(chunks)
        self.mode = mode
        self.candidates = candidates
        self.rrf_k = rrf_k
        texts = [chunk.text for chunk in self.chunks]
        self.bm25 = BM25Index(texts, k1=bm25_k1, b=bm25_b) if mode != "embedding" else None
        self.dense: EmbeddingIndex | None = None
        if mode != "bm25":
            self.dense = EmbeddingIndex(embedder if embedder is not None else Embedder(), texts, progress=progress)

    def search(self, query: str, k: int) -> list[Hit]:
        return self.search_many([query], k)[0]

    def search_many(self, queries: Sequence[str], k: int) -> list[list[Hit]]:
        """The top ``k`` chunks per query, best first."""
        if self.dense is None:
            # BM25 alone still fills all k places (texts sharing no term last, by index), so every
            # prompt carries the same number of passages
            return [top_k(self.bm25.scores(query), k) for query in queries]
        similarities = self.dense.scores_many(queries)
        if self.bm25 is None:
            return [top_k(row, k) for row in similarities]
        width = max(k, self.candidates)
        return [
            reciprocal_rank_fusion([self.bm25.search(query, width), top_k(row, width)], k=self.rrf_k, limit=k)
            for query, row in zip(queries, similarities)
        ]
