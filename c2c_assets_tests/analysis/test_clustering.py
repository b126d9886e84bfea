"""Clustering analysis on data with known structure: blobs k-means/HDBSCAN must find, sklearn as the oracle."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import make_blobs
from sklearn.decomposition import PCA
from sklearn.metrics import (
    adjusted_rand_score,
    calinski_harabasz_score,
    davies_bouldin_score,
    normalized_mutual_info_score,
    silhouette_score,
)

from c2c_assets.analysis.clustering import hdbscan, kmeans
from c2c_assets.analysis.metrics import external_metrics, internal_metrics, width_sweep
from c2c_assets.analysis.reduction import fit_pca, iter_row_batches, sample_indices

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def blobs() -> tuple[np.ndarray, np.ndarray]:
    """5 well-separated gaussian blobs in 64-d, 2,000 points: the structure every method must recover."""
    x, y = make_blobs(n_samples=2000, n_features=64, centers=5, cluster_std=1.0, center_box=(-10, 10), random_state=0)
    return x.astype(np.float32), y


@pytest.fixture(scope="module")
def spectrum() -> np.ndarray:
    """A 20-d cloud with well-separated variances (eigenvectors well defined) far from the origin."""
    rng = np.random.default_rng(0)
    rotation = np.linalg.qr(rng.normal(size=(20, 20)))[0]
    return (rng.normal(size=(3000, 20)) * np.geomspace(10.0, 0.1, 20)) @ rotation + 50.0


# --------------------------------------------------------------------------------------------- PCA


def test_pca_matches_sklearn_covariance_eigh(spectrum):
    ours = fit_pca([spectrum], 8)
    theirs = PCA(n_components=8, svd_solver="covariance_eigh").fit(spectrum)
    signs = np.sign(np.sum(ours.components * theirs.components_, axis=1))  # equal up to sign
    np.testing.assert_allclose(ours.components * signs[:, None], theirs.components_, atol=1e-8)
    np.testing.assert_allclose(ours.explained_variance_ratio, theirs.explained_variance_ratio_, atol=1e-5)
    np.testing.assert_allclose(ours.explained_variance, theirs.explained_variance_, rtol=1e-8)
    np.testing.assert_allclose(ours.mean, theirs.mean_, rtol=1e-12)
    projected = ours.transform(spectrum)
    assert projected.dtype == np.float32 and projected.shape == (3000, 8)
    np.testing.assert_allclose(projected * signs, theirs.transform(spectrum), atol=1e-3)


def test_pca_batches_of_1000_equal_one_shot(spectrum):
    one_shot = fit_pca([spectrum], 8)
    streamed = fit_pca(iter_row_batches(spectrum, 1000), 8)
    assert streamed.n_samples == one_shot.n_samples == 3000
    np.testing.assert_allclose(streamed.mean, one_shot.mean, rtol=1e-12)
    np.testing.assert_allclose(streamed.components, one_shot.components, atol=1e-10)
    np.testing.assert_allclose(streamed.explained_variance_ratio, one_shot.explained_variance_ratio, atol=1e-12)


def test_pca_float32_batches_and_truncate_nests(spectrum):
    x32 = spectrum.astype(np.float32)
    model = fit_pca(iter_row_batches(x32, 700), 8)
    smaller = fit_pca([x32], 3)
    np.testing.assert_allclose(model.truncate(3).components, smaller.components, atol=1e-10)
    assert np.all(np.diff(model.explained_variance) <= 0)


def test_pca_clamps_width_and_says_so(spectrum):
    wide = fit_pca([spectrum], 50)  # d = 20
    assert wide.width == 20 and wide.requested_width == 50 and wide.clamped
    assert "clamped to 20" in (wide.clamp_note or "")
    assert wide.explained_variance_ratio.sum() == pytest.approx(1.0)
    few = fit_pca([spectrum[:5]], 10)  # n = 5
    assert few.width == 5 and few.clamped
    assert not fit_pca([spectrum], 8).clamped
    with pytest.raises(ValueError):
        fit_pca([spectrum[:1]], 2)


# ----------------------------------------------------------------------------------------- k-means


def test_kmeans_recovers_blobs_like_sklearn(blobs):
    x, y = blobs
    result = kmeans(x, 5, seed=0)
    assert result.labels.dtype == np.int32 and result.distances.dtype == np.float32
    assert result.centroids.shape == (5, 64) and not result.used_gpu
    truth = external_metrics(result.labels, y)
    assert truth["ari"] > 0.95 and truth["purity"] > 0.95
    reference = KMeans(n_clusters=5, init="k-means++", n_init=1, random_state=0).fit(x)
    assert abs(result.inertia / reference.inertia_ - 1.0) < 0.01
    # distances are each point's squared L2 distance to its own centroid, summing to the inertia
    own = ((x - result.centroids[result.labels]) ** 2).sum(axis=1)
    np.testing.assert_allclose(result.distances, own, rtol=1e-3, atol=1e-2)
    assert result.inertia == pytest.approx(float(own.sum(dtype=np.float64)), rel=1e-5)


def test_kmeans_is_deterministic_with_a_seed(blobs):
    x, _ = blobs
    first, again = kmeans(x, 7, seed=3), kmeans(x, 7, seed=3)
    np.testing.assert_array_equal(first.labels, again.labels)
    np.testing.assert_array_equal(first.centroids, again.centroids)
    assert first.inertia == again.inertia


def test_kmeans_seeds_on_a_sample(blobs):
    x, y = blobs
    result = kmeans(x, 5, seed=1, init_sample=300)
    assert result.init_sample_size == 300
    assert external_metrics(result.labels, y)["ari"] > 0.95
    with pytest.raises(ValueError):
        kmeans(x[:3], 5, seed=0)


# ----------------------------------------------------------------------------------------- HDBSCAN


def test_hdbscan_finds_the_blobs_with_little_noise(blobs):
    x, y = blobs
    result = hdbscan(x, min_cluster_size=50, seed=0)
    assert result.n_clusters == 5 and result.noise_fraction < 0.05
    assert external_metrics(result.labels, y)["ari"] > 0.95
    np.testing.assert_array_equal(np.asarray(result), result.labels)  # array-like: the labels


def test_hdbscan_on_a_sample_labels_every_point(blobs):
    x, y = blobs
    result = hdbscan(x, min_cluster_size=25, seed=0, sample_size=600)
    assert len(result.sample_indices) == 600 and len(result.labels) == len(x)
    assert result.n_clusters == 5
    assert external_metrics(result.labels, y)["ari"] > 0.95


# ----------------------------------------------------------------------------------------- metrics


def test_internal_metrics_match_sklearn(blobs):
    x, _ = blobs
    labels = kmeans(x, 5, seed=0).labels
    full = internal_metrics(x, labels, sample_size=10_000, seed=0)
    assert full["silhouette_sample_size"] == 2000 and full["ch_db_sample_size"] == 2000
    assert full["silhouette"] == pytest.approx(silhouette_score(x, labels), rel=1e-6)
    assert full["calinski_harabasz"] == pytest.approx(calinski_harabasz_score(x, labels), rel=1e-6)
    assert full["davies_bouldin"] == pytest.approx(davies_bouldin_score(x, labels), rel=1e-6)

    sampled = internal_metrics(x, labels, sample_size=500, seed=4)
    assert sampled["silhouette_sample_size"] == 500
    idx = sample_indices(len(x), 500, 4)
    assert sampled["silhouette"] == pytest.approx(silhouette_score(x[idx], labels[idx]), rel=1e-6)
    assert sampled["silhouette"] == pytest.approx(full["silhouette"], abs=0.02)
    assert sampled["calinski_harabasz"] == full["calinski_harabasz"]  # CH/DB stay on all rows


def test_internal_metrics_exclude_noise_and_sample_ch_db_past_the_limit(blobs):
    x, _ = blobs
    labels = kmeans(x, 5, seed=0).labels.copy()
    labels[:100] = -1
    out = internal_metrics(x, labels, sample_size=10_000, seed=0)
    assert out["n_noise_excluded"] == 100 and out["n_points"] == 1900
    assert out["silhouette"] == pytest.approx(silhouette_score(x[100:], labels[100:]), rel=1e-6)
    limited = internal_metrics(x, labels, sample_size=400, seed=0, full_limit=1000)
    assert limited["ch_db_sample_size"] == 400
    one_cluster = internal_metrics(x, np.zeros(len(x), dtype=np.int32))
    assert math.isnan(one_cluster["silhouette"]) and math.isnan(one_cluster["davies_bouldin"])


def test_external_metrics_hand_made_case_ignores_unlabelled():
    # clusters 0 = {a, a, b}, 1 = {b, b, b}: majority counts 2 + 3 of 6 labelled points
    labels = np.array([0, 0, 0, 1, 1, 1, 0, 1, 1])
    truth = ["a", "a", "b", "b", "b", "b", None, "", float("nan")]
    out = external_metrics(labels, truth)
    assert out["n_labelled"] == 6 and out["n_unlabelled"] == 3 and out["n_classes"] == 2
    assert out["purity"] == pytest.approx(5 / 6)
    labelled_truth, labelled = ["a", "a", "b", "b", "b", "b"], [0, 0, 0, 1, 1, 1]
    assert out["nmi"] == pytest.approx(normalized_mutual_info_score(labelled_truth, labelled))
    assert out["ari"] == pytest.approx(adjusted_rand_score(labelled_truth, labelled))
    perfect = external_metrics([5, 5, 7, 7], ["x", "x", "y", "y"])
    assert perfect["purity"] == perfect["nmi"] == perfect["ari"] == 1.0
    nothing = external_metrics([0, 1], [None, ""])
    assert nothing["n_labelled"] == 0 and math.isnan(nothing["purity"])


# ------------------------------------------------------------------------------------- width sweep


def test_width_sweep_one_row_per_width_with_rising_variance(blobs):
    x, y = blobs
    truth = [str(v) if i % 3 else None for i, v in enumerate(y)]  # a third unlabelled
    rows = width_sweep(x, widths=(2, 4, 8, 16), k=5, seed=0, truth=truth)
    assert [r["width"] for r in rows] == [2, 4, 8, 16]
    variance = [r["explained_variance"] for r in rows]
    assert all(a < b for a, b in zip(variance, variance[1:])) and variance[-1] <= 1.0
    assert all(r["ari"] > 0.95 and r["n_labelled"] == sum(t is not None for t in truth) for r in rows)
    assert {"silhouette", "calinski_harabasz", "davies_bouldin", "inertia", "silhouette_sample_size"} <= set(rows[0])
    clamped = width_sweep(x[:300], widths=(8, 128), k=5, seed=0)
    assert [(r["width"], r["requested_width"]) for r in clamped] == [(8, 8), (64, 128)]


# -------------------------------------------------------------------------------------------- UMAP


# The one UMAP test (umap-learn + numba cost ~20 s to import and ~20 s to JIT with a cold cache):
# in a fresh process, so the numba cache must be created under the home the caller gave (not $C2C_HOME's,
# and without touching the process environment).
@pytest.mark.slow
def test_umap_reduce_fills_the_numba_cache_of_the_given_home(tmp_path):
    home, elsewhere = tmp_path / "home", tmp_path / "env_home"
    script = (
        "import json, os, sys, numpy as np\n"
        "from c2c_assets.analysis.reduction import umap_reduce\n"
        "from c2c_assets.home import C2cHome\n"
        "x = np.random.default_rng(0).normal(size=(60, 8)).astype(np.float32)\n"
        "y = umap_reduce(x, 2, seed=0, n_neighbors=5, home=C2cHome(__import__('pathlib').Path(sys.argv[1])))\n"
        "print(json.dumps([list(y.shape), str(y.dtype), os.environ.get('NUMBA_CACHE_DIR')]))\n"
    )
    env = {**os.environ, "C2C_HOME": str(elsewhere)}
    env.pop("NUMBA_CACHE_DIR", None)
    done = subprocess.run([sys.executable, "-c", script, str(home)], env=env, cwd=REPO, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [[60, 2], "float32", None]
    cached = list((home / "cache" / "numba").rglob("*.nbi"))
    assert not (elsewhere / "cache").exists()
    assert cached, "umap ran but numba wrote no cache index under <home>/cache/numba"
