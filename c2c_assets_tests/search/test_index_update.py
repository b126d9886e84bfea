"""The nightly index update: a small change is added to the live build (changed rows tombstoned), a large
one rebuilds; either way search answers as a fresh build would."""

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from c2c_assets.embeddings.store import current_side, embedding_schema
from c2c_assets.lake import fixed_size_list, partition_file, write_partition
from c2c_assets.search import index as idx
from c2c_assets.search.build import build_indexes
from c2c_assets.search.service import LoadedIndex
from c2c_assets_tests.fixtures import synthetic_lake
from c2c_assets_tests.fixtures import synthetic_next_day as next_day

DIM = 16


@pytest.fixture
def lake(home, monkeypatch):
    monkeypatch.setattr(idx, "EXACT_BELOW", 100)  # HNSW on a small lake
    synthetic_lake(home, 3000, DIM)
    return home


def live(home) -> LoadedIndex:
    return LoadedIndex(idx.current_build(home, "syn", "post"))


def test_a_small_change_is_added_to_the_live_build(lake):
    home = lake
    [full] = build_indexes(home, "syn", incremental=True)  # nothing live yet: a full build
    assert full.kind == "hnsw" and full.n == 3000
    changed = [f"s:0-{i}" for i in range(20)]
    fresh = next_day(home, 100, changed)

    [updated] = build_indexes(home, "syn", incremental=True)
    loaded = live(home)
    assert updated.n == loaded.index.ntotal == 3120, "100 new + 20 changed rows added, nothing rebuilt"
    post_ids = loaded.ids.column("post_id")
    assert post_ids.null_count == 20, "the 20 changed posts' old rows are tombstoned"
    assert updated.recall_at_10 >= idx.TARGET_RECALL
    for post_id in changed + ["s:new-0", "s:new-99"]:
        row = loaded.position(post_id)
        assert row is not None and np.allclose(loaded.index.reconstruct(row), fresh[post_id], atol=1e-6)
    # What the updated build finds equals what exact search over the current vectors finds.
    table, vectors = current_side(home, "syn", "vector")
    current_ids = table.column("post_id").to_pylist()
    queries = vectors[::60]
    exact = np.argsort(-(queries @ vectors.T), axis=1)[:, :10]
    found = []
    for query in queries:
        _, rows = loaded.search(query, 20)
        live_ids = [pid for pid in post_ids.take(pa.array(rows[0][rows[0] >= 0])).to_pylist() if pid is not None][:10]
        found.append(live_ids)
    hits = sum(len(set(f) & {current_ids[r] for r in e}) for f, e in zip(found, exact, strict=True))
    assert hits / exact.size >= 0.95


def test_a_large_change_rebuilds(lake):
    home = lake
    build_indexes(home, "syn")
    next_day(home, 400, [])  # 400 new of 3,400: over the 10% share
    [rebuilt] = build_indexes(home, "syn", incremental=True)
    loaded = live(home)
    assert rebuilt.n == loaded.index.ntotal == 3400 and loaded.ids.column("post_id").null_count == 0


def test_tombstones_from_earlier_updates_count_towards_the_rebuild(lake, monkeypatch):
    from c2c_assets.search import update

    home = lake
    build_indexes(home, "syn")
    monkeypatch.setattr(update, "REBUILD_SHARE", 0.03)
    next_day(home, 0, [f"s:1-{i}" for i in range(40)])
    assert live_rows_after(home) == 3040  # 40 new rows + 40 dead ones: 2.7%, added in place
    next_day(home, 0, [f"s:2-{i}" for i in range(40)], day=date(2024, 1, 11), seed=2)
    assert live_rows_after(home) == 3000  # 40 dead from before + 40 new + 40 dead: 4%, rebuilt


def live_rows_after(home) -> int:
    build_indexes(home, "syn", incremental=True)
    return live(home).index.ntotal


def test_a_build_without_fingerprints_is_rebuilt(lake):
    home = lake
    build_indexes(home, "syn")
    folder = idx.current_build(home, "syn", "post")
    ids = pq.read_table(folder / "ids.parquet")
    pq.write_table(ids.drop(["fingerprint"]), folder / "ids.parquet")  # as builds before the column existed wrote it
    next_day(home, 10, [])
    [info] = build_indexes(home, "syn", incremental=True)
    assert info.n == 3010 and "fingerprint" in pq.read_table(idx.current_build(home, "syn", "post") / "ids.parquet").column_names


def test_hnsw_gets_its_vectors_in_one_add_however_many_batches_stream_in(lake, monkeypatch):
    """FAISS's HNSW grown by many adds is a worse graph (search.build._add_all): the build streams in batches
    but adds once, in the stream's order, from the index's own storage buffer (no second copy of the vectors),
    and the update adds the day's rows once too."""
    import faiss

    from c2c_assets.search import build

    adds: list[int] = []
    from_storage: list[bool] = []
    real_new_index = idx.new_index

    class CountingAdds:
        def __init__(self, inner):
            self.inner = inner

        def add(self, x):
            adds.append(len(x))
            storage = faiss.downcast_index(self.inner.storage)
            start = faiss.rev_swig_ptr(storage.codes.data(), 1).__array_interface__["data"][0]
            from_storage.append(x.__array_interface__["data"][0] == start)
            self.inner.add(x)

        def __getattr__(self, name):
            return getattr(self.inner, name)

    monkeypatch.setattr(build, "BATCH_ROWS", 256)  # 12 batches of the 3,000 vectors
    monkeypatch.setattr(idx, "new_index", lambda plan, dim: CountingAdds(real_new_index(plan, dim)))
    info, index, ids = build.build_side(lake, "syn", "post", "vector", 8 << 30, log=lambda message: None)
    assert info.kind == "hnsw" and adds == [3000] and from_storage == [True]
    assert info.recall_at_10 >= idx.TARGET_RECALL
    table, vectors = current_side(lake, "syn", "vector")
    by_id = dict(zip(table.column("post_id").to_pylist(), range(len(vectors)), strict=True))
    rows = [by_id[pid] for pid in ids.column("post_id").to_pylist()]
    assert np.allclose(index.inner.reconstruct_n(0, 3000), vectors[rows]), "row i of the index is ids[i]'s vector"


def test_each_side_is_freed_before_the_next_is_built(lake, monkeypatch):
    """The sides are built (or updated) one after the other, and a side's index (gigabytes at scale) is gone
    from memory once published: two sides never sit in memory together."""
    import weakref

    from c2c_assets.search import build, update

    monkeypatch.setattr(build, "SIDES", {"post": "vector", "again": "vector"})  # two sides over the same vectors
    earlier: list[weakref.ref] = []
    alive_at_start: list[int] = []

    def watched(real):
        def call(*args, **kwargs):
            alive_at_start.append(sum(ref() is not None for ref in earlier))
            built = real(*args, **kwargs)
            if built is not None:
                earlier.append(weakref.ref(built[1]))
            return built
        return call

    monkeypatch.setattr(build, "build_side", watched(build.build_side))
    monkeypatch.setattr(update, "update_side", watched(update.update_side))
    for _ in range(2):  # a full build, then a nightly update
        infos = build_indexes(lake, "syn", incremental=True)
        assert [info.side for info in infos] == ["post", "again"]
        next_day(lake, 10, [])
    assert len(alive_at_start) == 6 and not any(alive_at_start), f"an earlier side's index was alive: {alive_at_start}"
