"""The explorer's parts: coordinates, neighbours, the data embedding-atlas reads, and a hostile export in
Chromium. The end-to-end run (analysed sample -> asset -> `c2c explore` -> browser) is in
c2c_assets_tests/analysis/test_analysis_assets.py, where the analysed sample already exists."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from c2c_assets.analysis import reduction
from c2c_assets.explorer import coordinates
from c2c_assets.explorer.app import MARKER, app_table, write_app
from c2c_assets.explorer.data import EXPLORER_SCHEMA, NEIGHBOURS, cluster_label, price_bands
from c2c_assets.home import C2cHome
from c2c_assets_tests.browser import browser, open_page  # noqa: F401  (pytest fixtures)
from c2c_assets_tests.explorer.browsing import assert_clean, loaded_thumbnails, open_explorer, points
from c2c_assets_tests.reporting.samples import HOSTILE, HOSTILE_2, draw_thumb


def blobs(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 2, n)
    centres = np.zeros((2, 8), np.float32)
    centres[1, :2] = 20.0
    return (centres[labels] + rng.normal(size=(n, 8))).astype(np.float32), labels


def fake_fit(monkeypatch) -> dict:
    """UMAP's own output is its business (and costs its JIT): the fit is the first 2 dims."""
    fitted: dict = {"calls": 0}

    def fit(x, seed, *, home=None):
        fitted["calls"] += 1
        fitted["rows"] = len(x)
        return np.ascontiguousarray(x[:, :2])

    monkeypatch.setattr(coordinates, "fit_umap", fit)
    return fitted


def test_layout_fits_the_sample_and_places_the_rest_beside_their_neighbours(monkeypatch) -> None:
    fitted = fake_fit(monkeypatch)
    x, labels = blobs(600)
    placed = coordinates.layout(x, sample_size=100, seed=0)
    assert fitted["rows"] == 100 and len(placed.sample_rows) == 100 and placed.refitted
    assert placed.xy.shape == (600, 2) and np.isfinite(placed.xy).all()
    np.testing.assert_array_equal(placed.xy[placed.sample_rows], x[placed.sample_rows, :2])
    # Every interpolated post lands in its own blob (blobs 20 apart, spread 1).
    rest = np.setdiff1d(np.arange(600), placed.sample_rows)
    centres = np.array([[0, 0], [20, 20]])
    assert (np.linalg.norm(placed.xy[rest] - centres[labels[rest]], axis=1) < 4).all()
    assert coordinates.layout(x[:2], 10, 0).xy.shape == (2, 2)  # too few for UMAP: still placed


@pytest.mark.slow  # numba compiles umap's kernels on first use
def test_umap_is_fitted_on_faiss_neighbours(tmp_path) -> None:
    x, labels = blobs(300)
    xy = coordinates.fit_umap(x, 0, home=C2cHome(tmp_path / "home").ensure())
    assert xy.shape == (300, 2) and np.isfinite(xy).all()
    # The two blobs stay apart on the map: each point's 5 nearest on the map share its blob.
    near = np.argsort(((xy[:, None] - xy[None]) ** 2).sum(-1), axis=1)[:, 1:6]
    assert (labels[near] == labels[:, None]).mean() > 0.99


def test_a_nightly_run_keeps_old_coordinates_and_places_new_posts_by_their_neighbours(tmp_path, monkeypatch) -> None:
    from c2c_assets.explorer.layout_store import read_previous, write_layout

    fitted = fake_fit(monkeypatch)
    home = C2cHome(tmp_path / "home").ensure()
    x, labels = blobs(700, seed=1)
    ids = np.asarray([f"p{i}" for i in range(700)], dtype=object)
    old, new = slice(0, 600), slice(600, 700)
    first = coordinates.layout(x[old], 100, 0, ids=ids[old], previous=read_previous(home, "enc"))
    write_layout(home, "enc", ids[old], x[old], first)  # real Parquet in the lake, as the asset writes it
    assert fitted["calls"] == 1 and first.refitted
    # A new day: 100 new posts, one old post edited (its vector moved to the other blob), one gone.
    today_ids = np.concatenate([ids[1:600], ids[new]])
    today = np.concatenate([x[1:600], x[new]])
    today[4] = x[5] + np.array([20, 20] + [0] * 6, np.float32) * (1 if labels[5] == 0 else -1)
    second = coordinates.layout(today, 100, 0, ids=today_ids, previous=read_previous(home, "enc"))
    assert fitted["calls"] == 1 and not second.refitted and second.kept == 598
    kept = np.ones(len(today_ids), bool)
    kept[4] = False
    kept[599:] = False
    np.testing.assert_array_equal(second.xy[kept], first.xy[1:600][kept[:599]])
    # The new posts sit among their own blob's posts (the edited one in its new blob).
    centres = np.array([[0, 0], [20, 20]])
    assert (np.linalg.norm(second.xy[599:] - centres[labels[new]], axis=1) < 4).all()
    assert np.linalg.norm(second.xy[4] - centres[1 - labels[5]]) < 4
    # A refitted reducer (every vector moved) or other settings: a full refit.
    coordinates.layout(today * 1.5, 100, 0, ids=today_ids, previous=read_previous(home, "enc"))
    coordinates.layout(today, 120, 0, ids=today_ids, previous=read_previous(home, "enc"))
    assert fitted["calls"] == 3


def test_neighbours_are_the_nearest_other_rows() -> None:
    x, _ = blobs(300)
    ids, distances = coordinates.nearest_neighbours(x, 5, seed=0)
    assert ids.shape == (300, 5) and ids.dtype == np.int32
    assert not (ids == np.arange(300)[:, None]).any()
    exact = np.argsort(((x[:, None] - x[None]) ** 2).sum(-1), axis=1)[:, 1:6]
    assert (ids == exact).mean() > 0.99
    assert (np.diff(distances, axis=1) >= -1e-5).all()
    few, few_d = coordinates.nearest_neighbours(x[:3], 5, seed=0)
    assert (few[:, 2:] == -1).all() and np.isnan(few_d[:, 2:]).all()


def test_price_bands_and_labels() -> None:
    assert price_bands([0, 12, 199.99, 200, 1999, 2000, None, float("nan")]) == [
        "free", "$1-49", "$50-199", "$200-499", "$500-1,999", "$2,000+", "no price", "no price"]  # fmt: skip
    assert cluster_label(3, ["brake", "pads", "rotor", "caliper"]) == "brake · pads · rotor"
    assert cluster_label(4, []) == "cluster 4" and cluster_label(-1, ["x"]) == "noise"


def hostile_table(home: C2cHome, n: int = 12) -> pa.Table:
    """``n`` posts with hostile titles and links, half with a real stored thumbnail."""
    shas = []
    for i in range(n):
        sha = hashlib.sha256(f"thumb{i}".encode()).hexdigest()
        folder = home.images / sha[:2]
        folder.mkdir(parents=True, exist_ok=True)
        draw_thumb(folder / f"{sha}.thumb.jpg", (40 + 15 * i, 120, 200), i)
        shas.append(sha)
    titles = [HOSTILE, HOSTILE_2, "[x](javascript:alert(4)) **bold** {{ 7*7 }}"] + [f"needle post {i}" for i in range(3, n)]
    urls = ["javascript:alert(5)", "data:text/html,<script>alert(6)</script>", "  JaVaScRiPt:alert(7)"] + [
        f"https://example.org/p/{i}" for i in range(3, n)
    ]
    thumbs = [f"images/{s[:2]}/{s}.thumb.jpg" if i % 2 == 0 else None for i, s in enumerate(shas)]
    thumbs[1] = "../../etc/passwd"
    rng = np.random.default_rng(0)
    offsets = pa.array(np.arange(0, n * NEIGHBOURS + 1, NEIGHBOURS, dtype=np.int32))
    neighbours = rng.integers(0, n, n * NEIGHBOURS).astype(np.int32)
    neighbours[::5] = -1
    return pa.table(
        {
            "post_id": [f"{'offerup' if i % 3 == 0 else 'craigslist'}:{i}" for i in range(n)],
            "x": rng.normal(size=n).astype(np.float32), "y": rng.normal(size=n).astype(np.float32),
            "cluster": (np.arange(n) % 3).astype(np.int32), "label": [HOSTILE if i % 3 == 0 else "brake · pads" for i in range(n)],
            "category": ["<b>brakes</b>"] * n, "category_source": ["known"] * n, "title": titles,
            "price_usd": np.linspace(0, 900, n).astype(np.float32), "price_band": price_bands(np.linspace(0, 900, n).tolist()),
            "source": ["offerup" if i % 3 == 0 else "craigslist" for i in range(n)],
            "date": pa.array(np.full(n, np.datetime64("2024-03-01", "D")), pa.date32()), "url": urls, "thumbnail": thumbs,
            "neighbours": pa.ListArray.from_arrays(offsets, pa.array(neighbours)),
            "neighbour_distances": pa.ListArray.from_arrays(offsets, pa.array(rng.random(n * NEIGHBOURS).astype(np.float32))),
        },
        schema=EXPLORER_SCHEMA,
    )  # fmt: skip


def test_the_bundled_front_end_falls_back_to_webgl() -> None:
    """The map must draw without WebGPU's shader-f16 (headless Chromium, many laptops): a release of
    embedding-atlas without the WebGL 2 fallback (0.24 and later) fails here, not in a user's browser."""
    from c2c_assets.explorer.app import static_dir

    main = next((static_dir() / "assets").glob("index-*.js")).read_text(encoding="utf-8")
    assert "Falling back to WebGL" in main and 'getContext(`webgl2`' in main


def test_app_data_keeps_only_safe_links_and_our_thumbnails(tmp_path: Path) -> None:
    home = C2cHome(tmp_path / "home").ensure()
    table = hostile_table(home)
    out = app_table(table)
    assert out.column("url").to_pylist()[:3] == [None, None, None]
    thumbs = out.column("thumbnail").to_pylist()
    assert thumbs[1] is None and thumbs[0].startswith("thumbs/") and thumbs[0].endswith(".thumb.jpg")
    neighbours = out.column("neighbors").to_pylist()
    assert all(-1 not in row["ids"] and len(row["ids"]) == len(row["distances"]) for row in neighbours)
    index = write_app(home, table, {0: "brake · pads"}, tmp_path / "app", title=HOSTILE)
    assert (tmp_path / "app" / MARKER).exists() and pq.read_table(tmp_path / "app" / "data" / "dataset.parquet").num_rows == 12
    meta = json.loads((tmp_path / "app" / "data" / "metadata.json").read_text())
    assert meta["props"]["data"]["projection"] == {"x": "x", "y": "y"} and meta["props"]["embeddingViewLabels"]
    page = index.read_text(encoding="utf-8")
    assert HOSTILE not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page  # the title, escaped
    assert "http" not in page.split("Content-Security-Policy", 1)[1].split(">", 1)[0]  # no network in the policy
    # Replacing an export works; a folder that is not one is refused.
    write_app(home, table, {}, tmp_path / "app", title="again")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError):
        write_app(home, table, {}, tmp_path / "mine", title="x")
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_hostile_export_in_chromium_from_disk(tmp_path: Path, open_page) -> None:
    home = C2cHome(tmp_path / "home").ensure()
    index = write_app(home, hostile_table(home), {0: HOSTILE, 1: "brake · pads"}, tmp_path / "app", title=HOSTILE_2)
    page, log = open_explorer(open_page, index, 12)
    # Hostile titles are text in the table, never markup: no dialog, no injected element, no live link.
    page.get_by_text(HOSTILE, exact=True).first.wait_for()
    assert page.locator("img[src='x']").count() == 0
    # Scripts: boot.js, its payload files, the import map and the front end's module, nothing injected.
    assert page.locator("script:not(#c2c-boot):not([src^='payload/']):not([type='importmap']):not([type='module'])").count() == 0
    assert page.locator("script[type='module']").count() == 1
    assert page.locator("a[href^='javascript' i], a[href^='data:' i]").count() == 0
    from playwright.sync_api import expect

    expect(page.locator("a.underline[href^='https://example.org/']")).to_have_count(9, timeout=30_000)  # rows render late
    assert loaded_thumbnails(page, 6) == 6  # our 6 stored thumbnails; the path outside the store is dropped
    page.get_by_text("offerup", exact=True).last.click()
    page.get_by_text("4 / 12 points").wait_for()
    assert points(page) == (4, 12)
    assert_clean(log)


def test_a_nightly_searches_neighbours_only_where_they_changed():
    """New and changed posts, and posts next to one that changed or left, get their neighbours searched again;
    every other post keeps its list, re-pointed at today's rows."""
    rng = np.random.default_rng(3)
    centres = rng.normal(size=(6, 8))
    x = (centres[rng.integers(0, 6, 600)] + 0.2 * rng.normal(size=(600, 8))).astype(np.float32)
    ids = np.asarray([f"p:{i:04d}" for i in range(600)], dtype=object)
    old_ids, old_d = coordinates.nearest_neighbours(x, NEIGHBOURS, 0)
    previous = coordinates.Previous(
        coordinates.Anchors(ids[:10], x[:10], np.zeros((10, 2), np.float32)), ids, coordinates.vector_hashes(x),
        np.zeros((600, 2), np.float32),
    )
    # The next day: posts 0-4 changed, 5-7 left, ten new ones; rows are sorted by post id as the lake's are.
    today = x.copy()
    today[:5] += 0.5
    new = (centres[rng.integers(0, 6, 10)] + 0.2 * rng.normal(size=(10, 8))).astype(np.float32)
    today_ids = np.concatenate([ids[:5], ids[8:], np.asarray([f"q:{i}" for i in range(10)], dtype=object)])
    today_x = np.concatenate([today[:5], today[8:], new])
    unchanged = coordinates.unchanged_rows(today_ids, today_x, previous)
    found, distances, searched = coordinates.update_neighbours(today_x, NEIGHBOURS, 0, unchanged, old_ids.astype(np.int64), old_d)

    fresh, fresh_d = coordinates.nearest_neighbours(today_x, NEIGHBOURS, 0)
    row_of = {pid: i for i, pid in enumerate(today_ids)}
    touched = {i for i in range(8)}  # changed or gone
    stale_old = {i for i in range(600) if i < 5 or any(j in touched for j in old_ids[i])}
    expected_searched = {row_of[ids[i]] for i in stale_old if ids[i] in row_of} | set(range(len(today_ids) - 10, len(today_ids)))
    assert searched == len(expected_searched) < len(today_ids) // 2
    for row in expected_searched:  # searched again: what a full search finds
        assert list(found[row]) == list(fresh[row]) and np.allclose(distances[row], fresh_d[row])
    for old_row in set(range(8, 600)) - stale_old:  # kept: the same posts as yesterday, at today's rows
        row = row_of[ids[old_row]]
        assert [today_ids[j] for j in found[row]] == [ids[j] for j in old_ids[old_row]]
        assert np.allclose(distances[row], old_d[old_row])
