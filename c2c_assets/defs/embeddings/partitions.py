import warnings

import dagster as dg

from c2c_assets.defs.ingest.partitions import scrape_dates

# Adding an encoder is adding a key here (`c2c encoders add`, or the UI) and backfilling its dates.
encoders = dg.DynamicPartitionsDefinition(name="encoders")
date_encoder = dg.MultiPartitionsDefinition({"date": scrape_dates, "encoder": encoders})

# How per-date and per-encoder assets read the date x encoder partitions. The mapping class is a
# Dagster beta; we rely on it knowingly, so its warning is silenced for these two objects only.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.BetaWarning)
    same_date = dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="date")
    all_dates_of_encoder = dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="encoder")
