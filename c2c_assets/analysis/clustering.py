"""Dimensionality reduction, clustering and cluster-quality metrics for post embeddings.

The three papers this project follows all cluster at k=20 and differ in the reduction: ViT (UMAP to
64-d), ImageBind (PCA to 32-d, "marginally optimal"), OpenFlamingo (k-means on the raw vectors, UMAP
only for the picture). Everything here is plain numpy in, numpy/dicts out, so it runs the same in an
asset, a notebook or a benchmark:

- ``fit_pca`` streams batches (e.g. ``m for _, m in iter_current_vectors(home, enc)``): it keeps the
  mean and the d x d scatter matrix in float64, never the whole n x d matrix;
- ``kmeans`` is FAISS k-means with scikit-learn's k-means++ seeding on a sample (FAISS's default random
  seeding lands 15-33% worse in inertia; ++ over all points is what makes scikit-learn's KMeans slow
  on 768-d vectors: 19 s of k-means++ alone for 200K x 768 here, 0.6 s at 64-d);
- ``hdbscan`` is scikit-learn's HDBSCAN on a sample, the rest labelled by their nearest sampled point;
- ``internal_metrics`` / ``external_metrics`` are scikit-learn's scores with the sampling and the
  unlabelled/noise handling written down in the returned dict;
- ``width_sweep`` is the PCA-width ablation of the papers (one PCA fit, sliced: PCA nests);
- ``umap_reduce`` wraps umap-learn with numba's on-disk cache under ``$C2C_HOME/cache/numba``.

Heavy imports (faiss, umap, scipy, sklearn) happen inside the functions: importing this module is free.
"""

from __future__ import annotations

import math
import sys
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from c2c_assets.home import C2cHome

# Rows per step when we walk a big matrix (float64 copies, FAISS searches): bounded memory, full BLAS speed.
BATCH_ROWS = 65_536
# Rows per float64 scatter-matrix update inside fit_pca: 8192 x 768 x 8 B = 50 MB of temporaries.
PCA_CHUNK_ROWS = 8_192


def iter_row_batches(x: np.ndarray, batch_rows: int = BATCH_ROWS) -> Iterator[np.ndarray]:
    """Views of ``x`` in row batches: feeds an in-memory matrix to the streaming functions."""
    for start in range(0, len(x), batch_rows):
        yield x[start : start + batch_rows]


def sample_indices(n: int, size: int, seed: int) -> np.ndarray:
    """Sorted indices of a seeded sample of ``size`` of ``range(n)`` without replacement (all if size >= n).

    Public so a caller (or a test) can reproduce exactly the sample a metric was computed on.
    """
    if size >= n:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=size, replace=False))


# --------------------------------------------------------------------------------------------- PCA


@dataclass(frozen=True, eq=False)  # array fields: == would be ambiguous
class PcaModel:
    """A fitted PCA: ``transform(x) = (x - mean) @ components.T``, components sorted by variance.

    Numerically the same as ``sklearn.decomposition.PCA(svd_solver="covariance_eigh")``, signs included
    (the largest-magnitude loading of each component is positive, as sklearn's ``svd_flip``).
    """

    mean: np.ndarray  # (d,) float64
    components: np.ndarray  # (width, d) float64, orthonormal rows
    explained_variance: np.ndarray  # (width,) float64, sample variance (ddof=1) along each component
    explained_variance_ratio: np.ndarray  # (width,) share of the total variance, per component
    n_samples: int
    requested_width: int
    # Set when the requested width was more than min(n_samples, n_features) and got clamped; else None.
    clamp_note: str | None = None
    _mean32: np.ndarray = field(init=False, repr=False, compare=False)
    _components32_t: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # float32 copies once: projecting millions of rows in float32 is 2x faster and precise enough.
        object.__setattr__(self, "_mean32", self.mean.astype(np.float32))
        object.__setattr__(self, "_components32_t", np.ascontiguousarray(self.components.T, dtype=np.float32))

    @property
    def width(self) -> int:
        return int(self.components.shape[0])

    @property
    def n_features(self) -> int:
        return int(self.mean.shape[0])

    @property
    def clamped(self) -> bool:
        return self.clamp_note is not None

    def transform(self, x: np.ndarray, batch_rows: int = BATCH_ROWS) -> np.ndarray:
        """Project ``x`` (n, d) to (n, width) float32, in row batches so the centred copy stays small."""
        x = np.asarray(x)
        if x.ndim != 2 or x.shape[1] != self.n_features:
            raise ValueError(f"expected (n, {self.n_features}) vectors, got {x.shape}")
        out = np.empty((len(x), self.width), dtype=np.float32)
        for start in range(0, len(x), batch_rows):
            chunk = np.asarray(x[start : start + batch_rows], dtype=np.float32)
            np.matmul(chunk - self._mean32, self._components32_t, out=out[start : start + len(chunk)])
        return out

    def truncate(self, width: int) -> PcaModel:
        """The PCA of the first ``width`` components: PCA nests, so this equals a fit at that width."""
        if not 1 <= width <= self.width:
            raise ValueError(f"width must be in 1..{self.width}, got {width}")
        return PcaModel(
            mean=self.mean,
            components=self.components[:width],
            explained_variance=self.explained_variance[:width],
            explained_variance_ratio=self.explained_variance_ratio[:width],
            n_samples=self.n_samples,
            requested_width=width,
        )


def fit_pca(batches: Iterable[np.ndarray], width: int) -> PcaModel:
    """Fit a PCA of ``width`` components from row batches, in O(d^2) memory whatever the row count.

    Per chunk we add the chunk's centred scatter matrix and merge means with Chan et al.'s pairwise
    update (M2 += M2_b + delta delta^T n_a n_b / n): the same covariance as sklearn's
    ``X.T @ X - n mean mean^T`` but without its cancellation when the mean is large against the spread
    (embeddings are far from the origin). Float32 input is widened to float64 chunk by chunk; the
    product is a BLAS ``dsyrk`` (symmetric: half the flops of ``X.T @ X``). Then one ``eigh`` of the
    d x d covariance.
    """
    from scipy.linalg.blas import dsyrk

    if width < 1:
        raise ValueError(f"width must be >= 1, got {width}")
    n = 0
    mean: np.ndarray | None = None
    scatter: np.ndarray | None = None  # upper triangle valid; Fortran order so dsyrk updates it in place
    for batch in batches:
        if isinstance(batch, tuple):
            raise TypeError("fit_pca takes matrices: pass (m for _, m in iter_current_vectors(home, encoder))")
        batch = np.asarray(batch)
        if batch.ndim != 2:
            raise ValueError(f"batches must be 2-D (rows, features), got shape {batch.shape}")
        for start in range(0, len(batch), PCA_CHUNK_ROWS):
            chunk = np.asarray(batch[start : start + PCA_CHUNK_ROWS], dtype=np.float64)
            rows = len(chunk)
            if rows == 0:
                continue
            if mean is None or scatter is None:
                mean = np.zeros(chunk.shape[1])
                scatter = np.zeros((chunk.shape[1], chunk.shape[1]), order="F")
            elif chunk.shape[1] != mean.shape[0]:
                raise ValueError(f"batch width {chunk.shape[1]} differs from the first batch's {mean.shape[0]}")
            chunk_mean = chunk.mean(axis=0)
            centred = chunk - chunk_mean
            # centred.T is Fortran-contiguous (d, rows): a @ a.T with no copy, accumulated into scatter.
            scatter = dsyrk(1.0, centred.T, beta=1.0, c=scatter, trans=0, lower=0, overwrite_c=1)
            delta = chunk_mean - mean
            total = n + rows
            scatter += np.outer(delta, delta) * (n * rows / total)
            mean += delta * (rows / total)
            n = total
    if mean is None or scatter is None or n < 2:
        raise ValueError(f"PCA needs at least 2 rows, got {n}")

    d = mean.shape[0]
    upper = np.triu(scatter)
    covariance = (upper + np.triu(upper, 1).T) / (n - 1)
    eigenvalues, eigenvectors = np.linalg.eigh(covariance)
    eigenvalues = eigenvalues[::-1].copy()
    eigenvectors = eigenvectors[:, ::-1]
    eigenvalues[eigenvalues < 0.0] = 0.0  # PSD by construction: negatives are rounding
    total_variance = float(eigenvalues.sum())

    limit = min(n, d)  # sklearn's bound on n_components
    kept = min(width, limit)
    note = None
    if kept < width:
        note = f"requested width {width} > min(n_samples={n}, n_features={d}); clamped to {kept}"
    components = np.ascontiguousarray(eigenvectors[:, :kept].T)
    # sklearn's svd_flip(u_based_decision=False): the largest |loading| of each component is positive.
    signs = np.sign(components[np.arange(kept), np.argmax(np.abs(components), axis=1)])
    signs[signs == 0] = 1.0
    components *= signs[:, None]
    variance = eigenvalues[:kept]
    ratio = variance / total_variance if total_variance > 0 else np.zeros_like(variance)
    return PcaModel(
        mean=mean,
        components=components,
        explained_variance=variance,
        explained_variance_ratio=ratio,
        n_samples=n,
        requested_width=width,
        clamp_note=note,
    )


# -------------------------------------------------------------------------------------------- UMAP


def numba_cache_dir(home: C2cHome | None = None) -> Path:
    return (home or C2cHome.from_env()).root / "cache" / "numba"


def _use_numba_cache(cache: Path) -> None:
    """Point numba's on-disk cache at ``cache``; must happen before umap/pynndescent are imported.

    numba picks a function's cache location when the function is decorated (at umap's import), so
    after that a new cache folder is ignored: we say so instead of pretending. numba's own config is
    set, not the process environment (``NUMBA_CACHE_DIR`` stays whatever the user set).
    """
    from numba.core import config

    cache.mkdir(parents=True, exist_ok=True)
    already = [m for m in ("umap", "pynndescent") if m in sys.modules]
    if already:
        if config.CACHE_DIR != str(cache):
            warnings.warn(
                f"{', '.join(already)} imported before numba's cache was set to {cache}: "
                "numba's JIT cache stays where it was",
                RuntimeWarning,
                stacklevel=3,
            )
        return
    config.CACHE_DIR = str(cache)


def umap_reduce(
    x: np.ndarray,
    width: int,
    seed: int,
    n_neighbors: int = 15,
    min_dist: float = 0.1,
    *,
    home: C2cHome | None = None,
) -> np.ndarray:
    """UMAP of ``x`` to ``width`` dimensions (float32), seeded, via umap-learn.

    numba compiles umap's kernels on first use (about 20 s on import, 20 s more on the first fit);
    the import-time part is cached under ``$C2C_HOME/cache/numba`` so a second process skips it.
    A seed makes umap single-threaded (umap-learn's rule for reproducibility).
    """
    _use_numba_cache(numba_cache_dir(home))
    import umap  # here, after NUMBA_CACHE_DIR: importing it compiles (and caches) numba code

    x = np.asarray(x, dtype=np.float32)
    if len(x) < 3:
        raise ValueError(f"UMAP needs at least 3 rows, got {len(x)}")
    reducer = umap.UMAP(
        n_components=width,
        n_neighbors=min(n_neighbors, len(x) - 1),
        min_dist=min_dist,
        random_state=seed,
    )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="n_jobs value .* overridden")
        embedding = reducer.fit_transform(x)
    return np.asarray(embedding, dtype=np.float32)


# ----------------------------------------------------------------------------------------- k-means


@dataclass(frozen=True, eq=False)  # array fields: == would be ambiguous
class KMeansResult:
    labels: np.ndarray  # (n,) int32
    distances: np.ndarray  # (n,) float32, squared L2 distance of each point to its own centroid
    centroids: np.ndarray  # (k, d) float32
    inertia: float  # sum of distances, accumulated in float64
    init_sample_size: int  # points the k-means++ seeding looked at
    used_gpu: bool


def _gpu_wanted(use_gpu: bool | Literal["auto"]) -> bool:
    import faiss

    available = faiss.get_num_gpus() > 0
    if use_gpu == "auto":
        return available
    if use_gpu and not available:
        raise ValueError("use_gpu=True but FAISS sees no GPU (faiss-cpu, or no device)")
    return bool(use_gpu)


def assign_nearest(
    x: np.ndarray, centres: np.ndarray, *, use_gpu: bool = False, batch_rows: int = BATCH_ROWS
) -> tuple[np.ndarray, np.ndarray]:
    """(squared L2 distance float32, index int64) of each row's nearest centre: exact, batched."""
    import faiss

    centres = np.ascontiguousarray(centres, dtype=np.float32)
    index: Any = faiss.IndexFlatL2(centres.shape[1])
    if use_gpu:
        index = faiss.index_cpu_to_all_gpus(index)
    index.add(centres)
    distances = np.empty(len(x), dtype=np.float32)
    nearest = np.empty(len(x), dtype=np.int64)
    for start in range(0, len(x), batch_rows):
        chunk = np.ascontiguousarray(x[start : start + batch_rows], dtype=np.float32)
        d, i = index.search(chunk, 1)
        distances[start : start + len(chunk)] = d[:, 0]
        nearest[start : start + len(chunk)] = i[:, 0]
    # FAISS computes |x|^2 + |c|^2 - 2 x.c in float32: a point on its centroid can come out at -1e-7.
    np.maximum(distances, 0.0, out=distances)
    return distances, nearest


def kmeans(
    x: np.ndarray,
    k: int,
    seed: int,
    n_iter: int = 25,
    use_gpu: bool | Literal["auto"] = "auto",
    *,
    init_sample: int = 20_000,
    max_points_per_centroid: int | None = 256,
) -> KMeansResult:
    """Lloyd's k-means (FAISS, ``n_iter`` iterations, squared L2) seeded by k-means++.

    - Seeding: ``sklearn.cluster.kmeans_plusplus`` on a seeded sample of ``init_sample`` points (++ is
      O(n k d) with k sequential passes; on 20K points it is a fraction of a second and the seeds are
      as good for k=20), handed to FAISS as ``init_centroids``.
    - Training: on a seeded 256 points per centroid (FAISS's own default): on the 200K x 64 bench it
      trained in 0.07 s against 1.2 s for every point, and its inertia over all points was within
      0.3% of scikit-learn's. ``max_points_per_centroid=None`` trains on every point.
    - Final assignment: an exact search of all points against the final centroids, in batches
      (FAISS's own last objective is measured before its last centroid update).
    - ``use_gpu="auto"`` uses FAISS's GPUs when it sees any; the CPU path is the same code.
    """
    import faiss
    from sklearn.cluster import kmeans_plusplus

    x = np.ascontiguousarray(x, dtype=np.float32)
    if x.ndim != 2:
        raise ValueError(f"x must be 2-D, got shape {x.shape}")
    n, d = x.shape
    if not 1 <= k <= n:
        raise ValueError(f"k must be in 1..{n} (the number of points), got {k}")
    gpu = _gpu_wanted(use_gpu)

    sample = sample_indices(n, max(init_sample, k), seed)
    seeds, _ = kmeans_plusplus(x[sample], n_clusters=k, random_state=seed)

    per_centroid = max_points_per_centroid or math.ceil(n / k)
    km = faiss.Kmeans(
        d,
        k,
        niter=n_iter,
        seed=seed,
        spherical=False,
        max_points_per_centroid=per_centroid,
        min_points_per_centroid=1,  # silences FAISS's "too few points" stderr warning on small inputs
        gpu=gpu,
        verbose=False,
    )
    km.train(x, init_centroids=np.ascontiguousarray(seeds, dtype=np.float32))
    centroids = np.ascontiguousarray(km.centroids, dtype=np.float32)
    distances, nearest = assign_nearest(x, centroids, use_gpu=gpu)
    return KMeansResult(
        labels=nearest.astype(np.int32),
        distances=distances,
        centroids=centroids,
        inertia=float(distances.sum(dtype=np.float64)),
        init_sample_size=len(sample),
        used_gpu=gpu,
    )


# ----------------------------------------------------------------------------------------- HDBSCAN


@dataclass(frozen=True, eq=False)  # array fields: == would be ambiguous
class HdbscanResult:
    labels: np.ndarray  # (n,) int32, -1 = noise
    sample_indices: np.ndarray  # rows HDBSCAN itself clustered; the others got their nearest sampled row's label
    n_clusters: int
    noise_fraction: float

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """``np.asarray(result)`` is the labels, for callers that only want labels."""
        labels = self.labels if dtype is None else self.labels.astype(dtype, copy=False)
        return labels.copy() if copy else labels

    def __len__(self) -> int:
        return len(self.labels)


def hdbscan(
    x: np.ndarray,
    min_cluster_size: int = 50,
    seed: int = 0,
    *,
    min_samples: int | None = None,
    sample_size: int = 10_000,
) -> HdbscanResult:
    """``sklearn.cluster.HDBSCAN`` on a seeded sample of at most ``sample_size`` rows, extended to all rows.

    HDBSCAN's cost grows about quadratically with n in 32-128 dims, so large inputs are sampled. Each
    row outside the sample takes the label of its nearest sampled row, noise included: a row next to
    noise is noise. That is a 1-nearest-neighbour extension, not HDBSCAN's own ``approximate_predict``
    (which sklearn does not have): cluster borders are approximate, and ``min_cluster_size`` applies
    to the sample (scale it with the sampling rate).
    """
    from sklearn.cluster import HDBSCAN

    x = np.ascontiguousarray(x, dtype=np.float32)
    n = len(x)
    sample = sample_indices(n, sample_size, seed)
    model = HDBSCAN(min_cluster_size=min_cluster_size, min_samples=min_samples, copy=True)
    sample_labels = model.fit_predict(x[sample]).astype(np.int32)
    if len(sample) == n:
        labels = sample_labels
    else:
        labels = np.empty(n, dtype=np.int32)
        labels[sample] = sample_labels
        rest = np.setdiff1d(np.arange(n), sample, assume_unique=True)
        _, nearest = assign_nearest(x[rest], x[sample])
        labels[rest] = sample_labels[nearest]
    n_clusters = len(np.unique(labels[labels >= 0]))
    return HdbscanResult(
        labels=labels,
        sample_indices=sample,
        n_clusters=n_clusters,
        noise_fraction=float(np.mean(labels == -1)) if n else 0.0,
    )


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
