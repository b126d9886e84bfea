"""2-D coordinates and nearest neighbours for every post of an encoder, in minutes at a million posts.

UMAP is fitted on a seeded sample (the map sample, 70,000 by default), from k-NN that FAISS finds
(``precomputed_knn``: umap-learn's own NN-descent on the sample cost more than the rest of the fit,
most of it numba compiling, every run); every other post is placed at the distance-weighted mean of the
2-D positions of its nearest sample posts in the reduced space. That is what ``umap.UMAP.transform``
does before its refinement epochs, without them: at 1M posts the refinement (30 epochs of SGD over the
new points' graph) costs most of the time and moves points by a fraction of a cluster, while the
interpolation is one FAISS search. Neighbours over all posts (the explorer's "nearest neighbours")
come from a FAISS IVF index, exact while a flat scan is cheap (``EXACT_PAIRS``).

A later run (a nightly: a few thousand new posts) places only the new and changed posts against the
sample fitted before (``Previous``) and keeps every other post's coordinates, as long as the reduced
vectors of that sample are still what they were (the reducer did not change); otherwise it refits.

Heavy imports (faiss, umap) are inside the functions.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from c2c_assets.analysis import reduction
from c2c_assets.home import C2cHome

__all__ = ["EXACT_PAIRS", "Anchors", "Layout", "Previous", "layout", "nearest_neighbours", "vector_hashes"]

# A flat (exact) search while base rows x queries stays under this (~10 s of 64-d distances on 2
# cores); IVF above, or always flat below IVF_MIN rows (too few to train the lists on).
EXACT_PAIRS = 2e9
IVF_MIN = 10_000
# Lists probed per query. On the bench's posts (isotropic 64-d Gaussian clusters: every point of a
# cluster nearly as far as its nearest, the hardest case for an IVF index) recall@8 was 0.79 at 200K
# and 0.59 at 1M, the misses being same-cluster posts about as close; 32 probes took 0.98 at 200K for
# twice the search time, which the 10-minute budget at 1M does not hold on 2 loaded cores.
NPROBE = 16
SEARCH_BATCH = 65_536
# Sample neighbours used to place an out-of-sample post (umap's transform uses n_neighbors=15 too).
PLACE_NEIGHBOURS = 15
UMAP_NEIGHBOURS = 15
# The fitted sample is reused while at least this share of its posts still has (to REUSE_TOLERANCE)
# the reduced vector it was fitted on, and while at most REFIT_SHARE of the posts are new or changed.
REUSE_SHARE = 0.9
REUSE_TOLERANCE = 1e-4
REFIT_SHARE = 0.5
HASH_SCALE = 1024.0  # vectors are compared to 1/1024 when deciding which posts changed


@dataclass(frozen=True, eq=False)
class Anchors:
    """The posts UMAP was fitted on: their ids, reduced vectors and 2-D positions."""

    ids: np.ndarray  # (m,) str
    vectors: np.ndarray  # (m, d) float32
    xy: np.ndarray  # (m, 2) float32


@dataclass(frozen=True, eq=False)
class Previous:
    """The last layout: the fitted sample and every post's vector hash and coordinates."""

    anchors: Anchors
    ids: np.ndarray  # (n,) str
    hashes: np.ndarray  # (n,) uint64, see vector_hashes
    xy: np.ndarray  # (n, 2) float32
    fitted_with: tuple[int, int] = (0, 0)  # (sample_size, seed) of that fit: other settings refit


@dataclass(frozen=True, eq=False)
class Layout:
    xy: np.ndarray  # (n, 2) float32
    sample_rows: np.ndarray  # rows UMAP was fitted on in this run (sorted; empty when the fit was reused)
    anchors: Anchors
    kept: int = 0  # posts that kept their previous coordinates (0 after a refit)
    refitted: bool = True  # UMAP was fitted in this run (False: the previous sample was reused)
    fitted_with: tuple[int, int] = (0, 0)  # (sample_size, seed) of the fit
    # Per row, its row in the previous layout where its vector is unchanged (-1: new or changed); None after a refit.
    previous_rows: np.ndarray | None = None


def unchanged_rows(ids: np.ndarray, x: np.ndarray, previous: Previous) -> np.ndarray:
    """Each row's row in ``previous`` where the post is there with the same vector (``vector_hashes``), else -1."""
    at = _positions(np.asarray(ids, dtype=object), previous.ids)
    keep = at >= 0
    keep[keep] = previous.hashes[at[keep]] == vector_hashes(x[keep])
    return np.where(keep, at, -1)


def _index(x: np.ndarray, seed: int, queries: int):  # -> faiss.Index
    import faiss

    d = x.shape[1]
    if len(x) < IVF_MIN or len(x) * queries <= EXACT_PAIRS:
        index = faiss.IndexFlatL2(d)
    else:
        # About 4 sqrt(n) lists, trained on a seeded sample of 40 points per list (FAISS's own advice).
        nlist = int(min(16_384, 4 * np.sqrt(len(x))))
        quantizer = faiss.IndexFlatL2(d)
        index = faiss.IndexIVFFlat(quantizer, d, nlist)
        train = x[reduction.sample_indices(len(x), min(len(x), 40 * nlist), seed)]
        index.cp.seed = seed
        index.train(train)
        index.nprobe = NPROBE
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


def knn(base: np.ndarray, queries: np.ndarray, k: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Each query's ``k`` nearest rows of ``base``: squared L2 distances and ids (-1 where IVF found fewer)."""
    return _search(_index(base, seed, len(queries)), queries, k)


def fit_umap(x: np.ndarray, seed: int, *, home: C2cHome | None = None) -> np.ndarray:
    """UMAP of ``x`` to 2-D (seeded), from FAISS k-NN rather than umap's NN-descent."""
    reduction._use_numba_cache(reduction.numba_cache_dir(home))
    import umap  # after NUMBA_CACHE_DIR: importing it compiles (and caches) numba code

    cols = min(UMAP_NEIGHBOURS, len(x) - 1)  # umap's n_neighbors counts the row itself
    k = cols - 1
    distances, ids = knn(x, x, min(cols + 1, len(x)), seed)
    # umap expects each row's own index first at distance 0; exact duplicates may rank another row
    # first, and IVF may miss a row: the row itself first, then its k nearest others.
    own = np.arange(len(x))[:, None]
    others = (ids != own) & (ids >= 0)
    order = np.argsort(~others, axis=1, kind="stable")[:, :k]
    nbr = np.take_along_axis(ids, order, axis=1)
    dist = np.sqrt(np.maximum(np.take_along_axis(distances, order, axis=1), 0.0))
    missing = ~np.take_along_axis(others, order, axis=1)
    if missing.any():  # rare (IVF lists too small): repeat the row's nearest found neighbour, else itself
        first_ok = others.any(axis=1)
        nbr = np.where(missing, np.where(first_ok[:, None], nbr[:, :1], own), nbr)
        dist = np.where(missing, np.where(first_ok[:, None], dist[:, :1], 0.0), dist)
    knn_ids = np.hstack([own, nbr]).astype(np.int32)
    knn_d = np.hstack([np.zeros((len(x), 1)), dist]).astype(np.float32)
    reducer = umap.UMAP(
        n_components=2, n_neighbors=cols, min_dist=0.1, random_state=seed, precomputed_knn=(knn_ids, knn_d, None)
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="n_jobs value .* overridden")
        warnings.filterwarnings("ignore", message=".*precomputed_knn.*")
        warnings.filterwarnings("ignore", message="Graph is not fully connected")
        return np.asarray(reducer.fit_transform(x), dtype=np.float32)


def place(anchors: Anchors, queries: np.ndarray, seed: int) -> np.ndarray:
    """Each query at the inverse-distance-weighted mean of its nearest anchors' positions."""
    if len(queries) == 0:
        return np.zeros((0, 2), np.float32)
    k = min(PLACE_NEIGHBOURS, len(anchors.ids))
    distances, ids = knn(anchors.vectors, queries, k, seed)
    found = ids >= 0  # IVF may return fewer than k (-1) when its probed lists are small
    weights = np.where(found, 1.0 / (np.sqrt(np.maximum(distances, 0.0)) + 1e-6), 0.0)
    weights /= np.maximum(weights.sum(axis=1, keepdims=True), 1e-12)
    return np.einsum("nk,nkd->nd", weights, anchors.xy[np.where(found, ids, 0)]).astype(np.float32)


def vector_hashes(vectors: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each row rounded to 1/HASH_SCALE: equal for a post whose vector did not change."""
    mult = np.random.default_rng(20240601).integers(1, 2**63, vectors.shape[1], dtype=np.uint64) | np.uint64(1)
    out = np.empty(len(vectors), np.uint64)
    with np.errstate(over="ignore"):
        for start in range(0, len(vectors), SEARCH_BATCH):
            q = np.round(np.asarray(vectors[start : start + SEARCH_BATCH], np.float64) * HASH_SCALE).astype(np.int64)
            h = (q.view(np.uint64) * mult).sum(axis=1, dtype=np.uint64)
            out[start : start + len(q)] = h ^ (h >> np.uint64(29))
    return out


def _positions(wanted: np.ndarray, among: np.ndarray) -> np.ndarray:
    """Row of each ``wanted`` id in ``among`` (-1 where absent)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    found = pc.index_in(pa.array(wanted, pa.string()), value_set=pa.array(among, pa.string()))
    return found.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)


def reusable(previous: Previous, ids: np.ndarray, x: np.ndarray) -> bool:
    """The fitted sample still describes these vectors: the same width, and most of its posts are
    current with (to REUSE_TOLERANCE) the vector it was fitted on. A refitted reducer moves them all."""
    anchors = previous.anchors
    if len(anchors.ids) < 3 or anchors.vectors.shape[1] != x.shape[1]:
        return False
    at = _positions(anchors.ids, ids)
    present = at >= 0
    if present.sum() < REUSE_SHARE * len(anchors.ids):
        return False
    same = np.isclose(x[at[present]], anchors.vectors[present], rtol=REUSE_TOLERANCE, atol=REUSE_TOLERANCE).all(axis=1)
    return bool(same.mean() >= REUSE_SHARE)


def layout(
    vectors: np.ndarray,
    sample_size: int,
    seed: int,
    *,
    ids: np.ndarray | None = None,
    previous: Previous | None = None,
    home: C2cHome | None = None,
) -> Layout:
    """2-D coordinates of every row of ``vectors``: UMAP on a seeded sample, interpolation for the rest.

    With ``ids`` and a ``previous`` layout whose sample is still ``reusable``, posts whose vector is
    unchanged keep their coordinates and only the others are placed (no UMAP fit).
    """
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(x)
    post_ids = np.asarray(ids if ids is not None else np.arange(n).astype(str), dtype=object)
    if (
        previous is not None and ids is not None and n >= 3
        and previous.fitted_with == (sample_size, seed) and reusable(previous, post_ids, x)
    ):  # fmt: skip
        at = unchanged_rows(post_ids, x, previous)
        keep = at >= 0
        if (~keep).sum() <= REFIT_SHARE * n:
            xy = np.empty((n, 2), dtype=np.float32)
            xy[keep] = previous.xy[at[keep]]
            xy[~keep] = place(previous.anchors, x[~keep], seed)
            return Layout(xy, np.zeros(0, np.int64), previous.anchors, int(keep.sum()), False, previous.fitted_with, at)
    if n < 3:
        # UMAP needs 3 points; one or two posts still get a place on the map.
        xy = np.column_stack([np.arange(n), np.zeros(n)]).astype(np.float32)
        return Layout(xy, np.arange(n), Anchors(post_ids, x, xy), fitted_with=(sample_size, seed))
    rows = reduction.sample_indices(n, sample_size, seed)
    anchors = Anchors(post_ids[rows], x[rows], fit_umap(x[rows], seed, home=home))
    xy = np.empty((n, 2), dtype=np.float32)
    xy[rows] = anchors.xy
    rest = np.setdiff1d(np.arange(n), rows, assume_unique=True)
    xy[rest] = place(anchors, x[rest], seed)
    return Layout(xy, rows, anchors, fitted_with=(sample_size, seed))


def nearest_neighbours(vectors: np.ndarray, k: int, seed: int, rows: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Each row's (or each of ``rows``') ``k`` nearest other rows (ids int32, -1 where fewer exist) and their L2 distances."""
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(x)
    rows = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
    want = min(k + 1, n)
    if n == 0 or k <= 0 or len(rows) == 0:
        return np.zeros((len(rows), max(k, 0)), np.int32), np.zeros((len(rows), max(k, 0)), np.float32)
    distances, ids = knn(x, x[rows], want, seed)
    # Drop each row itself (usually first; exact duplicates may rank it later), keep k.
    drop = (ids == rows[:, None]) | (ids < 0)
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


def update_neighbours(
    vectors: np.ndarray, k: int, seed: int, previous_rows: np.ndarray, old_neighbours: np.ndarray, old_distances: np.ndarray
) -> tuple[np.ndarray, np.ndarray, int] | None:
    """The nightly neighbours: a post whose vector is unchanged and whose previous ``k`` neighbours all still are
    keeps its list (re-pointed at today's rows); the others (new, changed, or next to one that changed or left) are
    searched again over every post. A new post is not offered to the lists kept (they are a day stale at most,
    like the rest of an approximate neighbour search). None when most lists would be searched anyway.

    ``previous_rows``: ``unchanged_rows`` (the layout's ``previous_rows``); ``old_neighbours``/``old_distances``: the
    previous explorer data's lists, rows of the previous layout. Returns (ids, distances, how many lists were searched)."""
    x = np.ascontiguousarray(vectors, dtype=np.float32)
    n = len(x)
    same = previous_rows >= 0
    new_row_of_old = np.full(len(old_neighbours) + 1, -1, dtype=np.int64)  # the extra slot maps -1 to -1
    new_row_of_old[previous_rows[same]] = np.flatnonzero(same)
    kept_ids = np.full((n, k), -1, dtype=np.int64)
    kept_ids[same] = new_row_of_old[old_neighbours[previous_rows[same]]]
    had = np.zeros((n, k), dtype=bool)
    had[same] = old_neighbours[previous_rows[same]] >= 0
    stale = ~same | ((kept_ids < 0) & had).any(axis=1)
    if stale.sum() > REFIT_SHARE * n:
        return None
    out_ids = kept_ids.astype(np.int32)
    out_d = np.full((n, k), np.nan, dtype=np.float32)
    out_d[same] = old_distances[previous_rows[same]]
    rows = np.flatnonzero(stale)
    fresh_ids, fresh_d = nearest_neighbours(x, k, seed, rows=rows)
    out_ids[rows], out_d[rows] = fresh_ids, fresh_d
    return out_ids, out_d, int(len(rows))
