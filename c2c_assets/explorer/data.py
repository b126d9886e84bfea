"""The explorer's data: one row per current post of an analysed encoder, in ``lake/explorer/encoder=<e>/``.

Columns: ``post_id, x, y, cluster, label`` (the cluster's c-TF-IDF top terms), ``category`` (known, else
predicted where a ``predicted_categories`` view exists) and ``category_source``, ``title``, ``price_usd``,
``price_band``, ``source``, ``date``, ``url`` (only links :func:`~c2c_assets.reporting.render.safe_url`
accepts), ``thumbnail`` (the stored ``images/<sha[:2]>/<sha>.thumb.jpg``), ``neighbours`` (row numbers of
the nearest posts in the reduced space) and ``neighbour_distances``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from c2c_assets.analysis.pipeline import cluster_top_terms, load_truth, read_clusters, read_reduced
from c2c_assets.analysis.settings import AnalysisSettings
from c2c_assets.explorer.coordinates import Layout, Previous, layout, nearest_neighbours, update_neighbours
from c2c_assets.explorer.layout_store import read_previous, write_layout
from c2c_assets.home import C2cHome
from c2c_assets.lake import partition_file, write_partition
from c2c_assets.reporting.render import safe_url
from c2c_assets.storage import Location, read_table
from c2c_assets.warehouse import connect

__all__ = ["EXPLORER_SCHEMA", "NEIGHBOURS", "ExplorerData", "build", "cluster_label", "price_bands", "read", "write"]

NEIGHBOURS = 8
LABEL_TERMS = 3
NO_PRICE = "no price"
# (upper bound exclusive, name); the last band is open.
PRICE_BANDS: tuple[tuple[float, str], ...] = (
    (1.0, "free"), (50.0, "$1-49"), (200.0, "$50-199"), (500.0, "$200-499"), (2_000.0, "$500-1,999"), (float("inf"), "$2,000+"),
)  # fmt: skip

EXPLORER_SCHEMA = pa.schema(
    [
        ("post_id", pa.string()),
        ("x", pa.float32()),
        ("y", pa.float32()),
        ("cluster", pa.int32()),
        ("label", pa.string()),
        ("category", pa.string()),
        ("category_source", pa.string()),  # "known", "predicted" or null
        ("title", pa.string()),
        ("price_usd", pa.float32()),
        ("price_band", pa.string()),
        ("source", pa.string()),
        ("date", pa.date32()),
        ("url", pa.string()),
        ("thumbnail", pa.string()),
        ("neighbours", pa.list_(pa.int32())),
        ("neighbour_distances", pa.list_(pa.float32())),
    ]
)


def _keys(encoder: str) -> dict[str, str]:
    return {"encoder": encoder}


def price_bands(prices: Sequence[float | None]) -> list[str]:
    out = []
    for p in prices:
        if p is None or not np.isfinite(p) or p < 0:
            out.append(NO_PRICE)
            continue
        out.append(next(name for bound, name in PRICE_BANDS if p < bound))
    return out


def cluster_label(cluster: int, terms: Sequence[str]) -> str:
    """A cluster's name on the map: its top terms; noise and wordless clusters keep a plain name."""
    if cluster < 0:
        return "noise"
    return " · ".join(terms[:LABEL_TERMS]) if terms else f"cluster {cluster}"


def _predicted_categories(db) -> dict[str, str]:
    """``predicted_categories`` (another domain's view) when it exists: post_id -> category."""
    names = {r[0] for r in db.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    if "predicted_categories" not in names:
        return {}
    columns = [r[0] for r in db.execute("DESCRIBE predicted_categories").fetchall()]
    column = next((c for c in ("predicted_category", "category", "label") if c in columns), None)
    if column is None or "post_id" not in columns:
        return {}
    return dict(db.execute(f'SELECT post_id, "{column}" FROM predicted_categories WHERE "{column}" IS NOT NULL').fetchall())


@dataclass(frozen=True)
class ExplorerData:
    table: pa.Table
    sample_size: int  # posts UMAP was fitted on (the rest were interpolated)
    labels: dict[int, str]
    layout: Layout  # refitted or not, and how many posts kept their coordinates
    vectors: np.ndarray  # the reduced vectors it was laid out from (stored with it: see layout_store)
    neighbours_searched: int = 0  # posts whose neighbours were searched in this run (the others kept theirs)


def build(home: C2cHome, encoder: str, settings: AnalysisSettings, inbox: Path | None) -> ExplorerData:
    """Coordinates, neighbours, labels and post details of every current post the encoder analysed."""
    ids, vectors = read_reduced(home, encoder)
    assignment = read_clusters(home, encoder)
    post_ids = np.asarray(ids, dtype=object)
    previous = read_previous(home, encoder)
    placed = layout(vectors, settings.map_sample, settings.seed, ids=post_ids, previous=previous, home=home)
    neighbour_ids, neighbour_d, searched = _neighbours(home, encoder, vectors, settings.seed, placed, previous)
    clusters = np.asarray([assignment.get(pid, -1) for pid in ids], dtype=np.int32)
    terms = cluster_top_terms(home, encoder)
    labels = {int(c): cluster_label(int(c), terms.get(int(c), [])) for c in np.unique(clusters)}
    truth = load_truth(home, inbox)

    wanted = pa.table({"post_id": pa.array(ids, pa.string()), "row": pa.array(np.arange(len(ids)), pa.int64())})
    with connect(home, read_only=True) as db:
        predicted = _predicted_categories(db)
        db.register("wanted", wanted)
        details = db.sql(
            """
            SELECT w.row, p.title, p.price_usd, p.source, coalesce(CAST(p.posted_at AS DATE), p.scrape_date) AS date,
                   p.url, t.thumb_path
            FROM wanted AS w LEFT JOIN posts AS p USING (post_id) LEFT JOIN post_thumbnails AS t USING (post_id)
            ORDER BY w.row
            """
        ).to_arrow_table()
        db.unregister("wanted")
    categories = [truth.get(pid) or predicted.get(pid) for pid in ids]
    category_source = ["known" if pid in truth else "predicted" if pid in predicted else None for pid in ids]
    prices = details.column("price_usd").to_numpy(zero_copy_only=False)
    prices = np.where(np.equal(prices, None), np.nan, prices).astype(np.float64) if prices.dtype == object else prices
    neighbour_lists = pa.ListArray.from_arrays(
        pa.array(np.arange(0, neighbour_ids.size + 1, NEIGHBOURS, dtype=np.int32)), pa.array(neighbour_ids.ravel())
    ) if len(ids) else pa.array([], pa.list_(pa.int32()))
    distance_lists = pa.ListArray.from_arrays(
        pa.array(np.arange(0, neighbour_d.size + 1, NEIGHBOURS, dtype=np.int32)), pa.array(neighbour_d.ravel())
    ) if len(ids) else pa.array([], pa.list_(pa.float32()))
    table = pa.table(
        {
            "post_id": pa.array(ids, pa.string()),
            "x": pa.array(placed.xy[:, 0], pa.float32()),
            "y": pa.array(placed.xy[:, 1], pa.float32()),
            "cluster": pa.array(clusters, pa.int32()),
            "label": pa.array([labels[int(c)] for c in clusters], pa.string()),
            "category": pa.array(categories, pa.string()),
            "category_source": pa.array(category_source, pa.string()),
            "title": details.column("title"),
            "price_usd": pa.array(prices, pa.float32(), from_pandas=True),
            "price_band": pa.array(price_bands(prices.tolist()), pa.string()),
            "source": details.column("source"),
            "date": details.column("date"),
            "url": pa.array([safe_url(u) for u in details.column("url").to_pylist()], pa.string()),
            "thumbnail": details.column("thumb_path"),
            "neighbours": neighbour_lists,
            "neighbour_distances": distance_lists,
        },
        schema=EXPLORER_SCHEMA,
    )
    return ExplorerData(table, len(placed.anchors.ids), labels, placed, vectors, searched)


def _neighbours(
    home: C2cHome, encoder: str, vectors: np.ndarray, seed: int, placed: Layout, previous: Previous | None
) -> tuple[np.ndarray, np.ndarray, int]:
    """Every post's neighbours: the previous run's lists where they still hold (a nightly, the layout kept), else searched."""
    if placed.previous_rows is not None and previous is not None and data_file(home, encoder).exists():
        old = read_table(data_file(home, encoder), columns=["post_id", "neighbours", "neighbour_distances"])
        lists, distances = old.column("neighbours").combine_chunks(), old.column("neighbour_distances").combine_chunks()
        if old.num_rows == len(previous.ids) and len(lists.flatten()) == NEIGHBOURS * old.num_rows:
            updated = update_neighbours(
                vectors, NEIGHBOURS, seed, placed.previous_rows,
                lists.flatten().to_numpy().reshape(-1, NEIGHBOURS).astype(np.int64),
                distances.flatten().to_numpy(zero_copy_only=False).reshape(-1, NEIGHBOURS).astype(np.float32),
            )  # fmt: skip
            if updated is not None:
                return updated
    found, distance = nearest_neighbours(vectors, NEIGHBOURS, seed)
    return found, distance, len(vectors)


def write(home: C2cHome, encoder: str, data: ExplorerData) -> Location:
    """The explorer data, then the layout the next run starts from (so it never describes data not written)."""
    written = write_partition(home.lake, "explorer", _keys(encoder), data.table)
    ids = np.asarray(data.table.column("post_id").to_pylist(), dtype=object)
    write_layout(home, encoder, ids, data.vectors, data.layout)
    return written


def data_file(home: C2cHome, encoder: str) -> Location:
    return partition_file(home.lake, "explorer", _keys(encoder))


def read(home: C2cHome, encoder: str) -> pa.Table:
    return read_table(data_file(home, encoder))
