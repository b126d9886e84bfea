"""The quality tables from the lake: photo hashes (incremental), photo groups, post flags; per encoder the
post k-NN, repost groups and scores (``encoder_pipeline``). Each step reads the lake, computes with the
plain functions of this package and publishes one partition atomically."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from c2c_assets.home import C2cHome
from c2c_assets.quality import thresholds as T
from c2c_assets.quality.lake_io import current_photos_sql, current_posts, fetch, read, write
from c2c_assets.quality.photo_groups import components, group_ids, near_pairs
from c2c_assets.quality.photos import colour_layouts, hash_codes, hash_photos
from c2c_assets.quality.schema import PHOTO_GROUPS, PHOTO_HASHES, POST_FLAGS
from c2c_assets.quality.text import placeholder_price, text_components, text_flags
from c2c_assets.warehouse import lake_relation, scratch


def update_photo_hashes(home: C2cHome) -> dict[str, Any]:
    """Hash the stored photos not hashed before; the table keeps every photo ever seen (keyed by sha256)."""
    images = lake_relation(home, "post_images")
    if images is None:
        raise ValueError("no ingested photos yet: run `c2c ingest` first")
    known = read(home, "photo_hashes")
    first_run = known is None
    known = PHOTO_HASHES.empty_table() if known is None else known
    with scratch(home) as db:
        db.register("seen_hashes", known.select(["sha256"]))
        todo = db.sql(f"""
            SELECT sha256, min(path) AS path FROM {images} WHERE status = 'ok' AND sha256 IS NOT NULL
            AND sha256 NOT IN (SELECT sha256 FROM seen_hashes) GROUP BY sha256 ORDER BY sha256
        """).to_arrow_table()
    fresh = hash_photos(home, zip(todo.column("sha256").to_pylist(), todo.column("path").to_pylist(), strict=True))
    table = pa.concat_tables([known, fresh]).sort_by("sha256") if fresh.num_rows else known
    if fresh.num_rows or first_run:
        write(home, "photo_hashes", table)
    unhashable = int(pc.sum(pc.equal(table.column("status"), "unhashable")).as_py() or 0)
    return {"photos": table.num_rows, "hashed_now": fresh.num_rows, "unhashable": unhashable}


def current_hashes(home: C2cHome) -> tuple[pa.Table, pa.Table]:
    """(photos of current posts: post_id, position, sha256; the hash rows of their distinct photos)."""
    sql = current_photos_sql(home)
    hashes = read(home, "photo_hashes")
    if sql is None or hashes is None:
        raise ValueError("photo_hashes is not materialized yet")
    photos = fetch(home, f"SELECT post_id, position, sha256 FROM ({sql}) ORDER BY post_id, position")
    wanted = pa.array(sorted(set(photos.column("sha256").to_pylist())), pa.string())
    rows = hashes.filter(pc.is_in(hashes.column("sha256"), wanted)).sort_by("sha256")
    return photos, rows


def build_photo_groups(home: C2cHome) -> tuple[pa.Table, dict[str, Any]]:
    """Near-duplicate groups of the current posts' photos and which of them are stock photos."""
    photos, hashes = current_hashes(home)
    shas = np.asarray(hashes.column("sha256").to_pylist(), dtype=object)
    ok = np.asarray(pc.equal(hashes.column("status"), "ok").to_numpy(zero_copy_only=False))
    ok_rows = np.flatnonzero(ok)
    usable = hashes.filter(pa.array(ok))
    first, second, _ = near_pairs(hash_codes(usable))
    colours = colour_layouts(usable)
    same_colours = np.abs(colours[first] - colours[second]).mean(axis=1) <= T.COLOUR_LAYOUT_DIFF
    first, second = first[same_colours], second[same_colours]
    labels = components(len(shas), ok_rows[first], ok_rows[second])
    ids = group_ids(shas, labels, "p")
    # Listings per group, and how many different items they are (texts not near-duplicates).
    group_of = dict(zip(shas.tolist(), ids.tolist(), strict=True))
    posts_of: dict[str, set[str]] = defaultdict(set)
    for post_id, sha in zip(photos.column("post_id").to_pylist(), photos.column("sha256").to_pylist(), strict=True):
        posts_of[group_of[sha]].add(post_id)
    photos_of: dict[str, int] = defaultdict(int)
    for gid in ids.tolist():
        photos_of[gid] += 1
    shared = {g: sorted(p) for g, p in posts_of.items() if len(p) >= T.STOCK_MIN_ITEMS}
    items = {g: len(p) for g, p in posts_of.items()}
    if shared:
        texts = _texts(home, sorted({p for members in shared.values() for p in members}))
        for g, members in shared.items():
            items[g] = text_components([texts.get(p) for p in members])
    table = pa.table(
        {
            "group_id": ids.tolist(),
            "sha256": shas.tolist(),
            "group_photos": [photos_of[g] for g in ids.tolist()],
            "group_posts": [len(posts_of[g]) for g in ids.tolist()],
            "group_items": [items.get(g, 0) for g in ids.tolist()],
            "stock": [items.get(g, 0) >= T.STOCK_MIN_ITEMS for g in ids.tolist()],
        },
        schema=PHOTO_GROUPS,
    )
    write(home, "photo_groups", table)
    groups = set(ids.tolist())
    near = {g for g in groups if photos_of[g] > 1}
    stock = {g for g, n in items.items() if n >= T.STOCK_MIN_ITEMS}
    return table, {
        "photos": len(shas), "groups": len(groups), "near_duplicate_groups": len(near),
        "photos_in_near_duplicate_groups": sum(photos_of[g] for g in near),
        "shared_groups": sum(1 for p in posts_of.values() if len(p) > 1), "stock_groups": len(stock),
        "near_pairs": int(first.size),
    }


def _texts(home: C2cHome, post_ids: list[str]) -> dict[str, str]:
    from c2c_assets.ingest.views import current_posts_sql

    wanted = pa.table({"post_id": post_ids})
    with scratch(home) as db:
        db.register("wanted_posts", wanted)
        rows = db.execute(
            f"SELECT post_id, concat_ws(' ', title, description) FROM ({current_posts_sql(home, 'post_id, title, description')}) "
            "SEMI JOIN wanted_posts USING (post_id)"
        ).fetchall()
    return dict(rows)


def texts_of(home: C2cHome, post_ids: list[str]) -> dict[str, str]:
    """Title and description of some current posts (what MinHash compares)."""
    return _texts(home, post_ids) if post_ids else {}


PHOTO_FLAG_RULES = {
    # flag: (column, test, threshold) - the worst photo's value is the post's score
    "photo_blurry": ("laplacian_var", "below", T.BLURRY_LAPLACIAN_VAR),
    "photo_dark": ("brightness", "below", T.DARK_MEAN),
    "photo_bright": ("brightness", "above", T.BRIGHT_MEAN),
    "photo_low_entropy": ("entropy", "below", T.LOW_ENTROPY_BITS),
}


def photo_flags(row: dict[str, Any]) -> list[tuple[str, float, str]]:
    """``(flag, score, detail)`` of one ``photo_hashes`` row."""
    if row["status"] != "ok":
        return [("photo_unhashable", 1.0, row.get("reason") or "unreadable")]
    found = []
    for flag, (column, test, limit) in PHOTO_FLAG_RULES.items():
        value = row[column]
        if (value < limit) if test == "below" else (value > limit):
            found.append((flag, float(value), f"{column} {value:.1f} {test} {limit:g}"))
    width, height = row["width"], row["height"]
    if width * height < T.TINY_PIXELS:
        found.append(("photo_tiny", float(width * height), f"{width}x{height} px"))
    aspect = max(width, height) / max(1, min(width, height))
    if aspect > T.ODD_ASPECT:
        found.append(("photo_odd_aspect", float(aspect), f"{width}x{height} px"))
    return found


def build_post_flags(home: C2cHome) -> tuple[pa.Table, dict[str, Any]]:
    """Every flag of every current post: its text, its price, its photos (the worst one counts) and stock photos."""
    posts = current_posts(home, "post_id, title, description, price_usd")
    photos, hashes = current_hashes(home)
    groups = read(home, "photo_groups")
    rows: list[dict[str, Any]] = []
    for post_id, title, description, price in zip(*(posts.column(c).to_pylist() for c in ("post_id", "title", "description", "price_usd")), strict=True):
        for flag, score, detail in text_flags(title, description):
            rows.append({"post_id": post_id, "flag": flag, "score": score, "detail": detail})
        if placeholder_price(price):
            rows.append({"post_id": post_id, "flag": "placeholder_price", "score": float(price), "detail": f"${price:,.2f}"})
    by_sha = {row["sha256"]: photo_flags(row) for row in hashes.to_pylist()}
    stock = {}
    if groups is not None:
        for sha, stocky, items in zip(*(groups.column(c).to_pylist() for c in ("sha256", "stock", "group_items")), strict=True):
            if stocky:
                stock[sha] = items
    worst: dict[tuple[str, str], tuple[float, str]] = {}
    for post_id, sha in zip(photos.column("post_id").to_pylist(), photos.column("sha256").to_pylist(), strict=True):
        found = list(by_sha.get(sha, []))
        if sha in stock:
            found.append(("stock_photo", float(stock[sha]), f"photo {sha[:12]} used by {stock[sha]} different listings"))
        for flag, score, detail in found:
            key = (post_id, flag)
            lower_is_worse = flag in ("photo_blurry", "photo_dark", "photo_low_entropy", "photo_tiny")
            if key not in worst or (score < worst[key][0] if lower_is_worse else score > worst[key][0]):
                worst[key] = (score, detail)
    rows += [{"post_id": p, "flag": f, "score": s, "detail": d} for (p, f), (s, d) in worst.items()]
    table = pa.Table.from_pylist(rows, schema=POST_FLAGS).sort_by([("post_id", "ascending"), ("flag", "ascending")])
    write(home, "post_flags", table)
    counts: dict[str, int] = defaultdict(int)
    for flag in table.column("flag").to_pylist():
        counts[flag] += 1
    flagged = len(set(table.column("post_id").to_pylist()))
    n = posts.num_rows
    return table, {
        "posts": n, "flagged_posts": flagged, "flagged_share": round(flagged / n, 4) if n else 0.0,
        "by_flag": dict(sorted(counts.items())),
        "share_by_flag": {f: round(c / n, 4) for f, c in sorted(counts.items())} if n else {},
    }
