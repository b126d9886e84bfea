"""2-D coordinates and nearest neighbours for every post of an encoder, in minutes at a million posts.

UMAP is fitted on a seeded sample (the map sample, 70,000 by default); every other post is placed at
the distance-weighted mean of the 2-D positions of its nearest sample posts in the reduced space.
That is what ``umap.UMAP.transform`` does before its refinement epochs, without them: at 1M posts the
refinement (30 epochs of SGD over the new points' graph) costs most of the time and moves points by a
fraction of a cluster, while the interpolation is one FAISS search. Neighbours over all posts (the
explorer's "nearest neighbours") come from a FAISS IVF index: exact search below ``EXACT_BELOW`` rows.

Heavy imports (faiss, umap) are inside the functions.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from c2c_assets.analysis import reduction
from c2c_assets.home import C2cHome

__all__ = ["EXACT_BELOW", "Layout", "layout", "nearest_neighbours"]

# Below this many rows a flat (exact) index is fast enough and IVF training would be noise.
EXACT_BELOW = 50_000
SEARCH_BATCH = 65_536
# Sample neighbours used to place an out-of-sample post (umap's transform uses n_neighbors=15 too).
PLACE_NEIGHBOURS = 15


@dataclass(frozen=True, eq=False)
class Layout:
    xy: np.ndarray  # (n, 2) float32
    sample_rows: np.ndarray  # rows UMAP was fitted on (sorted)


def _index(x: np.ndarray, seed: int):  # -> faiss.Index
    import faiss

    d = x.shape[1]
    if len(x) < EXACT_BELOW:
        index = faiss.IndexFlatL2(d)
    else:
        # About 4 sqrt(n) lists, trained on a seeded sample of 40 points per list (FAISS's own advice).
        nlist = int(min(16_384, 4 * np.sqrt(len(x))))
        quantizer = faiss.IndexFlatL2(d)
        index = faiss.IndexIVFFlat(quantizer, d, nlist)
        train = x[reduction.sample_indices(len(x), min(len(x), 40 * nlist), seed)]
        index.cp.seed = seed
        index.train(train)
        index.nprobe = 8
    for start in range(0, len(x), SEARCH_BATCH):
        index.add(x[start : start + SEARCH_BATCH])
    return index


def _search(index, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    distances = np.empty((len(queries), k), dtype=np.float32)
    ids = np.empty((len(queries), k), dtype=np.int64)
    for start in range(0, len(queries), SEARCH_BATCH):
        d, i = index.search(queries[start : start + SEARCH_BATCH], k)
        distances[start : start + len(d)] = d
        ids[start : start + len(i)] = i
    return distances, ids


def layout(vectors: np.ndarray, sample_size: int, seed: int, *, home: C2cHome | None = None) -> Layout:
    """2-D coordinates of every row of ``vectors``: UMAP on a seeded sample, interpolation for the rest."""
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(x)
    if n < 3:
        # UMAP needs 3 points; one or two posts still get a place on the map.
        return Layout(np.column_stack([np.arange(n), np.zeros(n)]).astype(np.float32), np.arange(n))
    rows = reduction.sample_indices(n, sample_size, seed)
    fitted = reduction.umap_reduce(x[rows], 2, seed, n_neighbors=min(15, max(2, len(rows) - 1)), home=home)
    xy = np.empty((n, 2), dtype=np.float32)
    xy[rows] = fitted
    rest = np.setdiff1d(np.arange(n), rows, assume_unique=True)
    if len(rest):
        k = min(PLACE_NEIGHBOURS, len(rows))
        distances, ids = _search(_index(x[rows], seed), x[rest], k)
        found = ids >= 0  # IVF may return fewer than k (-1) when its probed lists are small
        weights = np.where(found, 1.0 / (np.sqrt(np.maximum(distances, 0.0)) + 1e-6), 0.0)
        weights /= np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
        xy[rest] = np.einsum("nk,nkd->nd", weights, fitted[np.where(found, ids, 0)]).astype(np.float32)
    return Layout(xy, rows)


def nearest_neighbours(vectors: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``k`` nearest other rows (ids int32, -1 where fewer exist) and their L2 distances."""
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(x)
    want = min(k + 1, n)
    if n == 0 or k <= 0:
        return np.zeros((n, 0), np.int32), np.zeros((n, 0), np.float32)
    distances, ids = _search(_index(x, seed), x, want)
    # Drop each row itself (usually first; exact duplicates may rank it later), keep k.
    drop = (ids == np.arange(n)[:, None]) | (ids < 0)
    order = np.argsort(drop, axis=1, kind="stable")[:, :k]  # kept columns first, in distance order
    kept_ids = np.take_along_axis(ids, order, axis=1)
    kept_d = np.take_along_axis(distances, order, axis=1)
    missing = np.take_along_axis(drop, order, axis=1)
    out_ids = np.where(missing, -1, kept_ids).astype(np.int32)
    out_d = np.where(missing, np.nan, np.sqrt(np.maximum(kept_d, 0.0))).astype(np.float32)
    if out_ids.shape[1] < k:  # fewer than k other rows exist
        pad = k - out_ids.shape[1]
        out_ids = np.pad(out_ids, ((0, 0), (0, pad)), constant_values=-1)
        out_d = np.pad(out_d, ((0, 0), (0, pad)), constant_values=np.nan)
    return out_ids, out_d
