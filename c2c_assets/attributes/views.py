"""The attributes domain's views: ``post_attributes_all`` (every scrape) and ``post_attributes`` (one row per
current post whose attributes were read from its current text; a post without a row has none known yet)."""

from __future__ import annotations

import duckdb

from c2c_assets.attributes.build import ASSET, SCHEMA
from c2c_assets.home import C2cHome
from c2c_assets.warehouse import View, lake_table


def _current(home: C2cHome, db: duckdb.DuckDBPyConnection) -> str:
    return """
        SELECT a.* FROM post_attributes_all AS a
        SEMI JOIN posts AS p ON a.post_id = p.post_id AND a.scrape_date = p.scrape_date AND a.content_hash = p.content_hash
    """


VIEWS: list[View] = [lake_table("post_attributes_all", ASSET, SCHEMA), View("post_attributes", _current)]
