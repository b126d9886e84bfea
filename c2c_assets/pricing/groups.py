"""The repost grouping pricing excludes: post_id -> group id of the duplicates domain's ``repost_groups``
(``lake/repost_groups/encoder=<e>/``), read from the lake where that asset was materialized, else None (a
post's comparables then exclude only the post itself, and category splits use ``categories.listing_key``)."""

from __future__ import annotations

from c2c_assets.home import C2cHome
from c2c_assets.lake import partition_file
from c2c_assets.storage import read_table

ASSET = "repost_groups"


def repost_groups(home: C2cHome, encoder: str) -> dict[str, str] | None:
    path = partition_file(home.lake, ASSET, {"encoder": encoder})
    if not path.exists():
        return None
    table = read_table(path, columns=["post_id", "group_id"])
    return dict(zip(table.column("post_id").to_pylist(), table.column("group_id").to_pylist(), strict=True)) or None
