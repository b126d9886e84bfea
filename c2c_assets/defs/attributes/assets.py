"""Attributes read from each post's text, one partition per scrape date beside ``posts``."""

from datetime import date

import dagster as dg

from c2c_assets import catalog
from c2c_assets.attributes.build import extract_date
from c2c_assets.attributes.views import VIEWS
from c2c_assets.defs.chunked import chunked_asset
from c2c_assets.defs.ingest.partitions import dates_in_chunks, scrape_dates
from c2c_assets.defs.resources import C2cResource

OWNER = "team:c2c-data"


@chunked_asset(
    partitions_def=scrape_dates,
    backfill_policy=dates_in_chunks,  # with ingest_dumps: a range run of ingest carries its attributes too
    deps=[dg.AssetKey("posts")],
    group_name="ingest",
    kinds={"parquet", "duckdb", "python"},
    # Follows each ingested (or re-ingested) date; only that date is recomputed.
    automation_condition=dg.AutomationCondition.eager(),
    owners=[OWNER],
    description="Attributes read from each post's title and description: tire sizes, wheel specs and diameter, bolt "
    "patterns, part numbers, fitment (year range, makes, models). DuckDB view `post_attributes` (current posts); "
    "`c2c search --fits/--size` filter on it.",
)
def post_attributes(context: dg.AssetExecutionContext, c2c: C2cResource) -> dg.MaterializeResult:
    home = c2c.paths()
    for key in context.partition_keys:  # one date, or each date of a range run
        rows, found = extract_date(home, date.fromisoformat(key))
        context.add_asset_metadata({"dagster/row_count": rows, **{f"with_{name}": n for name, n in found.items()}}, partition_key=key)
    catalog.refresh(home, VIEWS)
    return dg.MaterializeResult(metadata={"dates_in_run": len(context.partition_keys)})
