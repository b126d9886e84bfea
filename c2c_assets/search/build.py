"""Building an encoder's indexes: one per side it has (post, text, image), over the current vectors,
tuned on held-out queries and published atomically (``index.publish``).

The vectors are streamed from the lake twice and never held as a second copy beside the index:

1. a seeded sample (what IVF trains on, and where the tuning queries come from);
2. every vector, in batches, into the index, while the exact top 10 of each tuning query is kept in a
   running heap (FAISS's ``ResultHeap``), so the ground truth needs no copy of the vectors either.

The plan (exact, HNSW, or IVF-PQ with re-ranking) is chosen from the row count and width before
anything is read, by what it would cost in memory against the budget (``index.choose_plan``).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import pyarrow as pa

from c2c_assets.analysis.reduction import sample_indices
from c2c_assets.embeddings.store import SIDES, current_side_shape, iter_current_side
from c2c_assets.home import C2cHome
from c2c_assets.search import index as idx

TUNING_QUERIES = 500
# Where the tuning queries find their partner (the nearest other sampled vector): big enough that the
# partner is a near neighbour, small enough to sit in memory beside the index.
QUERY_POOL = 20_000
BATCH_ROWS = 8_192  # rows per streamed batch: DuckDB buffers a few of them ahead (measured: 65,536 held 1.5 GB of 0.6)


def held_out_queries(vectors: np.ndarray, n: int = TUNING_QUERIES, seed: int = 0) -> np.ndarray:
    """Tuning queries that lie on the data but are not in the index: for a seeded sample of ``vectors``,
    the normalized midpoint between each and its nearest other vector (random points would sit
    between clusters, where no real query falls)."""
    rng = np.random.default_rng(seed)
    sample = vectors[rng.choice(len(vectors), size=min(n, len(vectors)), replace=False)]
    neighbours = idx.exact_neighbours(sample, vectors, min(2, len(vectors)))
    partner = vectors[neighbours[:, -1]] if len(vectors) > 1 else sample
    queries = sample + partner
    norms = np.linalg.norm(queries, axis=1, keepdims=True)
    return np.ascontiguousarray(queries / np.where(norms > 0, norms, 1), dtype=np.float32)


def _sample(home: C2cHome, encoder: str, column: str, n: int, size: int, seed: int) -> np.ndarray:
    """A seeded sample of ``size`` of the side's ``n`` vectors, in one streamed pass."""
    wanted = sample_indices(n, size, seed)
    parts, start = [], 0
    for _, matrix in iter_current_side(home, encoder, column, BATCH_ROWS):
        low, high = np.searchsorted(wanted, [start, start + len(matrix)])
        parts.append(matrix[wanted[low:high] - start])
        start += len(matrix)
    return np.ascontiguousarray(np.concatenate(parts), dtype=np.float32)


def build_side(
    home: C2cHome, encoder: str, side: str, column: str, memory_budget_bytes: int, log: Callable[[str], None]
) -> tuple[idx.BuildInfo, object, pa.Table] | None:
    """The tuned index of one side and its id map, or None where the encoder has no such side."""
    import faiss

    shape = current_side_shape(home, encoder, column)
    if shape is None:
        return None
    n, dim = shape
    plan = idx.choose_plan(n, dim, memory_budget_bytes)
    log(f"{encoder}/{side}: {n:,} x {dim} vectors -> {plan.kind} (about {idx.estimated_bytes(plan, n, dim) / 1e9:.2f} GB)")
    started = time.perf_counter()
    pool = _sample(home, encoder, column, n, max(QUERY_POOL, idx.training_rows(plan)), seed=0)
    idx.train(index := idx.new_index(plan, dim), plan, pool)
    idx.reserve(index, plan, n)
    queries = held_out_queries(pool, TUNING_QUERIES)
    del pool
    heap = faiss.ResultHeap(len(queries), min(idx.K, n), keep_max=True)  # inner product: the largest are nearest
    ids, added = [], 0
    for batch_ids, matrix in iter_current_side(home, encoder, column, BATCH_ROWS):
        index.add(matrix)
        scores, rows = faiss.knn(queries, matrix, min(idx.K, len(matrix)), metric=faiss.METRIC_INNER_PRODUCT)
        heap.add_result(scores, rows + added)
        ids.append(batch_ids)
        added += len(matrix)
    heap.finalize()
    idx.set_search_params(index, plan)
    plan, recall = idx.tune(index, plan, queries, heap.I)
    seconds = time.perf_counter() - started
    qps = idx.queries_per_second(index, queries)
    info = idx.BuildInfo(encoder, side, plan.kind, plan.params, added, dim, recall, seconds, qps, 0, time.time())
    return info, index, pa.concat_tables(ids)


def build_indexes(
    home: C2cHome, encoder: str, memory_budget_bytes: int = 8 << 30, log: Callable[[str], None] = lambda _: None
) -> list[idx.BuildInfo]:
    """One index per side the encoder has (post, text, image), each published atomically before the next is built."""
    infos = []
    for side, column in SIDES.items():
        built = build_side(home, encoder, side, column, memory_budget_bytes, log)
        if built is None:
            continue
        info, index, ids = built
        idx.publish(home, encoder, side, index, ids, info)
        del index, ids
        log(f"{encoder}/{side}: {info.kind} {info.params} over {info.n} vectors, recall@10 {info.recall_at_10:.3f}, "
            f"{info.queries_per_second:,.0f} q/s")
        infos.append(info)
    return infos
