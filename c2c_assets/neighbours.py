"""Nearest neighbours among the platform's own vectors (FAISS), for the domains that ask "which posts
are like this one": price comparables, duplicates and reposts, uniqueness scores.

Vectors are float32 and unit-norm, so inner product is cosine similarity. Up to ``EXACT_ROWS``
database rows the search is exact (a flat index); beyond, an IVF index trained on a sample answers
with ``nprobe`` lists, which keeps a million-row all-pairs neighbour pass within minutes on two
cores. Queries go in batches so that the (batch, k) results are all that is held beside the index.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

EXACT_ROWS = 100_000
QUERY_BATCH = 16_384
NPROBE = 16
_TRAIN_PER_LIST = 40


@dataclass(frozen=True)
class Neighbours:
    """For each query row: its ``k`` nearest database rows, best first."""

    similarity: np.ndarray  # (n, k) float32; NaN where there were fewer than k candidates
    rows: np.ndarray  # (n, k) int64 database rows; -1 where there were fewer than k candidates


def _faiss() -> Any:
    import faiss

    return faiss


# Below this many vectors to add or search, FAISS runs on one thread: a day's few thousand queries take
# milliseconds, and on a shared 2-core machine a second OpenMP thread can wait for a core far longer (measured
# under load: adding a day's 6,600 codes to a 400K binary index, 2.6 s on 2 threads, 0.03 s on 1).
SMALL_WORK = 50_000


@contextmanager
def threads_for(work: int) -> Iterator[None]:
    """FAISS's OpenMP threads for ``work`` vectors: one below ``SMALL_WORK``, as set otherwise."""
    faiss = _faiss()
    if work >= SMALL_WORK:
        yield
        return
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def _as_matrix(vectors: np.ndarray) -> np.ndarray:
    matrix = np.ascontiguousarray(vectors, dtype=np.float32)
    if matrix.ndim != 2:
        raise ValueError(f"expected a 2-d matrix of vectors, got shape {matrix.shape}")
    return matrix


def neighbour_index(database: np.ndarray, *, exact_rows: int = EXACT_ROWS, seed: int = 0) -> Any:
    """A FAISS inner-product index over ``database``: flat (exact) up to ``exact_rows`` rows, else IVF."""
    faiss = _faiss()
    database = _as_matrix(database)
    n, dim = database.shape
    if n <= exact_rows:
        index = faiss.IndexFlatIP(dim)
    else:
        lists = max(1, int(4 * math.sqrt(n)))
        index = faiss.IndexIVFFlat(faiss.IndexFlatIP(dim), dim, lists, faiss.METRIC_INNER_PRODUCT)
        sample = np.random.default_rng(seed).choice(n, size=min(n, lists * _TRAIN_PER_LIST), replace=False)
        index.train(database[np.sort(sample)])
        index.nprobe = NPROBE
    index.add(database)
    return index


def knn(
    database: np.ndarray,
    k: int,
    *,
    queries: np.ndarray | None = None,
    self_rows: np.ndarray | None = None,
    index: Any | None = None,
) -> Neighbours:
    """The ``k`` nearest ``database`` rows of every query row (``queries`` defaults to ``database``).

    A query never gets its own row back: without ``queries`` each row excludes itself; with them,
    ``self_rows[q]`` names the database row to leave out for query ``q`` (-1: none). ``index`` may be
    one ``neighbour_index(database)`` built before, to query the same database several times.
    """
    if k < 1:
        raise ValueError("k must be >= 1")
    database = _as_matrix(database)
    n_db = database.shape[0]
    if queries is None:
        query_matrix = database
        own = np.arange(n_db, dtype=np.int64)
    else:
        query_matrix = _as_matrix(queries)
        if query_matrix.shape[1] != database.shape[1]:
            raise ValueError(f"queries have width {query_matrix.shape[1]}, the database {database.shape[1]}")
        own = np.full(query_matrix.shape[0], -1, dtype=np.int64) if self_rows is None else np.asarray(self_rows, np.int64)
        if own.shape != (query_matrix.shape[0],):
            raise ValueError("self_rows must have one entry per query row")
    n_queries = query_matrix.shape[0]
    similarity = np.full((n_queries, k), np.nan, dtype=np.float32)
    rows = np.full((n_queries, k), -1, dtype=np.int64)
    if n_db == 0 or n_queries == 0:
        return Neighbours(similarity, rows)
    if index is None:
        index = neighbour_index(database)
    fetch = min(k + 1, n_db)
    for start in range(0, n_queries, QUERY_BATCH):
        stop = min(start + QUERY_BATCH, n_queries)
        found_sim, found_rows = index.search(query_matrix[start:stop], fetch)
        # Drop each query's own row (wherever it ranked), then keep the first k that remain.
        keep = (found_rows != own[start:stop, None]) & (found_rows >= 0)
        order = np.argsort(~keep, axis=1, kind="stable")[:, :k]
        taken_rows = np.take_along_axis(found_rows, order, axis=1)
        taken_sim = np.take_along_axis(found_sim, order, axis=1)
        valid = np.take_along_axis(keep, order, axis=1)
        width = taken_rows.shape[1]
        rows[start:stop, :width] = np.where(valid, taken_rows, -1)
        similarity[start:stop, :width] = np.where(valid, taken_sim, np.nan)
    return Neighbours(similarity, rows)


def pairs_above(vectors: np.ndarray, threshold: float, *, k: int = 32) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row pairs ``(i, j)`` with ``i < j`` whose cosine similarity is at least ``threshold``, each once.

    Each row looks among its ``k`` nearest neighbours (FAISS range search would return every pair but
    its result size is unbounded for a dense region; a near-duplicate group larger than ``k`` still ends
    up connected through its members' own neighbour lists).
    """
    found = knn(vectors, k)
    query_rows = np.repeat(np.arange(found.rows.shape[0], dtype=np.int64), found.rows.shape[1])
    other = found.rows.ravel()
    sim = found.similarity.ravel()
    close = (other >= 0) & (sim >= threshold)
    first = np.minimum(query_rows[close], other[close])
    second = np.maximum(query_rows[close], other[close])
    sim = sim[close]
    if first.size == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty.copy(), np.zeros(0, dtype=np.float32)
    # The same pair found from both ends: keep it once.
    keys = first * np.int64(vectors.shape[0]) + second
    _, unique = np.unique(keys, return_index=True)
    return first[unique], second[unique], sim[unique].astype(np.float32)
