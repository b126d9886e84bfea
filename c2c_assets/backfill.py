"""Backfilling a new encoder over every ingested date, through Dagster's own backfill machinery.

The backfill is stored in the instance and carried out by the daemon (``dg dev`` or
``dagster-daemon run``), one run per (date, encoder) partition: each run is a chunk, the backfill
record keeps which are done, and a daemon restart picks up where it stopped.
"""

from __future__ import annotations

import time
import uuid

import dagster as dg

from c2c_assets.runner import register_encoder


def ingested_dates(instance: dg.DagsterInstance) -> list[str]:
    return sorted(instance.get_materialized_partitions(dg.AssetKey("posts")))


def launch_encoder_backfill(instance: dg.DagsterInstance, definitions: dg.Definitions, encoder: str, dates: list[str] | None = None) -> tuple[str, list[str]]:
    """Register ``encoder`` and request post_embeddings for each date; returns (backfill id, partition keys)."""
    # Dagster has no public Python call that creates a daemon-run asset backfill (the UI goes through
    # GraphQL, which calls this same constructor); the test suite pins the behaviour.
    from dagster._core.execution.backfill import PartitionBackfill

    days = dates if dates is not None else ingested_dates(instance)
    if not days:
        raise ValueError("no ingested date to backfill: run `c2c ingest` first")
    register_encoder(instance, encoder)
    keys = [str(dg.MultiPartitionKey({"date": day, "encoder": encoder})) for day in days]
    backfill_id = uuid.uuid4().hex[:8]
    backfill = PartitionBackfill.from_asset_partitions(
        backfill_id=backfill_id,
        asset_graph=definitions.resolve_asset_graph(),
        partition_names=keys,
        asset_selection=[dg.AssetKey("post_embeddings")],
        backfill_timestamp=time.time(),
        tags={"c2c/encoder": encoder, "c2c/launched_by": "cli"},
        dynamic_partitions_store=instance,
        all_partitions=False,
        title=f"embed all dates with {encoder}",
        description=f"c2c backfill --encoder {encoder}: post_embeddings for {len(keys)} dates",
        run_config=None,
    )
    instance.add_backfill(backfill)
    return backfill_id, keys
