"""The ingest domain's views, and the two rules every reader of posts shares.

- **The latest scrape of a listing wins**: a listing scraped on several dates is one post, its
  newest line (``current_posts_sql``).
- **The first stored photo is the post's thumbnail** (``post_thumbnails``).

Readers use these (the ``posts`` and ``post_thumbnails`` views, or the SQL functions for a
connection of their own) instead of writing the rule again.
"""

from __future__ import annotations

import duckdb

from c2c_assets.home import C2cHome
from c2c_assets.ingest import schema
from c2c_assets.warehouse import View, lake_relation, lake_table

_LATEST_FIRST = "PARTITION BY post_id ORDER BY scrape_date DESC, line_number DESC"


def latest_scrape(relation: str, columns: str = "*") -> str:
    """The rows of ``relation`` (posts of several scrapes) that are each listing's latest scrape."""
    return f"SELECT {columns} FROM {relation} QUALIFY row_number() OVER ({_LATEST_FIRST}) = 1"


def current_posts_sql(home: C2cHome, columns: str = "post_id, scrape_date, content_hash") -> str | None:
    """The current posts straight from the lake (for a connection that is not the warehouse), or None before any ingest."""
    relation = lake_relation(home, "posts")
    return None if relation is None else latest_scrape(relation, columns)


def _posts(home: C2cHome, db: duckdb.DuckDBPyConnection) -> str:
    return latest_scrape("posts_all")


def _post_images(home: C2cHome, db: duckdb.DuckDBPyConnection) -> str:
    return """
        SELECT i.* FROM post_images_all AS i
        SEMI JOIN posts AS p ON i.post_id = p.post_id AND i.scrape_date = p.scrape_date
    """


def _post_thumbnails(home: C2cHome, db: duckdb.DuckDBPyConnection) -> str:
    return "SELECT post_id, arg_min(thumb_path, position) AS thumb_path FROM post_images WHERE status = 'ok' GROUP BY post_id"


VIEWS: list[View] = [
    lake_table("posts_all", "posts", schema.POSTS),
    lake_table("quarantine", "quarantine", schema.QUARANTINE),
    lake_table("post_images_all", "post_images", schema.POST_IMAGES),
    View("posts", _posts),
    View("post_images", _post_images),
    View("post_thumbnails", _post_thumbnails),
]
