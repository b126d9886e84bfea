import dagster as dg

from c2c_assets.defs.ingest.partitions import scrape_dates

# Adding an encoder is adding a key here (`c2c encoders add`, or the UI) and backfilling its dates.
encoders = dg.DynamicPartitionsDefinition(name="encoders")
date_encoder = dg.MultiPartitionsDefinition({"date": scrape_dates, "encoder": encoders})
