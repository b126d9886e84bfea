"""``post_flags``: every flag of every current post, kept up to date day by day.

A post's flags follow from its text and price, its photos' measurements (the worst photo counts) and
whether a photo is a stock photo. A later run recomputes only the posts that are new or changed since
the stored snapshot and the posts using a photo whose group changed (``photo_groups.version``); the other
posts keep their rows. Rebuilt in full when the thresholds change.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from c2c_assets.home import C2cHome
from c2c_assets.ingest.views import current_posts_sql
from c2c_assets.quality import state as S
from c2c_assets.quality import thresholds as T
from c2c_assets.quality.lake_io import current_photos_sql, current_posts, publish, read, table_file
from c2c_assets.quality.schema import POST_FLAGS
from c2c_assets.quality.text import placeholder_price, text_flags
from c2c_assets.warehouse import scratch

TABLE = "post_flags"
PHOTO_FLAG_RULES = {
    # flag: (column, test, threshold) - the worst photo's value is the post's score
    "photo_blurry": ("laplacian_var", "below", T.BLURRY_LAPLACIAN_VAR),
    "photo_dark": ("brightness", "below", T.DARK_MEAN),
    "photo_bright": ("brightness", "above", T.BRIGHT_MEAN),
    "photo_low_entropy": ("entropy", "below", T.LOW_ENTROPY_BITS),
}
MEASURED = ["sha256", "status", "reason", "laplacian_var", "brightness", "entropy", "width", "height"]
LOWER_IS_WORSE = ("photo_blurry", "photo_dark", "photo_low_entropy", "photo_tiny")
# Recomputing more than this share of the posts: a full run is as cheap and simpler.
FULL_ABOVE_SHARE = 0.5


def photo_flag_rows(hashes: pa.Table) -> pa.Table:
    """(sha256, flag, score, detail) of every flagged photo of a ``PHOTO_HASHES`` table, vectorized over the
    table (a million photos in a second); the detail strings only for the flagged few."""
    sha = hashes.column("sha256").to_numpy(zero_copy_only=False)
    ok = pc.equal(hashes.column("status"), "ok").to_numpy(zero_copy_only=False)
    out: list[tuple[np.ndarray, str, np.ndarray, list[str]]] = []
    bad = np.flatnonzero(~ok)
    reasons = hashes.column("reason").to_pylist() if bad.size else []
    out.append((bad, "photo_unhashable", np.ones(bad.size), [reasons[i] or "unreadable" for i in bad.tolist()]))

    def values(column: str) -> np.ndarray:
        return pc.fill_null(hashes.column(column), 0).to_numpy(zero_copy_only=False).astype(np.float64)

    for flag, (column, test, limit) in PHOTO_FLAG_RULES.items():
        value = values(column)
        rows = np.flatnonzero(ok & ((value < limit) if test == "below" else (value > limit)))
        out.append((rows, flag, value[rows], [f"{column} {v:.1f} {test} {limit:g}" for v in value[rows].tolist()]))
    width, height = values("width"), values("height")
    pixels = width * height
    tiny = np.flatnonzero(ok & (pixels < T.TINY_PIXELS))
    out.append((tiny, "photo_tiny", pixels[tiny], [f"{int(width[i])}x{int(height[i])} px" for i in tiny.tolist()]))
    aspect = np.maximum(width, height) / np.maximum(1, np.minimum(width, height))
    odd = np.flatnonzero(ok & (aspect > T.ODD_ASPECT))
    out.append((odd, "photo_odd_aspect", aspect[odd], [f"{int(width[i])}x{int(height[i])} px" for i in odd.tolist()]))
    return pa.table({
        "sha256": pa.array(np.concatenate([sha[r] for r, *_ in out]) if out else [], pa.string()),
        "flag": pa.array([f for r, f, *_ in out for _ in range(r.size)], pa.string()),
        "score": pa.array(np.concatenate([s for _, _, s, _ in out]).astype(np.float64)),
        "detail": pa.array([d for *_, details in out for d in details], pa.string()),
    })


def _rows_for(home: C2cHome, wanted: pa.Table | None, photo_flags: pa.Table, groups: pa.Table | None) -> pa.Table:
    """POST_FLAGS rows of the current posts in ``wanted`` (post_id; None: every current post)."""
    posts_sql = current_posts_sql(home, "post_id, title, description, price_usd")
    photos_sql = current_photos_sql(home)
    stock = pa.table({"sha256": pa.array([], pa.string()), "group_items": pa.array([], pa.int32())})
    if groups is not None:
        stock = groups.filter(groups.column("stock")).select(["sha256", "group_items"])
    lower = ", ".join(f"'{f}'" for f in LOWER_IS_WORSE)
    with scratch(home) as db:
        db.register("photo_flag_rows", photo_flags)
        db.register("stock_shas", stock)
        semi = ""
        if wanted is not None:
            db.register("wanted_posts", wanted.select(["post_id"]))
            semi = "SEMI JOIN wanted_posts USING (post_id)"
        texts = db.sql(f"SELECT post_id, title, description, price_usd FROM ({posts_sql}) {semi} ORDER BY post_id").to_arrow_table()
        photo_rows = db.sql(f"""
            WITH photos AS (SELECT post_id, position, sha256 FROM ({photos_sql}) {semi}),
            found AS (
                SELECT p.post_id, p.position, f.flag, f.score, f.detail FROM photos AS p JOIN photo_flag_rows AS f USING (sha256)
                UNION ALL
                SELECT p.post_id, p.position, 'stock_photo', s.group_items::DOUBLE,
                       'photo ' || left(p.sha256, 12) || ' used by ' || s.group_items || ' different listings'
                FROM photos AS p JOIN stock_shas AS s USING (sha256)
            )
            SELECT post_id, flag, score, detail FROM found
            QUALIFY row_number() OVER (PARTITION BY post_id, flag
                ORDER BY CASE WHEN flag IN ({lower}) THEN score ELSE -score END, position) = 1
        """).to_arrow_table()
    rows: list[dict[str, Any]] = []
    for post_id, title, description, price in zip(*(texts.column(c).to_pylist() for c in ("post_id", "title", "description", "price_usd")), strict=True):
        for flag, score, detail in text_flags(title, description):
            rows.append({"post_id": post_id, "flag": flag, "score": score, "detail": detail})
        if placeholder_price(price):
            rows.append({"post_id": post_id, "flag": "placeholder_price", "score": float(price), "detail": f"${price:,.2f}"})
    table = pa.concat_tables([pa.Table.from_pylist(rows, schema=POST_FLAGS), photo_rows.cast(POST_FLAGS)])
    return table


def update_post_flags(home: C2cHome) -> tuple[pa.Table, dict[str, Any]]:
    posts = current_posts(home, "post_id, scrape_date, content_hash, price_usd")
    groups = read(home, "photo_groups", columns=["sha256", "stock", "group_items", "version"])
    group_version = 0 if groups is None or groups.num_rows == 0 else int(pc.max(groups.column("version")).as_py())
    sig = S.signature(table=TABLE)
    stored = S.load(home, TABLE, table_file(home, TABLE), sig)
    wanted, reason, old = None, stored.full_reason, None
    if stored.incremental:
        snapshot = S.load_posts(home, TABLE)
        changed = posts.filter(pa.array(S.changed_posts(posts, snapshot))).select(["post_id"])
        moved = groups.filter(pc.greater(groups.column("version"), int(stored.meta.get("photo_groups_version", 0)))).select(["sha256"]) if groups is not None else None
        using = _posts_using(home, moved) if moved is not None and moved.num_rows else pa.table({"post_id": pa.array([], pa.string())})
        wanted = pa.concat_tables([changed, using]).group_by("post_id").aggregate([])
        if snapshot is None or S.lost_posts(posts, snapshot) or wanted.num_rows > FULL_ABOVE_SHARE * posts.num_rows:
            wanted, reason = None, "most posts changed" if snapshot is not None else "no stored snapshot"
        else:
            old = read(home, TABLE)
    hashes = _hashes_of(home, wanted)
    fresh = _rows_for(home, wanted, photo_flag_rows(hashes), groups)
    if wanted is None:
        table = fresh
    else:
        table = pa.concat_tables([old.filter(pc.invert(pc.is_in(old.column("post_id"), wanted.column("post_id")))).cast(POST_FLAGS), fresh])
    table = table.sort_by([("post_id", "ascending"), ("flag", "ascending")])
    run = int(stored.meta.get("version", 0)) + 1
    token = S.save(home, TABLE, {"signature": sig, "photo_groups_version": group_version, "version": run})
    S.save_posts(home, TABLE, posts)
    # A day's delta: the recomputed posts' rows, each of them removed first (a post may have lost every flag).
    written = publish(home, TABLE, S.stamp(table, token), run, None if wanted is None else fresh,
                      None if wanted is None else wanted.column("post_id").combine_chunks())
    counts = Counter(table.column("flag").to_pylist())
    flagged = len(pc.unique(table.column("post_id")))
    n = posts.num_rows
    return table, {
        "mode": "full" if wanted is None else "incremental", **({"full_reason": reason} if wanted is None and reason else {}),
        "posts_recomputed": n if wanted is None else wanted.num_rows,
        "posts": n, "flagged_posts": flagged, "flagged_share": round(flagged / n, 4) if n else 0.0,
        "by_flag": dict(sorted(counts.items())),
        "share_by_flag": {f: round(c / n, 4) for f, c in sorted(counts.items())} if n else {}, **written,
    }


def _posts_using(home: C2cHome, shas: pa.Table) -> pa.Table:
    with scratch(home) as db:
        db.register("moved_shas", shas)
        return db.sql(f"SELECT DISTINCT post_id FROM ({current_photos_sql(home)}) SEMI JOIN moved_shas USING (sha256)").to_arrow_table()


def _hashes_of(home: C2cHome, wanted: pa.Table | None) -> pa.Table:
    """The photo_hashes rows of the photos of ``wanted`` posts (None: of every current post)."""
    from c2c_assets.quality.readers import current_hashes

    if wanted is None:
        return current_hashes(home)[1]
    # What the photo rules read (``photo_flag_rows``), not the hash codes: most of the table's bytes.
    hashes = read(home, "photo_hashes", columns=MEASURED)
    with scratch(home) as db:
        db.register("wanted_posts", wanted.select(["post_id"]))
        shas = db.sql(f"SELECT DISTINCT sha256 FROM ({current_photos_sql(home)}) SEMI JOIN wanted_posts USING (post_id)").to_arrow_table()
    return hashes.filter(pc.is_in(hashes.column("sha256"), shas.column(0)))


def photo_flags(row: dict[str, Any]) -> list[tuple[str, float, str]]:
    """``(flag, score, detail)`` of one ``photo_hashes`` row (the rules of ``photo_flag_rows``)."""
    from c2c_assets.quality.schema import PHOTO_HASHES

    table = pa.Table.from_pylist([{name: row.get(name) for name in PHOTO_HASHES.names}], schema=PHOTO_HASHES)
    found = photo_flag_rows(table)
    return list(zip(found.column("flag").to_pylist(), found.column("score").to_pylist(), found.column("detail").to_pylist(), strict=True))
