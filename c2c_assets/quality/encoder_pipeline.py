"""Per encoder: every current post's nearest posts (a stored FAISS index updated day by day, ``post_knn``),
and from them the repost groups (``reposts``) and the uniqueness / representativeness / outlier scores."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from c2c_assets.home import C2cHome
from c2c_assets.neighbours import threads_for
from c2c_assets.quality import state as S
from c2c_assets.quality import thresholds as T
from c2c_assets.quality.readers import NEIGHBOURS, read_neighbours
from c2c_assets.quality.lake_io import current_posts, fetch, publish, read, table_file, write
from c2c_assets.quality.schema import POST_SCORES
from c2c_assets.quality.scores import outlier_scores, representativeness, uniqueness



def release_cached_memory() -> None:
    """Hand back to the system what earlier steps of this process freed but the allocators kept (pyarrow's
    mimalloc pool, glibc's arenas): at 200K posts the k-NN step started with 0.54 GB resident, 0.32 GB after
    this, and that difference grows with the lake (the steps run in one process under the bench, or the
    in-process executor)."""
    import ctypes
    import ctypes.util

    pa.default_memory_pool().release_unused()
    libc = ctypes.util.find_library("c")
    if libc and hasattr(ctypes.CDLL(libc), "malloc_trim"):  # glibc only
        ctypes.CDLL(libc).malloc_trim(0)


def _vector_ids(home: C2cHome, sql: str) -> pa.Table:
    """post_id, a key of the content each current vector was made from (DuckDB's hash of content and
    fingerprint) and its scrape date."""
    return fetch(home, f"SELECT post_id, hash(content_hash || '|' || fingerprint) AS content_key, scrape_date FROM ({sql}) ORDER BY post_id")


def _vectors_of(home: C2cHome, sql: str, post_ids: pa.Array, dates: pa.Array) -> np.ndarray:
    """The current vectors of some posts, whose current scrapes are of ``dates``."""
    from c2c_assets.lake import to_matrix
    from c2c_assets.warehouse import scratch

    # The dates as constants: DuckDB skips the row groups of other dates on their statistics, so a day reads
    # the day's vectors, not every vector (a semi join on the post ids alone prunes nothing).
    listed = ", ".join(f"DATE '{d}'" for d in dates.to_pylist())
    with scratch(home) as db:
        db.register("wanted_vectors", pa.table({"post_id": post_ids}))
        table = db.sql(f"SELECT post_id, v FROM ({sql}) SEMI JOIN wanted_vectors USING (post_id) WHERE scrape_date IN ({listed}) "
                       "ORDER BY post_id").to_arrow_table()
    return np.ascontiguousarray(to_matrix(table.column("v")), dtype=np.float32)


def _all_vectors(home: C2cHome, sql: str, ids: pa.Table, dim: int) -> np.ndarray:
    """Every current vector, in post_id order (that of ``_vector_ids``), streamed into one float32 matrix: a
    million vectors are held once, not as DuckDB's sorted result, its Arrow copy and the matrix."""
    from c2c_assets.embeddings.store import STREAM_MEMORY
    from c2c_assets.lake import to_matrix
    from c2c_assets.warehouse import scratch

    n = ids.num_rows
    out = np.empty((n, dim), dtype=np.float32)
    filled = 0
    with scratch(home) as db:
        # The join must stream the vectors past a hash table of the ids. DuckDB's estimate of the current vectors
        # (a semi join) is a few thousand rows, so its optimizers would build the hash table on the vectors
        # instead: every vector held once more in DuckDB (200K x 256: 0.75 GB peak against 0.57 GB). With
        # them off the join stays as written (build side: ``id_rows``); the limit keeps the scan from
        # buffering ahead, as for the other streamed reads of vectors.
        db.execute(f"SET memory_limit = '{STREAM_MEMORY}'")
        db.execute("SET disabled_optimizers = 'build_side_probe_side,join_order'")
        db.register("id_rows", ids.select(["post_id"]).append_column("row", pa.array(np.arange(n))))
        # A streaming join on the ids' row numbers, not an ORDER BY (which would hold every vector in DuckDB too).
        for batch in db.sql(f"SELECT r.row, e.v FROM ({sql}) AS e JOIN id_rows AS r USING (post_id)").to_arrow_reader(65_536):
            out[batch.column(0).to_numpy()] = to_matrix(batch.column(1))
            filled += batch.num_rows
    if filled != n:
        raise ValueError(f"the current vectors changed while they were read ({filled} of {n})")
    return out


def _neighbour_table(post_ids: pa.Array, keys: pa.Array, alive: np.ndarray, rows: np.ndarray, sims: np.ndarray, version: np.ndarray) -> pa.Table:
    from c2c_assets.lake import fixed_size_list

    k = rows.shape[1]
    return pa.table({
        "row": pa.array(np.arange(len(alive), dtype=np.int64)),  # the FAISS id: the key of the table's deltas
        "post_id": post_ids, "content_key": keys, "alive": pa.array(alive),
        "neighbour_rows": pa.FixedSizeListArray.from_arrays(pa.array(rows.ravel().astype(np.int32)), k),
        "similarity": fixed_size_list(np.nan_to_num(sims, nan=-2.0).astype(np.float32)),
        "version": pa.array(version.astype(np.int64)),
    })


def build_post_neighbours(home: C2cHome, encoder: str, k: int = T.POST_NEIGHBOURS) -> dict[str, Any]:
    """The ``k`` nearest current posts of every current post (cosine of the post vectors), updated from the
    stored table and index where nothing forces a rebuild (``post_knn``)."""
    from c2c_assets.embeddings.store import current_vectors_sql, encoder_files, never_null
    from c2c_assets.quality import post_knn as K
    from c2c_assets.storage import read_schema

    release_cached_memory()  # this step holds every vector, the index and the table at once: the group's peak
    sql = current_vectors_sql(home, encoder, "vector", may_be_null=not never_null(home, encoder, "vector"))
    ids = None if sql is None else _vector_ids(home, sql)
    if ids is None or ids.num_rows == 0:
        raise ValueError(f"encoder {encoder!r} has no current vectors: run `c2c embed -e {encoder}` first")
    # The width from the newest partition's schema (a fixed-size list): no scan of the vectors.
    dim = read_schema(encoder_files(home, encoder, newest_first=True)[0]).field("vector").type.list_size
    output = table_file(home, NEIGHBOURS, encoder)
    sig = S.signature(table=NEIGHBOURS, k=k, dim=dim)
    stored = S.load(home, NEIGHBOURS, output, sig, encoder)
    run = int(stored.meta.get("version", 0)) + 1
    reason, result = stored.full_reason, None
    if stored.incremental:
        index = S.load_index(home, NEIGHBOURS, encoder)
        result = "no stored index" if index is None else _update_neighbours(home, sql, ids, read(home, NEIGHBOURS, encoder), K.tune(index), k, run, stored.meta)
        if isinstance(result, str):
            reason, result = result, None
    if result is None:
        vectors = _all_vectors(home, sql, ids, dim)
        index = K.build_index(vectors)
        n = len(vectors)
        found = K.search(index, vectors, k, np.arange(n), np.zeros(n, dtype=bool))
        table = _neighbour_table(ids.column("post_id"), ids.column("content_key"), np.ones(n, bool), found.rows, found.similarity, np.full(n, run))
        meta = {"built_rows": n, "kind": K.index_kind(n, vectors.shape[1])}
        searched = n
    else:
        table, index, searched = result
        meta = {"built_rows": stored.meta["built_rows"], "kind": stored.meta["kind"]}
    token = S.save(home, NEIGHBOURS, {"signature": sig, "version": run, **meta}, encoder=encoder)
    S.save_index(home, NEIGHBOURS, index, encoder)
    stamped = S.stamp(table, token)
    # A day's delta: the lists it changed and its new rows (version ``run``); the others are as stored.
    changed = None if result is None else stamped.filter(pc.equal(stamped.column("version"), run))
    written = publish(home, NEIGHBOURS, stamped, run, changed, encoder=encoder)
    first = np.asarray(table.column("similarity").combine_chunks().flatten().to_numpy()).reshape(-1, k)[:, 0]
    alive = table.column("alive").to_numpy(zero_copy_only=False)
    return {"mode": "full" if result is None else "incremental", **({"full_reason": reason} if result is None and reason else {}),
            "posts": int(alive.sum()), "k": k, "index": meta["kind"], "searched": int(searched),
            "rows_changed": int((table.column("version").to_numpy() == run).sum()),
            "mean_nearest_similarity": float(first[alive & (first > -1.5)].mean()) if alive.any() else 0.0, **written}


def _update_neighbours(home: C2cHome, sql: str, ids: pa.Table, old: pa.Table, index: Any, k: int, run: int, meta: dict) -> tuple | str:
    """(table, index, queries searched) after adding the new and changed vectors, or why a rebuild is needed."""
    from c2c_assets.quality import post_knn as K
    from c2c_assets.warehouse import scratch

    n_old = old.num_rows
    if index.ntotal != n_old:
        return "the index and the table disagree"
    alive = old.column("alive").to_numpy(zero_copy_only=False).copy()
    with scratch(home) as db:
        db.register("cur_ids", ids)
        db.register("old_rows", old.select(["post_id", "content_key", "alive"]).append_column("row", pa.array(np.arange(n_old))))
        fresh = db.sql("""SELECT c.post_id FROM cur_ids AS c ANTI JOIN (SELECT * FROM old_rows WHERE alive) AS o
                          ON c.post_id = o.post_id AND c.content_key = o.content_key ORDER BY c.post_id""").to_arrow_table().column(0).combine_chunks()
        died = db.sql("""SELECT o.row FROM old_rows AS o ANTI JOIN cur_ids AS c ON c.post_id = o.post_id AND c.content_key = o.content_key
                         WHERE o.alive""").to_arrow_table().column(0).to_numpy()
    m, n_now = len(fresh), ids.num_rows
    if m > K.FULL_ABOVE_SHARE * n_now:
        return "most vectors changed (a new encoder version?)"
    if meta["kind"] == "Flat" and n_now > K.EXACT_ROWS:
        return "the posts outgrew the exact index"
    if meta["kind"] != "Flat" and n_old + m > K.REBUILD_GROWTH * meta["built_rows"]:
        return "the index outgrew its training"
    if (~alive).sum() + died.size > K.MAX_DEAD_SHARE * (n_old + m):
        return "too many replaced vectors in the index"
    alive[died] = False
    lists = K.fixed(old, "neighbour_rows", np.int64)
    sims = K.fixed(old, "similarity", np.float32)
    sims[sims < -1.5] = np.nan
    version = old.column("version").to_numpy().copy()
    version[died] = run
    new_rows = np.arange(n_old, n_old + m)
    if m:
        dates = pc.unique(ids.filter(pc.is_in(ids.column("post_id"), fresh)).column("scrape_date"))
        vectors = _vectors_of(home, sql, fresh, dates)
        with threads_for(m):
            index.add(vectors)
    alive = np.concatenate([alive, np.ones(m, bool)])
    dead = ~alive
    lists = np.vstack([lists, np.full((m, k), -1)])
    sims = np.vstack([sims, np.full((m, k), np.nan, np.float32)])
    version = np.concatenate([version, np.full(m, run)])
    searched = m
    if m:
        with threads_for(m):
            found = K.search(index, vectors, K.REVERSE_K, new_rows, dead)
        lists[new_rows], sims[new_rows] = found.rows[:, :k], found.similarity[:, :k]
    # Lists that hold a replaced vector: searched again.
    stale = np.flatnonzero(alive[:n_old] & np.isin(lists[:n_old], died).any(axis=1)) if died.size else np.zeros(0, np.int64)
    if stale.size:
        with threads_for(stale.size):
            again = K.search(index, index.reconstruct_batch(stale), k, stale, dead)
        lists[stale], sims[stale] = again.rows, again.similarity
        version[stale] = run
        searched += stale.size
    if m:
        # A new vector enters an old list when it ranks above that list's k-th.
        target, slot = np.nonzero(found.rows >= 0)
        other = found.rows[target, slot]
        offer = (other < n_old) & alive[np.maximum(other, 0)] & ~np.isin(other, stale)
        changed, merged_rows, merged_sims = K.merge_reverse(lists, sims, other[offer], new_rows[target[offer]], found.similarity[target[offer], slot[offer]])
        lists[changed], sims[changed] = merged_rows, merged_sims
        version[changed] = run
    keys = pa.concat_arrays([old.column("content_key").combine_chunks(),
                             ids.filter(pc.is_in(ids.column("post_id"), fresh)).column("content_key").combine_chunks()])
    post_ids = pa.concat_arrays([old.column("post_id").combine_chunks(), fresh.cast(pa.string())])
    return _neighbour_table(post_ids, keys, alive, lists, sims, version), index, searched


def build_repost_groups(home: C2cHome, encoder: str) -> tuple[pa.Table, dict[str, Any]]:
    """Listings that are the same item (``reposts``: a new day recomputes only the region it touches)."""
    from c2c_assets.quality.reposts import update_repost_groups

    return update_repost_groups(home, encoder)


def repost_group_of(home: C2cHome, encoder: str) -> dict[str, str]:
    """post_id -> repost group id of every current post in a repost group of ``encoder`` (empty before the
    asset is materialized). For other domains, e.g. price comparables that leave a post's own group out."""
    table = read(home, "repost_groups", encoder, ["post_id", "group_id"])
    if table is None:
        return {}
    return dict(zip(table.column("post_id").to_pylist(), table.column("group_id").to_pylist(), strict=True))


def build_post_scores(home: C2cHome, encoder: str) -> tuple[pa.Table, dict[str, Any]]:
    """Uniqueness, representativeness and outlier score of every current post, vectorized over the k-NN table
    (the normalisations are over all posts, so the table is recomputed whole: a second at a million posts);
    a post without a vector gets nulls and the reason."""
    posts = current_posts(home, "post_id").column("post_id").combine_chunks()
    nb = read_neighbours(home, encoder)
    live = np.flatnonzero(nb.alive)
    sims = nb.similarity[live]
    unique = uniqueness(sims)
    outlier, is_outlier = outlier_scores(sims)
    at = pc.index_in(posts, value_set=nb.post_id.take(pa.array(live))).to_numpy(zero_copy_only=False)
    has = ~np.isnan(at.astype(np.float64))
    take = np.where(has, at, 0).astype(np.int64)
    mask = ~has

    def column(values: np.ndarray, kind: pa.DataType) -> pa.Array:
        return pa.array(values[take] if len(values) else np.zeros(len(posts)), kind, mask=mask)

    clusters = read(home, "clusters", encoder)
    n = len(posts)
    cluster = pa.nulls(n, pa.int32())
    rep = pa.nulls(n, pa.float32())
    reason = np.where(has, "no clusters: run `c2c analyse` for representativeness",
                      "no vector: nothing this encoder can embed (no stored photo or text)").astype(object)
    if clusters is not None:
        cluster_ids = clusters.column("cluster").to_numpy().astype(np.int64)
        rep_values = representativeness(cluster_ids, clusters.column("distance").to_numpy())
        where = pc.index_in(posts, value_set=clusters.column("post_id")).to_numpy(zero_copy_only=False)
        clustered = ~np.isnan(where.astype(np.float64))
        cw = np.where(clustered, where, 0).astype(np.int64)
        cluster = pa.array(cluster_ids[cw], pa.int32(), mask=~clustered)
        rep = pa.array(rep_values[cw], pa.float32(), mask=~clustered | np.isnan(rep_values[cw]))
        reason[has & clustered] = None
        reason[has & ~clustered] = "not in the clusters (analysed before this post arrived)"
    table = pa.table({
        "post_id": posts, "encoder": pa.array([encoder] * n, pa.string()), "uniqueness": column(unique, pa.float32()),
        "representativeness": rep, "outlier_score": column(outlier, pa.float32()), "outlier": column(is_outlier, pa.bool_()),
        "cluster": cluster, "reason": pa.array(reason, pa.string()),
    }, schema=POST_SCORES)
    write(home, "post_scores", table, encoder)
    scored = int(has.sum())
    outliers = int(is_outlier.sum())
    return table, {
        "posts": n, "scored": scored, "null_scores": n - scored,
        "outliers": outliers, "outlier_share": round(outliers / n, 4) if n else 0.0,
        "with_representativeness": n - rep.null_count,
    }
