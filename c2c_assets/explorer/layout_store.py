"""The fitted layout kept beside the explorer data, so that the next run places only new posts.

    lake/explorer_anchors/encoder=<e>/part-0.parquet   the posts UMAP was fitted on: post_id, vector
                                                       (their reduced vector then), x, y
    lake/explorer_layout/encoder=<e>/part-0.parquet    every post: post_id, vector_hash, x, y

Whether the fit still applies (the reducer unchanged) is decided from the anchors' stored vectors
against today's (``coordinates.reusable``), not from what the analysis says about itself.
"""

from __future__ import annotations

import json

import numpy as np
import pyarrow as pa

from c2c_assets.explorer.coordinates import Anchors, Layout, Previous, vector_hashes
from c2c_assets.home import C2cHome
from c2c_assets.lake import fixed_size_list, partition_file, to_matrix, write_partition
from c2c_assets.storage import read_table

__all__ = ["read_previous", "write_layout"]

ANCHORS = "explorer_anchors"
LAYOUT = "explorer_layout"
FITTED_WITH = b"c2c.fitted_with"  # [sample_size, seed] of the UMAP fit


def _keys(encoder: str) -> dict[str, str]:
    return {"encoder": encoder}


def write_layout(home: C2cHome, encoder: str, ids: np.ndarray, vectors: np.ndarray, placed: Layout) -> None:
    anchors = placed.anchors
    write_partition(
        home.lake, ANCHORS, _keys(encoder),
        pa.table({
            "post_id": pa.array(anchors.ids, pa.string()), "vector": fixed_size_list(anchors.vectors),
            "x": pa.array(anchors.xy[:, 0], pa.float32()), "y": pa.array(anchors.xy[:, 1], pa.float32()),
        }).replace_schema_metadata({FITTED_WITH: json.dumps(list(placed.fitted_with))}),
    )  # fmt: skip
    write_partition(
        home.lake, LAYOUT, _keys(encoder),
        pa.table({
            "post_id": pa.array(ids, pa.string()), "vector_hash": pa.array(vector_hashes(vectors), pa.uint64()),
            "x": pa.array(placed.xy[:, 0], pa.float32()), "y": pa.array(placed.xy[:, 1], pa.float32()),
        }),
    )  # fmt: skip


def read_previous(home: C2cHome, encoder: str) -> Previous | None:
    """The layout the last run stored, or None (first run, or files from before they were kept)."""
    anchors_file, layout_file = (partition_file(home.lake, t, _keys(encoder)) for t in (ANCHORS, LAYOUT))
    if not (anchors_file.exists() and layout_file.exists()):
        return None
    a = read_table(anchors_file)
    posts = read_table(layout_file)
    if a.num_rows == 0:
        return None
    return Previous(
        anchors=Anchors(
            np.asarray(a.column("post_id").to_pylist(), dtype=object),
            to_matrix(a.column("vector")),
            np.column_stack([a.column("x").to_numpy(), a.column("y").to_numpy()]).astype(np.float32),
        ),
        ids=np.asarray(posts.column("post_id").to_pylist(), dtype=object),
        hashes=posts.column("vector_hash").to_numpy().astype(np.uint64),
        xy=np.column_stack([posts.column("x").to_numpy(), posts.column("y").to_numpy()]).astype(np.float32),
        fitted_with=tuple(json.loads((a.schema.metadata or {}).get(FITTED_WITH, b"[0, 0]"))),
    )
