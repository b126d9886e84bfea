"""Per encoder: every current post's nearest posts (one FAISS k-NN pass, ``c2c_assets.neighbours``), and
from them the repost groups and the uniqueness / representativeness / outlier scores."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from typing import Any

import numpy as np
import pyarrow as pa

from c2c_assets.embeddings.store import current_side
from c2c_assets.home import C2cHome
from c2c_assets.prices import is_usable
from c2c_assets.quality import thresholds as T
from c2c_assets.quality.lake_io import current_photos_sql, current_posts, read, table_file, write
from c2c_assets.quality.photo_groups import components
from c2c_assets.quality.pipeline import texts_of
from c2c_assets.quality.schema import POST_SCORES, REPOST_GROUPS
from c2c_assets.quality.scores import outlier_scores, representativeness, uniqueness
from c2c_assets.quality.text import minhashes, similar_texts
from c2c_assets.storage import read_table

NEIGHBOURS = "post_neighbours"


def neighbours_schema(k: int) -> pa.Schema:
    return pa.schema([("post_id", pa.string()), ("neighbours", pa.list_(pa.string(), k)), ("similarity", pa.list_(pa.float32(), k))])


def build_post_neighbours(home: C2cHome, encoder: str, k: int = T.POST_NEIGHBOURS) -> dict[str, Any]:
    """The ``k`` nearest current posts of every current post (cosine of the post vectors)."""
    from c2c_assets.lake import fixed_size_list
    from c2c_assets.neighbours import knn

    side = current_side(home, encoder, "vector")
    if side is None:
        raise ValueError(f"encoder {encoder!r} has no current vectors: run `c2c embed -e {encoder}` first")
    ids, vectors = side
    found = knn(vectors, k)
    post_ids = ids.column("post_id").combine_chunks()
    flat = found.rows.ravel()
    names = post_ids.take(pa.array(np.where(flat < 0, 0, flat))).to_numpy(zero_copy_only=False).astype(object)
    names[flat < 0] = None
    table = pa.table(
        {
            "post_id": post_ids,
            "neighbours": pa.FixedSizeListArray.from_arrays(pa.array(names, pa.string()), k),
            "similarity": fixed_size_list(np.nan_to_num(found.similarity, nan=-1.0)),
        },
        schema=neighbours_schema(k),
    )
    write(home, NEIGHBOURS, table, encoder)
    return {"posts": len(post_ids), "k": k, "mean_nearest_similarity": float(np.nanmean(found.similarity[:, 0])) if len(post_ids) else 0.0}


def read_neighbours(home: C2cHome, encoder: str) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(post ids, (n, k) neighbour post ids as an object array with None, (n, k) similarity with NaN)."""
    path = table_file(home, NEIGHBOURS, encoder)
    if not path.exists():
        raise ValueError(f"post_neighbours is not materialized for encoder {encoder!r}")
    table = read_table(path)
    k = table.schema.field("neighbours").type.list_size
    names = table.column("neighbours").combine_chunks().flatten().to_numpy(zero_copy_only=False).reshape(-1, k)
    sims = table.column("similarity").combine_chunks().flatten().to_numpy().reshape(-1, k).astype(np.float32)
    sims[sims < -0.5] = np.nan
    return table.column("post_id").to_pylist(), names, sims


def prices_agree(a: float | None, b: float | None) -> bool:
    """Within ``PRICE_TOLERANCE`` of the larger price; an unknown price does not contradict."""
    if a is None or b is None or np.isnan(a) or np.isnan(b):
        return True
    return abs(a - b) <= T.PRICE_TOLERANCE * max(abs(a), abs(b))


def _photo_edges(home: C2cHome, index: dict[str, int]) -> list[tuple[int, int]]:
    """Post pairs that share a photo of a group that is not a stock photo."""
    groups = read(home, "photo_groups")
    sql = current_photos_sql(home)
    if groups is None or sql is None:
        raise ValueError("photo_groups is not materialized yet")
    pairs = _shared_photo_posts(home, groups, sql)
    edges = []
    for members in pairs:
        rows = [index[p] for p in members if p in index]
        # A big non-stock group (one item re-listed many times) is a chain: connected all the same.
        edges += [(a, b) for i, a in enumerate(rows) for b in rows[i + 1 :]] if len(rows) <= 50 else list(zip(rows, rows[1:], strict=False))
    return edges


def _shared_photo_posts(home: C2cHome, groups: pa.Table, sql: str) -> list[list[str]]:
    from c2c_assets.warehouse import scratch

    with scratch(home) as db:
        db.register("photo_groups_table", groups)
        rows = db.execute(f"""
            SELECT list(DISTINCT p.post_id ORDER BY p.post_id) FROM ({sql}) AS p JOIN photo_groups_table AS g USING (sha256)
            WHERE NOT g.stock GROUP BY g.group_id HAVING count(DISTINCT p.post_id) > 1
        """).fetchall()
    return [members for (members,) in rows]


def _vector_candidates(post_ids: list[str], ids: list[str], names: np.ndarray, sims: np.ndarray) -> set[tuple[int, int]]:
    """Row pairs (a < b, rows of ``post_ids``) whose vectors are at least REPOST_VECTOR_SIMILARITY alike."""
    import pyarrow.compute as pc

    universe = pa.array(post_ids, pa.string())
    close = np.nan_to_num(sims, nan=-1.0) >= T.REPOST_VECTOR_SIMILARITY
    query_rows, slots = np.nonzero(close)
    if query_rows.size == 0:
        return set()
    a = pc.index_in(pa.array(np.asarray(ids, dtype=object)[query_rows], pa.string()), value_set=universe).to_numpy(zero_copy_only=False)
    b = pc.index_in(pa.array(names[query_rows, slots], pa.string()), value_set=universe).to_numpy(zero_copy_only=False)
    known = ~(np.isnan(a.astype(np.float64)) | np.isnan(b.astype(np.float64)))
    a, b = a[known].astype(np.int64), b[known].astype(np.int64)
    return set(zip(np.minimum(a, b).tolist(), np.maximum(a, b).tolist(), strict=True))


def build_repost_groups(home: C2cHome, encoder: str) -> tuple[pa.Table, dict[str, Any]]:
    """Listings that are the same item: connected components over post pairs that share a non-stock
    near-duplicate photo, or whose vectors are near and texts near-duplicates; prices must agree."""
    posts = current_posts(home, "post_id, source, price_usd, first_seen, last_seen")
    post_ids = posts.column("post_id").to_pylist()
    index = {p: i for i, p in enumerate(post_ids)}
    # A placeholder ($1, 99999) says nothing of the price: like an unknown one, it does not contradict.
    prices = np.asarray([v if is_usable(v) else np.nan for v in posts.column("price_usd").to_pylist()], dtype=np.float64)
    sources = posts.column("source").to_pylist()
    evidence: dict[tuple[int, int], set[str]] = defaultdict(set)
    for a, b in _photo_edges(home, index):
        if prices_agree(prices[a], prices[b]):
            evidence[(min(a, b), max(a, b))].add("photo")
    ids, names, sims = read_neighbours(home, encoder)
    candidates = _vector_candidates(post_ids, ids, names, sims)
    involved = sorted({i for pair in candidates for i in pair})
    texts = texts_of(home, [post_ids[i] for i in involved])
    hashes = dict(zip(involved, minhashes([texts.get(post_ids[i]) for i in involved]), strict=True))
    for a, b in sorted(candidates):
        if similar_texts(hashes[a], hashes[b]) >= T.TEXT_JACCARD and prices_agree(prices[a], prices[b]):
            evidence[(a, b)].add("text+vector")
    pairs = np.asarray(sorted(evidence), dtype=np.int64).reshape(-1, 2)
    labels = components(len(post_ids), pairs[:, 0], pairs[:, 1])
    members: dict[int, list[int]] = defaultdict(list)
    for i, label in enumerate(labels.tolist()):
        members[label].append(i)
    how: dict[int, set[str]] = defaultdict(set)
    for (a, b), kinds in evidence.items():
        how[a] |= kinds
        how[b] |= kinds
    first_seen, last_seen = posts.column("first_seen").to_pylist(), posts.column("last_seen").to_pylist()
    rows = []
    for group in members.values():
        if len(group) < 2:
            continue
        gid = "r" + hashlib.blake2b(post_ids[group[0]].encode(), digest_size=6).hexdigest()
        sites = len({sources[i] for i in group})
        for i in group:
            rows.append({
                "group_id": gid, "post_id": post_ids[i], "encoder": encoder, "source": sources[i],
                "price_usd": None if np.isnan(prices[i]) else float(prices[i]), "first_seen": first_seen[i],
                "last_seen": last_seen[i], "group_posts": len(group), "group_sites": sites, "evidence": "+".join(sorted(how[i])),
            })
    table = pa.Table.from_pylist(rows, schema=REPOST_GROUPS)
    write(home, "repost_groups", table, encoder)
    groups = {r["group_id"]: r["group_sites"] for r in rows}
    n = len(post_ids)
    return table, {
        "posts": n, "groups": len(groups), "posts_in_groups": len(rows),
        "repost_share": round(len(rows) / n, 4) if n else 0.0,
        "cross_site_groups": sum(1 for s in groups.values() if s > 1),
        "photo_edges": sum(1 for k in evidence.values() if "photo" in k),
        "text_vector_edges": sum(1 for k in evidence.values() if "text+vector" in k),
        "vector_candidates": len(candidates),
    }


def repost_group_of(home: C2cHome, encoder: str) -> dict[str, str]:
    """post_id -> repost group id of every current post in a repost group of ``encoder`` (empty before the
    asset is materialized). For other domains, e.g. price comparables that leave a post's own group out."""
    table = read(home, "repost_groups", encoder, ["post_id", "group_id"])
    if table is None:
        return {}
    return dict(zip(table.column("post_id").to_pylist(), table.column("group_id").to_pylist(), strict=True))


def build_post_scores(home: C2cHome, encoder: str) -> tuple[pa.Table, dict[str, Any]]:
    """Uniqueness, representativeness and outlier score of every current post; a post without a vector gets
    nulls and the reason."""
    posts = current_posts(home, "post_id")
    ids, _names, sims = read_neighbours(home, encoder)
    unique = uniqueness(sims)
    outlier, is_outlier = outlier_scores(sims)
    clusters = read(home, "clusters", encoder)
    cluster_of, rep = ({}, {}) if clusters is None else representativeness(
        clusters.column("post_id").to_pylist(), clusters.column("cluster").to_numpy(), clusters.column("distance").to_numpy())
    row_of = {p: i for i, p in enumerate(ids)}
    rows = []
    for post_id in posts.column("post_id").to_pylist():
        i = row_of.get(post_id)
        if i is None:
            rows.append({"post_id": post_id, "encoder": encoder, "reason": "no vector: nothing this encoder can embed (no stored photo or text)"})
            continue
        reason = None if clusters is not None else "no clusters: run `c2c analyse` for representativeness"
        if clusters is not None and post_id not in cluster_of:
            reason = "not in the clusters (analysed before this post arrived)"
        rows.append({
            "post_id": post_id, "encoder": encoder, "uniqueness": float(unique[i]), "representativeness": rep.get(post_id),
            "outlier_score": float(outlier[i]), "outlier": bool(is_outlier[i]), "cluster": cluster_of.get(post_id), "reason": reason,
        })
    table = pa.Table.from_pylist(rows, schema=POST_SCORES)
    write(home, "post_scores", table, encoder)
    n = len(rows)
    return table, {
        "posts": n, "scored": len(row_of), "null_scores": n - len(row_of),
        "outliers": int(is_outlier.sum()), "outlier_share": round(float(is_outlier.sum()) / n, 4) if n else 0.0,
        "with_representativeness": sum(1 for r in rows if r.get("representativeness") is not None),
    }
