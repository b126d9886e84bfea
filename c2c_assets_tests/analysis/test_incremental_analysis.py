"""The nightly analysis: a small change is projected with the stored PCA and assigned to the stored centroids,
the rest of the analysis stands; a large change, other settings or another method refit everything."""

from datetime import date

import numpy as np
import pytest

from c2c_assets import catalog
from c2c_assets.analysis import incremental
from c2c_assets.analysis.pipeline import analyse, read_clusters, read_reduced
from c2c_assets.analysis.settings import AnalysisSettings
from c2c_assets.warehouse import query
from c2c_assets_tests.fixtures import synthetic_lake, synthetic_next_day

DIM = 16
SETTINGS = AnalysisSettings(k=20, width=8, sweep_widths=[4, 8], sweep_sample=1000, silhouette_sample=500)


@pytest.fixture
def lake(home):
    synthetic_lake(home, 3000, DIM)
    catalog.refresh_all(home)
    return home


def run(home, settings=SETTINGS):
    reduced, outcome, rows = analyse(home, "syn", settings, None)
    return reduced, outcome, rows


def test_a_small_change_updates_the_stored_fit(lake):
    home = lake
    first, first_outcome, first_rows = run(home)
    assert first.update == "full fit"
    state = incremental.load_state(home, "syn")
    assert state is not None and state.fitted_rows == 3000 and state.changed_since_fit == 0
    before_ids, before_vectors = read_reduced(home, "syn")
    before_clusters = read_clusters(home, "syn")

    changed = [f"s:0-{i}" for i in range(20)]
    fresh = synthetic_next_day(home, 100, changed)
    catalog.refresh_all(home)
    second, outcome, rows = run(home)

    assert second.update == "incremental: +120 -20"
    ids, vectors = read_reduced(home, "syn")
    assert len(ids) == 3100 and ids == sorted(ids)
    clusters = read_clusters(home, "syn")
    # Unchanged posts keep their reduced vector and their cluster, to the bit.
    old_rows = {pid: i for i, pid in enumerate(before_ids)}
    unchanged = [pid for pid in ids if pid not in fresh]
    assert len(unchanged) == 2980
    position = {pid: i for i, pid in enumerate(ids)}
    assert all(clusters[pid] == before_clusters[pid] for pid in unchanged)
    assert np.array_equal(vectors[[position[p] for p in unchanged]], before_vectors[[old_rows[p] for p in unchanged]])
    # New and changed posts: the stored PCA's projection of their new vector, and the nearest stored centroid.
    saved = incremental.load_state(home, "syn")
    assert saved.fit_id == state.fit_id and saved.changed_since_fit == 140
    for pid in ["s:new-0", "s:new-99", "s:0-3"]:
        expected = state.pca.transform(fresh[pid][None, :])[0, :8]
        assert np.allclose(vectors[position[pid]], expected, atol=1e-5)
        assert clusters[pid] == int(np.argmin(((state.centroids - expected) ** 2).sum(axis=1)))
    # Metrics are the new data's; the sweep is the fit's, carried over.
    final = rows[0]
    assert final["kind"] == "final" and final["n"] == 3100
    assert [r for r in rows if r["kind"] == "sweep"] == [r for r in first_rows if r["kind"] == "sweep"]
    assert query(home, "SELECT count(*) FROM clusters WHERE encoder = 'syn'") == [(3100,)]

    # Asked for, a full refit of the same rows starts a new fit.
    refit, _, _ = run(home, SETTINGS.model_copy(update={"incremental": False}))
    assert refit.update == "full fit" and refit.post_ids == second.post_ids
    assert incremental.load_state(home, "syn").fit_id != state.fit_id
    assert incremental.load_state(home, "syn").changed_since_fit == 0


def test_changes_add_up_to_a_refit(lake):
    home = lake
    run(home)
    synthetic_next_day(home, 200, [], day=date(2024, 1, 10), seed=1)
    catalog.refresh_all(home)
    assert run(home)[0].update == "incremental: +200 -0"
    # 200 + 150 rows changed since the fit is over 10% of the 3,000 it was fitted on.
    synthetic_next_day(home, 0, [f"s:1-{i}" for i in range(150)], day=date(2024, 1, 11), seed=2)
    catalog.refresh_all(home)
    reduced, _, _ = run(home)
    assert reduced.update == "full fit"
    assert incremental.load_state(home, "syn").fitted_rows == 3200


def test_other_settings_or_methods_refit(lake):
    home = lake
    run(home)
    synthetic_next_day(home, 10, [])
    catalog.refresh_all(home)
    assert run(home, SETTINGS.model_copy(update={"k": 19}))[0].update == "full fit", "another k: the centroids do not apply"
    assert run(home, SETTINGS.model_copy(update={"k": 19}))[0].update == "incremental: +0 -0", "nothing changed since"
    assert run(home, SETTINGS.model_copy(update={"k": 19, "algorithm": "hdbscan"}))[0].update == "full fit"
    assert incremental.load_state(home, "syn") is None, "an HDBSCAN fit leaves nothing to update"
    assert run(home, SETTINGS.model_copy(update={"k": 19}))[0].update == "full fit"


def test_a_torn_state_is_not_trusted(lake):
    home = lake
    run(home)
    arrays, meta = incremental.state_files(home, "syn")
    meta.write_text(meta.read_text().replace('"fit_id": "', '"fit_id": "0'))  # a JSON of another fit beside these arrays
    assert incremental.load_state(home, "syn") is None
    synthetic_next_day(home, 10, [])
    catalog.refresh_all(home)
    assert run(home)[0].update == "full fit"
