"""The shared FAISS neighbour helper against brute force in numpy."""

import numpy as np
import pytest

from c2c_assets.neighbours import knn, neighbour_index, pairs_above


def unit_rows(n: int, dim: int, seed: int = 0) -> np.ndarray:
    rows = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def brute_force(database: np.ndarray, queries: np.ndarray, k: int, own: np.ndarray) -> np.ndarray:
    sims = queries @ database.T
    for q, row in enumerate(own):
        if row >= 0:
            sims[q, row] = -np.inf
    return np.argsort(-sims, axis=1, kind="stable")[:, :k]


def test_each_row_gets_its_k_nearest_others_exactly():
    vectors = unit_rows(500, 16)
    found = knn(vectors, 5)
    expected = brute_force(vectors, vectors, 5, np.arange(500))
    assert (found.rows == expected).all()
    assert not (found.rows == np.arange(500)[:, None]).any()
    assert np.allclose(found.similarity, np.take_along_axis(vectors @ vectors.T, expected, axis=1), atol=1e-5)
    assert (np.diff(found.similarity, axis=1) <= 1e-6).all()


def test_queries_against_another_database_leave_out_the_named_row():
    database, queries = unit_rows(300, 8, seed=1), unit_rows(40, 8, seed=2)
    own = np.full(40, -1)
    nearest = brute_force(database, queries, 1, own)[:, 0]
    own[:20] = nearest[:20]  # as if the first 20 queries were those database rows
    found = knn(database, 3, queries=queries, self_rows=own)
    assert (found.rows == brute_force(database, queries, 3, own)).all()
    assert (found.rows[:20] != nearest[:20, None]).all()


def test_fewer_candidates_than_k_are_padded():
    vectors = unit_rows(3, 4)
    found = knn(vectors, 5)
    assert (found.rows[:, :2] >= 0).all() and (found.rows[:, 2:] == -1).all()
    assert np.isnan(found.similarity[:, 2:]).all() and not np.isnan(found.similarity[:, :2]).any()
    empty = knn(np.zeros((0, 4), np.float32), 2, queries=vectors)
    assert (empty.rows == -1).all()


def test_the_approximate_index_finds_nearly_all_true_neighbours():
    centres = unit_rows(20, 32, seed=3)
    points = centres[np.random.default_rng(4).integers(0, 20, 4000)] + 0.15 * unit_rows(4000, 32, seed=5)
    points /= np.linalg.norm(points, axis=1, keepdims=True)
    index = neighbour_index(points, exact_rows=1000)
    assert index.__class__.__name__ == "IndexIVFFlat"
    found = knn(points, 10, index=index)
    truth = brute_force(points, points, 10, np.arange(4000))
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found.rows, truth, strict=True)])
    assert recall >= 0.9


def test_pairs_above_a_threshold_match_brute_force_once_each():
    base = unit_rows(200, 16, seed=6)
    copies = base[:30] + 0.01 * unit_rows(30, 16, seed=7)
    vectors = np.vstack([base, copies / np.linalg.norm(copies, axis=1, keepdims=True)])
    first, second, sim = pairs_above(vectors, 0.95)
    sims = vectors @ vectors.T
    expected = {(i, j) for i in range(len(vectors)) for j in range(i + 1, len(vectors)) if sims[i, j] >= 0.95}
    assert set(zip(first.tolist(), second.tolist(), strict=True)) == expected
    assert len(expected) >= 30 and (first < second).all()
    assert np.allclose(sim, sims[first, second], atol=1e-5)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError, match="width"):
        knn(unit_rows(10, 4), 2, queries=unit_rows(3, 5))
    with pytest.raises(ValueError, match="k must be"):
        knn(unit_rows(10, 4), 0)
