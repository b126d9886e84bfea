"""What a post is worth and what it is, per encoder: price comparables and flags, predicted categories."""

import dagster as dg

from c2c_assets import catalog
from c2c_assets.analysis.pipeline import load_truth
from c2c_assets.defs.embeddings.assets import post_embeddings
from c2c_assets.defs.embeddings.partitions import all_dates_of_encoder, encoders
from c2c_assets.defs.resources import C2cResource
from c2c_assets.defs.settings import settings_of
from c2c_assets.pricing.categories import predict_categories
from c2c_assets.pricing.comparables import price_comparables as compute_comparables
from c2c_assets.pricing.groups import repost_groups
from c2c_assets.pricing.settings import CategorySettings, PricingSettings
from c2c_assets.pricing.views import VIEWS
from c2c_assets.reporting.comparison import comparison_markdown

OWNER = "team:c2c-ml"
# Counts and shares that describe a run rather than score it: no "best" highlight.
NOT_SCORES = {"flagged_share": "none", "coverage": "higher", "validation_accuracy": "higher"}


class PricingConfig(dg.Config, PricingSettings):
    """The run config of price_comparables: exactly ``PricingSettings`` (``c2c_assets.pricing.settings``)."""

    def settings(self) -> PricingSettings:
        return settings_of(self, PricingSettings)


class CategoryConfig(dg.Config, CategorySettings):
    """The run config of predicted_categories: exactly ``CategorySettings``."""

    def settings(self) -> CategorySettings:
        return settings_of(self, CategorySettings)


def _per_encoder(kinds: set[str], description: str):  # -> the asset decorator
    """Both pricing assets: one partition per encoder, over all of its embedding dates, eager like the analysis."""
    return dg.asset(
        partitions_def=encoders, deps=[dg.AssetDep(post_embeddings, partition_mapping=all_dates_of_encoder)],
        group_name="pricing", kinds=kinds, owners=[OWNER], automation_condition=dg.AutomationCondition.eager(),
        description=description,
    )


def _floats(row: dict) -> dict:
    return {name: dg.MetadataValue.float(float(value)) for name, value in row.items() if isinstance(value, float)}


@_per_encoder(
    kinds={"faiss", "parquet"},
    description="For every current post: its k nearest current posts (post side, FAISS) with a usable price (placeholders "
    "such as $0-$1 or 123456 excluded; the post itself and its repost group excluded), their median, 10th-90th percentile "
    "range, count and mean similarity, and a flag underpriced/overpriced with the distance in range widths. Estimation "
    "error (median absolute % error against the posts' own prices) and two baselines in metadata and `price_metrics`. "
    "Recomputed whole (a new day's posts included) within the benchmark's budget. DuckDB view `price_comparables`.",
)
def price_comparables(context: dg.AssetExecutionContext, config: PricingConfig, c2c: C2cResource) -> dg.MaterializeResult:
    home = c2c.paths()
    encoder = context.partition_key
    table, metrics = compute_comparables(home, encoder, config.settings(), truth=load_truth(home, c2c.inbox_path()),
                                         groups=repost_groups(home, encoder), log=context.log.info)
    catalog.refresh(home, VIEWS)
    flags = table.column("flag").value_counts().to_pylist()
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": table.num_rows,
            "metrics": dg.MetadataValue.md(comparison_markdown([{k: v for k, v in metrics.items() if v is not None}], better=NOT_SCORES)),
            **_floats(metrics),
            "n_usable": metrics["n_usable"],
            "n_estimated": metrics["n_estimated"],
            "flags": dg.MetadataValue.json({str(f["values"]): f["counts"] for f in flags}),
        }
    )


@_per_encoder(
    kinds={"scikitlearn", "parquet"},
    description="A category and a confidence for every current post: logistic regression or k-NN (chosen on validation) on "
    "the encoder's post vectors, trained on posts with a known category (the sample's labels, else a specific source "
    "category), split by listing group so that a listing and its reposts never straddle train and test. Accuracy and "
    "macro-F1 on the held-out groups in metadata and `category_metrics`; a retrained model re-predicts every post. "
    "DuckDB view `predicted_categories`.",
)
def predicted_categories(context: dg.AssetExecutionContext, config: CategoryConfig, c2c: C2cResource) -> dg.MaterializeResult:
    home = c2c.paths()
    encoder = context.partition_key
    outcome = predict_categories(home, encoder, load_truth(home, c2c.inbox_path()), config.settings(),
                                 groups=repost_groups(home, encoder), log=context.log.info)
    catalog.refresh(home, VIEWS)
    if outcome.reason:
        context.log.warning(f"{encoder}: no classifier: {outcome.reason}")
    shown = {k: v for k, v in outcome.metrics.items() if v is not None}
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": outcome.table.num_rows,
            "metrics": dg.MetadataValue.md(comparison_markdown([shown], better=NOT_SCORES)),
            **_floats(outcome.metrics),
            "model": outcome.metrics.get("model") or "none",
            "reason": outcome.reason or "",
        }
    )
