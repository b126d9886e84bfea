"""Real FAISS indexes over real embeddings of the example inbox; search, filters, staleness, errors."""

import json
from datetime import date
from types import SimpleNamespace

import numpy as np
import pytest
from typer.testing import CliRunner

from c2c_assets.cli import app
from c2c_assets.home import C2cHome
from c2c_assets.search import index as idx
from c2c_assets.search.service import Filters, SearchError, search
from c2c_assets_tests.fixtures import DAY, EXAMPLE_INBOX, build_index, copy_inbox, embed, ingest, synthetic_lake


@pytest.fixture(scope="module")
def searchable(tmp_path_factory):
    """One home with the examples ingested, embedded (clip-tiny) and indexed, shared by the read-only tests."""
    import dagster as dg

    folder = tmp_path_factory.mktemp("searchable")
    home = C2cHome(folder / "home").ensure()
    inbox = copy_inbox(folder / "inbox")
    with dg.instance_for_test() as instance:
        ingest(home, inbox, instance)
        embed(home, instance, "clip-tiny")
        yield SimpleNamespace(home=home, inbox=inbox, instance=instance, index=build_index(home, instance, "clip-tiny"))


@pytest.fixture
def indexed(home, tmp_path, instance):
    """A home of its own, for a test that changes what was indexed."""
    inbox = copy_inbox(tmp_path / "inbox")
    ingest(home, inbox, instance)
    embed(home, instance, "clip-tiny")
    build_index(home, instance, "clip-tiny")
    return inbox


def test_index_metadata_and_sides(searchable):
    home, meta = searchable.home, searchable.index
    assert meta["index_type"] == "flat" and meta["recall_at_10"] == 1.0 and meta["dagster/row_count"] == 10
    for side in ("post", "text", "image"):
        assert (idx.current_build(home, "clip-tiny", side) / "index.faiss").exists()


def test_like_returns_neighbours_in_score_order_without_itself(searchable):
    home = searchable.home
    hits = search(home, "clip-tiny", k=5, like="offerup:a1b2c3d4e5f6")
    assert len(hits) == 5 and "offerup:a1b2c3d4e5f6" not in {h.post_id for h in hits}
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_filters_hold(searchable):
    home = searchable.home
    assert {h.source for h in search(home, "clip-tiny", k=10, filters=Filters(source="offerup"), text="rims")} == {"offerup"}
    cheap = search(home, "clip-tiny", k=10, filters=Filters(max_price=100), text="rims")
    assert cheap and all(h.price_usd is not None and h.price_usd <= 100 for h in cheap)
    assert all(h.price_usd >= 200 for h in search(home, "clip-tiny", k=10, filters=Filters(min_price=200), text="rims"))
    assert search(home, "clip-tiny", k=10, filters=Filters(since=date(2030, 1, 1)), text="rims") == []
    injected = search(home, "clip-tiny", k=10, filters=Filters(source="offerup' OR '1'='1"), text="rims")
    assert injected == []  # bound parameters: the quote is data, not SQL


def test_stale_posts_never_come_back(home, indexed, instance):
    posts = indexed / "offerup" / DAY / "posts.jsonl"
    lines = posts.read_text().splitlines()
    changed = json.loads(lines[0])
    changed["title"] = "now a different post"
    posts.write_text("\n".join([json.dumps(changed), *lines[2:]]) + "\n")  # one changed, one vanished
    ingest(home, indexed, instance)  # the index is NOT rebuilt
    ids = {h.post_id for h in search(home, "clip-tiny", k=10, text="anything")}
    assert "offerup:a1b2c3d4e5f6" not in ids and "offerup:a1b2c3d4e5f7" not in ids
    assert len(ids) == 8


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"text": "   "}, "empty"),
        ({"image": "/nonexistent.jpg"}, "cannot read image"),
        ({"like": "craigslist:0"}, "unknown post"),
        ({}, "exactly one query"),
        ({"audio": "x.wav"}, "cannot answer audio"),
    ],
)
def test_bad_queries_get_clear_errors(searchable, query, message):
    home = searchable.home
    with pytest.raises(SearchError, match=message):
        search(home, "clip-tiny", **query)


def test_unknown_encoder_and_unreadable_image(searchable, tmp_path):
    home = searchable.home
    with pytest.raises(SearchError, match="unknown encoder 'nope'"):
        search(home, "nope", text="x")
    junk = tmp_path / "junk.jpg"
    junk.write_bytes(b"not an image")
    with pytest.raises(SearchError, match="cannot read image"):
        search(home, "clip-tiny", image=junk)


def test_cli_json_and_html(searchable, tmp_path):
    home = searchable.home
    runner = CliRunner()
    result = runner.invoke(app, ["search", "--home", str(home.root), "--encoder", "clip-tiny", "-k", "3", "--json", "--source", "craigslist", "--html", str(tmp_path / "g.html"), "rims"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.output)
    assert len(rows) == 3 and set(rows[0]) == {"post_id", "score", "title", "price_usd", "source", "text_predicted",
                                           "mode", "lexical_rank", "vector_rank", "feedback_rank", "attributes"}
    assert all(r["source"] == "craigslist" for r in rows)
    assert (tmp_path / "g.html").read_text().count('class="hit"') == 3
    photo = EXAMPLE_INBOX / "offerup" / DAY / "images" / "a1b2c3d4e5f6_0.png"
    by_photo = runner.invoke(app, ["search", "--home", str(home.root), "--encoder", "clip-tiny", "--image", str(photo), "--json"])
    assert by_photo.exit_code == 0, by_photo.output
    bad = runner.invoke(app, ["search", "--home", str(home.root), "--encoder", "clip-tiny", "--like", "nope:1"])
    assert bad.exit_code == 1 and "unknown post" in bad.output


def test_tuning_reaches_the_recall_target_on_structured_data():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(50, 32))
    vectors = (centers[rng.integers(0, 50, 60_000)] + 0.3 * rng.normal(size=(60_000, 32))).astype("float32")
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    plan = idx.choose_plan(*vectors.shape)
    assert plan.kind == "hnsw"
    index = idx.build(vectors, idx.IndexPlan("hnsw", {"M": 16, "efConstruction": 40, "efSearch": 8}))
    from c2c_assets.search.build import held_out_queries

    queries = held_out_queries(vectors, 200)
    plan = idx.IndexPlan("hnsw", {"M": 16, "efConstruction": 40, "efSearch": 8})
    tuned, recall = idx.tune(index, plan, queries, idx.exact_neighbours(queries, vectors))
    assert recall >= 0.95 and tuned.params["efSearch"] > 8
    assert idx.choose_plan(60_000, 32, memory_budget_bytes=1 << 20).kind == "ivf"


def test_a_streamed_hnsw_build_matches_exact_search(home, indexed, monkeypatch):
    """The build streams the vectors (a sample pass, then batches into the index with a running exact top 10):
    with batches of 3 rows and HNSW forced on a tiny lake, its id map still lines up with the vectors and its
    ground truth is brute force's."""
    import faiss

    from c2c_assets.embeddings.store import current_side
    from c2c_assets.search import build

    monkeypatch.setattr(idx, "EXACT_BELOW", 5)
    monkeypatch.setattr(build, "BATCH_ROWS", 3)
    info, index, ids = build.build_side(home, "clip-tiny", "image", "image_vector", 8 << 30, log=lambda _: None)
    assert info.kind == "hnsw" and info.n == index.ntotal == ids.num_rows == 10
    table, vectors = current_side(home, "clip-tiny", "image_vector")
    order = {post_id: row for row, post_id in enumerate(table.column("post_id").to_pylist())}
    for row, post_id in enumerate(ids.column("post_id").to_pylist()):
        assert np.allclose(index.reconstruct(row), vectors[order[post_id]], atol=1e-6)
    index.hnsw.efSearch = 64
    _, found = index.search(vectors, 3)
    _, exact = faiss.knn(vectors, np.stack([index.reconstruct(r) for r in range(index.ntotal)]), 3, metric=faiss.METRIC_INNER_PRODUCT)
    assert idx.recall_at_k(found, exact) == 1.0 and info.recall_at_10 == 1.0


def test_a_streamed_ivf_build_finds_its_ground_truth_in_streamed_passes(home, monkeypatch):
    """IVF keeps compressed codes only: tuning's exact neighbours come from further streamed passes. DuckDB
    does not promise one row order on every pass (seen at 200K rows), so here every pass comes in another
    order: ground truth matched by position instead of post id would score near zero."""
    import faiss

    from c2c_assets.embeddings.store import current_side
    from c2c_assets.search import build

    synthetic_lake(home, 3000, 16)
    monkeypatch.setattr(idx, "choose_plan", lambda n, dim, budget: idx.IndexPlan("ivf", {"nlist": 8, "nprobe": 1, "k_factor": 4}))
    monkeypatch.setattr(build, "BATCH_ROWS", 700)
    real_stream, passes = build.iter_current_side, []

    def reordered(*args, **kwargs):
        passes.append(1)
        batches = list(real_stream(*args, **kwargs))
        rng = np.random.default_rng(len(passes))
        for i in rng.permutation(len(batches)):
            ids, matrix = batches[i]
            rows = rng.permutation(len(matrix))
            yield ids.take(rows), matrix[rows]

    monkeypatch.setattr(build, "iter_current_side", reordered)
    info, index, ids = build.build_side(home, "syn", "post", "vector", 8 << 30, log=lambda _: None)
    assert len(passes) == 4  # sample, add, partners, ground truth
    assert info.kind == "ivf" and info.n == index.ntotal == ids.num_rows == 3000
    # IVF-PQ re-ranked from 8-bit codes tops out near 0.96 on these 16-d clusters even with every list probed.
    assert info.recall_at_10 >= 0.9 and info.params["nprobe"] > 1
    table, vectors = current_side(home, "syn", "vector")
    position = {post_id: row for row, post_id in enumerate(table.column("post_id").to_pylist())}
    stream_ids = ids.column("post_id").to_pylist()
    queries = vectors[:50]
    _, exact = faiss.knn(queries, vectors, 10, metric=faiss.METRIC_INNER_PRODUCT)
    _, found = index.search(queries, 10)
    found_as_rows = np.array([[position[stream_ids[r]] for r in row] for row in found])
    assert idx.recall_at_k(found_as_rows, exact) >= 0.9


def test_an_index_below_its_recall_target_fails_its_check(home, indexed, instance, monkeypatch):
    """The tuner cannot always reach the target (its knobs are capped): the published index still serves,
    and the recall check goes red naming the side."""
    from c2c_assets.defs.search.assets import faiss_index
    from c2c_assets.defs.search.checks import recall_meets_target
    from c2c_assets.runner import materialize

    ok = materialize(home, [faiss_index, recall_meets_target], partition_key="clip-tiny", instance=instance)
    assert ok.success and ok.failed_checks == []
    monkeypatch.setattr(idx, "EXACT_BELOW", 5)
    monkeypatch.setattr(idx, "tune", lambda index, plan, queries, truth, target=0.95: (plan, 0.5))
    low = materialize(home, [faiss_index, recall_meets_target], partition_key="clip-tiny", instance=instance)
    assert low.failed_checks == ["recall_meets_target"]
    assert low.metadata["faiss_index"]["recall_at_10"] == 0.5
    assert low.failure.startswith("check recall_meets_target failed: recall@10 below 0.95")
    assert search(home, "clip-tiny", k=3, text="rims"), "the index below target still answers"
