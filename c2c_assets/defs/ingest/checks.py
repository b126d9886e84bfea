"""Asset checks on every ingest partition: nothing lost, nothing doubled.

A check evaluates each date of its run (one date, or a backfill's range of dates) and records one
evaluation per date partition, so that a range run is checked exactly as per-date runs would be.
"""


from datetime import date

import dagster as dg

from c2c_assets.defs.ingest.partitions import scrape_dates
from c2c_assets.defs.partitioned_checks import Verdict, partitioned_asset_check, per_partition
from c2c_assets.defs.resources import C2cResource
from c2c_assets.ingest.invariants import duplicate_post_ids, image_row_mismatches, line_accounts
from c2c_assets.ingest.summary import markdown_table

@partitioned_asset_check(
    asset="posts",
    additional_deps=["quarantine"],
    partitions_def=scrape_dates,
    blocking=True,
    description="For every dump of the date: accepted posts + quarantined lines == non-blank lines in the dump.",
)
def lines_accounted_for(context: dg.AssetCheckExecutionContext, c2c: C2cResource):

    def verdict(key: str) -> Verdict:
        day = date.fromisoformat(key)
        accounts = line_accounts(c2c.paths(), c2c.inbox_path(), day)
        rows = [[a.dump, a.lines, a.accepted, a.quarantined, "ok" if a.balanced else "MISMATCH"] for a in accounts]
        table = markdown_table(["dump", "lines", "accepted", "quarantined", ""], rows)
        return bool(accounts) and all(a.balanced for a in accounts), {"dumps": dg.MetadataValue.md(table)}

    yield from per_partition(context, dg.AssetKey("posts"), "lines_accounted_for", verdict)


@partitioned_asset_check(asset="posts", partitions_def=scrape_dates, blocking=True, description="post_id is unique in the partition.")
def post_id_unique(context: dg.AssetCheckExecutionContext, c2c: C2cResource):

    def verdict(key: str) -> Verdict:
        day = date.fromisoformat(key)
        duplicates = duplicate_post_ids(c2c.paths(), day)
        table = markdown_table(["post_id", "rows"], [list(d) for d in duplicates])
        return not duplicates, {"duplicates": dg.MetadataValue.md(table)}

    yield from per_partition(context, dg.AssetKey("posts"), "post_id_unique", verdict)


@partitioned_asset_check(
    asset="post_images",
    additional_deps=["posts"],
    partitions_def=scrape_dates,
    blocking=True,
    description="Every photo reference of every post has exactly one post_images row, at positions 0..n-1.",
)
def one_row_per_image_reference(context: dg.AssetCheckExecutionContext, c2c: C2cResource):

    def verdict(key: str) -> Verdict:
        day = date.fromisoformat(key)
        bad = image_row_mismatches(c2c.paths(), day)
        table = markdown_table(["post_id", "references", "rows", "positions"], [list(b) for b in bad])
        return not bad, {"mismatches": dg.MetadataValue.md(table)}

    yield from per_partition(context, dg.AssetKey("post_images"), "one_row_per_image_reference", verdict)
