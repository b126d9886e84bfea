"""Building an encoder's indexes: one per side it has (post, text, image), over the current vectors,
tuned on held-out queries and published atomically (``index.publish``)."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from c2c_assets.embeddings.store import SIDES, current_side
from c2c_assets.home import C2cHome
from c2c_assets.search import index as idx


def held_out_queries(vectors: np.ndarray, n: int = 500, seed: int = 0) -> np.ndarray:
    """Tuning queries that lie on the data but are not in the index: for a seeded sample of vectors,
    the normalized midpoint between each and its nearest other vector (random points would sit
    between clusters, where no real query falls)."""
    import faiss

    rng = np.random.default_rng(seed)
    sample = vectors[rng.choice(len(vectors), size=min(n, len(vectors)), replace=False)]
    _, neighbours = faiss.knn(sample, vectors, 2, metric=faiss.METRIC_INNER_PRODUCT)
    partner = vectors[neighbours[:, 1]] if len(vectors) > 1 else sample
    queries = sample + partner
    norms = np.linalg.norm(queries, axis=1, keepdims=True)
    return np.ascontiguousarray(queries / np.where(norms > 0, norms, 1), dtype=np.float32)


def build_indexes(
    home: C2cHome, encoder: str, memory_budget_bytes: int = 8 << 30, log: Callable[[str], None] = lambda _: None
) -> list[idx.BuildInfo]:
    """One index per side the encoder has (post, text, image), published atomically."""
    infos = []
    for side, column in SIDES.items():
        loaded = current_side(home, encoder, column)
        if loaded is None:
            continue
        ids, vectors = loaded
        plan = idx.choose_plan(*vectors.shape, memory_budget_bytes)
        started = time.perf_counter()
        index = idx.build(vectors, plan)
        queries = held_out_queries(vectors)
        plan, recall = idx.tune(index, plan, vectors, queries)
        seconds = time.perf_counter() - started
        qps = idx.queries_per_second(index, queries)
        info = idx.BuildInfo(encoder, side, plan.kind, plan.params, len(vectors), vectors.shape[1], recall, seconds, qps, 0, time.time())
        idx.publish(home, encoder, side, index, ids, info)
        log(f"{encoder}/{side}: {plan.kind} {plan.params} over {len(vectors)} vectors, recall@10 {recall:.3f}, {qps:,.0f} q/s")
        infos.append(info)
    return infos
