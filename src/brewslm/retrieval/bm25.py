"""Okapi BM25 over a fixed list of texts (the lexical half of hybrid retrieval).

score(q, d) = sum over query terms t of idf(t) * tf(t, d) * (k1 + 1) / (tf(t, d) + k1 * (1 - b + b * |d| / avgdl))
with Lucene's non-negative idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5)); a query term repeated
counts once per occurrence. Tokens are casefolded runs of letters and digits, so "Refund," and
"refund" match; no stemming or stop words (idf already discounts common words).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import Sequence

import numpy as np

from brewslm.retrieval.ranking import Hit, top_k

_TOKEN = re.compile(r"\w+")


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.casefold())


class BM25Index:
    """An inverted index of ``texts``: ``scores(query)`` gives one score per text."""

    def __init__(self, texts: Sequence[str], *, k1: float = 1.5, b: float = 0.75):
        if k1 < 0 or not 0 <= b <= 1:
            raise ValueError(f"BM25 needs k1 >= 0 and 0 <= b <= 1, got k1={k1}, b={b}")
        self.k1 = k1
        self.b = b
        self.size = len(texts)
        documents = [Counter(tokenize(text)) for text in texts]
        lengths = np.array([sum(counts.values()) for counts in documents], dtype=np.float64)
        average = float(lengths.mean()) if self.size and lengths.mean() > 0 else 1.0
        # per-document part of the denominator, computed once
        self._norm = k1 * (1 - b + b * lengths / average)
        postings: dict[str, tuple[list[int], list[int]]] = {}
        for index, counts in enumerate(documents):
            for term, count in counts.items():
                docs, freqs = postings.setdefault(term, ([], []))
                docs.append(index)
                freqs.append(count)
        self._postings = {
            term: (np.array(docs, dtype=np.int64), np.array(freqs, dtype=np.float64))
            for term, (docs, freqs) in postings.items()
        }
        self._idf = {
            term: math.log(1 + (self.size - len(docs) + 0.5) / (len(docs) + 0.5))
            for term, (docs, _) in self._postings.items()
        }

    def scores(self, query: str) -> np.ndarray:
        scores = np.zeros(self.size, dtype=np.float64)
        for term in tokenize(query):
            posting = self._postings.get(term)
            if posting is None:
                continue
            docs, freqs = posting
            scores[docs] += self._idf[term] * freqs * (self.k1 + 1) / (freqs + self._norm[docs])
        return scores

    def search(self, query: str, k: int) -> list[Hit]:
        """The ``k`` best texts; texts sharing no term with the query (score 0) are left out."""
        return [hit for hit in top_k(self.scores(query), k) if hit.score > 0]
