"""``photo_groups``: near-duplicate groups of every hashed photo, kept up to date day by day.

A full run puts every usable hash code in a FAISS binary index (``photo_groups.binary_index``), joins
the near pairs into connected components (scipy) and counts, per group, the current listings using it
and how many different items they are (a stock photo: ``STOCK_MIN_ITEMS`` or more). The index and the
order of its codes are kept (``quality.state``). A later run adds only the photos hashed since, searches
them against the index, and merges the groups they reach; counts are redone only for the groups that
gained photos or whose listings changed (a new, changed or re-photographed post). A group is named after
its earliest photo (first scrape, then sha256), so a group that only grows keeps its id, and a full
rebuild names it the same way. Rebuilt in full when the thresholds change or the index outgrows its
training.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from c2c_assets.home import C2cHome
from c2c_assets.quality import layers
from c2c_assets.quality import state as S
from c2c_assets.quality import thresholds as T
from c2c_assets.quality.lake_io import current_photos_sql, current_posts, publish, read, table_file
from c2c_assets.quality.photo_groups import EXACT_ROWS, NPROBE, binary_index, components, near_pairs
from c2c_assets.quality.photos import colour_layouts, hash_codes
from c2c_assets.neighbours import threads_for
from c2c_assets.quality.schema import PHOTO_GROUPS
from c2c_assets.warehouse import lake_relation, scratch

TABLE = "photo_groups"
REBUILD_GROWTH = 2.0


def _first_seen(home: C2cHome, shas: pa.Array) -> pa.Array:
    """The first scrape date of each photo (any post, any scrape), aligned with ``shas``."""
    images = lake_relation(home, "post_images")
    with scratch(home) as db:
        db.register("wanted_shas", pa.table({"sha256": shas, "row": pa.array(np.arange(len(shas)))}))
        table = db.sql(f"""
            SELECT w.row, min(i.scrape_date) AS first_seen FROM wanted_shas AS w JOIN {images} AS i USING (sha256)
            GROUP BY w.row
        """).to_arrow_table()
    out = np.full(len(shas), np.datetime64("9999-12-31"), dtype="datetime64[D]")
    out[table.column("row").to_numpy()] = table.column("first_seen").to_numpy()
    return pa.array(out, pa.date32())


def _anchor_ids(shas: np.ndarray, first_seen: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """A group's id is its earliest photo's (first scrape, then sha256): ``p`` + the sha's first 16 digits."""
    order = np.lexsort((shas, first_seen, labels))
    ordered = labels[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    anchor_of_label = np.zeros(int(labels.max()) + 1 if len(labels) else 0, dtype=np.int64)
    anchor_of_label[ordered[starts]] = order[starts]
    anchors = anchor_of_label[labels]
    names = pc.binary_join_element_wise("p", pc.utf8_slice_codeunits(pa.array(shas[anchors], pa.string()), 0, 16), "")
    return names.to_numpy(zero_copy_only=False)


def _colour_pairs_ok(colours_a: np.ndarray, colours_b: np.ndarray) -> np.ndarray:
    return np.abs(colours_a - colours_b).mean(axis=1) <= T.COLOUR_LAYOUT_DIFF


def _full(home: C2cHome, hashes: pa.Table) -> tuple[pa.Table, Any, pa.Array]:
    """(rows group_id, sha256, first_seen; the binary index; the sha256 of each index row)."""
    shas = hashes.column("sha256").combine_chunks()
    ok = pc.equal(hashes.column("status"), "ok").to_numpy(zero_copy_only=False)
    ok_rows = np.flatnonzero(ok)
    usable = hashes.filter(pa.array(ok))
    codes = hash_codes(usable)
    index = binary_index(codes) if len(codes) else None
    first, second, _ = near_pairs(codes, index=index) if len(codes) > 1 else (np.zeros(0, np.int64),) * 3
    colours = colour_layouts(usable)
    alike = _colour_pairs_ok(colours[first], colours[second])
    labels = components(len(shas), ok_rows[first[alike]], ok_rows[second[alike]])
    first_seen = _first_seen(home, shas)
    ids = _anchor_ids(shas.to_numpy(zero_copy_only=False), first_seen.to_numpy(zero_copy_only=False), labels)
    return pa.table({"group_id": pa.array(ids, pa.string()), "sha256": shas, "first_seen": first_seen}), index, usable.column("sha256").combine_chunks()


def _changed_post_shas(home: C2cHome, posts: pa.Table, stored: pa.Table | None) -> pa.Array:
    """The photos of the posts that are new or changed since ``stored``, now and in their stored version."""
    changed = S.changed_posts(posts, stored)
    wanted = posts.filter(pa.array(changed)).select(["post_id", "scrape_date"])
    if stored is not None:
        old = stored.filter(pc.is_in(stored.column("post_id"), wanted.column("post_id"))).select(["post_id", "scrape_date"])
        wanted = pa.concat_tables([wanted, old])
    images = lake_relation(home, "post_images")
    with scratch(home) as db:
        db.register("wanted_scrapes", wanted)
        return db.sql(f"SELECT DISTINCT sha256 FROM {images} SEMI JOIN wanted_scrapes USING (post_id, scrape_date) "
                      "WHERE status = 'ok' AND sha256 IS NOT NULL").to_arrow_table().column(0).combine_chunks()


def _incremental(home: C2cHome, hashes: pa.Table, old: pa.Table, index: Any, order: pa.Array) -> tuple[pa.Table, pa.Array, pa.Array] | str:
    """(rows group_id, sha256, first_seen; the index rows' sha256 now; the ids of the groups that changed) or why not."""
    fresh = hashes.filter(pc.invert(pc.is_in(hashes.column("sha256"), old.column("sha256"))))
    fresh_ok = fresh.filter(pc.equal(fresh.column("status"), "ok"))
    total = index.ntotal + fresh_ok.num_rows
    if total > EXACT_ROWS and not hasattr(index, "nprobe"):
        return "the photos outgrew the exact index"
    shas_new = fresh.column("sha256").combine_chunks()
    first_seen_new = _first_seen(home, shas_new)
    m = fresh.num_rows
    if m == 0:
        return old.select(["group_id", "sha256", "first_seen"]), order, pa.array([], pa.string())
    codes = hash_codes(fresh_ok)
    base = index.ntotal
    if len(codes):
        with threads_for(len(codes)):
            index.add(codes)
    order = pa.concat_arrays([order, fresh_ok.column("sha256").combine_chunks()])
    # Near pairs of the new codes, among everything indexed (new ones included).
    ok_new_rows = np.flatnonzero(pc.equal(fresh.column("status"), "ok").to_numpy(zero_copy_only=False))
    if len(codes):
        with threads_for(len(codes)):
            distance, found = index.search(codes, min(T.PHOTO_NEIGHBOURS + 1, index.ntotal))
        query = np.repeat(np.arange(len(codes)), found.shape[1])
        found, distance = found.ravel(), distance.ravel()
        keep = (found >= 0) & (found != base + query) & (distance <= T.NEAR_DUPLICATE_BITS)
        query, found = query[keep], found[keep]
    else:
        query = found = np.zeros(0, np.int64)
    other_shas = order.take(pa.array(found))
    colour_of = hashes.select(["sha256", "colour"])
    colour_rows = pc.index_in(other_shas, value_set=colour_of.column("sha256")).to_numpy(zero_copy_only=False)
    all_colours = colour_layouts(colour_of.take(pa.array(colour_rows.astype(np.int64)))) if len(found) else np.zeros((0, 48), np.float32)
    alike = _colour_pairs_ok(colour_layouts(fresh_ok)[query], all_colours) if len(found) else np.zeros(0, bool)
    query, other_shas = query[alike], other_shas.filter(pa.array(alike))
    # A small graph: the new photos, and the old groups their pairs reach (one node each).
    new_row_of = pc.index_in(other_shas, value_set=shas_new).to_numpy(zero_copy_only=False)
    old_row_of = pc.index_in(other_shas, value_set=old.column("sha256")).to_numpy(zero_copy_only=False)
    is_new = ~np.isnan(new_row_of.astype(np.float64))
    reached = old.column("group_id").take(pa.array(old_row_of[~is_new].astype(np.int64)))
    old_groups = reached.unique()
    group_node = m + pc.index_in(reached, value_set=old_groups).to_numpy(zero_copy_only=False)
    a = np.concatenate([ok_new_rows[query[is_new]], ok_new_rows[query[~is_new]]])
    b = np.concatenate([new_row_of[is_new].astype(np.int64), group_node.astype(np.int64)])
    labels = components(m + len(old_groups), a, b)
    # Each component's members: its new photos and every photo of the old groups it reached.
    members = old.filter(pc.is_in(old.column("group_id"), old_groups)).select(["group_id", "sha256", "first_seen"])
    member_label = labels[m + pc.index_in(members.column("group_id"), value_set=old_groups).to_numpy(zero_copy_only=False)]
    shas = np.concatenate([shas_new.to_numpy(zero_copy_only=False), members.column("sha256").to_numpy(zero_copy_only=False)])
    seen = np.concatenate([first_seen_new.to_numpy(zero_copy_only=False), members.column("first_seen").to_numpy(zero_copy_only=False)])
    node_labels = np.concatenate([labels[:m], member_label])
    ids = pa.array(_anchor_ids(shas, seen, node_labels), pa.string())
    renamed = pa.table({"group_id": ids, "sha256": pa.array(shas, pa.string()), "first_seen": pa.array(seen, pa.date32())})
    kept = old.filter(pc.invert(pc.is_in(old.column("group_id"), old_groups))).select(["group_id", "sha256", "first_seen"])
    changed = pa.concat_arrays([ids.unique(), old_groups.cast(pa.string())])
    return pa.concat_tables([kept, renamed]), order, changed


def _order_file(home: C2cHome) -> Any:
    return S.state_dir(home, TABLE) / "order.parquet"


def _load_order(home: C2cHome) -> pa.Array | None:
    """The sha256 of each row of the stored index, in row order (``None`` before the first run)."""
    table = layers.read(_order_file(home), "row", ["sha256"], ordered=True)
    return None if table is None else table.column("sha256").combine_chunks()


def _save_order(home: C2cHome, order: pa.Array, run: int, *, full: bool) -> None:
    """The index's codes only grow at the end: a day appends its rows as a delta (``layers``), not the 2M again."""
    table = pa.table({"row": pa.array(np.arange(len(order), dtype=np.int64)), "sha256": order})
    stored = 0 if full else sum(layers.layered_rows(_order_file(home)))
    layers.publish(_order_file(home), table, run, "row", None if full or not stored else table.slice(stored))


def _counts(home: C2cHome, rows: pa.Table, groups: pa.Array | None) -> pa.Table:
    """group_id, group_photos, group_posts, group_items, stock of ``groups`` (None: every group of ``rows``)."""
    from c2c_assets.quality.readers import texts_of
    from c2c_assets.quality.text import text_components

    chosen = rows if groups is None else rows.filter(pc.is_in(rows.column("group_id"), groups))
    photos = chosen.group_by("group_id").aggregate([("sha256", "count")]).rename_columns(["group_id", "group_photos"])
    sql = current_photos_sql(home)
    with scratch(home) as db:
        db.register("chosen_rows", chosen.select(["group_id", "sha256"]))
        posts = db.sql(f"""
            SELECT g.group_id, count(DISTINCT p.post_id) AS group_posts,
                   CASE WHEN count(DISTINCT p.post_id) >= {T.STOCK_MIN_ITEMS} THEN list(DISTINCT p.post_id ORDER BY p.post_id) END AS members
            FROM chosen_rows AS g JOIN ({sql}) AS p USING (sha256) GROUP BY g.group_id
        """).to_arrow_table()
    items = pc.fill_null(posts.column("group_posts"), 0).to_numpy(zero_copy_only=False).astype(np.int64)
    shared = [(i, m) for i, m in enumerate(posts.column("members").to_pylist()) if m]
    if shared:
        texts = texts_of(home, sorted({p for _, m in shared for p in m}))
        for i, m in shared:
            items[i] = text_components([texts.get(p) for p in m])
    where = pc.index_in(photos.column("group_id"), value_set=posts.column("group_id")).to_numpy(zero_copy_only=False)
    found = ~np.isnan(where.astype(np.float64))
    take = np.where(found, where, 0).astype(np.int64)
    n_posts = np.where(found, posts.column("group_posts").to_numpy(zero_copy_only=False)[take] if posts.num_rows else 0, 0)
    n_items = np.where(found, items[take] if posts.num_rows else 0, 0)
    return photos.append_column("group_posts", pa.array(n_posts, pa.int32())).append_column(
        "group_items", pa.array(n_items, pa.int32())).append_column("stock", pa.array(n_items >= T.STOCK_MIN_ITEMS))


def _with_counts(rows: pa.Table, counts: pa.Table, old: pa.Table | None, run: int) -> pa.Table:
    """PHOTO_GROUPS rows: the counted groups' new counts (version ``run``), the others' as they were."""
    where = pc.index_in(rows.column("group_id"), value_set=counts.column("group_id")).to_numpy(zero_copy_only=False)
    counted = ~np.isnan(where.astype(np.float64))
    take = pa.array(np.where(counted, where, 0).astype(np.int64))
    columns = {}
    if old is not None:
        old_at = pc.index_in(rows.column("sha256"), value_set=old.column("sha256")).to_numpy(zero_copy_only=False)
        old_take = pa.array(np.where(np.isnan(old_at.astype(np.float64)), 0, old_at).astype(np.int64))
    for name in ("group_photos", "group_posts", "group_items", "stock", "version"):
        if name == "version":
            fresh = pa.array(np.full(rows.num_rows, run), pa.int64())
        else:  # nothing counted (a run with nothing new): every row keeps its old counts
            fresh = counts.column(name).take(take) if counts.num_rows else pa.nulls(rows.num_rows, counts.schema.field(name).type)
        columns[name] = fresh if old is None else pc.if_else(pa.array(counted), fresh, old.column(name).take(old_take))
    table = pa.table({"group_id": rows.column("group_id"), "sha256": rows.column("sha256"), **{n: columns[n] for n in ("group_photos", "group_posts", "group_items", "stock")},
                      "first_seen": rows.column("first_seen"), "version": columns["version"]})
    return table.cast(PHOTO_GROUPS)


def update_photo_groups(home: C2cHome) -> tuple[pa.Table, dict[str, Any]]:
    hashes = read(home, "photo_hashes", columns=["sha256", "status", "phash", "dhash", "colour"])
    if hashes is None or current_photos_sql(home) is None:
        raise ValueError("photo_hashes is not materialized yet")
    posts = current_posts(home, "post_id, scrape_date, content_hash, price_usd")
    sig = S.signature(table=TABLE)
    stored = S.load(home, TABLE, table_file(home, TABLE), sig)
    run = int(stored.meta.get("version", 0)) + 1
    mode, reason = "incremental", None
    result: Any = None
    if stored.incremental:
        index = S.load_index(home, TABLE, binary=True)
        if index is not None and hasattr(index, "nprobe"):
            index.nprobe = NPROBE
        old = read(home, TABLE)
        order = _load_order(home)
        grown = index is not None and index.ntotal + 1 > REBUILD_GROWTH * max(1, int(stored.meta.get("built_rows", 0)))
        if index is None or grown:
            result = "the index outgrew its training" if grown else "no stored index"
        elif order is None or len(order) != index.ntotal:
            result = "the index and the order of its codes disagree (an interrupted run)"
        else:
            result = _incremental(home, hashes, old, index, order)
        if isinstance(result, str):
            reason, result = result, None
    else:
        reason = stored.full_reason
    if result is None:
        mode = "full"
        rows, index, order = _full(home, hashes)
        counts = _counts(home, rows, None)
        table = _with_counts(rows, counts, None, run)
        built_rows = len(order)
    else:
        rows, order, changed = result
        touched = pa.concat_arrays([changed, rows.filter(pc.is_in(rows.column("sha256"), _changed_post_shas(home, posts, S.load_posts(home, TABLE)))).column("group_id").combine_chunks()]).unique()
        table = _with_counts(rows, _counts(home, rows, touched), old, run)
        built_rows = int(stored.meta.get("built_rows", len(order)))
    meta = {"signature": sig, "version": run, "built_rows": built_rows}
    _save_order(home, order, run, full=mode == "full")
    token = S.save(home, TABLE, meta)
    S.save_posts(home, TABLE, posts)
    if index is not None:
        S.save_index(home, TABLE, index, binary=True)
    stamped = S.stamp(table, token)
    # A day's delta: the rows of the groups it changed or counted again (the others are as stored).
    changed = None if mode == "full" else stamped.filter(pc.equal(stamped.column("version"), run))
    written = publish(home, TABLE, stamped, run, changed)
    return table, {**_stats(table, mode, reason), **written}


def _stats(table: pa.Table, mode: str, reason: str | None) -> dict[str, Any]:
    per_group = table.group_by("group_id").aggregate([("group_photos", "max"), ("group_posts", "max"), ("stock", "max"), ("version", "max")])
    photos = per_group.column("group_photos_max").to_numpy()
    near = photos > 1
    return {
        "mode": mode, **({"full_reason": reason} if reason else {}),
        "photos": table.num_rows, "groups": per_group.num_rows, "near_duplicate_groups": int(near.sum()),
        "photos_in_near_duplicate_groups": int(photos[near].sum()),
        "shared_groups": int((per_group.column("group_posts_max").to_numpy() > 1).sum()),
        "stock_groups": int(pc.sum(per_group.column("stock_max")).as_py() or 0),
        "groups_updated": int(pc.sum(pc.equal(per_group.column("version_max"), pc.max(table.column("version")))).as_py() or 0),
    }
