"""Schemas of the analysis tables (light: the warehouse imports them to type empty views)."""

import pyarrow as pa

CLUSTERS_SCHEMA = pa.schema([("post_id", pa.string()), ("encoder", pa.string()), ("cluster", pa.int32()), ("distance", pa.float32())])
METRICS_SCHEMA = pa.schema(
    [
        ("encoder", pa.string()),
        ("kind", pa.string()),  # "final" (the clusters asset) or "sweep" (one row per width)
        ("reduction", pa.string()),
        ("algorithm", pa.string()),
        ("width", pa.int32()),
        ("k", pa.int32()),
        ("n", pa.int64()),
        ("explained_variance", pa.float64()),
        ("silhouette", pa.float64()),
        ("silhouette_sample_size", pa.int64()),
        ("calinski_harabasz", pa.float64()),
        ("davies_bouldin", pa.float64()),
        ("purity", pa.float64()),
        ("nmi", pa.float64()),
        ("ari", pa.float64()),
        ("n_labelled", pa.int64()),
    ]
)
