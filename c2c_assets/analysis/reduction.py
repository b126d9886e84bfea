"""Dimensionality reduction of post embeddings: a streaming PCA and UMAP.

- ``fit_pca`` streams batches (e.g. ``m for _, m in iter_current_vectors(home, enc)``): it keeps the
  mean and the d x d scatter matrix in float64, never the whole n x d matrix;
- ``umap_reduce`` wraps umap-learn with numba's on-disk cache under the given home's ``cache/numba``.

Heavy imports (umap, numba) happen inside the functions: importing this module is free.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from c2c_assets.home import C2cHome

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
