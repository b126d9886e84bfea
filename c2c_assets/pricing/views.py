"""The pricing domain's views: comparables and predicted categories per (post, encoder), and their scores."""

from c2c_assets.pricing.schema import (
    CATEGORY_METRICS_SCHEMA,
    COMPARABLES_SCHEMA,
    PREDICTIONS_SCHEMA,
    PRICE_METRICS_SCHEMA,
)
from c2c_assets.warehouse import View, lake_table

VIEWS: list[View] = [
    lake_table("price_comparables", "price_comparables", COMPARABLES_SCHEMA),
    lake_table("price_metrics", "price_metrics", PRICE_METRICS_SCHEMA),
    lake_table("predicted_categories", "predicted_categories", PREDICTIONS_SCHEMA),
    lake_table("category_metrics", "category_metrics", CATEGORY_METRICS_SCHEMA),
]
