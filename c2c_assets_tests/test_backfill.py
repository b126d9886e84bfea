"""Adding an encoder and backfilling it: the dynamic partition and a daemon-run backfill in the instance."""

import json

import dagster as dg
from typer.testing import CliRunner

from c2c_assets.backfill import launch_encoder_backfill
from c2c_assets.cli import app
from c2c_assets.definitions import defs
from c2c_assets.defs.ingest.assets import ingest_dumps
from c2c_assets.runner import materialize


def test_add_then_backfill_every_ingested_date(home, examples_inbox, tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    runner = CliRunner()
    added = runner.invoke(app, ["encoders", "add", "clip-small", "--family", "clip", "-o", "tiny=true", "-o", "image_weight=0.3", "--home", str(home.root)])
    assert added.exit_code == 0, added.output
    listed = json.loads(runner.invoke(app, ["encoders", "list", "--json", "--home", str(home.root)]).output)
    assert {"name": "clip-small", "family": "clip", "options": {"tiny": True, "image_weight": 0.3}, "partition": True} in listed

    instance = dg.DagsterInstance.get()
    assert instance.has_dynamic_partition("encoders", "clip-small")
    empty = runner.invoke(app, ["backfill", "--encoder", "clip-small", "--home", str(home.root)])
    assert empty.exit_code == 1 and "no ingested date" in empty.output
    assert materialize(home, [ingest_dumps], partition_key="2024-03-01", instance=instance, inbox=examples_inbox).success

    result = runner.invoke(app, ["backfill", "--encoder", "clip-small", "--home", str(home.root)])
    assert result.exit_code == 0, result.output
    [backfill] = instance.get_backfills()
    assert backfill.status.value == "REQUESTED"
    targets = backfill.asset_backfill_data.target_subset.iterate_asset_partitions()
    assert {(t.asset_key.to_user_string(), str(t.partition_key)) for t in targets} == {("post_embeddings", "2024-03-01|clip-small")}
    assert backfill.tags["c2c/encoder"] == "clip-small"

    unknown = runner.invoke(app, ["backfill", "--encoder", "nope", "--home", str(home.root)])
    assert unknown.exit_code == 1 and "unknown encoder" in unknown.output


def test_backfill_covers_each_date(home, examples_inbox):
    with dg.instance_for_test() as instance:
        _, keys = launch_encoder_backfill(instance, defs(), "vit-tiny", dates=["2024-03-01", "2024-03-02", "2024-03-03"])
        assert keys == ["2024-03-01|vit-tiny", "2024-03-02|vit-tiny", "2024-03-03|vit-tiny"]
        assert instance.has_dynamic_partition("encoders", "vit-tiny")
        assert len(instance.get_backfills()) == 1
