from __future__ import annotations

import numpy as np
import pytest

from brewslm.errors import ConfigError
from brewslm.retrieval import Embedder, EmbeddingIndex

TEXTS = [
    "How long do refunds take?",
    "When will I get my money back after returning an item?",
    "Shipping is free on orders over 50 euros.",
    "The museum opens at nine in the morning.",
]


def test_vectors_are_unit_length_and_in_input_order(embedder):
    vectors = embedder.encode(TEXTS, batch_size=3)
    assert vectors.shape == (4, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    one_by_one = np.stack([embedder.encode([text])[0] for text in TEXTS])
    np.testing.assert_allclose(vectors, one_by_one, atol=1e-5)  # length-sorted batching keeps the order


def test_paraphrases_are_nearest(embedder):
    index = EmbeddingIndex(embedder, TEXTS[1:])
    assert index.search("refund duration", 1)[0].index == 0
    assert index.search("delivery cost", 1)[0].index == 1
    scores = index.scores_many(["refund duration", "opening hours"])
    assert scores.shape == (2, 3) and scores[1].argmax() == 2


def test_same_vectors_as_sentence_transformers(embedder):
    sentence_transformers = pytest.importorskip("sentence_transformers")
    reference = sentence_transformers.SentenceTransformer(str(embedder.path), device="cpu")
    expected = reference.encode(TEXTS, normalize_embeddings=True)
    np.testing.assert_allclose(embedder.encode(TEXTS), expected, atol=1e-5)


def test_a_folder_that_is_not_a_model_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="config.json"):
        Embedder(tmp_path)
