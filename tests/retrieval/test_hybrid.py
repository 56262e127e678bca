from __future__ import annotations

import pytest

from brewslm.errors import ConfigError
from brewslm.retrieval import Document, Retriever, chunk_documents, reciprocal_rank_fusion

DOCS = [
    Document("refunds", "Refunds are paid within 14 days of the return arriving at our warehouse."),
    Document("shipping", "Shipping is free on orders over 50 euros. Express delivery costs 9 euros."),
    Document("giftcards", "Gift cards never expire and cannot be exchanged for cash."),
    Document("sku", "Replacement part KX-4471 fits every blender made since 2019."),
    Document("hours", "Our support team answers the phone from 8 am to 6 pm on weekdays."),
]
CHUNKS = chunk_documents(DOCS, 200)


def doc_of(retriever, hits):
    return [retriever.chunks[hit.index].doc_id for hit in hits]


def test_bm25_mode_needs_no_embedder():
    retriever = Retriever(CHUNKS, mode="bm25")
    assert retriever.dense is None
    assert doc_of(retriever, retriever.search("part KX-4471", 2))[0] == "sku"
    assert [len(hits) for hits in retriever.search_many(["cash gift", "euros"], 1)] == [1, 1]


def test_embedding_mode_finds_paraphrases(embedder):
    retriever = Retriever(CHUNKS, mode="embedding", embedder=embedder)
    assert doc_of(retriever, retriever.search("when do I get my money back", 1)) == ["refunds"]
    assert doc_of(retriever, retriever.search("what time can I call you", 1)) == ["hours"]


def test_hybrid_is_the_rrf_of_both_rankings(embedder):
    hybrid = Retriever(CHUNKS, mode="hybrid", embedder=embedder, candidates=5)
    queries = ["when do I get my money back", "KX-4471", "delivery price"]
    expected = [reciprocal_rank_fusion([hybrid.bm25.search(q, 5), hybrid.dense.search(q, 5)], limit=3) for q in queries]
    assert hybrid.search_many(queries, 3) == expected
    assert doc_of(hybrid, hybrid.search("money back after a return", 1)) == ["refunds"]
    assert doc_of(hybrid, hybrid.search("KX-4471", 1)) == ["sku"]


def test_bad_mode_and_empty_collection_are_config_errors():
    with pytest.raises(ConfigError, match="bm25, embedding, hybrid"):
        Retriever(CHUNKS, mode="dense")
    with pytest.raises(ConfigError, match="no text"):
        Retriever([], mode="bm25")
