"""Building an encoder's indexes: one per side it has (post, text, image), over the current vectors,
tuned on held-out queries and published atomically (``index.publish``).

The vectors are streamed from the lake and held as at most one copy beside the index: a seeded sample
first (what IVF trains on, and where the tuning queries start), then every vector, in batches, into the
index (flat, IVF) or into one matrix that HNSW takes in a single add (``_add_all`` says why). Exact neighbours for tuning are searched in the vectors the index itself stores (flat,
HNSW), or for IVF in further streamed passes with a running top-k heap (FAISS's ``ResultHeap``).

The plan (exact, HNSW, or IVF-PQ with re-ranking) is chosen from the row count and width before
anything is read, by what it would cost in memory against the budget (``index.choose_plan``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import numpy as np
import pyarrow as pa

from c2c_assets.analysis.reduction import sample_indices
from c2c_assets.embeddings.store import SIDES, current_side_shape, iter_current_side
from c2c_assets.home import C2cHome
from c2c_assets.search import index as idx

TUNING_QUERIES = 500
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


def _exact_top(home: C2cHome, encoder: str, column: str, queries: np.ndarray, k: int, order: pa.Array) -> np.ndarray:
    """Each query's exact top ``k`` as rows of ``order`` (the post ids in the order the index holds them),
    in one streamed pass with a running heap per query, so the vectors are never held at once. DuckDB does
    not promise the same row order on every pass, so rows are matched by post id, not by position."""
    import faiss
    import pyarrow.compute as pc

    heap = faiss.ResultHeap(len(queries), k, keep_max=True)  # inner product: the largest are nearest
    seen, pass_ids = 0, []
    for batch_ids, matrix in iter_current_side(home, encoder, column, BATCH_ROWS):
        scores, rows = faiss.knn(queries, matrix, min(k, len(matrix)), metric=faiss.METRIC_INNER_PRODUCT)
        heap.add_result(scores, rows + seen)
        pass_ids.append(batch_ids.column("post_id"))
        seen += len(matrix)
    heap.finalize()
    in_this_pass = pa.chunked_array(pass_ids).combine_chunks().take(pa.array(heap.I.reshape(-1)))
    return pc.index_in(in_this_pass, value_set=order).to_numpy(zero_copy_only=False).reshape(heap.I.shape).astype(np.int64)


def _add_all(index: object, plan: idx.IndexPlan, batches: Iterator[tuple[pa.Table, np.ndarray]], n: int, dim: int) -> pa.Table:
    """Every streamed batch into the index; returns their ids in the index's row order.

    HNSW gets its vectors in one ``add``: FAISS's HNSW built from many adds is a worse graph (measured on the
    platform bench's vectors, 120,000 x 768, M=32, efConstruction=40: recall@10 0.996 added at once, 0.85 in
    batches of 8,192 whatever efSearch; 0.53 at 1.2M in 147 batches). The batches are written straight into
    the flat storage that ``idx.reserve`` allocated, and that very buffer is what the one ``add`` is given
    (``_storage_matrix`` says why that is sound), so the vectors are held once: a matrix of their own beside
    the storage doubled the build's peak (1.2M x 768: 3.7 GB more). Flat and IVF take batches as they come.
    """
    ids = []
    if plan.kind != "hnsw":
        for batch_ids, matrix in batches:
            index.add(matrix)
            ids.append(batch_ids)
        return pa.concat_tables(ids)
    whole = _storage_matrix(index, n, dim)
    extra: list[np.ndarray] = []
    filled = 0
    for batch_ids, matrix in batches:
        fits = max(0, min(len(matrix), n - filled))
        whole[filled : filled + fits] = matrix[:fits]
        if fits < len(matrix):  # rows landed since the count: they go in beside the storage (rare)
            extra.append(matrix[fits:])
        filled += len(matrix)
        ids.append(batch_ids)
    if extra:  # one more copy, once: the storage's buffer is about to be reallocated, so add from a matrix of our own
        whole = np.concatenate([whole, *extra])
    index.add(whole[:filled])
    del whole
    return pa.concat_tables(ids)


def _storage_matrix(index: object, n: int, dim: int) -> np.ndarray:
    """The HNSW index's reserved flat storage as an (n, dim) float32 array over the same memory (no copy).

    ``IndexHNSW.add`` first appends to its storage (``IndexFlatCodes::add``: the codes vector is resized to
    ntotal + n rows, a no-op once reserved, then ``memcpy`` of the rows into place) and then builds the graph
    reading the rows it was given. Handed this buffer (sized to n rows) with ntotal 0, the append copies every byte onto itself,
    which leaves it as it was, and the graph is built from the stored vectors: the only other copy a single
    ``add`` would need is never made. FAISS has no public call that builds the graph over vectors already in
    the storage, hence this.
    """
    import faiss

    storage = faiss.downcast_index(index.storage)
    if storage.ntotal != 0 or storage.code_size != dim * 4:
        raise RuntimeError("HNSW storage must be empty float32 rows")
    storage.codes.resize(n * dim * 4)  # within the capacity idx.reserve allocated: no reallocation
    return faiss.rev_swig_ptr(storage.codes.data(), n * dim * 4).view(np.float32).reshape(n, dim)


def _stored_exact(index: object, plan: idx.IndexPlan) -> object | None:
    """The exact (flat) index over the very vectors an index holds, where it holds them (flat, HNSW-flat)."""
    import faiss

    if plan.kind == "flat":
        return index
    if plan.kind == "hnsw":
        return faiss.downcast_index(index.storage)
    return None


def build_side(
    home: C2cHome, encoder: str, side: str, column: str, memory_budget_bytes: int, log: Callable[[str], None]
) -> tuple[idx.BuildInfo, object, pa.Table] | None:
    """The tuned index of one side and its id map, or None where the encoder has no such side.

    Tuning queries are the midpoints between sampled vectors and their exact nearest other vector (as
    ``held_out_queries`` makes them in memory); their exact top 10 is the ground truth. Both come from
    exact searches over the vectors the index stores (flat, HNSW) or from streamed passes (IVF, whose
    lists hold compressed codes only).
    """
    shape = current_side_shape(home, encoder, column)
    if shape is None:
        return None
    n, dim = shape
    plan = idx.choose_plan(n, dim, memory_budget_bytes)
    log(f"{encoder}/{side}: {n:,} x {dim} vectors -> {plan.kind} (about {idx.estimated_bytes(plan, n, dim) / 1e9:.2f} GB)")
    started = time.perf_counter()
    rng = np.random.default_rng(0)
    pool = _sample(home, encoder, column, n, max(TUNING_QUERIES, idx.training_rows(plan)), seed=0)
    idx.train(index := idx.new_index(plan, dim), plan, pool)
    idx.reserve(index, plan, n)
    sample = np.ascontiguousarray(pool[rng.choice(len(pool), size=min(TUNING_QUERIES, len(pool)), replace=False)])
    del pool
    ids = _add_all(index, plan, iter_current_side(home, encoder, column, BATCH_ROWS), n, dim)
    order = ids.column("post_id").combine_chunks()
    exact = _stored_exact(index, plan)
    top = min(idx.K, n)
    if exact is not None:
        _, pairs = exact.search(sample, min(2, n))
    else:
        pairs = _exact_top(home, encoder, column, sample, min(2, n), order)
    partners = np.stack([index.reconstruct(int(row)) for row in pairs[:, -1]])
    queries = sample + partners
    queries = np.ascontiguousarray(queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12), dtype=np.float32)
    truth = exact.search(queries, top)[1] if exact is not None else _exact_top(home, encoder, column, queries, top, order)
    idx.set_search_params(index, plan)
    plan, recall = idx.tune(index, plan, queries, truth)
    seconds = time.perf_counter() - started
    qps = idx.queries_per_second(index, queries)
    info = idx.BuildInfo(encoder, side, plan.kind, plan.params, index.ntotal, dim, recall, seconds, qps, 0, time.time())
    return info, index, ids


def build_indexes(
    home: C2cHome, encoder: str, memory_budget_bytes: int = 8 << 30, log: Callable[[str], None] = lambda _: None,
    incremental: bool = False,
) -> list[idx.BuildInfo]:
    """One index per side the encoder has (post, text, image), each published atomically before the next is
    built. ``incremental``: where the live build is still a good fit, it gets the new and changed vectors
    added (``search.update``) instead of a rebuild."""
    from c2c_assets.search.update import update_side

    infos = []
    for side, column in SIDES.items():
        built = update_side(home, encoder, side, column, memory_budget_bytes, log) if incremental else None
        if built is None:
            built = build_side(home, encoder, side, column, memory_budget_bytes, log)
        if built is None:
            continue
        info, index, ids = built
        del built  # else the tuple keeps this side's index alive while the next side is built or updated
        idx.publish(home, encoder, side, index, ids, info)
        del index, ids
        log(f"{encoder}/{side}: {info.kind} {info.params} over {info.n} vectors, recall@10 {info.recall_at_10:.3f}, "
            f"{info.queries_per_second:,.0f} q/s")
        infos.append(info)
    return infos
