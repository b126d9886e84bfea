"""The quality group's readers of its own tables and of the current posts, shared by its steps (kept apart from the
steps themselves so that a step can read another's output without importing it)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from c2c_assets.home import C2cHome
from c2c_assets.quality.lake_io import current_photos_sql, fetch, read, table_file
from c2c_assets.warehouse import scratch

NEIGHBOURS = "post_neighbours"


@dataclass(frozen=True)
class NeighbourTable:
    """``post_neighbours[encoder]`` as arrays, one entry per index row (``post_knn``)."""

    post_id: pa.Array
    alive: np.ndarray  # (n,) bool
    rows: np.ndarray  # (n, k) int64 index rows, -1 where fewer
    similarity: np.ndarray  # (n, k) float32, NaN where fewer
    version: np.ndarray  # (n,) int64: the run that last changed the row


def read_neighbours(home: C2cHome, encoder: str) -> NeighbourTable:
    path = table_file(home, NEIGHBOURS, encoder)
    if not path.exists():
        raise ValueError(f"post_neighbours is not materialized for encoder {encoder!r}")
    from c2c_assets.quality.post_knn import fixed

    table = read(home, NEIGHBOURS, encoder)  # the base with the days' deltas, in row order
    sims = fixed(table, "similarity", np.float32)
    sims[sims < -1.5] = np.nan
    return NeighbourTable(table.column("post_id").combine_chunks(), table.column("alive").to_numpy(zero_copy_only=False),
                          fixed(table, "neighbour_rows", np.int64), sims, table.column("version").to_numpy())


def current_hashes(home: C2cHome) -> tuple[pa.Table, pa.Table]:
    """(photos of current posts: post_id, position, sha256; the hash rows of their distinct photos)."""
    sql = current_photos_sql(home)
    hashes = read(home, "photo_hashes")
    if sql is None or hashes is None:
        raise ValueError("photo_hashes is not materialized yet")
    photos = fetch(home, f"SELECT post_id, position, sha256 FROM ({sql}) ORDER BY post_id, position")
    rows = hashes.filter(pc.is_in(hashes.column("sha256"), photos.column("sha256").unique())).sort_by("sha256")
    return photos, rows


def _texts(home: C2cHome, post_ids: list[str]) -> dict[str, str]:
    from c2c_assets.ingest.views import current_posts_sql

    wanted = pa.table({"post_id": post_ids})
    with scratch(home) as db:
        db.register("wanted_posts", wanted)
        rows = db.execute(
            f"SELECT post_id, concat_ws(' ', title, description) FROM ({current_posts_sql(home, 'post_id, title, description')}) "
            "SEMI JOIN wanted_posts USING (post_id)"
        ).fetchall()
    return dict(rows)


def texts_of(home: C2cHome, post_ids: list[str]) -> dict[str, str]:
    """Title and description of some current posts (what MinHash compares)."""
    return _texts(home, post_ids) if post_ids else {}
