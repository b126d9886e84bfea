"""Where the quality tables live in the lake and the lake reads they share (current posts and photos)."""

from __future__ import annotations

from collections.abc import Callable

import pyarrow as pa

from c2c_assets.home import C2cHome
from c2c_assets.ingest.views import current_posts_sql
from c2c_assets.quality import layers
from c2c_assets.lake import partition_file, write_partition
from c2c_assets.storage import Location, read_table
from c2c_assets.warehouse import lake_relation, scratch

# The tables over all posts are one partition each (scope=all); the per-encoder ones, one per encoder.
ALL = {"scope": "all"}


def table_file(home: C2cHome, asset: str, encoder: str | None = None) -> Location:
    return partition_file(home.lake, asset, ALL if encoder is None else {"encoder": encoder})


def read(home: C2cHome, asset: str, encoder: str | None = None, columns: list[str] | None = None) -> pa.Table | None:
    """A quality table; a layered one (``layers.KEYS``) as its base with the deltas since applied."""
    path = table_file(home, asset, encoder)
    if asset in layers.KEYS:
        return layers.read(path, layers.KEYS[asset], columns, ordered=asset in layers.ORDERED)
    return read_table(path, columns) if path.exists() else None


def write(home: C2cHome, asset: str, table: pa.Table, encoder: str | None = None) -> Location:
    """``table`` whole (for a layered table: a new base, its deltas dropped)."""
    if asset in layers.KEYS:
        layers.write_base(table_file(home, asset, encoder), table)
        return table_file(home, asset, encoder)
    return write_partition(home.lake, asset, ALL if encoder is None else {"encoder": encoder}, table)


def publish(home: C2cHome, asset: str, table: pa.Table | Callable[[], pa.Table], run: int, changed: pa.Table | None,
            removed: pa.Array | None = None, encoder: str | None = None) -> dict:
    """A layered table's new state: the ``changed`` rows (and ``removed`` keys) as a delta, or ``table`` whole
    (``changed`` None: a full run; or the deltas grew past their share): ``layers.publish``."""
    return layers.publish(table_file(home, asset, encoder), table, run, layers.KEYS[asset], changed, removed)


def current_photos_sql(home: C2cHome) -> str | None:
    """``post_id, position, sha256, path, thumb_path`` of every stored photo of every current post."""
    posts = current_posts_sql(home, "post_id, scrape_date")
    images = lake_relation(home, "post_images")
    if posts is None or images is None:
        return None
    return f"""
        SELECT i.post_id, i.position, i.sha256, i.path, i.thumb_path FROM {images} AS i
        SEMI JOIN ({posts}) AS p ON i.post_id = p.post_id AND i.scrape_date = p.scrape_date
        WHERE i.status = 'ok'
    """


def fetch(home: C2cHome, sql: str, parameters: list | None = None) -> pa.Table:
    with scratch(home) as db:
        return db.sql(sql, params=parameters or None).to_arrow_table()


# The current posts as the quality steps read them, derived once per state of the posts lake and cached
# beside the quality state: a day's group read them in four steps, each deriving them again from every
# scrape (the latest scrape of each listing, and its first and last). Valid while the posts partitions are
# the same files (path, size, modification time: ingest publishes a partition by a rename).
CACHED_POSTS = ["post_id", "source", "scrape_date", "content_hash", "price_usd", "first_seen", "last_seen"]
_FINGERPRINT = b"c2c_posts_fingerprint"


def _posts_fingerprint(home: C2cHome) -> str | None:
    import hashlib
    import json

    from c2c_assets.lake import PART_NAME
    from c2c_assets.storage import is_local

    if not is_local(home.lake) or not is_local(home.indexes):
        return None
    files = [(str(path), path.stat().st_size, path.stat().st_mtime_ns) for path in sorted((home.lake / "posts").glob(f"*/{PART_NAME}"))]
    return hashlib.blake2b(json.dumps(files).encode(), digest_size=16).hexdigest()


def _derive_current_posts(home: C2cHome, columns: str) -> pa.Table:
    sql = current_posts_sql(home, "*")
    if sql is None:
        raise ValueError("no ingested posts yet: run `c2c ingest` first")
    relation = lake_relation(home, "posts")
    return fetch(home, f"""
        WITH seen AS (SELECT post_id, min(scrape_date) AS first_seen, max(scrape_date) AS last_seen FROM {relation} GROUP BY post_id)
        SELECT {columns} FROM ({sql}) AS p JOIN seen USING (post_id) ORDER BY post_id
    """)


def current_posts(home: C2cHome, columns: str) -> pa.Table:
    """Columns of every current post, with ``first_seen``/``last_seen`` (its first and last scrape) if asked."""
    import pyarrow.parquet as pq

    from c2c_assets.storage import atomic_path, read_schema

    names = [name.strip() for name in columns.split(",")]
    if not set(names) <= set(CACHED_POSTS):
        return _derive_current_posts(home, columns)
    cache = home.indexes / "quality" / "current_posts.parquet"
    fingerprint = _posts_fingerprint(home)  # before the read: a lake that changes meanwhile leaves a stale mark
    if fingerprint and cache.exists() and (read_schema(cache).metadata or {}).get(_FINGERPRINT) == fingerprint.encode():
        return read_table(cache, names)
    table = _derive_current_posts(home, ", ".join(CACHED_POSTS))
    if fingerprint:
        with atomic_path(cache) as tmp:
            pq.write_table(table.replace_schema_metadata({_FINGERPRINT: fingerprint.encode()}), tmp, compression="lz4")
    return table.select(names)


def photo_thumbs(home: C2cHome, shas: list[str]) -> dict[str, str]:
    """sha256 -> stored thumbnail path, for some photos."""
    images = lake_relation(home, "post_images")
    if images is None or not shas:
        return {}
    with scratch(home) as db:
        db.register("wanted_shas", pa.table({"sha256": shas}))
        rows = db.execute(f"SELECT sha256, min(thumb_path) FROM {images} SEMI JOIN wanted_shas USING (sha256) WHERE status = 'ok' GROUP BY 1").fetchall()
    return dict(rows)


def post_cards(home: C2cHome, post_ids: list[str]) -> dict[str, dict]:
    """post_id -> title, url, price_usd, source, scrape_date, thumb_path (first stored photo) of some current posts."""
    posts = current_posts_sql(home, "post_id, title, url, price_usd, source, scrape_date")
    photos = current_photos_sql(home)
    if posts is None or not post_ids:
        return {}
    with scratch(home) as db:
        db.register("wanted_posts", pa.table({"post_id": post_ids}))
        thumbs = "SELECT NULL::VARCHAR AS post_id, NULL::VARCHAR AS thumb_path WHERE false" if photos is None else (
            f"SELECT i.post_id, arg_min(i.thumb_path, i.position) AS thumb_path FROM ({photos}) AS i GROUP BY 1")
        table = db.execute(f"""
            SELECT p.*, t.thumb_path FROM ({posts}) AS p SEMI JOIN wanted_posts USING (post_id)
            LEFT JOIN ({thumbs}) AS t USING (post_id)
        """).fetchall()
    return {r[0]: {"title": r[1], "url": r[2], "price_usd": r[3], "source": r[4], "scrape_date": r[5], "thumb_path": r[6]} for r in table}
