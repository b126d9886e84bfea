"""Arrow schemas of the ingest tables; the DuckDB views and the checks read these columns."""

from __future__ import annotations

import pyarrow as pa

POSTS = pa.schema(
    [
        ("post_id", pa.string()),
        ("source", pa.string()),
        ("source_id", pa.string()),
        ("url", pa.string()),
        ("title", pa.string()),
        ("description", pa.string()),
        ("price_usd", pa.float64()),
        ("price_raw", pa.string()),
        ("location", pa.string()),
        ("posted_at", pa.timestamp("us", tz="UTC")),
        ("scrape_date", pa.date32()),
        ("condition", pa.string()),
        ("category", pa.string()),
        ("attributes", pa.string()),  # JSON object
        ("image_refs", pa.list_(pa.string())),
        ("n_images", pa.int32()),
        ("n_images_ok", pa.int32()),
        ("content_hash", pa.string()),
        ("flags", pa.list_(pa.string())),
        ("dump", pa.string()),
        ("line_number", pa.int64()),
    ]
)

QUARANTINE = pa.schema(
    [
        ("source", pa.string()),
        ("dump", pa.string()),
        ("scrape_date", pa.date32()),
        ("line_number", pa.int64()),
        ("reason", pa.string()),
        ("detail", pa.string()),
        ("raw", pa.string()),  # the line cut to RAW_CUT_BYTES, invalid UTF-8 replaced
        ("raw_bytes", pa.int64()),  # the full line's length
    ]
)

POST_IMAGES = pa.schema(
    [
        ("post_id", pa.string()),
        ("scrape_date", pa.date32()),
        ("position", pa.int32()),
        ("ref", pa.string()),
        ("status", pa.string()),  # "ok" or "rejected"
        ("reason", pa.string()),
        ("detail", pa.string()),
        ("sha256", pa.string()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("path", pa.string()),  # relative to C2C_HOME
        ("thumb_path", pa.string()),
        ("n_bytes", pa.int64()),
        ("dump", pa.string()),
        ("line_number", pa.int64()),
    ]
)
