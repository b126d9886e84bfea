"""The quality domain's views.

- ``photo_hashes``: every stored photo ever seen (sha256, hashes, measurements, ``status``/``reason``).
- ``photo_groups``: one row per (group_id, sha256, post_id) of the current posts' photos, with the group's
  size and whether it is a stock photo. A photo that cannot be hashed is a group of its own.
- ``repost_groups``: one row per (group_id, post_id, encoder).
- ``post_flags``: one row per (post_id, flag) with its score (``quality.thresholds`` has the rules).
- ``post_scores``: one row per (post_id, encoder): uniqueness, representativeness, outlier score (null with
  a ``reason`` where a post has no vector).
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from c2c_assets.home import C2cHome
from c2c_assets.quality import layers
from c2c_assets.quality.lake_io import table_file
from c2c_assets.quality.schema import PHOTO_GROUPS, PHOTO_HASHES, POST_FLAGS, POST_SCORES, REPOST_GROUPS
from c2c_assets.warehouse import View, lake_table


def _photo_groups(home: C2cHome, db: duckdb.DuckDBPyConnection) -> str:
    return """
        SELECT g.group_id, g.sha256, i.post_id, i.position, g.group_photos, g.group_posts, g.group_items, g.stock
        FROM photo_group_members AS g JOIN post_images AS i ON i.sha256 = g.sha256 AND i.status = 'ok'
    """


def layered_table(name: str, asset: str, schema: pa.Schema) -> View:
    """A layered table (``layers``) as its base with the deltas applied, fixed when the view is made (each
    quality asset refreshes the views after it writes); an empty table of its columns before the first run."""

    def build(home: C2cHome, db: duckdb.DuckDBPyConnection) -> str:
        base = table_file(home, asset)
        if not base.exists():
            return lake_table(name, asset, schema).build(home, db)
        return layers.sql(base, layers.KEYS[asset])

    return View(name, build)


VIEWS: list[View] = [
    layered_table("photo_hashes", "photo_hashes", PHOTO_HASHES),
    layered_table("photo_group_members", "photo_groups", PHOTO_GROUPS),
    View("photo_groups", _photo_groups),
    lake_table("repost_groups", "repost_groups", REPOST_GROUPS),
    layered_table("post_flags", "post_flags", POST_FLAGS),
    lake_table("post_scores", "post_scores", POST_SCORES),
]
