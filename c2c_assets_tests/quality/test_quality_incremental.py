"""The quality group updates its tables when a day is added, and the update is what a full rebuild gives:
a sample ingested and embedded two days, the group run (full), a third day added and the group run again
(incremental: each table says so in its metadata), then the stored state removed and the group rebuilt from
scratch on the same lake; photo groups, flags and repost groups must be the same, ids included."""

from __future__ import annotations

import shutil

import pytest

from c2c_assets.quality import state
from c2c_assets.quality.lake_io import read
from c2c_assets_tests.quality.group_runs import DAYS, add_days, run_group, sample_lake

KEYS = {
    "photo_groups": (None, ["sha256"], ["group_id", "sha256", "group_photos", "group_posts", "group_items", "stock", "first_seen"]),
    "post_flags": (None, ["post_id", "flag"], ["post_id", "flag", "score", "detail"]),
    "repost_groups": ("default", ["post_id"], ["group_id", "post_id", "source", "price_usd", "first_seen", "last_seen", "group_posts", "group_sites", "evidence"]),
}


def _run(home, instance):  # noqa: ANN001, ANN202
    return run_group(home, instance)


def _tables(home):  # noqa: ANN001, ANN202
    out = {}
    for name, (encoder, key, columns) in KEYS.items():
        table = read(home, name, encoder).select(columns)
        out[name] = table.sort_by([(k, "ascending") for k in key]).to_pylist()
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    import dagster as dg

    inbox, home = sample_lake(tmp_path_factory.mktemp("quality-incremental"))
    with dg.instance_for_test() as instance:
        add_days(home, inbox, instance, DAYS[:2])
        first = _run(home, instance)
        add_days(home, inbox, instance, DAYS[2:])
        nightly = _run(home, instance)
        updated = _tables(home)
        idle = _run(home, instance)  # nothing new: an update that changes nothing
        assert _tables(home) == updated
        shutil.rmtree(state.state_dir(home, "x").parent)
        rebuilt_meta = _run(home, instance)
        rebuilt = _tables(home)
    return {"first": first, "nightly": nightly, "idle": idle, "updated": updated, "rebuilt_meta": rebuilt_meta, "rebuilt": rebuilt}


def test_a_new_day_updates_instead_of_rebuilding(runs):
    for asset in ("photo_groups", "post_flags", "post_neighbours", "repost_groups"):
        assert runs["first"][asset]["mode"] == "full", (asset, runs["first"][asset])
        assert runs["nightly"][asset]["mode"] == "incremental", (asset, runs["nightly"][asset])
        assert runs["idle"][asset]["mode"] == "incremental", (asset, runs["idle"][asset])
        assert runs["rebuilt_meta"][asset]["mode"] == "full", asset
    nightly = runs["nightly"]
    assert nightly["post_neighbours"]["searched"] < nightly["post_neighbours"]["posts"]
    assert nightly["post_flags"]["posts_recomputed"] < nightly["post_flags"]["posts"]
    assert nightly["photo_groups"]["groups_updated"] < nightly["photo_groups"]["groups"]
    idle = runs["idle"]
    assert idle["post_neighbours"]["searched"] == 0 and idle["post_flags"]["posts_recomputed"] == 0


@pytest.mark.parametrize("table", sorted(KEYS))
def test_the_update_equals_a_full_rebuild(runs, table):
    updated, rebuilt = runs["updated"][table], runs["rebuilt"][table]
    assert len(updated) > 0
    assert updated == rebuilt
