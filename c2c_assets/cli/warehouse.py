"""``c2c sql`` and ``c2c views``: the DuckDB warehouse over the lake."""

from __future__ import annotations

import json
from typing import Annotated

import typer
from rich.table import Table

from c2c_assets.cli import HomeOption, app, console, fail, home_paths


@app.command()
def sql(
    query: Annotated[str, typer.Argument(help="A read-only SQL query over the warehouse views.")],
    home: HomeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print rows as JSON objects.")] = False,
) -> None:
    """Query warehouse.duckdb (views posts, quarantine, post_images, ...) read-only."""
    paths = home_paths(home, create=False)
    if not paths.warehouse.exists():
        fail(f"no warehouse at {paths.warehouse} yet: run `c2c ingest` first")
    import duckdb

    from c2c_assets.warehouse import connect

    try:
        with connect(paths, read_only=True) as db:
            cursor = db.execute(query)
            columns = [c[0] for c in cursor.description or []]
            rows = cursor.fetchall()
    except duckdb.Error as error:
        fail(str(error).splitlines()[0])
    if as_json:
        console.print_json(json.dumps([dict(zip(columns, row)) for row in rows], default=str))
        return
    table = Table(*columns)
    for row in rows:
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)


@app.command()
def views(home: HomeOption = None) -> None:
    """Rebuild the DuckDB views over the lake (after moving C2C_HOME, say). On a new home every view
    is created empty, and fills as its asset is materialized."""
    from c2c_assets.catalog import refresh_all

    console.print(", ".join(refresh_all(home_paths(home))))
