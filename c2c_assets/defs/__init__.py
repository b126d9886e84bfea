"""Dagster wiring, one folder per domain; ``c2c_assets.definitions`` loads them all."""

import warnings

import dagster as dg

# Partitioned asset checks are a Dagster preview feature that the ingest and embedding checks rely on
# knowingly; only that one warning is silenced.
warnings.filterwarnings("ignore", message="Specifying a partitions_def on an AssetCheckSpec", category=dg.PreviewWarning)
