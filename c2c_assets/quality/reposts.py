"""``repost_groups[encoder]``: listings that are the same item, kept up to date day by day.

Edges: two current posts that share a near-duplicate photo group that is not a stock photo, or whose
vectors are near (one in the other's k-NN list at ``REPOST_VECTOR_SIMILARITY``) and whose texts are
near-duplicates (MinHash); prices must agree either way. Groups are the connected components (scipy).

A later run finds the posts whose edges may have changed: new or changed posts (text, photos, price),
posts whose k-NN list moved (``post_neighbours.version``) and posts using a photo whose group changed
(``photo_groups.version``), with every member of their old groups (the region). Only the edges that touch
the region are evaluated again; the other groups enter the components as they were (each joined to its
earliest member), so a group outside the region keeps its members and id, and a group the region touches
is merged or split as a full rebuild would. A group is named after its earliest listing (first scrape,
then post id), so a group that only grows keeps its id.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from c2c_assets.home import C2cHome
from c2c_assets.prices import usable_mask
from c2c_assets.quality import state as S
from c2c_assets.quality import thresholds as T
from c2c_assets.quality.readers import read_neighbours, texts_of
from c2c_assets.quality.lake_io import current_photos_sql, current_posts, read, table_file, write
from c2c_assets.quality.photo_groups import components
from c2c_assets.quality.schema import REPOST_GROUPS
from c2c_assets.quality.text import minhashes, similar_texts
from c2c_assets.warehouse import scratch

TABLE = "repost_groups"
FULL_ABOVE_SHARE = 0.5
_CHAIN_ABOVE = 50  # a bigger non-stock photo group (one item re-listed many times) is joined as a chain


def _index_of(values: pa.Array, universe: pa.Array) -> np.ndarray:
    """Row of each value in ``universe``, -1 where absent."""
    at = pc.index_in(values, value_set=universe).to_numpy(zero_copy_only=False)
    return np.where(np.isnan(at.astype(np.float64)), -1, at).astype(np.int64)


def prices_agree(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Within ``PRICE_TOLERANCE`` of the larger price; an unknown (NaN) price does not contradict."""
    with np.errstate(invalid="ignore"):
        close = np.abs(a - b) <= T.PRICE_TOLERANCE * np.maximum(np.abs(a), np.abs(b))
    return close | np.isnan(a) | np.isnan(b)


def _photo_edges(home: C2cHome, post_ids: pa.Array, region: pa.Array | None, groups: pa.Table) -> tuple[np.ndarray, np.ndarray]:
    """Post-row pairs sharing a non-stock photo group (of the groups a ``region`` post uses, if given)."""
    sql = current_photos_sql(home)
    if sql is None:
        raise ValueError("photo_groups is not materialized yet")
    with scratch(home) as db:
        db.register("photo_groups_table", groups.filter(pc.invert(groups.column("stock"))).select(["group_id", "sha256"]))
        restrict = ""
        if region is not None:
            db.register("region_posts", pa.table({"post_id": region}))
            restrict = "AND g.group_id IN (SELECT g2.group_id FROM photos AS p2 JOIN photo_groups_table AS g2 USING (sha256) SEMI JOIN region_posts USING (post_id))"
        rows = db.execute(f"""
            WITH photos AS (SELECT post_id, sha256 FROM ({sql}))
            SELECT list(DISTINCT p.post_id ORDER BY p.post_id) FROM photos AS p JOIN photo_groups_table AS g USING (sha256)
            WHERE true {restrict} GROUP BY g.group_id HAVING count(DISTINCT p.post_id) > 1
        """).fetchall()
    firsts, seconds = [], []
    lists = pa.array([members for (members,) in rows], pa.list_(pa.string()))
    # One lookup for every member of every group (a lookup per group would hash the million post ids each time).
    flat = _index_of(lists.flatten(), post_ids)
    offsets = lists.offsets.to_numpy()
    for start, stop in zip(offsets[:-1].tolist(), offsets[1:].tolist(), strict=True):
        at = flat[start:stop]
        at = at[at >= 0]
        if len(at) <= _CHAIN_ABOVE:
            i, j = np.triu_indices(len(at), 1)
            firsts.append(at[i])
            seconds.append(at[j])
        else:
            firsts.append(at[:-1])
            seconds.append(at[1:])
    if not firsts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(firsts), np.concatenate(seconds)


def _vector_candidates(nb, post_row_of: np.ndarray, region_rows: np.ndarray | None, n_posts: int) -> tuple[np.ndarray, np.ndarray]:  # noqa: ANN001
    """Post-row pairs (a < b) one of which has the other among its near neighbours (touching the region, if given)."""
    close = np.nan_to_num(nb.similarity, nan=-1.0) >= T.REPOST_VECTOR_SIMILARITY
    close &= nb.alive[:, None]
    query, slot = np.nonzero(close)
    other = nb.rows[query, slot]
    a, b = post_row_of[query], post_row_of[np.maximum(other, 0)]
    keep = (other >= 0) & (a >= 0) & (b >= 0) & (a != b)
    a, b = a[keep], b[keep]
    if region_rows is not None:
        inside = np.zeros(n_posts, dtype=bool)
        inside[region_rows] = True
        touch = inside[a] | inside[b]
        a, b = a[touch], b[touch]
    pairs = np.unique(np.stack([np.minimum(a, b), np.maximum(a, b)], axis=1), axis=0) if a.size else np.zeros((0, 2), np.int64)
    return pairs[:, 0], pairs[:, 1]


def _evidence(home: C2cHome, posts: pa.Table, nb, post_row_of: np.ndarray, region: np.ndarray | None,  # noqa: ANN001
              groups: pa.Table) -> tuple[dict[tuple[int, int], set[str]], np.ndarray]:
    """(post-row pair -> the kinds of evidence joining it, each post's usable price or NaN)."""

    post_ids = posts.column("post_id").combine_chunks()
    raw = posts.column("price_usd").to_numpy(zero_copy_only=False).astype(np.float64)
    # A placeholder ($1, 99999) says nothing of the price: like an unknown one, it does not contradict.
    prices = np.where(usable_mask(raw), raw, np.nan)
    evidence: dict[tuple[int, int], set[str]] = defaultdict(set)
    a, b = _photo_edges(home, post_ids, None if region is None else post_ids.take(pa.array(region)), groups)
    ok = prices_agree(prices[a], prices[b])
    for x, y in zip(np.minimum(a, b)[ok].tolist(), np.maximum(a, b)[ok].tolist(), strict=True):
        evidence[(x, y)].add("photo")
    a, b = _vector_candidates(nb, post_row_of, region, len(post_ids))
    involved = np.unique(np.concatenate([a, b]))
    texts = texts_of(home, post_ids.take(pa.array(involved)).to_pylist())
    hashes = dict(zip(involved.tolist(), minhashes([texts.get(p) for p in post_ids.take(pa.array(involved)).to_pylist()]), strict=True))
    ok = prices_agree(prices[a], prices[b])
    for x, y, agree in zip(a.tolist(), b.tolist(), ok.tolist(), strict=True):
        if agree and similar_texts(hashes[x], hashes[y]) >= T.TEXT_JACCARD:
            evidence[(x, y)].add("text+vector")
    return evidence, prices


def _region(home: C2cHome, posts: pa.Table, nb, post_row_of: np.ndarray, stored: S.Stored, old: pa.Table, groups: pa.Table) -> np.ndarray:  # noqa: ANN001
    """Post rows whose edges may have changed since the stored run, with every member of their old groups."""
    post_ids = posts.column("post_id").combine_chunks()
    touched = [np.flatnonzero(S.changed_posts(posts, S.load_posts(home, TABLE, stored.meta["encoder"])))]
    # A moved list matters when it holds a near neighbour now (one pushed out leaves only nearer ones behind;
    # a replaced one is a changed post, in the region already).
    near = (np.nan_to_num(nb.similarity, nan=-1.0) >= T.REPOST_VECTOR_SIMILARITY).any(axis=1)
    moved = (nb.version > int(stored.meta.get("neighbours_version", 0))) & nb.alive & near
    touched.append(post_row_of[moved][post_row_of[moved] >= 0])
    # A changed list's old members may have lost their edge to it: they are in the old groups, or in the list now.
    changed = groups.filter(pc.greater(groups.column("version"), int(stored.meta.get("photo_groups_version", 0)))).select(["sha256"])
    if changed.num_rows:
        with scratch(home) as db:
            db.register("moved_shas", changed)
            using = db.sql(f"SELECT DISTINCT post_id FROM ({current_photos_sql(home)}) SEMI JOIN moved_shas USING (sha256)").to_arrow_table()
        at = _index_of(using.column(0).combine_chunks(), post_ids)
        touched.append(at[at >= 0])
    rows = np.unique(np.concatenate(touched))
    hit = old.filter(pc.is_in(old.column("post_id"), post_ids.take(pa.array(rows))))
    members = old.filter(pc.is_in(old.column("group_id"), hit.column("group_id").unique()))
    at = _index_of(members.column("post_id").combine_chunks(), post_ids)
    return np.unique(np.concatenate([rows, at[at >= 0]]))


def update_repost_groups(home: C2cHome, encoder: str) -> tuple[pa.Table, dict[str, Any]]:
    posts = current_posts(home, "post_id, source, scrape_date, content_hash, price_usd, first_seen, last_seen")
    post_ids = posts.column("post_id").combine_chunks()
    nb = read_neighbours(home, encoder)
    post_row_of = np.where(nb.alive, _index_of(nb.post_id, post_ids), -1)
    # Read once for the region, the photo edges and the version (2M rows at a million posts).
    groups = read(home, "photo_groups", columns=["group_id", "sha256", "stock", "version"])
    if groups is None:
        raise ValueError("photo_groups is not materialized yet")
    sig = S.signature(table=TABLE)
    stored = S.load(home, TABLE, table_file(home, TABLE, encoder), sig, encoder)
    region, reason, old = None, stored.full_reason, None
    if stored.incremental:
        old = read(home, TABLE, encoder)
        snapshot = S.load_posts(home, TABLE, encoder)
        if snapshot is None or S.lost_posts(posts, snapshot):
            reason = "no stored snapshot" if snapshot is None else "posts left the lake"
        else:
            region = _region(home, posts, nb, post_row_of, stored, old, groups)
            if region.size > FULL_ABOVE_SHARE * len(post_ids):
                region, reason = None, "most posts changed"
    evidence, prices = _evidence(home, posts, nb, post_row_of, region, groups)
    pairs = np.asarray(sorted(evidence), dtype=np.int64).reshape(-1, 2)
    first, second = pairs[:, 0], pairs[:, 1]
    kept_evidence: dict[int, str] = {}
    if region is not None:
        # The groups outside the region, as they were: each member joined to the group's first member.
        inside = pc.is_in(old.column("post_id"), post_ids.take(pa.array(region)))
        outside_groups = old.filter(pc.invert(pc.is_in(old.column("group_id"), old.filter(inside).column("group_id").unique())))
        rows = _index_of(outside_groups.column("post_id").combine_chunks(), post_ids)
        ids = outside_groups.column("group_id").to_numpy(zero_copy_only=False)
        _, first_of, inverse = np.unique(ids, return_index=True, return_inverse=True)
        first = np.concatenate([first, rows[first_of][inverse]])
        second = np.concatenate([second, rows])
        kept_evidence = dict(zip(rows.tolist(), outside_groups.column("evidence").to_pylist(), strict=True))
    labels = components(len(post_ids), first, second)
    table = _rows(posts, labels, evidence, kept_evidence, prices, encoder)
    nb_version = int(nb.version.max()) if nb.version.size else 0
    pg_version = int(pc.max(groups.column("version")).as_py() or 0) if groups.num_rows else 0
    token = S.save(home, TABLE, {"signature": sig, "encoder": encoder, "neighbours_version": nb_version, "photo_groups_version": pg_version}, encoder=encoder)
    S.save_posts(home, TABLE, posts, encoder)
    write(home, TABLE, S.stamp(table, token), encoder)
    group_sites = dict(zip(table.column("group_id").to_pylist(), table.column("group_sites").to_pylist(), strict=True))
    n = len(post_ids)
    return table, {
        "mode": "full" if region is None else "incremental", **({"full_reason": reason} if region is None and reason else {}),
        "posts_recomputed": n if region is None else int(region.size),
        "posts": n, "groups": len(group_sites), "posts_in_groups": table.num_rows,
        "repost_share": round(table.num_rows / n, 4) if n else 0.0,
        "cross_site_groups": sum(1 for s in group_sites.values() if s > 1),
        "photo_edges": sum(1 for k in evidence.values() if "photo" in k),
        "text_vector_edges": sum(1 for k in evidence.values() if "text+vector" in k),
    }


def _rows(posts: pa.Table, labels: np.ndarray, evidence: dict, kept: dict[int, str], prices: np.ndarray, encoder: str) -> pa.Table:
    sizes = np.bincount(labels)
    grouped = np.flatnonzero(sizes[labels] >= 2)
    how: dict[int, set[str]] = defaultdict(set)
    for (a, b), kinds in evidence.items():
        how[a] |= kinds
        how[b] |= kinds
    for row, text in kept.items():
        how[row] |= set((text or "").split("+")) - {""}
    # Only the grouped posts are read out of Arrow (a few percent of a million); ``at`` maps a post row to them.
    chosen = posts.take(pa.array(grouped))
    at = dict(zip(grouped.tolist(), range(len(grouped)), strict=True))
    post_ids = dict(zip(grouped.tolist(), chosen.column("post_id").to_pylist(), strict=True))
    first_seen = chosen.column("first_seen").cast(pa.int32()).to_numpy(zero_copy_only=False)
    sources = chosen.column("source").to_pylist()
    # A group is named after its earliest listing (first scrape, then post id; rows are in post id order).
    order = grouped[np.lexsort((grouped, first_seen, labels[grouped]))]
    members: dict[int, list[int]] = defaultdict(list)
    for row in order.tolist():
        members[int(labels[row])].append(row)
    out = []
    last_seen, first_dates = chosen.column("last_seen").to_pylist(), chosen.column("first_seen").to_pylist()
    for group in members.values():
        gid = "r" + hashlib.blake2b(post_ids[group[0]].encode(), digest_size=6).hexdigest()
        sites = len({sources[at[i]] for i in group})
        for i in group:
            out.append({
                "group_id": gid, "post_id": post_ids[i], "encoder": encoder, "source": sources[at[i]],
                "price_usd": None if np.isnan(prices[i]) else float(prices[i]), "first_seen": first_dates[at[i]],
                "last_seen": last_seen[at[i]], "group_posts": len(group), "group_sites": sites, "evidence": "+".join(sorted(how[i])),
            })
    return pa.Table.from_pylist(out, schema=REPOST_GROUPS).sort_by([("group_id", "ascending"), ("post_id", "ascending")])
