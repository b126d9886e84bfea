"""The ingest invariants, as plain functions over the lake (the Dagster asset checks call these)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from c2c_assets.home import C2cHome
from c2c_assets.ingest.dumps import DumpError, count_nonblank_lines, find_dumps
from c2c_assets.lake import partition_file
from c2c_assets.storage import quiet, register_with_duckdb


def _file(home: C2cHome, asset: str, scrape_date: date) -> str:
    path = partition_file(home.lake, asset, {"date": scrape_date.isoformat()})
    if not path.exists():
        raise FileNotFoundError(f"{asset} has no partition {scrape_date} (expected {path})")
    return str(path)


@dataclass(frozen=True)
class LineAccount:
    dump: str
    lines: int | None  # non-blank lines in the dump on disk now; None when it cannot be read
    accepted: int
    quarantined: int

    @property
    def balanced(self) -> bool:
        return self.lines is not None and self.accepted + self.quarantined == self.lines


def line_accounts(home: C2cHome, inbox: Path, scrape_date: date) -> list[LineAccount]:
    """Per dump: non-blank lines re-counted from the dump file against posts + quarantine rows."""
    posts, quarantine = _file(home, "posts", scrape_date), _file(home, "quarantine", scrape_date)
    counted = dict(
        _db(home).execute(
            "SELECT dump, count(*) FROM read_parquet(?) GROUP BY dump", [posts]
        ).fetchall()
    )
    quarantined = dict(
        _db(home).execute("SELECT dump, count(*) FROM read_parquet(?) GROUP BY dump", [quarantine]).fetchall()
    )
    accounts = []
    dumps = {d.name: d for d in find_dumps(inbox, scrape_date)}
    for name in sorted(set(dumps) | set(counted) | set(quarantined)):
        lines: int | None = None
        if name in dumps:
            try:
                lines = count_nonblank_lines(dumps[name])
            except DumpError:
                lines = None
        accounts.append(LineAccount(name, lines, counted.get(name, 0), quarantined.get(name, 0)))
    return accounts


def duplicate_post_ids(home: C2cHome, scrape_date: date) -> list[tuple[str, int]]:
    return _db(home).execute(
        "SELECT post_id, count(*) AS n FROM read_parquet(?) GROUP BY post_id HAVING n > 1 ORDER BY n DESC, post_id LIMIT 20",
        [_file(home, "posts", scrape_date)],
    ).fetchall()


def image_row_mismatches(home: C2cHome, scrape_date: date) -> list[tuple[str, int, int, int]]:
    """Posts whose image references do not have exactly one post_images row each, at positions 0..n-1.

    Returns (post_id, n_images, rows, distinct positions in range) for each bad post, at most 20.
    """
    return _db(home).execute(
        """
        WITH rows AS (
            SELECT post_id, count(*) AS n_rows,
                   count(DISTINCT position) FILTER (WHERE position >= 0) AS n_positions,
                   max(position) AS max_position
            FROM read_parquet(?) GROUP BY post_id
        )
        SELECT p.post_id, p.n_images, coalesce(r.n_rows, 0), coalesce(r.n_positions, 0)
        FROM read_parquet(?) AS p LEFT JOIN rows AS r USING (post_id)
        WHERE coalesce(r.n_rows, 0) <> p.n_images
           OR coalesce(r.n_positions, 0) <> p.n_images
           OR coalesce(r.max_position, -1) <> p.n_images - 1
        UNION ALL
        SELECT r.post_id, 0, r.n_rows, r.n_positions FROM rows AS r ANTI JOIN read_parquet(?) AS p USING (post_id)
        ORDER BY 1 LIMIT 20
        """,
        [_file(home, "post_images", scrape_date), _file(home, "posts", scrape_date), _file(home, "posts", scrape_date)],
    ).fetchall()


def _db(home: C2cHome) -> duckdb.DuckDBPyConnection:
    """A private in-memory connection (DuckDB's module-level default one is shared by every thread)
    that can read the lake wherever it is."""
    return register_with_duckdb(quiet(duckdb.connect()), [home.lake])
