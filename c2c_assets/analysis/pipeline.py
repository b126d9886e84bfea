"""Per-encoder analysis over all current vectors: reduce, cluster, score, report, map; and the
side-by-side comparison of encoders on the posts they share.

Outputs: ``lake/reduced/encoder=<e>/``, ``lake/clusters/encoder=<e>/``,
``lake/cluster_metrics/encoder=<e>/`` (Parquet) and ``reports/<encoder>/`` (HTML, PNG).
"""

from __future__ import annotations

import csv
import dataclasses
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from c2c_assets.analysis import clustering, incremental, reduction
from c2c_assets.analysis.reduction import PcaModel
from c2c_assets.analysis import metrics as scoring
from c2c_assets.analysis.schema import CLUSTERS_SCHEMA, METRICS_SCHEMA
from c2c_assets.analysis.settings import AnalysisSettings
from c2c_assets.analysis.terms import top_terms
from c2c_assets.embeddings.store import iter_current_side
from c2c_assets.encoders import encoder_configs
from c2c_assets.home import C2cHome
from c2c_assets.lake import fixed_size_list, partition_file, to_matrix, write_partition
from c2c_assets.reporting.cluster_report import ClusterCard, NearestPost
from c2c_assets.storage import Location, read_table
from c2c_assets.warehouse import connect, query

# The columns of the encoder comparison (the full metric set stays in cluster_metrics).
COMPARED = ("silhouette", "calinski_harabasz", "davies_bouldin", "purity", "nmi", "ari")

def _keys(encoder: str) -> dict[str, str]:
    return {"encoder": encoder}


def load_truth(home: C2cHome, inbox: Path | None) -> dict[str, str]:
    """Known categories: the sample generator's labels.csv if the inbox has one, else the site's own category."""
    labels: dict[str, str] = {}
    if inbox is not None and (inbox / "labels.csv").exists():
        with open(inbox / "labels.csv", newline="") as handle:
            labels = {row["post_id"]: row["category"] for row in csv.DictReader(handle) if row.get("category")}
    if labels:
        return labels

    return dict(query(home, "SELECT post_id, category FROM posts WHERE category IS NOT NULL AND category <> ''"))


@dataclass
class Reduced:
    post_ids: list[str]
    vectors: np.ndarray  # (n, width) float32, the analysis space
    pca128: np.ndarray | None  # (n, <=128) float32, for the width sweep (PCA nests: width w = first w columns); None when not refitted
    explained: np.ndarray  # explained variance ratio per PCA component
    keys: pa.Table  # content_hash, fingerprint of each row: what the next (incremental) analysis compares with
    pca: PcaModel | None = None  # the fitted PCA (the nightly analysis projects new posts with it)
    update: str = "full fit"  # how this run made it: "full fit", or "incremental: +added -dropped"


def reduce(home: C2cHome, encoder: str, settings: AnalysisSettings) -> Reduced:
    """Stream the current vectors twice: fit a PCA, then project. UMAP, when asked, runs on the PCA."""
    batches = lambda: (matrix for _, matrix in iter_current_side(home, encoder, "vector"))  # noqa: E731 - re-iterable source
    widest = max(max(settings.sweep_widths), settings.width)
    model = reduction.fit_pca(batches(), widest)
    keys = []
    parts = []
    for ids_batch, matrix in iter_current_side(home, encoder, "vector"):
        keys.append(ids_batch.select(["post_id", "content_hash", "fingerprint"]))
        parts.append(model.transform(matrix))
    if not keys:
        raise ValueError(f"encoder {encoder!r} has no current vectors: materialize post_embeddings for it first")
    table = pa.concat_tables(keys).combine_chunks()
    order = pc.sort_indices(table, sort_keys=[("post_id", "ascending")]).to_numpy()  # a stable order, so seeded samples are reproducible
    projected = np.concatenate(parts)[order]
    table = table.take(order)
    if settings.reduction == "umap":
        vectors = reduction.umap_reduce(projected[:, : min(64, projected.shape[1])], settings.width, settings.seed, home=home)
    else:
        vectors = projected[:, : settings.width]
    ratio = np.asarray(model.explained_variance_ratio, dtype=np.float64)
    return Reduced(table.column("post_id").to_pylist(), np.ascontiguousarray(vectors, dtype=np.float32), projected, ratio,
                   table.select(["content_hash", "fingerprint"]), model)


def write_reduced(home: C2cHome, encoder: str, reduced: Reduced) -> Location:
    table = pa.table(
        {
            "post_id": reduced.post_ids,
            "content_hash": reduced.keys.column("content_hash"),
            "fingerprint": reduced.keys.column("fingerprint"),
            "vector": fixed_size_list(reduced.vectors),
        }
    )
    return write_partition(home.lake, "reduced", _keys(encoder), table)


def read_reduced(home: C2cHome, encoder: str) -> tuple[list[str], np.ndarray]:
    table = read_table(partition_file(home.lake, "reduced", _keys(encoder)), columns=["post_id", "vector"])
    return table.column("post_id").to_pylist(), to_matrix(table.column("vector"))


def _metrics_row(encoder: str, kind: str, settings: AnalysisSettings, width: int, n: int, explained: float | None, scores: dict[str, Any]) -> dict[str, Any]:
    row = {name: None for name in METRICS_SCHEMA.names}
    row.update(
        encoder=encoder, kind=kind, reduction=settings.reduction, algorithm=settings.algorithm, width=width,
        k=settings.k if settings.algorithm == "kmeans" else None, n=n, explained_variance=explained,
    )
    row.update({k: v for k, v in scores.items() if k in row})
    return row


def _truth_for(ids: list[str], truth: dict[str, str]) -> list[str | None]:
    return [truth.get(post_id) for post_id in ids]


@dataclass
class ClusterOutcome:
    labels: np.ndarray
    distances: np.ndarray
    centroids: np.ndarray
    metrics: dict[str, Any]


def cluster(reduced: Reduced, settings: AnalysisSettings, truth: dict[str, str]) -> ClusterOutcome:
    x = reduced.vectors
    if settings.algorithm == "kmeans":
        result = clustering.kmeans(x, settings.k, settings.seed)
        labels, distances, centroids = result.labels, result.distances, result.centroids
    else:
        labels = np.asarray(clustering.hdbscan(x, min_cluster_size=settings.min_cluster_size, seed=settings.seed))
        found = sorted(set(labels.tolist()) - {-1})
        centroids = np.stack([x[labels == c].mean(axis=0) for c in found]) if found else np.zeros((0, x.shape[1]), np.float32)
        distances = np.full(len(x), np.nan, dtype=np.float32)
        for row, c in enumerate(found):
            members = labels == c
            distances[members] = ((x[members] - centroids[row]) ** 2).sum(axis=1)
    metrics = dict(scoring.internal_metrics(x, labels, settings.silhouette_sample, settings.seed))
    labelled = _truth_for(reduced.post_ids, truth)
    if any(labelled):
        metrics.update(scoring.external_metrics(labels, labelled))
    return ClusterOutcome(np.asarray(labels, dtype=np.int32), np.asarray(distances, dtype=np.float32), centroids, metrics)


def sweep(encoder: str, reduced: Reduced, settings: AnalysisSettings, truth: dict[str, str]) -> list[dict[str, Any]]:
    """Metrics at each width (k-means on a seeded sample): how much of the space each width keeps."""
    rng = np.random.default_rng(settings.seed)
    n = len(reduced.post_ids)
    rows_idx = np.sort(rng.choice(n, size=min(n, settings.sweep_sample), replace=False))
    sample = reduced.pca128[rows_idx]
    labelled = _truth_for([reduced.post_ids[i] for i in rows_idx], truth)
    widths = [width for width in settings.sweep_widths if width <= sample.shape[1]]
    results = scoring.sweep_projected(
        sample, reduced.explained, widths, min(settings.k, len(sample) - 1), settings.seed,
        labelled if any(labelled) else None, sample_size=settings.silhouette_sample,
    )
    return [
        _metrics_row(encoder, "sweep", AnalysisSettings(reduction="pca", width=r["width"], k=settings.k, seed=settings.seed),
                     r["width"], len(sample), r["explained_variance"], r)
        for r in results
    ]


def write_clusters(home: C2cHome, encoder: str, reduced: Reduced, outcome: ClusterOutcome, metric_rows: list[dict[str, Any]]) -> None:
    table = pa.table(
        {
            "post_id": reduced.post_ids,
            "encoder": [encoder] * len(reduced.post_ids),
            "cluster": outcome.labels,
            "distance": outcome.distances,
        },
        schema=CLUSTERS_SCHEMA,
    )
    write_partition(home.lake, "clusters", _keys(encoder), table)
    write_partition(home.lake, "cluster_metrics", _keys(encoder), pa.Table.from_pylist(metric_rows, schema=METRICS_SCHEMA))


def _final_row(encoder: str, settings: AnalysisSettings, reduced: Reduced, metrics: dict[str, Any]) -> dict[str, Any]:
    explained = float(reduced.explained[: settings.width].sum()) if settings.reduction == "pca" else None
    return _metrics_row(encoder, "final", settings, reduced.vectors.shape[1], len(reduced.post_ids), explained, metrics)


def analyse(home: C2cHome, encoder: str, settings: AnalysisSettings, inbox: Path | None) -> tuple[Reduced, ClusterOutcome, list[dict[str, Any]]]:
    """reduced + clusters + metrics for one encoder, written to the lake: an incremental update of the
    stored fit when the change since it is small (``analysis.incremental``), else a full fit."""
    truth = load_truth(home, inbox)
    updated = update(home, encoder, settings, truth) if settings.incremental else None
    if updated is not None:
        return updated
    reduced = reduce(home, encoder, settings)
    write_reduced(home, encoder, reduced)
    outcome = cluster(reduced, settings, truth)
    rows = [_final_row(encoder, settings, reduced, outcome.metrics)]
    rows += sweep(encoder, reduced, settings, truth)
    write_clusters(home, encoder, reduced, outcome, rows)
    if settings.reduction == "pca" and settings.algorithm == "kmeans" and reduced.pca is not None:
        incremental.save_state(home, encoder, incremental.AnalysisState(
            reduced.pca, np.ascontiguousarray(outcome.centroids, dtype=np.float32), incremental.fit_settings(settings),
            len(reduced.post_ids), 0, incremental.new_fit_id(),
        ))
    else:
        incremental.clear_state(home, encoder)  # a UMAP or HDBSCAN fit: nothing an update could extend
    return reduced, outcome, rows


def update(home: C2cHome, encoder: str, settings: AnalysisSettings, truth: dict[str, str]) -> tuple[Reduced, ClusterOutcome, list[dict[str, Any]]] | None:
    """The stored analysis with the new and changed posts projected and assigned; None when a full fit is due."""
    if settings.reduction != "pca" or settings.algorithm != "kmeans":
        return None
    state = incremental.load_state(home, encoder)
    if state is None or state.settings != incremental.fit_settings(settings):
        return None
    change = incremental.delta(home, encoder, state)
    if change is None:
        return None
    projected = state.pca.transform(change.added_vectors)[:, : settings.width] if len(change.added_vectors) else np.zeros((0, settings.width), np.float32)
    distances, nearest = clustering.assign_nearest(projected, state.centroids)
    kept = change.kept
    table = pa.concat_tables([kept.select(["post_id", "content_hash", "fingerprint"]), change.added]).combine_chunks()
    order = pc.sort_indices(table, sort_keys=[("post_id", "ascending")]).to_numpy()
    vectors = np.concatenate([to_matrix(kept.column("vector")) if kept.num_rows else projected[:0], projected])[order]
    labels = np.concatenate([kept.column("cluster").to_numpy(zero_copy_only=False), nearest.astype(np.int32)])[order]
    dists = np.concatenate([kept.column("distance").to_numpy(zero_copy_only=False), distances])[order]
    table = table.take(order)
    reduced = Reduced(table.column("post_id").to_pylist(), np.ascontiguousarray(vectors, dtype=np.float32), None,
                      np.asarray(state.pca.explained_variance_ratio, dtype=np.float64), table.select(["content_hash", "fingerprint"]),
                      state.pca, f"incremental: +{change.added.num_rows} -{change.dropped}")
    metrics = dict(scoring.internal_metrics(reduced.vectors, labels, settings.silhouette_sample, settings.seed))
    labelled = _truth_for(reduced.post_ids, truth)
    if any(labelled):
        metrics.update(scoring.external_metrics(labels, labelled))
    outcome = ClusterOutcome(labels.astype(np.int32), dists.astype(np.float32), state.centroids, metrics)
    # The sweep describes the PCA, which an update keeps: carried over from the fit.
    previous = read_table(partition_file(home.lake, "cluster_metrics", _keys(encoder))).to_pylist()
    rows = [_final_row(encoder, settings, reduced, metrics)] + [r for r in previous if r["kind"] == "sweep"]
    write_reduced(home, encoder, reduced)
    write_clusters(home, encoder, reduced, outcome, rows)
    incremental.save_state(home, encoder, dataclasses.replace(state, changed_since_fit=state.changed_since_fit + change.changed))
    return reduced, outcome, rows


# Posts per cluster whose words name it: c-TF-IDF over a million descriptions would cost minutes and
# name the clusters no better than a seeded sample of this many posts each.
TERMS_PER_CLUSTER = 5_000


def cluster_top_terms(home: C2cHome, encoder: str, n: int = 8, per_cluster: int = TERMS_PER_CLUSTER) -> dict[int, list[str]]:
    """Each cluster's c-TF-IDF top terms from the titles and descriptions of (a seeded sample of) its posts:
    the one rule the cluster report, the map and the explorer name clusters by."""
    clusters_file = str(partition_file(home.lake, "clusters", _keys(encoder)))
    with connect(home, read_only=True) as db:
        rows = db.execute(
            """
            SELECT c.cluster, concat_ws(' ', p.title, p.description)
            FROM read_parquet(?) AS c JOIN posts AS p USING (post_id)
            WHERE c.cluster >= 0
            QUALIFY row_number() OVER (PARTITION BY c.cluster ORDER BY hash(c.post_id), c.post_id) <= ?
            """,
            [clusters_file, per_cluster],
        ).fetchall()
    texts: dict[int, list[str]] = defaultdict(list)
    for cluster_id, text in rows:
        texts[int(cluster_id)].append(text or "")
    return top_terms(dict(sorted(texts.items())), n=n)


def report_cards(home: C2cHome, encoder: str, n_nearest: int = 10) -> list[Any]:
    """Per cluster: size, multi-photo share, top terms and the posts nearest its centroid (with their attributes)."""
    from c2c_assets.attributes.extract import ATTRIBUTES, attributes_of
    from c2c_assets.attributes.extract import describe as describe_attributes

    ATTRIBUTE_COLUMNS = ", ".join(f"a.{name}" for name in ATTRIBUTES)  # noqa: N806

    clusters_file = str(partition_file(home.lake, "clusters", _keys(encoder)))
    with connect(home, read_only=True) as db:
        # Sizes and shares are aggregated here and only each cluster's nearest posts come back: at a million
        # posts, handing every row (with its description) to Python took longer than the rest of the report.
        db.execute(
            "CREATE TEMP TABLE members AS SELECT c.cluster, c.post_id, c.distance, p.n_images_ok "
            "FROM read_parquet(?) AS c JOIN posts AS p USING (post_id)",
            [clusters_file],
        )
        sizes = {
            int(cluster): (int(size), float(multi))
            for cluster, size, multi in db.execute(
                "SELECT cluster, count(*), avg(CASE WHEN coalesce(n_images_ok, 0) > 1 THEN 1.0 ELSE 0.0 END) FROM members GROUP BY cluster"
            ).fetchall()
        }
        rows = db.execute(
            f"""
            SELECT m.cluster, m.post_id, m.distance, p.title, p.description, p.price_usd, p.url, p.n_images_ok, t.thumb_path,
                {ATTRIBUTE_COLUMNS}
            FROM (SELECT * FROM members QUALIFY row_number() OVER (PARTITION BY cluster ORDER BY distance NULLS LAST, post_id) <= ?) AS m
            JOIN posts AS p USING (post_id) LEFT JOIN post_thumbnails AS t USING (post_id)
            LEFT JOIN post_attributes AS a USING (post_id)
            ORDER BY m.cluster, m.distance NULLS LAST, m.post_id
            """,
            [n_nearest],
        ).fetchall()
        cluster_of = dict(db.execute("SELECT post_id, cluster FROM members").fetchall())
    by_cluster: dict[int, list[tuple]] = defaultdict(list)
    for row in rows:
        by_cluster[row[0]].append(row)
    terms = cluster_top_terms(home, encoder)
    from c2c_assets.quality.listing import cluster_quality_shares  # reposts, stock photos, flags where materialized

    shares = cluster_quality_shares(home, encoder, cluster_of)
    cards = []
    for cluster_id, (size, multi_image_share) in sorted(sizes.items()):
        members = by_cluster[cluster_id]
        nearest = [
            NearestPost(
                post_id=r[1], title=r[3], price_usd=r[5], url=r[6],
                thumbnail=home.stored_image(r[8]) if r[8] else None, distance=float(r[2]) if r[2] is not None else float("nan"),
                attributes=describe_attributes(attributes_of(r[9:])),
            )
            for r in members
        ]
        cards.append(
            ClusterCard(
                cluster_id=cluster_id, size=size, multi_image_share=multi_image_share,
                top_terms=terms.get(cluster_id, []), nearest=nearest, quality=shares.get(cluster_id),
            )
        )
    return cards


def summarise_metrics(row: dict[str, Any]) -> dict[str, Any]:
    keep = ("n", "width", "k", "silhouette", "silhouette_sample_size", "calinski_harabasz", "davies_bouldin", "purity", "nmi", "ari", "n_labelled", "explained_variance")
    return {k: row[k] for k in keep if row.get(k) is not None}




def read_clusters(home: C2cHome, encoder: str) -> dict[str, int]:
    table = read_table(partition_file(home.lake, "clusters", _keys(encoder)), columns=["post_id", "cluster"])
    return dict(zip(table.column("post_id").to_pylist(), table.column("cluster").to_pylist(), strict=True))


def compare(home: C2cHome, encoders: list[str], truth: dict[str, str], settings: AnalysisSettings) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every analysed encoder scored on the posts they all share, plus their width sweeps.

    Scores are computed in each encoder's own analysis space, restricted to the shared posts, so the
    numbers compare methods on the same data (what the four papers, one method each, could not do).
    """

    configs = encoder_configs(home.root)
    loaded = {}
    for encoder in encoders:
        if partition_file(home.lake, "clusters", _keys(encoder)).exists():
            ids, vectors = read_reduced(home, encoder)
            loaded[encoder] = (ids, vectors, read_clusters(home, encoder))
    if not loaded:
        return [], []
    shared = sorted(set.intersection(*(set(ids) for ids, _, _ in loaded.values())))
    labelled = [truth.get(pid) for pid in shared]
    rows = []
    for encoder, (ids, vectors, assignment) in sorted(loaded.items()):
        position = {pid: i for i, pid in enumerate(ids)}
        x = vectors[[position[pid] for pid in shared]] if shared else vectors[:0]
        labels = np.asarray([assignment[pid] for pid in shared])
        config = configs.get(encoder)
        row: dict[str, Any] = {
            "encoder": encoder,
            "family": config.family if config else "?",
            "settings": ", ".join(f"{k}={v}" for k, v in sorted((config.options if config else {}).items())) or "defaults",
            "shared_posts": len(shared),
        }
        if len(shared) > 2 and len(set(labels.tolist())) > 1:
            scores = dict(scoring.internal_metrics(x, labels, settings.silhouette_sample, settings.seed))
            if any(labelled):
                scores.update(scoring.external_metrics(labels, labelled))
            row.update({k: scores[k] for k in COMPARED if k in scores})
        rows.append(row)
    sweep_rows = []
    for encoder in sorted(loaded):
        table = read_table(partition_file(home.lake, "cluster_metrics", _keys(encoder))).to_pylist()
        for metric in table:
            if metric["kind"] == "sweep":
                sweep_rows.append({k: metric[k] for k in ("encoder", "width", "explained_variance", "silhouette", "nmi", "ari") if k in metric})
    return rows, sweep_rows
