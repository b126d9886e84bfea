"""A day writes the rows it changed as a delta beside the untouched base (``quality.layers``), and the table
read back (Arrow or the DuckDB views) is the base with the deltas applied; compaction folds them back in.

The layer rules on small Parquet files; then real Dagster runs on an ingested, embedded sample: after a third
day the bases of the layered tables are byte for byte the files of the run before and each has a delta, the
views and readers give what a full rebuild gives, and a compaction leaves one file equal to the rebuild."""

from __future__ import annotations

import shutil

import duckdb
import pyarrow as pa
import pytest

from c2c_assets.quality import layers, state
from c2c_assets.quality.lake_io import read, table_file
from c2c_assets_tests.quality.group_runs import DAYS, add_days, run_group, sample_lake

SCHEMA = pa.schema([("post_id", pa.string()), ("flag", pa.string()), ("score", pa.float64())])


def _rows(table: pa.Table) -> list[dict]:
    return table.sort_by([("post_id", "ascending"), ("flag", "ascending")]).to_pylist()


def _view(base, key: str) -> list[dict]:  # noqa: ANN001
    return _rows(duckdb.sql(layers.sql(base, key)).to_arrow_table().select(SCHEMA.names))


def test_deltas_replace_and_remove_keys_over_an_untouched_base(tmp_path):
    base = tmp_path / "flags" / "scope=all" / "part-0.parquet"
    layers.write_base(base, pa.table({"post_id": ["a", "a", "b", "c"], "flag": ["x", "y", "x", "x"], "score": [1.0, 2.0, 3.0, 4.0]}, schema=SCHEMA))
    before = base.read_bytes()
    # Day 2: post a keeps one flag of two, c loses every flag, d is new.
    layers.write_delta(base, 2, pa.table({"post_id": ["a", "d"], "flag": ["y", "x"], "score": [2.5, 5.0]}, schema=SCHEMA), "post_id",
                       pa.array(["a", "c", "d"]))
    # Day 3: b's flag changes; a's day-2 rows stay.
    layers.write_delta(base, 3, pa.table({"post_id": ["b"], "flag": ["z"], "score": [6.0]}, schema=SCHEMA), "post_id", pa.array(["b"]))
    expected = [{"post_id": "a", "flag": "y", "score": 2.5}, {"post_id": "b", "flag": "z", "score": 6.0}, {"post_id": "d", "flag": "x", "score": 5.0}]
    assert base.read_bytes() == before
    assert len(layers.delta_files(base)) == 2
    assert _rows(layers.read(base, "post_id")) == expected
    assert _rows(layers.read(base, "post_id", ["post_id", "score"]).append_column("flag", pa.array(["?"] * 3)).select(SCHEMA.names)) != []
    assert _view(base, "post_id") == expected
    # A new base (a compaction or a full run) is one rename: the old deltas stop applying and are deleted.
    layers.write_base(base, layers.read(base, "post_id"))
    assert layers.delta_files(base) == [] and not list((base.parent / layers.DELTA_DIR).glob("*.parquet"))
    assert _rows(layers.read(base, "post_id")) == expected == _view(base, "post_id")


def test_a_delta_of_another_generation_is_ignored(tmp_path):
    """A delta left by a crash between a new base's rename and the old deltas' deletion does not apply."""
    base = tmp_path / "t" / "scope=all" / "part-0.parquet"
    layers.write_base(base, pa.table({"post_id": ["a"], "flag": ["x"], "score": [1.0]}, schema=SCHEMA))
    stale = layers.write_delta(base, 2, pa.table({"post_id": ["a"], "flag": ["x"], "score": [9.0]}, schema=SCHEMA), "post_id")
    kept = stale.read_bytes()
    layers.write_base(base, pa.table({"post_id": ["a"], "flag": ["x"], "score": [2.0]}, schema=SCHEMA))
    stale.write_bytes(kept)  # as if the deletion had not happened
    assert layers.delta_files(base) == []
    assert layers.read(base, "post_id").column("score").to_pylist() == [2.0]
    assert duckdb.sql(layers.sql(base, "post_id")).fetchall() == [("a", "x", 2.0)]


def test_publish_compacts_past_the_share(tmp_path, monkeypatch):
    base = tmp_path / "t" / "scope=all" / "part-0.parquet"
    whole = pa.table({"post_id": [f"p{i:02d}" for i in range(20)], "flag": ["x"] * 20, "score": [float(i) for i in range(20)]}, schema=SCHEMA)
    assert layers.publish(base, whole, 1, "post_id", None)["written"] == "base"
    one = whole.slice(0, 1)
    assert layers.publish(base, whole, 2, "post_id", one)["written"] == "delta"  # 1 row of 20: under 10%
    assert layers.publish(base, whole, 3, "post_id", whole.slice(0, 2))["written"] == "base (compacted)"  # 3 of 20: over
    assert layers.delta_files(base) == []
    assert _rows(layers.read(base, "post_id")) == _rows(whole)


# ------------------------------------------------------------------------------------------- real runs
LAYERED = {"photo_hashes": None, "photo_groups": None, "post_flags": None, "post_neighbours": "default"}
COMPARED = {
    "photo_hashes": (["sha256"], ["sha256", "status", "phash", "dhash", "width", "height"]),
    "photo_groups": (["sha256"], ["group_id", "sha256", "group_photos", "group_posts", "group_items", "stock", "first_seen"]),
    "post_flags": (["post_id", "flag"], ["post_id", "flag", "score", "detail"]),
}


def _run(home, instance):  # noqa: ANN001, ANN202
    return run_group(home, instance, scores=True)


def _tables(home):  # noqa: ANN001, ANN202
    from c2c_assets.warehouse import connect

    out = {}
    for name, (key, columns) in COMPARED.items():
        out[name] = read(home, name).select(columns).sort_by([(k, "ascending") for k in key]).to_pylist()
    with connect(home, read_only=True) as db:
        for view, name in (("photo_hashes", "photo_hashes"), ("photo_group_members", "photo_groups"), ("post_flags", "post_flags")):
            key, columns = COMPARED[name]
            out[f"view {view}"] = db.sql(f"SELECT {', '.join(columns)} FROM {view}").to_arrow_table().sort_by([(k, "ascending") for k in key]).to_pylist()
    nb = read(home, "post_neighbours", "default").drop_columns(["version"])
    out["post_neighbours"] = nb.to_pylist()
    out["repost_groups"] = read(home, "repost_groups", "default").drop_columns(["encoder"]).sort_by("post_id").to_pylist()
    return out


@pytest.fixture(scope="module")
def days(tmp_path_factory):
    import dagster as dg

    inbox, home = sample_lake(tmp_path_factory.mktemp("quality-layers"))
    with dg.instance_for_test() as instance, pytest.MonkeyPatch.context() as patch:
        patch.setattr(layers, "COMPACT_SHARE", 100.0)  # a small sample's day is more than 10% of it: keep the deltas
        add_days(home, inbox, instance, DAYS[:2])
        _run(home, instance)
        bases = {name: table_file(home, name, enc).read_bytes() for name, enc in LAYERED.items()}
        add_days(home, inbox, instance, DAYS[2:])
        nightly = _run(home, instance)
        after = {name: (table_file(home, name, enc).read_bytes(), layers.delta_files(table_file(home, name, enc))) for name, enc in LAYERED.items()}
        updated = _tables(home)
        patch.setattr(layers, "COMPACT_SHARE", 0.0)  # the next run folds the deltas back into the bases
        compacted_meta = _run(home, instance)
        compacted = _tables(home)
        left = {name: layers.delta_files(table_file(home, name, enc)) for name, enc in LAYERED.items()}
        shutil.rmtree(state.state_dir(home, "x").parent)
        _run(home, instance)
        rebuilt = _tables(home)
    return {"bases": bases, "after": after, "nightly": nightly, "updated": updated, "compacted_meta": compacted_meta,
            "compacted": compacted, "left": left, "rebuilt": rebuilt}


@pytest.mark.parametrize("name", sorted(LAYERED))
def test_a_day_leaves_the_base_untouched_and_adds_a_delta(days, name):
    base_bytes, deltas = days["after"][name]
    assert days["nightly"][name]["written"] == "delta", days["nightly"][name]
    assert base_bytes == days["bases"][name]
    assert len(deltas) == 1


def test_the_layered_tables_and_views_equal_a_full_rebuild(days):
    # (The k-NN table's rows are in the order the posts arrived, a rebuild's in post id order: not compared.)
    for name, rows in days["rebuilt"].items():
        if name != "post_neighbours":
            assert len(rows) > 0, name
            assert days["updated"][name] == rows, name


def test_compaction_folds_the_deltas_into_the_base(days):
    # photo_hashes writes only when there are new photos (the compacting run had none): its delta stays.
    for name in ("photo_groups", "post_flags", "post_neighbours"):
        assert days["compacted_meta"][name]["written"] == "base (compacted)", (name, days["compacted_meta"][name])
        assert days["left"][name] == [], name
    assert days["compacted"] == days["updated"]
