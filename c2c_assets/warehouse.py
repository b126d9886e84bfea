"""``warehouse.duckdb``: SQL views over the Parquet lake.

The database holds no data of its own, only views (and empty typed tables that stand in for an
asset with no partition yet), so it can be deleted and rebuilt at any time with ``refresh_views``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from c2c_assets.home import C2cHome
from c2c_assets.ingest import schema
from c2c_assets.lake import asset_glob
from c2c_assets.storage import register_with_duckdb


@dataclass(frozen=True)
class LakeTable:
    """An asset's partitions in the lake, seen as one raw view named ``view``."""

    view: str
    asset: str
    schema: pa.Schema
    depth: int = 1  # partition levels: date, or date and encoder


LAKE_TABLES: list[LakeTable] = [
    LakeTable("posts_all", "posts", schema.POSTS),
    LakeTable("quarantine", "quarantine", schema.QUARANTINE),
    LakeTable("post_images_all", "post_images", schema.POST_IMAGES),
]

def _analysis_tables() -> list[LakeTable]:
    from c2c_assets.analysis.schema import CLUSTERS_SCHEMA, METRICS_SCHEMA
    from c2c_assets.image_to_text.schema import EVAL_SCHEMA

    return [
        LakeTable("clusters", "clusters", CLUSTERS_SCHEMA),
        LakeTable("cluster_metrics", "cluster_metrics", METRICS_SCHEMA),
        LakeTable("image_to_text_eval", "image_to_text_eval", EVAL_SCHEMA),
    ]


# Views over the raw ones. A listing scraped on several dates is one post: the latest scrape wins.
DERIVED_VIEWS: dict[str, str] = {
    "posts": """
        SELECT * FROM posts_all
        QUALIFY row_number() OVER (PARTITION BY post_id ORDER BY scrape_date DESC, line_number DESC) = 1
    """,
    "post_images": """
        SELECT i.* FROM post_images_all AS i
        SEMI JOIN posts AS p ON i.post_id = p.post_id AND i.scrape_date = p.scrape_date
    """,
}

_LOCK_WAIT_S = 60.0



def _dynamic_views() -> dict[str, Callable[[C2cHome], str]]:
    """Views whose SQL depends on what the lake holds now (one branch per encoder): name -> builder."""
    from c2c_assets.embeddings import embeddings_view

    return {"embeddings": embeddings_view}


@contextmanager
def connect(home: C2cHome, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse, waiting while another process holds its write lock. The views read the lake
    wherever it lives: an object-storage lake's filesystem is registered with every connection."""
    deadline = time.monotonic() + _LOCK_WAIT_S
    while True:
        try:
            connection = duckdb.connect(str(home.warehouse), read_only=read_only)
            break
        except duckdb.IOException as error:
            if "lock" not in str(error).lower() or time.monotonic() > deadline:
                raise
            time.sleep(0.2)
    try:
        register_with_duckdb(connection, [home.lake])
        yield connection
    finally:
        connection.close()


def quote(path: str) -> str:
    return "'" + path.replace("'", "''") + "'"


def refresh_views(home: C2cHome) -> list[str]:
    """(Re)create every view; an asset without partitions gets an empty view of the right columns."""
    home.ensure()
    created = []
    with connect(home) as db:
        for table in [*LAKE_TABLES, *_analysis_tables()]:
            pattern = asset_glob(home.lake, table.asset, table.depth)
            if any((home.lake / table.asset).glob("/".join(["*"] * table.depth) + "/*.parquet")):
                source = f"read_parquet({quote(pattern)}, union_by_name = true, hive_partitioning = false)"
            else:
                empty = table.schema.empty_table()  # noqa: F841 - read by DuckDB's replacement scan
                db.execute(f"CREATE OR REPLACE TABLE _empty_{table.view} AS SELECT * FROM empty")
                source = f"_empty_{table.view}"
            db.execute(f"CREATE OR REPLACE VIEW {table.view} AS SELECT * FROM {source}")
            created.append(table.view)
        for name, sql in DERIVED_VIEWS.items():
            db.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")
            created.append(name)
        for name, build in _dynamic_views().items():
            db.execute(f"CREATE OR REPLACE VIEW {name} AS {build(home)}")
            created.append(name)
    return created


def query(home: C2cHome, sql: str, parameters: list[object] | None = None) -> list[tuple]:
    """Run a read-only query with bound parameters."""
    with connect(home, read_only=True) as db:
        return db.execute(sql, parameters or []).fetchall()
