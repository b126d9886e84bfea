"""Schemas of the pricing tables (light: the warehouse imports them to type empty views)."""

import pyarrow as pa

COMPARABLES_SCHEMA = pa.schema(
    [
        ("post_id", pa.string()),
        ("encoder", pa.string()),
        ("price_usd", pa.float64()),  # the post's own listed price
        ("usable", pa.bool_()),  # whether that price is usable (pricing.usable)
        ("median", pa.float64()),  # null when fewer than min_comparables comparables
        ("p10", pa.float64()),
        ("p90", pa.float64()),
        ("n", pa.int32()),  # comparables found (usable price, own post and repost group excluded)
        ("mean_similarity", pa.float32()),
        ("flag", pa.string()),  # underpriced / overpriced / within; null: no usable price or no estimate
        ("distance", pa.float64()),  # how far outside p10..p90, in range widths (0 within)
    ]
)
PREDICTIONS_SCHEMA = pa.schema(
    [
        ("post_id", pa.string()),
        ("encoder", pa.string()),
        ("category", pa.string()),
        ("confidence", pa.float32()),  # the predicted class's probability
        ("known", pa.string()),  # the post's known category, if any
        ("split", pa.string()),  # train / validation / test / unlabelled
    ]
)
PRICE_METRICS_SCHEMA = pa.schema(
    [
        ("encoder", pa.string()),
        ("k", pa.int32()),
        ("n_posts", pa.int64()),
        ("n_usable", pa.int64()),
        ("n_estimated", pa.int64()),  # usable-price posts with an estimate (the error's sample)
        ("price_error", pa.float64()),  # median absolute % error of the comparables' median against the own price
        ("global_median_error", pa.float64()),  # baseline: the median usable price of all other posts
        ("category_median_error", pa.float64()),  # baseline: the median of the post's known category
        ("coverage", pa.float64()),  # share of usable-price posts with an estimate
        ("flagged_share", pa.float64()),  # share of usable-price estimated posts flagged under/over
    ]
)
CATEGORY_METRICS_SCHEMA = pa.schema(
    [
        ("encoder", pa.string()),
        ("model", pa.string()),  # the chosen classifier, e.g. "logistic C=10"
        ("accuracy", pa.float64()),  # on the held-out test groups
        ("macro_f1", pa.float64()),
        ("validation_accuracy", pa.float64()),
        ("n_train", pa.int64()),
        ("n_test", pa.int64()),
        ("n_classes", pa.int32()),
        ("n_predicted", pa.int64()),
        ("grouping", pa.string()),  # the key that keeps a listing and its reposts on one side
    ]
)
