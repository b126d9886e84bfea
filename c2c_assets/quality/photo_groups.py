"""Near-duplicate photo groups and stock photos.

Exact duplicates are one row already (photos are stored by sha256). Near duplicates: photos whose
pHash || dHash codes differ in at most ``NEAR_DUPLICATE_BITS`` bits, found with a FAISS binary index
(exact up to ``EXACT_ROWS`` codes, a binary IVF beyond: the float helper ``c2c_assets.neighbours`` does
not take Hamming codes), joined into groups as connected components (scipy). Every photo is in exactly
one group; a photo that could not be hashed is a group of its own.
"""

from __future__ import annotations

import math

import numpy as np

from c2c_assets.quality import thresholds as T

# Measured at 2M random 512-bit codes on 2 cores (every code queried, k = 17): sqrt(n) lists probed 8 deep
# cost 110 CPU-s to search, growing as n^1.5; sqrt(2n) lists probed 2 deep, 39 CPU-s (+12 to build with
# 10 k-means iterations). An exact index costs n^2: 3.5 CPU-s at 40K codes, so it stops at 20K.
EXACT_ROWS = 20_000
QUERY_BATCH = 65_536
NPROBE = 2
_TRAIN_PER_LIST = 16
_KMEANS_ITERATIONS = 10


def binary_index(codes: np.ndarray, *, exact_rows: int = EXACT_ROWS, seed: int = 0):  # -> faiss.IndexBinary
    import faiss

    n, width = codes.shape
    bits = width * 8
    if n <= exact_rows:
        index = faiss.IndexBinaryFlat(bits)
    else:
        lists = max(1, int(math.sqrt(2 * n)))
        index = faiss.IndexBinaryIVF(faiss.IndexBinaryFlat(bits), bits, lists)
        index.cp.niter = _KMEANS_ITERATIONS
        sample = np.random.default_rng(seed).choice(n, size=min(n, lists * _TRAIN_PER_LIST), replace=False)
        index.train(codes[np.sort(sample)])
        index.nprobe = NPROBE
    index.add(codes)
    return index


def near_pairs(codes: np.ndarray, *, max_bits: int = T.NEAR_DUPLICATE_BITS, k: int = T.PHOTO_NEIGHBOURS,
               index=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # noqa: ANN001
    """Row pairs ``i < j`` of ``codes`` ((n, bytes) uint8) at most ``max_bits`` apart, among each row's
    ``k`` nearest; each pair once, with its distance in bits."""
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    n = codes.shape[0]
    empty = np.zeros(0, dtype=np.int64)
    if n < 2:
        return empty, empty.copy(), np.zeros(0, dtype=np.int32)
    if index is None:
        index = binary_index(codes)
    fetch = min(k + 1, n)
    firsts, seconds, dists = [], [], []
    for start in range(0, n, QUERY_BATCH):
        stop = min(start + QUERY_BATCH, n)
        distance, rows = index.search(codes[start:stop], fetch)
        query = np.repeat(np.arange(start, stop, dtype=np.int64), fetch)
        rows, distance = rows.ravel(), distance.ravel()
        keep = (rows >= 0) & (rows != query) & (distance <= max_bits)
        firsts.append(np.minimum(query[keep], rows[keep]))
        seconds.append(np.maximum(query[keep], rows[keep]))
        dists.append(distance[keep].astype(np.int32))
    first, second, dist = np.concatenate(firsts), np.concatenate(seconds), np.concatenate(dists)
    if first.size == 0:
        return empty, empty.copy(), np.zeros(0, dtype=np.int32)
    _, unique = np.unique(first * np.int64(n) + second, return_index=True)
    return first[unique], second[unique], dist[unique]


def components(n: int, first: np.ndarray, second: np.ndarray) -> np.ndarray:
    """The connected component of each of ``n`` nodes given undirected edges."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    graph = coo_matrix((np.ones(first.size, dtype=np.int8), (first, second)), shape=(n, n))
    return connected_components(graph, directed=False)[1]
