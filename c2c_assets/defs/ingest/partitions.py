import dagster as dg

# One partition per scrape date. end_offset=1 keeps today's partition open: tonight's dump is dated today.
scrape_dates = dg.DailyPartitionsDefinition(start_date="2023-01-01", end_offset=1)
