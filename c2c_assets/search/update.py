"""A nightly index update: add the day's new and changed vectors to the live build instead of rebuilding it.

A row of a build is identified by ``(post_id, content_hash, fingerprint)``: the same post with the same
content embedded by the same encoder configuration has the same vector. The update reads the live build
(the FAISS file whole: HNSW and IVF take additions, a memory-mapped read-only index does not), adds the
current rows the build lacks (a DuckDB anti-join against its id map: only those vectors are read) and
tombstones the build's rows that are no longer current (their ``post_id`` becomes null in the id map, so
that search drops them like a stale hit and ``--like`` never finds them; HNSW cannot delete). It re-tunes
on fresh held-out queries and is published like a full build.

When the changes are large (more than ``REBUILD_SHARE`` of the rows new or dead, tombstones from earlier
updates included), the plan would change with the new size, or the build predates the fingerprint column,
the caller builds from scratch instead: dead rows cost memory and query time, and an index grown far
beyond what it was planned for drifts from its tuning.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from c2c_assets.embeddings.store import STREAM_MEMORY, current_side_shape, current_vectors_sql, same_vector_sql
from c2c_assets.home import C2cHome
from c2c_assets.lake import to_matrix
from c2c_assets.search import index as idx
from c2c_assets.warehouse import scratch

REBUILD_SHARE = 0.10
KEY = ["post_id", "content_hash", "fingerprint"]
_BATCH_ROWS = 8_192


def _live(home: C2cHome, encoder: str, side: str) -> tuple[Path, dict, pa.Table] | None:
    build = idx.current_build(home, encoder, side)
    if build is None or not (build / "meta.json").exists():
        return None
    ids = pq.read_table(build / "ids.parquet")
    if "fingerprint" not in ids.column_names:
        return None
    return build, json.loads((build / "meta.json").read_text()), ids


def update_side(
    home: C2cHome, encoder: str, side: str, column: str, memory_budget_bytes: int, log: Callable[[str], None]
) -> tuple[idx.BuildInfo, object, pa.Table] | None:
    """The live build of one side with today's changes applied, or None when a full build is the right call."""
    import faiss

    live = _live(home, encoder, side)
    shape = current_side_shape(home, encoder, column)
    sql = current_vectors_sql(home, encoder, column)
    if live is None or shape is None or sql is None:
        return None
    build, meta, old_ids = live
    n, dim = shape
    # IVF-PQ takes additions too, but its exact ground truth needs streamed passes over every vector
    # (its lists hold codes only): a full build does those anyway, so IVF is always rebuilt.
    if meta["kind"] == "ivf" or dim != meta["dim"] or idx.choose_plan(n, dim, memory_budget_bytes).kind != meta["kind"]:
        return None
    started = time.perf_counter()
    same = same_vector_sql("c", "b")
    with scratch(home) as db:
        db.execute(f"SET memory_limit = '{STREAM_MEMORY}'")  # it streams every current vector past the anti join
        db.register("built", old_ids.select(KEY))
        db.execute(f"CREATE TEMP TABLE now_current AS SELECT post_id, content_hash, fingerprint FROM ({sql})")
        dead = db.execute(
            "SELECT count(*) FROM built b WHERE b.post_id IS NULL OR NOT EXISTS (SELECT 1 FROM now_current c "
            f"WHERE {same})"
        ).fetchall()[0][0]
        new = db.execute(
            f"SELECT count(*) FROM now_current c WHERE NOT EXISTS (SELECT 1 FROM built b WHERE {same})"
        ).fetchall()[0][0]
        if new + dead > REBUILD_SHARE * max(n, 1):
            log(f"{encoder}/{side}: {new:,} new and {dead:,} dead rows of {n:,}: a full build")
            return None
        index = faiss.read_index(str(build / "index.faiss"))
        added = [pa.table({name: pa.array([], old_ids.schema.field(name).type) for name in old_ids.column_names})]
        reader = db.sql(
            f"SELECT c.post_id, c.content_hash, c.fingerprint, c.text_predicted, c.v FROM ({sql}) c ANTI JOIN built b "
            f"ON {same}"
        ).to_arrow_reader(_BATCH_ROWS)
        fresh = []
        for batch in reader:
            table = pa.Table.from_batches([batch])
            fresh.append(to_matrix(table.column("v")))
            added.append(table.select(old_ids.column_names).take(np.arange(table.num_rows)))
        if fresh:
            index.add(np.concatenate(fresh))  # one add: HNSW grown by many adds is a worse graph (search.build._add_all)
        # Tombstones: a row whose key is no longer current keeps its place (FAISS rows are positional) but loses its id.
        current_keys = db.sql("SELECT post_id || '|' || content_hash || '|' || coalesce(fingerprint, '') AS k FROM now_current").to_arrow_table()
    old_keys = pc.binary_join_element_wise(
        old_ids.column("post_id"), old_ids.column("content_hash"), pc.fill_null(old_ids.column("fingerprint"), ""), "|"
    )
    alive = pc.is_in(old_keys, value_set=current_keys.column("k").combine_chunks())
    kept = old_ids.set_column(0, "post_id", pc.if_else(pc.fill_null(alive, False), old_ids.column("post_id"), pa.scalar(None, pa.string())))
    ids = pa.concat_tables([kept, *added], promote_options="permissive").combine_chunks()
    plan = idx.IndexPlan(meta["kind"], meta["params"])
    recall, plan = _retune(index, plan)
    seconds = time.perf_counter() - started
    log(f"{encoder}/{side}: updated {meta['kind']} in place: +{new:,} rows, {dead:,} tombstoned, recall@10 {recall:.3f}")
    info = idx.BuildInfo(encoder, side, plan.kind, plan.params, index.ntotal, dim, recall, seconds,
                         idx.queries_per_second(index, _queries(index)), 0, time.time())
    return info, index, ids


def _queries(index: object, n: int = 500, seed: int = 0) -> np.ndarray:
    """Held-out-like queries: midpoints of random stored vectors and their nearest other stored vector."""
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(index.ntotal, size=min(n, index.ntotal), replace=False))
    sample = np.stack([index.reconstruct(int(r)) for r in rows])
    _, pairs = index.search(sample, min(2, index.ntotal))
    partners = np.stack([index.reconstruct(int(r)) for r in pairs[:, -1]])
    queries = sample + partners
    return np.ascontiguousarray(queries / np.maximum(np.linalg.norm(queries, axis=1, keepdims=True), 1e-12), dtype=np.float32)


def _retune(index: object, plan: idx.IndexPlan) -> tuple[float, idx.IndexPlan]:
    """Recall@10 of the updated index on fresh queries against exact search over what it stores, tuned up if it fell."""
    import faiss

    if plan.kind == "flat":
        return 1.0, plan
    queries = _queries(index)
    truth = faiss.downcast_index(index.storage).search(queries, min(idx.K, index.ntotal))[1]
    idx.set_search_params(index, plan)
    tuned, recall = idx.tune(index, plan, queries, truth)
    return recall, tuned
