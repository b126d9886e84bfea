"""Nightly: re-embed the previous day's posts with every registered encoder.

The schedule owns embedding (one run per encoder for yesterday; unchanged posts are carried over,
so a re-run is cheap); the inbox sensor owns ingest; indexes and analyses follow their embeddings
through automation conditions. Each stage has one trigger, so nothing runs twice.
"""

from datetime import timedelta

import dagster as dg

from c2c_assets.defs.embeddings.assets import embed_job


@dg.schedule(
    job=embed_job,
    cron_schedule="0 3 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="At 03:00 UTC, one post_embeddings run per registered encoder for the previous day.",
)
def nightly_embeddings(context: dg.ScheduleEvaluationContext):
    day = (context.scheduled_execution_time - timedelta(days=1)).date().isoformat()
    ingested = context.instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey("posts"), asset_partitions=[day]), limit=1
    ).records
    if not ingested:
        return dg.SkipReason(f"no posts ingested for {day}")
    encoders = context.instance.get_dynamic_partitions("encoders")
    if not encoders:
        return dg.SkipReason("no encoder registered (c2c encoders add NAME)")
    return [
        dg.RunRequest(run_key=f"nightly:{day}|{encoder}", partition_key=dg.MultiPartitionKey({"date": day, "encoder": encoder}))
        for encoder in encoders
    ]
