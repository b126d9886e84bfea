"""A nightly analysis: the day's new and changed posts projected with the stored PCA and given the
nearest stored centroid, instead of refitting both over every current post.

A full analysis stores its fitted state beside the partitions (``lake/analysis_state/encoder=<e>/``):
the PCA (mean, components, explained variance) and the k-means centroids, with the settings and the
number of rows it was fitted on. The next analysis of the encoder compares the current vectors with the
stored ``reduced`` rows by ``(post_id, content_hash, fingerprint)``, the key the index update uses
(``search.update``): the same post with the same content embedded by the same configuration has the
same vector, so its reduced vector and cluster stand. Only the new rows' vectors are read and projected;
rows no longer current are dropped. Metrics are recomputed over every row (they are linear, or sampled);
the width sweep is carried over from the fit (it describes the PCA, which did not change).

A full refit happens instead when there is no state, the settings differ, the method is not PCA +
k-means (UMAP and HDBSCAN have no cheap, faithful way to place new points here), or the rows changed
since the fit (this run's included) exceed ``REFIT_SHARE`` of the rows fitted on: beyond that the
centroids describe a data set that is no longer there.
"""

from __future__ import annotations

import io
import json
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa

from c2c_assets.analysis.reduction import PcaModel
from c2c_assets.analysis.settings import AnalysisSettings
from c2c_assets.embeddings.store import current_vectors_sql, same_vector_sql
from c2c_assets.home import C2cHome
from c2c_assets.lake import partition_file, to_matrix
from c2c_assets.storage import Location, is_local, write_atomic
from c2c_assets.warehouse import quote, scratch

REFIT_SHARE = 0.10
STATE_FORMAT = 1
KEY = ("post_id", "content_hash", "fingerprint")


@dataclass(frozen=True, eq=False)  # array fields
class AnalysisState:
    """What a full analysis fitted, kept for the nightly ones."""

    pca: PcaModel
    centroids: np.ndarray  # (k, width) float32
    settings: dict[str, Any]  # AnalysisSettings.model_dump() minus the fields that do not change the fit
    fitted_rows: int
    changed_since_fit: int  # rows added or dropped by incremental runs since the fit
    fit_id: str  # names the fit: a reader (the explorer) can tell whether the reduction it laid out is still the one


def fit_settings(settings: AnalysisSettings) -> dict[str, Any]:
    return settings.model_dump(exclude={"incremental"})


def state_files(home: C2cHome, encoder: str) -> tuple[Location, Location]:
    folder = partition_file(home.lake, "analysis_state", {"encoder": encoder}).parent
    return folder / "state.npz", folder / "state.json"


def save_state(home: C2cHome, encoder: str, state: AnalysisState) -> None:
    """Arrays first, then the JSON that names them: a reader trusts the JSON only when the arrays' fit_id matches."""
    arrays, meta = state_files(home, encoder)
    buffer = io.BytesIO()
    np.savez(
        buffer, fit_id=np.asarray(state.fit_id), mean=state.pca.mean, components=state.pca.components,
        explained_variance=state.pca.explained_variance, explained_variance_ratio=state.pca.explained_variance_ratio,
        centroids=state.centroids,
    )
    write_atomic(arrays, buffer.getvalue())
    write_atomic(meta, json.dumps({
        "format": STATE_FORMAT, "fit_id": state.fit_id, "settings": state.settings, "fitted_rows": state.fitted_rows,
        "changed_since_fit": state.changed_since_fit, "pca_samples": state.pca.n_samples,
        "pca_requested_width": state.pca.requested_width,
    }, indent=1))


def load_state(home: C2cHome, encoder: str) -> AnalysisState | None:
    arrays, meta = state_files(home, encoder)
    if not (meta.exists() and arrays.exists()):
        return None
    info = json.loads(meta.read_text())
    if info.get("format") != STATE_FORMAT:
        return None
    with np.load(io.BytesIO(arrays.read_bytes())) as stored:
        if str(stored["fit_id"]) != info["fit_id"]:
            return None  # a crash between the two writes: the arrays belong to another fit
        pca = PcaModel(
            mean=stored["mean"], components=stored["components"], explained_variance=stored["explained_variance"],
            explained_variance_ratio=stored["explained_variance_ratio"], n_samples=info["pca_samples"],
            requested_width=info["pca_requested_width"],
        )
        centroids = np.ascontiguousarray(stored["centroids"], dtype=np.float32)
    return AnalysisState(pca, centroids, info["settings"], info["fitted_rows"], info["changed_since_fit"], info["fit_id"])


def clear_state(home: C2cHome, encoder: str) -> None:
    for path in state_files(home, encoder):
        if path.exists():
            path.unlink()


def new_fit_id() -> str:
    return f"{time.time_ns():x}"


@dataclass
class Delta:
    """The current rows the stored analysis lacks (with their vectors) and what it keeps of its own."""

    kept: pa.Table  # post_id, content_hash, fingerprint, vector (reduced), cluster, distance: old rows still current
    added: pa.Table  # post_id, content_hash, fingerprint: rows to project and assign
    added_vectors: np.ndarray  # (n_added, d) float32, the encoder's vectors of ``added``
    dropped: int  # stored rows no longer current

    @property
    def changed(self) -> int:
        return self.added.num_rows + self.dropped


def delta(home: C2cHome, encoder: str, state: AnalysisState) -> Delta | None:
    """The change since the stored analysis, or None when a full refit is due (see the module's docstring)."""
    reduced = partition_file(home.lake, "reduced", {"encoder": encoder})
    clusters = partition_file(home.lake, "clusters", {"encoder": encoder})
    sql = current_vectors_sql(home, encoder)
    if sql is None or not reduced.exists() or not clusters.exists() or not is_local(reduced):
        return None
    with scratch(home) as db:
        names = {row[0] for row in db.execute(f"DESCRIBE SELECT * FROM read_parquet({quote(reduced)})").fetchall()}
        if not set(KEY) <= names:
            return None  # written before the keys were stored
        db.execute(f"CREATE TEMP TABLE stored AS SELECT post_id, content_hash, fingerprint FROM read_parquet({quote(reduced)})")
        db.execute(f"CREATE TEMP TABLE now_current AS SELECT post_id, content_hash, fingerprint FROM ({sql})")
        same = same_vector_sql("c", "s")
        (added_n,) = db.execute(f"SELECT count(*) FROM now_current c ANTI JOIN stored s ON {same}").fetchall()[0]
        (dropped,) = db.execute(f"SELECT count(*) FROM stored s ANTI JOIN now_current c ON {same}").fetchall()[0]
        if state.changed_since_fit + added_n + dropped > REFIT_SHARE * max(state.fitted_rows, 1):
            return None
        added = db.sql(f"SELECT c.post_id, c.content_hash, c.fingerprint, c.v FROM ({sql}) c ANTI JOIN stored s ON {same}").to_arrow_table()
        kept = db.sql(
            f"SELECT r.post_id, r.content_hash, r.fingerprint, r.vector, k.cluster, k.distance "
            f"FROM read_parquet({quote(reduced)}) r JOIN read_parquet({quote(clusters)}) k USING (post_id) "
            f"SEMI JOIN now_current c ON {same_vector_sql('c', 'r')}"
        ).to_arrow_table()
    vectors = to_matrix(added.column("v")) if added.num_rows else np.zeros((0, state.pca.n_features), np.float32)
    return Delta(kept, added.select(list(KEY)), vectors, int(dropped))
