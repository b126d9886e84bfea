"""The inbox sensor: a new or changed dump requests an ingest run for its date."""


import json

import dagster as dg

from c2c_assets.defs.ingest.assets import ingest_job
from c2c_assets.defs.ingest.partitions import scrape_dates
from c2c_assets.defs.resources import C2cResource


@dg.sensor(
    job=ingest_job,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Watches the inbox for `<source>/<date>/posts.jsonl[.gz]`; a new dump, or a dump whose posts "
    "file changed, requests a run for its date. The cursor remembers each dump's fingerprint.",
)
def inbox_sensor(context: dg.SensorEvaluationContext, c2c: C2cResource) -> dg.SensorResult:
    from c2c_assets.ingest.dumps import find_dumps
    from c2c_assets.ingest.inbox import plan_runs

    inbox = c2c.inbox_path()
    plan = plan_runs(find_dumps(inbox), json.loads(context.cursor) if context.cursor else {})
    valid = set(scrape_dates.get_partition_keys())
    requests, skipped = [], []
    for day, digest in plan.dates.items():
        key = day.isoformat()
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
