"""Uniqueness, representativeness and outlier scores as FiftyOne Brain defines them, from a k-NN pass.

- **uniqueness** (``fiftyone.brain.compute_uniqueness``): the distances to a post's 3 nearest neighbours
  weighted 0.6 / 0.3 / 0.1, divided by the largest such value over all posts (1 = the most unique).
- **representativeness** (``compute_representativeness``, cluster-centre method): 1 - the distance to the
  cluster centre divided by the largest distance in that cluster (1 = the most typical of its cluster).
- **outlier score**: the mean distance to the k nearest neighbours; above the ``OUTLIER_QUANTILE`` of all
  posts it is an outlier.

Distances are Euclidean between unit vectors, sqrt(2 - 2 cos).
"""

from __future__ import annotations

import numpy as np

from c2c_assets.quality import thresholds as T


def distances(similarity: np.ndarray) -> np.ndarray:
    return np.sqrt(np.clip(2.0 - 2.0 * similarity, 0.0, 4.0))


def uniqueness(similarity: np.ndarray) -> np.ndarray:
    """(n,) in [0, 1] from (n, k) neighbour similarities (NaN where fewer neighbours: they are left out)."""
    if similarity.shape[0] == 0:
        return np.zeros(0, dtype=np.float32)
    weights = np.asarray(T.UNIQUENESS_WEIGHTS, dtype=np.float64)[: similarity.shape[1]]
    near = distances(similarity[:, : len(weights)].astype(np.float64))
    present = ~np.isnan(near)
    raw = np.where(present, near, 0.0) @ weights / np.maximum((present * weights).sum(axis=1), 1e-12)
    raw[~present.any(axis=1)] = 0.0  # a post with no neighbour at all (a one-post corpus)
    top = raw.max()
    return (raw / top if top > 0 else raw).astype(np.float32)


def outlier_scores(similarity: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean k-NN distance, is above the quantile) per post."""
    if similarity.shape[0] == 0:
        return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=bool)
    dist = distances(similarity.astype(np.float64))
    present = ~np.isnan(dist)
    # Mean over the neighbours a post has (NaN: fewer than k in the corpus); none at all scores 0.
    score = np.where(present, dist, 0.0).sum(axis=1) / np.maximum(present.sum(axis=1), 1)
    limit = np.quantile(score, T.OUTLIER_QUANTILE)
    return score.astype(np.float32), score > limit


def representativeness(cluster: np.ndarray, distance: np.ndarray) -> np.ndarray:
    """(n,) 1 - distance over the largest distance in the post's cluster; NaN for HDBSCAN's noise (cluster -1)."""
    cluster = np.asarray(cluster, dtype=np.int64)
    distance = np.asarray(distance, dtype=np.float64)
    out = np.full(cluster.shape, np.nan)
    member = cluster >= 0
    if not member.any():
        return out
    labels, inverse = np.unique(cluster[member], return_inverse=True)
    largest = np.zeros(labels.size)
    np.maximum.at(largest, inverse, distance[member])
    top = largest[inverse]
    out[member] = np.where(top > 0, 1.0 - distance[member] / np.where(top > 0, top, 1.0), 1.0)
    return out
