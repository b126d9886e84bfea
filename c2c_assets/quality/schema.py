"""Arrow schemas of the quality tables (light: the warehouse imports them to type empty views)."""

import pyarrow as pa

# One row per stored photo (sha256): computed once, when the photo is first seen.
PHOTO_HASHES = pa.schema(
    [
        ("sha256", pa.string()),
        ("status", pa.string()),  # "ok" or "unhashable"
        ("reason", pa.string()),  # why it could not be hashed (null when ok)
        ("phash", pa.binary(32)),  # imagehash pHash, 256 bits
        ("dhash", pa.binary(32)),  # imagehash dHash, 256 bits
        ("colour", pa.binary(48)),  # colour layout: mean RGB of a 4 x 4 grid
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("laplacian_var", pa.float32()),
        ("brightness", pa.float32()),
        ("entropy", pa.float32()),
    ]
)

# One row per hashed photo (sha256): its near-duplicate group; the counts are over the current posts.
PHOTO_GROUPS = pa.schema(
    [
        ("group_id", pa.string()),
        ("sha256", pa.string()),
        ("group_photos", pa.int32()),
        ("group_posts", pa.int32()),
        ("group_items", pa.int32()),  # listings whose texts are not near-duplicates of each other
        ("stock", pa.bool_()),
        ("first_seen", pa.date32()),  # the photo's first scrape: the group's id is its earliest photo's
        ("version", pa.int64()),  # the photo_groups run that last changed this photo's group (what later tables compare)
    ]
)

REPOST_GROUPS = pa.schema(
    [
        ("group_id", pa.string()),
        ("post_id", pa.string()),
        ("encoder", pa.string()),
        ("source", pa.string()),
        ("price_usd", pa.float64()),
        ("first_seen", pa.date32()),  # this listing's first and last scrape
        ("last_seen", pa.date32()),
        ("group_posts", pa.int32()),
        ("group_sites", pa.int32()),
        ("evidence", pa.string()),  # "photo", "text+vector" or both, for the edges that joined this post
    ]
)

POST_FLAGS = pa.schema(
    [
        ("post_id", pa.string()),
        ("flag", pa.string()),
        ("score", pa.float64()),  # the measurement the threshold applies to (see quality.thresholds)
        ("detail", pa.string()),
    ]
)

POST_SCORES = pa.schema(
    [
        ("post_id", pa.string()),
        ("encoder", pa.string()),
        ("uniqueness", pa.float32()),
        ("representativeness", pa.float32()),
        ("outlier_score", pa.float32()),
        ("outlier", pa.bool_()),
        ("cluster", pa.int32()),
        ("reason", pa.string()),  # why a score is null ("no vector", "no clusters"), else null
    ]
)
