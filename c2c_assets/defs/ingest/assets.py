"""The ingest assets: scraped dumps of one date -> posts, quarantine and post_images."""


from datetime import date

import dagster as dg

from c2c_assets import catalog
from c2c_assets.defs.ingest.partitions import scrape_dates
from c2c_assets.defs.resources import C2cResource
from c2c_assets.ingest import summary as report
from c2c_assets.ingest.dumps import fingerprints_digest
from c2c_assets.ingest.pipeline import ingest_date
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
)
def ingest_dumps(context: dg.AssetExecutionContext, c2c: C2cResource):

    home = c2c.paths()
    scrape_date = date.fromisoformat(context.partition_key)
    result = ingest_date(c2c.inbox_path(), home, scrape_date, c2c.ingest_settings(), log=context.log.info)
    catalog.refresh(home, VIEWS)
    files = result.files
    context.log.info(
        f"{scrape_date}: {result.total('lines')} lines, {result.total('accepted')} posts, "
        f"{result.total('images_ok')} images in {result.seconds:.1f} s"
    )
    yield dg.MaterializeResult(
        asset_key="posts",
        metadata={
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
    )
    yield dg.MaterializeResult(
        asset_key="quarantine",
        metadata={
            "dagster/row_count": sum(result.quarantined.values()),
            "by_reason": dg.MetadataValue.md(report.counts_markdown(result.quarantined, "quarantined lines")),
            "preview": dg.MetadataValue.md(
                report.preview_markdown(files["quarantine"], ["dump", "line_number", "reason", "detail"])
            ),
            "path": dg.MetadataValue.path(str(files["quarantine"])),
        },
    )
    yield dg.MaterializeResult(
        asset_key="post_images",
        metadata={
            "dagster/row_count": result.total("images_ok") + sum(result.images_rejected.values()),
            "images_ok": result.total("images_ok"),
            "rejected_by_reason": dg.MetadataValue.md(report.counts_markdown(result.images_rejected, "rejected images")),
            "thumbnails": dg.MetadataValue.md(report.thumbnails_markdown(home, files["post_images"])),
            "path": dg.MetadataValue.path(str(files["post_images"])),
        },
    )


ingest_job = dg.define_asset_job(
    "ingest_job",
    selection=dg.AssetSelection.assets("posts", "quarantine", "post_images"),
    description="Ingest every dump of one scrape date.",
)
