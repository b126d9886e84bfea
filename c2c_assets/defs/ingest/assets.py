"""The ingest assets: scraped dumps of one date -> posts, quarantine and post_images.

A run covers one date or a range of dates (a backfill runs ``MAX_DATES_PER_RUN`` dates per run):
each date gets its own materialization metadata and its own check evaluations, as if it had had
its own run, and the views are refreshed once at the end.
"""


import time
from datetime import date
from typing import Any

import dagster as dg

from c2c_assets import catalog
from c2c_assets.defs.ingest.partitions import dates_in_chunks, partition_dates, scrape_dates
from c2c_assets.defs.resources import C2cResource
from c2c_assets.home import C2cHome
from c2c_assets.ingest import summary as report
from c2c_assets.ingest.dumps import fingerprints_digest
from c2c_assets.ingest.pipeline import IngestSummary, ingest_date
from c2c_assets.ingest.views import VIEWS

OWNER = "team:c2c-data"
INBOX_DIGEST = "inbox_digest"  # posts metadata: the digest of the dumps a partition was made from

raw_posts = dg.AssetSpec(
    "raw_posts",
    description="Scraped dumps in the inbox, `<source>/<date>/posts.jsonl[.gz]` plus photos. Written by the "
    "scrapers, outside this project; the inbox sensor notices new and changed ones.",
    group_name="ingest",
    kinds={"json"},
    owners=[OWNER],
    partitions_def=scrape_dates,
)

_TABLE_KINDS = {"parquet", "duckdb"}


@dg.multi_asset(
    name="ingest_dumps",
    specs=[
        dg.AssetSpec(
            "posts",
            deps=[raw_posts],
            description="Canonical posts of one scrape date, one row per listing (a listing repeated in a dump: "
            "the latest line wins). DuckDB view `posts` keeps the latest scrape of each listing over all dates.",
            group_name="ingest",
            kinds=_TABLE_KINDS,
            owners=[OWNER],
        ),
        dg.AssetSpec(
            "quarantine",
            deps=[raw_posts],
            description="Lines that could not become posts, with source, dump, line number, reason and the raw "
            "line cut to 2,000 bytes. accepted + quarantined == non-blank lines, for every dump.",
            group_name="ingest",
            kinds=_TABLE_KINDS,
            owners=[OWNER],
        ),
        dg.AssetSpec(
            "post_images",
            deps=[raw_posts],
            description="One row per photo reference of every post, in order: ok (sha256, size, stored path, "
            "thumbnail) or rejected with a reason. Photos are stored once by content hash as RGB JPEG.",
            group_name="ingest",
            kinds={"parquet", "duckdb", "pillow"},
            owners=[OWNER],
        ),
    ],
    partitions_def=scrape_dates,
    backfill_policy=dates_in_chunks,
)
def ingest_dumps(context: dg.AssetExecutionContext, c2c: C2cResource):

    home = c2c.paths()
    inbox, settings = c2c.inbox_path(), c2c.ingest_settings()
    failures: dict[str, str] = {}
    started = time.perf_counter()
    keys = partition_dates(context)
    for key in keys:
        try:
            result = ingest_date(inbox, home, date.fromisoformat(key), settings, log=context.log.info)
        except Exception as error:  # the other dates of the run still go in; the run fails naming this one
            if len(keys) == 1:
                raise
            failures[key] = f"{type(error).__name__}: {error}"
            context.log.error(f"{key}: {failures[key]}")
            continue
        context.log.info(
            f"{key}: {result.total('lines')} lines, {result.total('accepted')} posts, "
            f"{result.total('images_ok')} images in {result.seconds:.1f} s"
        )
        for asset, metadata in _date_metadata(home, result).items():
            context.add_asset_metadata(metadata, asset_key=asset, partition_key=key)
    # Once per run, not per date: the views read every partition through globs.
    catalog.refresh(home, VIEWS)
    if failures:
        raise dg.Failure(
            f"{len(failures)} of {len(keys)} dates failed: " + "; ".join(f"{k}: {m}" for k, m in failures.items()),
            metadata={"failed_dates": dg.MetadataValue.json(failures)},
        )
    run = {"dates_in_run": len(keys), "run_seconds": round(time.perf_counter() - started, 2)}
    for asset in ("posts", "quarantine", "post_images"):
        yield dg.MaterializeResult(asset_key=asset, metadata=run)


def _date_metadata(home: C2cHome, result: IngestSummary) -> dict[str, dict[str, Any]]:
    """What the UI shows of one date's partitions: counts, per-dump table, previews, thumbnails."""
    files = result.files
    return {
        "posts": {
            "dagster/row_count": result.total("accepted"),
            "dumps": dg.MetadataValue.md(report.dumps_markdown(result)),
            "preview": dg.MetadataValue.md(
                report.preview_markdown(files["posts"], ["post_id", "title", "price_usd", "n_images", "category"])
            ),
            "path": dg.MetadataValue.path(str(files["posts"])),
            "summary": dg.MetadataValue.json(report.summary_dict(result)),
            "seconds": round(result.seconds, 2),
            # What was ingested, as the inbox sensor fingerprints it: the sensor does not ask for it again.
            INBOX_DIGEST: fingerprints_digest({d.dump: d.fingerprint for d in result.dumps}),
        },
        "quarantine": {
            "dagster/row_count": sum(result.quarantined.values()),
            "by_reason": dg.MetadataValue.md(report.counts_markdown(result.quarantined, "quarantined lines")),
            "preview": dg.MetadataValue.md(
                report.preview_markdown(files["quarantine"], ["dump", "line_number", "reason", "detail"])
            ),
            "path": dg.MetadataValue.path(str(files["quarantine"])),
        },
        "post_images": {
            "dagster/row_count": result.total("images_ok") + sum(result.images_rejected.values()),
            "images_ok": result.total("images_ok"),
            "rejected_by_reason": dg.MetadataValue.md(report.counts_markdown(result.images_rejected, "rejected images")),
            "thumbnails": dg.MetadataValue.md(report.thumbnails_markdown(home, files["post_images"])),
            "path": dg.MetadataValue.path(str(files["post_images"])),
        },
    }


ingest_job = dg.define_asset_job(
    "ingest_job",
    selection=dg.AssetSelection.assets("posts", "quarantine", "post_images"),
    description="Ingest every dump of one scrape date (or of each date of a partition range, in one run).",
)
