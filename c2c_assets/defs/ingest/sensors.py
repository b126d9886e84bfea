"""The inbox sensor: a new or changed dump requests an ingest run for its date."""


import json

import dagster as dg

from c2c_assets.defs.ingest.assets import INBOX_DIGEST, ingest_job
from c2c_assets.defs.ingest.partitions import scrape_dates
from c2c_assets.defs.resources import C2cResource
from c2c_assets.ingest.dumps import find_dumps
from c2c_assets.ingest.inbox import plan_runs


def ingested_digests(instance: dg.DagsterInstance, partitions: list[str]) -> dict[str, str]:
    """Partition -> the inbox digest its latest ``posts`` materialization recorded (where it recorded one)."""
    if not partitions:
        return {}
    found: dict[str, str] = {}
    cursor = None
    while True:
        page = instance.fetch_materializations(
            dg.AssetRecordsFilter(asset_key=dg.AssetKey("posts"), asset_partitions=partitions), limit=1000, cursor=cursor
        )
        for record in page.records:  # newest first: the first one seen of a partition is its latest
            key = record.partition_key
            metadata = record.asset_materialization.metadata if record.asset_materialization else {}
            if key not in found and INBOX_DIGEST in metadata:
                found[key] = metadata[INBOX_DIGEST].value
            found.setdefault(key, "")
        if not page.has_more:
            return {key: digest for key, digest in found.items() if digest}
        cursor = page.cursor


@dg.sensor(
    job=ingest_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Watches the inbox for `<source>/<date>/posts.jsonl[.gz]`; a new dump, or a dump whose posts "
    "file changed, requests a run for its date. The cursor remembers each dump's fingerprint, and a date whose "
    "`posts` partition was already made from these very dumps (by `c2c ingest`, say) is not requested again.",
)
def inbox_sensor(context: dg.SensorEvaluationContext, c2c: C2cResource) -> dg.SensorResult:

    inbox = c2c.inbox_path()
    plan = plan_runs(find_dumps(inbox), json.loads(context.cursor) if context.cursor else {})
    valid = set(scrape_dates.get_partition_keys())
    requests, skipped = [], []
    done = ingested_digests(context.instance, [day.isoformat() for day in plan.dates])
    for day, digest in plan.dates.items():
        key = day.isoformat()
        if done.get(key) == digest:
            continue
        if key in valid:
            requests.append(dg.RunRequest(partition_key=key, run_key=f"{key}:{digest}"))
        else:
            skipped.append(key)
    if skipped:
        context.log.warning(f"dumps dated outside the partitions ({scrape_dates.start:%Y-%m-%d} on): {', '.join(skipped)}")
    return dg.SensorResult(
        run_requests=requests,
        cursor=json.dumps(plan.seen, sort_keys=True),
        skip_reason=None if requests else f"no new or changed dump in {inbox}",
    )
