import warnings

import dagster as dg

from c2c_assets.defs.ingest.partitions import scrape_dates

# Adding an encoder is adding a key here (`c2c encoders add`, or the UI) and backfilling its dates.
encoders = dg.DynamicPartitionsDefinition(name="encoders")
date_encoder = dg.MultiPartitionsDefinition({"date": scrape_dates, "encoder": encoders})

# A backfill of a new encoder runs this many dates per run: the model loads once per run, not per
# date, and the `gpu` pool still admits one embedding step at a time. A run over a range of dates is a
# rectangle of the two dimensions (dates x the one encoder).
MAX_EMBED_DATES_PER_RUN = 30
embed_dates_in_chunks = dg.BackfillPolicy.multi_run(max_partitions_per_run=MAX_EMBED_DATES_PER_RUN)

# How per-date and per-encoder assets read the date x encoder partitions. The mapping class is a
# Dagster beta; we rely on it knowingly, so its warning is silenced for these two objects only.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.BetaWarning)
    same_date = dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="date")
    all_dates_of_encoder = dg.MultiToSingleDimensionPartitionMapping(partition_dimension_name="encoder")
