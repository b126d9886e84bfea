"""Model B: the text of the nearest training posts, found by the frozen tower's image embedding.

Keys are the training photos' L2-normalized frozen features in a FAISS inner-product index (exact:
``IndexFlatIP``, so inner product = cosine). A query returns its ``k`` nearest training *posts*: a post's
similarity is that of its closest photo, so a post with many photos counts once. Their text embeddings
are averaged with weights ``softmax(sim / temperature)`` (a small temperature trusts the closest
neighbours more; unlike ``1 / (1 - sim + eps)`` it is bounded when a query equals a key) and the
mean is renormalized.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from c2c_assets.encoders.base import l2_normalize


class KnnTextModel:
    def __init__(self, k: int = 10, temperature: float = 0.05) -> None:
        if k < 1 or temperature <= 0:
            raise ValueError(f"k must be >= 1 and temperature > 0, got k={k}, temperature={temperature}")
        self.k = k
        self.temperature = temperature
        self.post_ids: list[str] = []
        self._keys = np.zeros((0, 0), dtype=np.float32)
        self._post_of_key = np.zeros(0, dtype=np.int64)
        self._texts = np.zeros((0, 0), dtype=np.float32)  # one row per post
        self._index: Any = None

    def fit(self, features: np.ndarray, texts: np.ndarray, post_ids: Sequence[str]) -> KnnTextModel:
        """One key per training photo (``features``), each with its post's text embedding (``texts``)."""
        if not len(features) == len(texts) == len(post_ids) or not len(features):
            raise ValueError("fit needs as many features, texts and post ids, and at least one")
        unique, first, codes = np.unique(np.asarray(post_ids, dtype=object), return_index=True, return_inverse=True)
        self.post_ids = [str(post) for post in unique]
        return self._build(l2_normalize(features), codes.astype(np.int64), l2_normalize(np.asarray(texts)[first]))

    def _build(self, keys: np.ndarray, post_of_key: np.ndarray, texts: np.ndarray) -> KnnTextModel:
        import faiss

        self._keys = np.ascontiguousarray(keys, dtype=np.float32)
        self._post_of_key = post_of_key
        self._texts = np.ascontiguousarray(texts, dtype=np.float32)
        self._index = faiss.IndexFlatIP(self._keys.shape[1])
        self._index.add(self._keys)
        return self

    @property
    def text_dim(self) -> int:
        return self._texts.shape[1]

    def neighbours(self, features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per query, (post rows, similarities) of its nearest distinct training posts, best first;
        rows past the number of posts are -1 with similarity -inf."""
        if self._index is None:
            raise ValueError("Model B is not fitted")
        queries = np.ascontiguousarray(l2_normalize(features), dtype=np.float32)
        k = min(self.k, len(self._texts))
        # Enough photos that the k best distinct posts are among them, however many photos a post has.
        photos_per_post = np.bincount(self._post_of_key).max()
        sims, keys = self._index.search(queries, min(len(self._keys), k * int(photos_per_post)))
        posts = np.full((len(queries), k), -1, dtype=np.int64)
        best = np.full((len(queries), k), -np.inf, dtype=np.float32)
        for row in range(len(queries)):
            found = self._post_of_key[keys[row][keys[row] >= 0]]
            _, first = np.unique(found, return_index=True)
            first = np.sort(first)[:k]  # each post at its best (first) hit, in similarity order
            posts[row, : len(first)] = found[first]
            best[row, : len(first)] = sims[row][first]
        return posts, best

    def predict(self, features: np.ndarray) -> np.ndarray:
        posts, sims = self.neighbours(features)
        weights = np.exp((sims - sims[:, :1]) / self.temperature)  # softmax, shifted by the max: no overflow
        weights /= weights.sum(axis=1, keepdims=True)
        return l2_normalize(np.einsum("qk,qkd->qd", weights, self._texts[np.maximum(posts, 0)]))

    def state(self) -> dict[str, Any]:
        """What a checkpoint stores (numpy arrays, plain values); ``from_state`` rebuilds the index."""
        return {"k": self.k, "temperature": self.temperature, "post_ids": list(self.post_ids),
                "keys": self._keys, "post_of_key": self._post_of_key, "texts": self._texts}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> KnnTextModel:
        model = cls(int(state["k"]), float(state["temperature"]))
        model.post_ids = list(state["post_ids"])
        return model._build(np.asarray(state["keys"]), np.asarray(state["post_of_key"], dtype=np.int64), np.asarray(state["texts"]))
