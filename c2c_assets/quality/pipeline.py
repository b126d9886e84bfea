"""The quality tables from the lake: photo hashes (each photo once), photo groups (``photo_group_update``),
post flags (``flags``); per encoder the post k-NN, repost groups and scores (``encoder_pipeline``). Each step
reads the lake, computes with the plain functions of this package and publishes one partition atomically;
all but the scores update their table from the stored state (``state``) rather than rebuild it."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from c2c_assets.home import C2cHome
from c2c_assets.quality.lake_io import publish, read, table_file, write
from c2c_assets.quality.photos import hash_photos
from c2c_assets.quality.schema import PHOTO_HASHES
from c2c_assets.warehouse import lake_relation, scratch


def update_photo_hashes(home: C2cHome) -> dict[str, Any]:
    """Hash the stored photos not hashed before; the table keeps every photo ever seen (keyed by sha256)."""
    images = lake_relation(home, "post_images")
    if images is None:
        raise ValueError("no ingested photos yet: run `c2c ingest` first")
    # Only the keys and statuses of the photos hashed before: a day's new photos are written as a delta.
    known = read(home, "photo_hashes", columns=["sha256", "status"])
    first_run = known is None
    known = PHOTO_HASHES.empty_table().select(["sha256", "status"]) if known is None else known
    with scratch(home) as db:
        db.register("seen_hashes", known.select(["sha256"]))
        todo = db.sql(f"""
            SELECT sha256, min(path) AS path FROM {images} WHERE status = 'ok' AND sha256 IS NOT NULL
            AND sha256 NOT IN (SELECT sha256 FROM seen_hashes) GROUP BY sha256 ORDER BY sha256
        """).to_arrow_table()
    fresh = hash_photos(home, zip(todo.column("sha256").to_pylist(), todo.column("path").to_pylist(), strict=True))
    written: dict[str, Any] = {"written": "nothing"}
    if first_run:
        write(home, "photo_hashes", fresh.sort_by("sha256"))
        written = {"written": "base"}
    elif fresh.num_rows:
        # Rows are never replaced (a sha256 is hashed once), so a delta is only added rows.
        whole = lambda: pa.concat_tables([read(home, "photo_hashes"), fresh]).sort_by("sha256")  # noqa: E731 - only to compact
        written = publish(home, "photo_hashes", whole, _next_run(home), fresh)
    table = pa.concat_tables([known, fresh.select(["sha256", "status"])])
    unhashable = int(pc.sum(pc.equal(table.column("status"), "unhashable")).as_py() or 0)
    return {"photos": table.num_rows, "hashed_now": fresh.num_rows, "unhashable": unhashable, **written}


def _next_run(home: C2cHome) -> int:
    """A number above every delta's of ``photo_hashes`` (which keeps no state of its own): names its next delta."""
    from c2c_assets.quality.layers import DELTA_DIR

    folder = table_file(home, "photo_hashes").parent / DELTA_DIR
    runs = [int(path.stem.split("-")[1]) for path in folder.glob("delta-*.parquet")]
    return max(runs, default=0) + 1


def build_photo_groups(home: C2cHome) -> tuple[pa.Table, dict[str, Any]]:
    """Near-duplicate groups of every hashed photo and which of them are stock photos (``photo_group_update``:
    a new day searches only its new photos against the stored index and merges the groups they touch)."""
    from c2c_assets.quality.photo_group_update import update_photo_groups

    return update_photo_groups(home)


def build_post_flags(home: C2cHome) -> tuple[pa.Table, dict[str, Any]]:
    """Every flag of every current post (``flags``: a new day computes only its new and changed posts)."""
    from c2c_assets.quality.flags import update_post_flags

    return update_post_flags(home)
