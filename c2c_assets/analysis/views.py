"""The analysis domain's views: every encoder's cluster assignment and metrics."""

from c2c_assets.analysis.schema import CLUSTERS_SCHEMA, METRICS_SCHEMA
from c2c_assets.warehouse import View, lake_table

VIEWS: list[View] = [
    lake_table("clusters", "clusters", CLUSTERS_SCHEMA),
    lake_table("cluster_metrics", "cluster_metrics", METRICS_SCHEMA),
]
