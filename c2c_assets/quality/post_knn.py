"""The post k-NN of one encoder, kept up to date day by day.

The table ``post_neighbours[encoder]`` has one row per vector ever indexed, in the order they were added
(the row number is the vector's id in the stored FAISS index): post_id, the content it was computed from,
``alive`` (false once the post's content changed and a newer row took over), the ``k`` nearest alive rows
and their cosine similarities, and the run that last changed the row (``version``: what later tables
compare to know which lists moved).

The index: exact (``IndexFlatIP``) up to ``EXACT_ROWS`` vectors; beyond, an inverted file with 4-bit PQ
fast-scan codes re-ranked on 8-bit scalar-quantized vectors (``IVF{n},PQ{d/4}x4fs,Refine(SQ8)``):
measured at 1M x 256 on 2 cores, about 80 CPU-s to build and query every vector against the rest, where
a flat IVF with the same recall on planted copies takes several times that (the scan of 2,000-8,000
float vectors per query is what costs; fast-scan codes are 32 bytes).

A new day adds its vectors to the index and searches only them (``REVERSE_K`` deep); an old row takes a
new post into its list when the new post ranks above the row's k-th neighbour. That is exact for a new
post that has the old row among its ``REVERSE_K`` nearest (a post at the repost threshold always does);
a new post that is some old row's neighbour without that row among its own ``REVERSE_K`` nearest is
missed, as an IVF probe misses. Rows whose list holds a post that changed are searched again. The whole
table is rebuilt when the signature changes, when the index outgrows its training (``REBUILD_GROWTH``),
or when too many rows are dead (``MAX_DEAD_SHARE``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

EXACT_ROWS = 20_000  # exact k-NN costs n^2: 63 CPU-s at 100K x 256 on 2 cores, IVF-PQ 6
NPROBE = 8
K_FACTOR = 4  # PQ candidates per wanted neighbour, re-ranked on the SQ8 vectors
REVERSE_K = 40  # how deep a new post looks for the old rows whose lists it may enter
QUERY_BATCH = 16_384
REBUILD_GROWTH = 2.0  # an IVF trained on n vectors is rebuilt past REBUILD_GROWTH * n (lists grow unbalanced)
MAX_DEAD_SHARE = 0.1
FULL_ABOVE_SHARE = 0.5  # more new or changed vectors than this share: rebuilt (as cheap, and a new encoder version)
_TRAIN_PER_LIST = 32


def index_kind(n: int, dim: int) -> str:
    if n <= EXACT_ROWS:
        return "Flat"
    lists = max(256, int(math.sqrt(n)))
    return f"IVF{lists},PQ{dim // 4}x4fs,Refine(SQ8)" if dim % 4 == 0 else f"IVF{lists},Flat"


def build_index(vectors: np.ndarray, *, seed: int = 0) -> Any:
    import faiss

    n, dim = vectors.shape
    kind = index_kind(n, dim)
    index = faiss.index_factory(dim, kind, faiss.METRIC_INNER_PRODUCT)
    if not index.is_trained:
        lists = faiss.extract_index_ivf(index).nlist
        sample = np.random.default_rng(seed).choice(n, size=min(n, lists * _TRAIN_PER_LIST), replace=False)
        index.train(vectors[np.sort(sample)])
    index.add(vectors)
    return tune(index)


def tune(index: Any) -> Any:
    import faiss

    # (faiss.downcast_index would return a second wrapper of the same object: the first one, freed, takes it along.)
    if hasattr(index, "k_factor"):
        index.k_factor = K_FACTOR
    try:
        faiss.extract_index_ivf(index).nprobe = NPROBE
    except RuntimeError:  # a flat index has no inverted lists
        pass
    return index


@dataclass(frozen=True)
class Found:
    rows: np.ndarray  # (q, width) int64 index rows, -1 where fewer were found
    similarity: np.ndarray  # (q, width) float32, NaN where fewer were found


def search(index: Any, queries: np.ndarray, width: int, own: np.ndarray, dead: np.ndarray) -> Found:
    """The ``width`` nearest alive rows of each query, its own row (``own``, -1: none) left out."""
    n_q = queries.shape[0]
    rows = np.full((n_q, width), -1, dtype=np.int64)
    sims = np.full((n_q, width), np.nan, dtype=np.float32)
    total = index.ntotal
    if n_q == 0 or total == 0:
        return Found(rows, sims)
    # Dead rows are filtered after the search: ask for enough extra to cover a few of them.
    fetch = min(total, width + 1 + min(int(dead.sum()), 8))
    for start in range(0, n_q, QUERY_BATCH):
        stop = min(start + QUERY_BATCH, n_q)
        found_sim, found_rows = index.search(np.ascontiguousarray(queries[start:stop]), fetch)
        keep = (found_rows >= 0) & (found_rows != own[start:stop, None])
        keep &= ~dead[np.maximum(found_rows, 0)]
        order = np.argsort(~keep, axis=1, kind="stable")[:, :width]
        taken = np.take_along_axis(found_rows, order, axis=1)
        valid = np.take_along_axis(keep, order, axis=1)
        got = taken.shape[1]
        rows[start:stop, :got] = np.where(valid, taken, -1)
        sims[start:stop, :got] = np.where(valid, np.take_along_axis(found_sim, order, axis=1), np.nan)
    return Found(rows, sims)


def merge_reverse(lists: np.ndarray, sims: np.ndarray, targets: np.ndarray, new_rows: np.ndarray,
                  new_sims: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Offer ``new_rows[i]`` (similarity ``new_sims[i]``) to the list of row ``targets[i]``; each list keeps
    its ``k`` best. Returns (the rows whose list changed, their new lists, their new similarities)."""
    k = lists.shape[1]
    offered = np.unique(targets)
    if offered.size == 0:
        return offered, np.zeros((0, k), np.int64), np.zeros((0, k), np.float32)
    slot = np.searchsorted(offered, targets)
    old_rows, old_sims = lists[offered], sims[offered]
    owner = np.concatenate([np.repeat(np.arange(offered.size), k), slot])
    cand = np.concatenate([old_rows.ravel(), new_rows])
    cand_sim = np.concatenate([np.nan_to_num(old_sims.ravel(), nan=-np.inf), new_sims.astype(np.float32)])
    cand_sim[cand < 0] = -np.inf
    # Best first within each list; a row offered twice keeps its first (best) place.
    order = np.lexsort((-cand_sim, owner))
    owner, cand, cand_sim = owner[order], cand[order], cand_sim[order]
    pair = owner * np.int64(lists.shape[0] + 1) + np.maximum(cand, -1) + 1
    _, first = np.unique(pair, return_index=True)
    first.sort()
    owner, cand, cand_sim = owner[first], cand[first], cand_sim[first]
    start = np.searchsorted(owner, np.arange(offered.size))
    rank = np.arange(owner.size) - start[owner]
    top = rank < k
    out_rows = np.full((offered.size, k), -1, dtype=np.int64)
    out_sims = np.full((offered.size, k), np.nan, dtype=np.float32)
    out_rows[owner[top], rank[top]] = cand[top]
    out_sims[owner[top], rank[top]] = cand_sim[top]
    out_rows[~np.isfinite(out_sims)] = -1
    out_sims[~np.isfinite(out_sims)] = np.nan
    changed = (out_rows != old_rows).any(axis=1)
    return offered[changed], out_rows[changed], out_sims[changed]


def schema(k: int) -> pa.Schema:
    return pa.schema([
        ("post_id", pa.string()), ("content_hash", pa.string()), ("fingerprint", pa.string()), ("alive", pa.bool_()),
        ("neighbour_rows", pa.list_(pa.int32(), k)), ("similarity", pa.list_(pa.float32(), k)), ("version", pa.int64()),
    ])


def fixed(table: pa.Table, column: str, dtype: Any) -> np.ndarray:
    array = table.column(column).combine_chunks()
    k = array.type.list_size
    return array.flatten().to_numpy(zero_copy_only=False).astype(dtype).reshape(-1, k)
