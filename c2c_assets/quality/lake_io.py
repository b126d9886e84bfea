"""Where the quality tables live in the lake and the lake reads they share (current posts and photos)."""

from __future__ import annotations

import pyarrow as pa

from c2c_assets.home import C2cHome
from c2c_assets.ingest.views import current_posts_sql
from c2c_assets.lake import partition_file, write_partition
from c2c_assets.storage import Location, read_table
from c2c_assets.warehouse import lake_relation, scratch

# The tables over all posts are one partition each (scope=all); the per-encoder ones, one per encoder.
ALL = {"scope": "all"}


def table_file(home: C2cHome, asset: str, encoder: str | None = None) -> Location:
    return partition_file(home.lake, asset, ALL if encoder is None else {"encoder": encoder})


def read(home: C2cHome, asset: str, encoder: str | None = None, columns: list[str] | None = None) -> pa.Table | None:
    path = table_file(home, asset, encoder)
    return read_table(path, columns) if path.exists() else None


def write(home: C2cHome, asset: str, table: pa.Table, encoder: str | None = None) -> Location:
    return write_partition(home.lake, asset, ALL if encoder is None else {"encoder": encoder}, table)


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


def current_posts(home: C2cHome, columns: str) -> pa.Table:
    """Columns of every current post, with ``first_seen``/``last_seen`` (its first and last scrape) if asked."""
    sql = current_posts_sql(home, "*")
    if sql is None:
        raise ValueError("no ingested posts yet: run `c2c ingest` first")
    relation = lake_relation(home, "posts")
    return fetch(home, f"""
        WITH seen AS (SELECT post_id, min(scrape_date) AS first_seen, max(scrape_date) AS last_seen FROM {relation} GROUP BY post_id)
        SELECT {columns} FROM ({sql}) AS p JOIN seen USING (post_id) ORDER BY post_id
    """)


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
