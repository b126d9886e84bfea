"""The inbox sensor: a new or changed dump requests an ingest run for its date (consecutive dates
together: one run over their range)."""


import hashlib
import json
from datetime import date

import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from c2c_assets.batches import contiguous_chunks
from c2c_assets.defs.ingest.assets import INBOX_DIGEST, ingest_job
from c2c_assets.defs.ingest.partitions import MAX_DATES_PER_RUN, scrape_dates
from c2c_assets.defs.resources import C2cResource
from c2c_assets.ingest.dumps import find_dumps
from c2c_assets.ingest.inbox import plan_runs


def _run_request(chunk: list[date], digests: dict[date, str]) -> dg.RunRequest:
    first, last = chunk[0].isoformat(), chunk[-1].isoformat()
    if len(chunk) == 1:
        return dg.RunRequest(partition_key=first, run_key=f"{first}:{digests[chunk[0]]}")
    # The run key changes when any dump of the range changes: the same range is asked for once.
    combined = hashlib.sha256(" ".join(digests[day] for day in chunk).encode()).hexdigest()[:16]
    return dg.RunRequest(
        run_key=f"{first}..{last}:{combined}",
        tags={ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last},
    )


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
    wanted, skipped = {}, []
    done = ingested_digests(context.instance, [day.isoformat() for day in plan.dates])
    for day, digest in plan.dates.items():
        key = day.isoformat()
        if done.get(key) == digest:
            continue
        if key in valid:
            wanted[day] = digest
        else:
            skipped.append(key)
    # A year of dumps landing at once is a few runs over date ranges, not one run per date.
    requests = [_run_request(chunk, wanted) for chunk in contiguous_chunks(list(wanted), MAX_DATES_PER_RUN)]
    if skipped:
        context.log.warning(f"dumps dated outside the partitions ({scrape_dates.start:%Y-%m-%d} on): {', '.join(skipped)}")
    return dg.SensorResult(
        run_requests=requests,
        cursor=json.dumps(plan.seen, sort_keys=True),
        skip_reason=None if requests else f"no new or changed dump in {inbox}",
    )
