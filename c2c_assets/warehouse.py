"""``warehouse.duckdb``: SQL views over the Parquet lake.

The database holds no data of its own, only views (and empty typed tables that stand in for an
asset with no partition yet), so it can be deleted and rebuilt at any time. This module is the
machinery only: each domain declares its own views (``ingest.views``, ``embeddings.store``,
``analysis.views``, ``image_to_text.views``), an asset refreshes the views it changed, and
``c2c_assets.catalog`` lists them all for a full rebuild (``c2c views``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from c2c_assets.home import C2cHome
from c2c_assets.lake import PART_NAME, asset_glob
from c2c_assets.storage import Location, quiet, register_with_duckdb

_LOCK_WAIT_S = 60.0


@dataclass(frozen=True)
class View:
    """A named view whose SQL is built from what the lake holds when it is (re)created. ``build`` may
    create helper tables on the connection it is given (an empty stand-in for an asset with no partition)."""

    name: str
    build: Callable[[C2cHome, duckdb.DuckDBPyConnection], str]


def quote(path: str | Location) -> str:
    """A SQL string literal."""
    return "'" + str(path).replace("'", "''") + "'"


def has_partitions(lake: Location, asset: str, depth: int = 1) -> bool:
    return next(iter((lake / asset).glob("/".join(["*"] * depth) + f"/{PART_NAME}")), None) is not None


def lake_relation(home: C2cHome, asset: str, depth: int = 1) -> str | None:
    """``read_parquet`` over every partition of ``asset`` (one glob, however many partitions), or None if it has none."""
    if not has_partitions(home.lake, asset, depth):
        return None
    return f"read_parquet({quote(asset_glob(home.lake, asset, depth))}, union_by_name = true, hive_partitioning = false)"


def lake_table(name: str, asset: str, schema: pa.Schema, depth: int = 1) -> View:
    """A raw view of all partitions of ``asset``; while it has none, an empty table of its columns."""

    def build(home: C2cHome, db: duckdb.DuckDBPyConnection) -> str:
        relation = lake_relation(home, asset, depth)
        if relation is not None:
            return f"SELECT * FROM {relation}"
        empty = schema.empty_table()  # noqa: F841 - read by DuckDB's replacement scan
        db.execute(f"CREATE OR REPLACE TABLE _empty_{name} AS SELECT * FROM empty")
        return f"SELECT * FROM _empty_{name}"

    return View(name, build)


@contextmanager
def connect(home: C2cHome, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Open the warehouse, waiting while another process holds its write lock. The views read the lake
    wherever it lives: an object-storage lake's filesystem is registered with every connection."""
    deadline = time.monotonic() + _LOCK_WAIT_S
    while True:
        try:
            connection = quiet(duckdb.connect(str(home.warehouse), read_only=read_only))
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


@contextmanager
def scratch(home: C2cHome) -> Iterator[duckdb.DuckDBPyConnection]:
    """An in-memory DuckDB that reads the lake: for a long read that should not hold the warehouse file."""
    with register_with_duckdb(quiet(duckdb.connect()), [home.lake]) as db:
        yield db


def refresh_views(home: C2cHome, views: Iterable[View], *, changed: Iterable[View] | None = None) -> list[str]:
    """(Re)create ``views``, in order (a view may read one created before it). With ``changed``, only those
    are recreated, and of the rest only the ones the warehouse does not have yet (one connection for both)."""
    home.ensure()
    recreate = None if changed is None else {view.name for view in changed}
    created = []
    with connect(home) as db:
        existing = {name for (name,) in db.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
        for view in views:
            if recreate is not None and view.name not in recreate and view.name in existing:
                continue
            db.execute(f"CREATE OR REPLACE VIEW {view.name} AS {view.build(home, db)}")
            created.append(view.name)
    return created


def query(home: C2cHome, sql: str, parameters: list[object] | None = None) -> list[tuple]:
    """Run a read-only query with bound parameters."""
    with connect(home, read_only=True) as db:
        return db.execute(sql, parameters or []).fetchall()
