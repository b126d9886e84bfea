"""Cluster-quality scores and the width sweep.

- ``internal_metrics`` / ``external_metrics`` are scikit-learn's scores with the sampling and the
  unlabelled/noise handling written down in the returned dict;
- ``width_sweep`` is the PCA-width ablation of the papers (one PCA fit, sliced: PCA nests).

Heavy imports (sklearn, scipy) happen inside the functions: importing this module is free.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from c2c_assets.analysis.clustering import kmeans
from c2c_assets.analysis.reduction import fit_pca, iter_row_batches, sample_indices

# ----------------------------------------------------------------------------------------- metrics


def internal_metrics(
    x: np.ndarray,
    labels: np.ndarray,
    sample_size: int = 10_000,
    seed: int = 0,
    *,
    full_limit: int = 2_000_000,
) -> dict[str, float | int]:
    """Silhouette, Calinski-Harabasz and Davies-Bouldin (scikit-learn), noise (label -1) excluded.

    Silhouette is O(n^2): computed on a seeded sample (``sample_indices(n, sample_size, seed)`` over the
    non-noise rows), its size in ``silhouette_sample_size``; a 10K sample matches the full value to
    about 3 decimals. CH and DB are linear, so they use all rows up to ``full_limit`` and the same
    sample beyond (``ch_db_sample_size`` says which). Fewer than 2 clusters: the scores are NaN.
    """
    from sklearn import config_context
    from sklearn.metrics import calinski_harabasz_score, davies_bouldin_score, silhouette_score

    labels = np.asarray(labels)
    if len(labels) != len(x):
        raise ValueError(f"{len(labels)} labels for {len(x)} rows")
    keep = labels != -1
    if keep.all():
        xs, ls = x, labels  # no copy of a big matrix when there is no noise (k-means)
    else:
        xs, ls = x[keep], labels[keep]
    n = len(ls)
    n_clusters = len(np.unique(ls))
    out: dict[str, float | int] = {
        "n_points": n,
        "n_noise_excluded": int(len(labels) - n),
        "n_clusters": n_clusters,
    }
    sample = sample_indices(n, sample_size, seed)
    xs_sample, ls_sample = xs[sample], ls[sample]
    sample_clusters = len(np.unique(ls_sample))
    if 2 <= sample_clusters <= len(sample) - 1:
        # sklearn computes distances in chunks of up to 1 GB by default; 256 MB is as fast here.
        with config_context(working_memory=256):
            out["silhouette"] = float(silhouette_score(xs_sample, ls_sample))
    else:
        out["silhouette"] = math.nan
    out["silhouette_sample_size"] = int(len(sample))
    if n <= full_limit:
        xc, lc = xs, ls
    else:
        xc, lc = xs_sample, ls_sample
    out["ch_db_sample_size"] = int(len(lc))
    if 2 <= len(np.unique(lc)) <= len(lc) - 1:
        out["calinski_harabasz"] = float(calinski_harabasz_score(xc, lc))
        out["davies_bouldin"] = float(davies_bouldin_score(xc, lc))
    else:
        out["calinski_harabasz"] = math.nan
        out["davies_bouldin"] = math.nan
    return out


def _has_truth(value: object) -> bool:
    if value is None:
        return False
    if isinstance(value, str):
        return value != ""
    if isinstance(value, float) and math.isnan(value):
        return False
    return True


def external_metrics(labels: np.ndarray | Sequence[int], truth: Sequence[object] | np.ndarray) -> dict[str, float | int]:
    """Purity, NMI and ARI of ``labels`` against ``truth``, over the rows that have a truth label.

    A truth of None, '' or NaN means "unlabelled": the row is left out (``n_labelled`` counts the
    rest). Truth values are compared as strings. Purity = sum over clusters of the count of the
    cluster's majority class / n; noise (-1) counts as one more cluster.
    """
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score
    from sklearn.metrics.cluster import contingency_matrix

    labels = np.asarray(labels)
    truth_list = list(truth)
    if len(truth_list) != len(labels):
        raise ValueError(f"{len(labels)} labels for {len(truth_list)} truth values")
    mask = np.fromiter((_has_truth(t) for t in truth_list), dtype=bool, count=len(truth_list))
    classes = np.array([str(t) for t, m in zip(truth_list, mask, strict=True) if m])
    clusters = labels[mask]
    n = int(mask.sum())
    out: dict[str, float | int] = {"n_labelled": n, "n_unlabelled": int(len(labels) - n)}
    if n == 0:
        return {**out, "purity": math.nan, "nmi": math.nan, "ari": math.nan, "n_classes": 0}
    table = contingency_matrix(classes, clusters)  # rows: classes, columns: clusters
    out["purity"] = float(table.max(axis=0).sum() / n)
    out["nmi"] = float(normalized_mutual_info_score(classes, clusters))
    out["ari"] = float(adjusted_rand_score(classes, clusters))
    out["n_classes"] = int(table.shape[0])
    return out


# ------------------------------------------------------------------------------------- width sweep


def width_sweep(
    x: np.ndarray,
    widths: Sequence[int] = (8, 16, 32, 64, 128),
    k: int = 20,
    seed: int = 0,
    truth: Sequence[object] | np.ndarray | None = None,
    *,
    sample_size: int = 10_000,
) -> list[dict[str, Any]]:
    """For each PCA width: k-means at ``k``, internal metrics, explained variance, external metrics.

    One PCA fit at the largest width, one projection, then column slices: the first w principal
    components are the w-component PCA. A width above min(n, d) is clamped (``requested_width`` keeps
    what was asked).
    """
    if not widths:
        raise ValueError("widths is empty")
    model = fit_pca(iter_row_batches(x), max(widths))
    return sweep_projected(model.transform(x), model.explained_variance_ratio, widths, k, seed, truth, sample_size=sample_size)


def sweep_projected(
    projected: np.ndarray,
    explained_variance_ratio: np.ndarray,
    widths: Sequence[int],
    k: int,
    seed: int = 0,
    truth: Sequence[object] | np.ndarray | None = None,
    *,
    sample_size: int = 10_000,
) -> list[dict[str, Any]]:
    """The sweep over data already projected on its principal components (widest first columns), for a
    caller that has the PCA already; ``explained_variance_ratio`` is that PCA's, per component."""
    rows: list[dict[str, Any]] = []
    for requested in widths:
        width = min(requested, projected.shape[1])
        part = np.ascontiguousarray(projected[:, :width])
        result = kmeans(part, k, seed)
        row: dict[str, Any] = {
            "width": width,
            "requested_width": requested,
            "explained_variance": float(np.asarray(explained_variance_ratio)[:width].sum()),
            "inertia": result.inertia,
            **internal_metrics(part, result.labels, sample_size, seed),
        }
        if truth is not None:
            row.update(external_metrics(result.labels, truth))
        rows.append(row)
    return rows
