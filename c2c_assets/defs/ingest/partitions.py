import dagster as dg

# One partition per scrape date. end_offset=1 keeps today's partition open: tonight's dump is dated today.
scrape_dates = dg.DailyPartitionsDefinition(start_date="2023-01-01", end_offset=1)

# A backfill (or a first ingest of a year of dumps) runs this many consecutive dates in one run: the
# per-run cost (about 2 s of Dagster start-up and bookkeeping) is paid once per chunk, not per date,
# and a failing date costs a re-run of its chunk only.
MAX_DATES_PER_RUN = 100
dates_in_chunks = dg.BackfillPolicy.multi_run(max_partitions_per_run=MAX_DATES_PER_RUN)


def partition_dates(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> list[str]:
    """The dates a run covers: its one partition, or every date of its partition range."""
    return list(context.partition_keys)
