"""The quality group: photo hashes, photo groups and stock photos, post flags; per encoder the post k-NN,
repost groups and scores. Logic in ``c2c_assets.quality``; this is the wiring."""

import dagster as dg

from c2c_assets import catalog
from c2c_assets.defs.embeddings.assets import post_embeddings
from c2c_assets.defs.embeddings.partitions import all_dates_of_encoder, encoders
from c2c_assets.defs.resources import C2cResource
from c2c_assets.quality.views import VIEWS

OWNER = "team:c2c-ml"
GROUP = "quality"
# The all-posts tables follow every ingested date. Dagster's eager() waits while any upstream partition is
# missing, and of the daily partitions since 2023 most always are: these run when any upstream partition
# was updated, once no upstream run is in progress.
AFTER_INGEST = (
    dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("after any upstream update")


def _gallery(rows: list[dict], home) -> dg.MetadataValue:  # noqa: ANN001
    from c2c_assets.reporting.quality_gallery import groups_markdown

    return dg.MetadataValue.md(groups_markdown(rows, home))


def _report(home, rows: int, stats: dict, **extra: dg.MetadataValue) -> dg.MaterializeResult:  # noqa: ANN001
    """What every quality asset does after its step: refresh the views, report the counts (``mode``: whether the
    step updated its table or rebuilt it, and why) and any gallery."""
    catalog.refresh(home, VIEWS)
    metadata = {k: dg.MetadataValue.json(v) if isinstance(v, dict) else v for k, v in stats.items()}
    return dg.MaterializeResult(metadata={"dagster/row_count": rows, **metadata, **extra})


@dg.asset(
    deps=["post_images"],
    group_name=GROUP, kinds={"pillow", "parquet"}, owners=[OWNER],
    automation_condition=AFTER_INGEST,
    description="Perceptual hashes (imagehash pHash and dHash, 256 bits each) and measurements (sharpness as the "
    "variance of the Laplacian, mean grey level, entropy, size) of every stored photo, computed once per sha256: a "
    "new day hashes only its new photos. A photo that cannot be read is a row with status `unhashable` and the "
    "reason. DuckDB view `photo_hashes`.",
)
def photo_hashes(context: dg.AssetExecutionContext, c2c: C2cResource) -> dg.MaterializeResult:

    from c2c_assets.quality.pipeline import update_photo_hashes

    home = c2c.paths()
    stats = update_photo_hashes(home)
    return _report(home, stats["photos"], stats)


@dg.asset(
    deps=[photo_hashes, "posts"],
    group_name=GROUP, kinds={"faiss", "scipy", "parquet"}, owners=[OWNER],
    automation_condition=AFTER_INGEST,
    description="Near-duplicate groups of every hashed photo: pHash and dHash together at most 90 of 512 "
    "bits apart (FAISS binary k-NN) and colour layouts alike, connected components; exact copies share a sha256. A group used by 3 or more "
    "current listings of different items (texts not near-duplicates, MinHash) is a stock photo. A new day searches only its new "
    "photos against the stored index and merges the groups they reach (metadata `mode`). View `photo_groups`.",
)
def photo_groups(context: dg.AssetExecutionContext, c2c: C2cResource) -> dg.MaterializeResult:

    from c2c_assets.quality.pipeline import build_photo_groups
    from c2c_assets.reporting.quality_gallery import largest_photo_groups

    home = c2c.paths()
    table, stats = build_photo_groups(home)
    return _report(home, table.num_rows, stats, largest_groups=_gallery(largest_photo_groups(home, table, 8), home))


@dg.asset_check(asset=photo_groups, blocking=True, description="Every stored photo of a current post is in exactly one group.")
def each_photo_in_one_group(c2c: C2cResource) -> dg.AssetCheckResult:

    from c2c_assets.quality.checks import photos_in_one_group

    missing, repeated = photos_in_one_group(c2c.paths())
    return dg.AssetCheckResult(
        passed=not missing and not repeated,
        metadata={"photos_without_group": len(missing), "photos_in_several_groups": len(repeated),
                  "examples": dg.MetadataValue.json((missing + repeated)[:10])},
    )


@dg.asset(
    deps=[photo_groups, "posts"],
    group_name=GROUP, kinds={"parquet", "duckdb"}, owners=[OWNER],
    automation_condition=AFTER_INGEST,
    description="Every flag of every current post with its score (`c2c_assets.quality.thresholds` documents each "
    "rule): photos blurry, dark, bright, low-entropy, tiny, odd aspect, unhashable (the worst photo's value); stock "
    "photo; text empty, boilerplate only, a phone number only; placeholder price ($0-$1, 123456...). A new day recomputes "
    "only new and changed posts and those whose photo groups changed (metadata `mode`). View `post_flags`.",
)
def post_flags(context: dg.AssetExecutionContext, c2c: C2cResource) -> dg.MaterializeResult:

    from c2c_assets.quality.pipeline import build_post_flags

    home = c2c.paths()
    table, stats = build_post_flags(home)
    return _report(home, table.num_rows, stats)


@dg.asset(
    partitions_def=encoders,
    deps=[dg.AssetDep(post_embeddings, partition_mapping=all_dates_of_encoder)],
    group_name=GROUP, kinds={"faiss", "parquet"}, owners=[OWNER],
    automation_condition=dg.AutomationCondition.eager(),
    description="The 10 nearest current posts of every current post by the encoder's post vectors (FAISS: exact "
    "to 20K posts, IVF-PQ fast-scan re-ranked on SQ8 beyond, `c2c_assets.quality.post_knn`): the one k-NN table repost "
    "groups and scores share. The index is kept: a new day searches only its new and changed posts (metadata `mode`).",
)
def post_neighbours(context: dg.AssetExecutionContext, c2c: C2cResource) -> dg.MaterializeResult:

    from c2c_assets.quality.encoder_pipeline import build_post_neighbours

    home = c2c.paths()
    stats = build_post_neighbours(home, context.partition_key)
    return _report(home, stats["posts"], stats)


@dg.asset(
    partitions_def=encoders,
    deps=[post_neighbours, photo_groups],
    group_name=GROUP, kinds={"parquet", "duckdb"}, owners=[OWNER],
    automation_condition=dg.AutomationCondition.eager(),
    description="Listings that are the same item, on one site (re-listed under a new id) or across sites: "
    "connected components over pairs that share a near-duplicate photo that is not a stock photo, or whose post "
    "vectors are near (cosine >= 0.9) and texts near-duplicates (MinHash Jaccard >= 0.5), with prices within 15%. "
    "A new day re-evaluates only the edges its new or changed posts, moved k-NN lists and changed photo groups touch (metadata `mode`). "
    "View `repost_groups`, one row per (group_id, post_id, encoder).",
)
def repost_groups(context: dg.AssetExecutionContext, c2c: C2cResource) -> dg.MaterializeResult:

    from c2c_assets.quality.encoder_pipeline import build_repost_groups
    from c2c_assets.reporting.quality_gallery import largest_repost_groups

    home = c2c.paths()
    table, stats = build_repost_groups(home, context.partition_key)
    return _report(home, table.num_rows, stats, largest_groups=_gallery(largest_repost_groups(home, table, 8), home))


@dg.asset_check(asset=repost_groups, blocking=True, description="A post is in at most one repost group, and every group has two or more posts.")
def one_repost_group_per_post(context: dg.AssetCheckExecutionContext, c2c: C2cResource) -> dg.AssetCheckResult:

    from c2c_assets.quality.checks import repost_invariants

    repeated, singletons = repost_invariants(c2c.paths(), context.partition_key)
    return dg.AssetCheckResult(
        passed=not repeated and not singletons,
        metadata={"posts_in_several_groups": len(repeated), "groups_of_one": len(singletons)},
    )


@dg.asset(
    partitions_def=encoders,
    deps=[post_neighbours, "clusters"],
    group_name=GROUP, kinds={"faiss", "parquet"}, owners=[OWNER],
    automation_condition=dg.AutomationCondition.eager(),
    description="Per post and encoder, FiftyOne Brain's definitions: uniqueness (the 3 nearest neighbours' "
    "distances weighted 0.6/0.3/0.1, normalised), representativeness (1 - distance to the cluster centre over the "
    "cluster's largest), outlier score (mean 10-NN distance; outlier above the 99th percentile). A post without "
    "a vector has nulls and the reason. View `post_scores`.",
)
def post_scores(context: dg.AssetExecutionContext, c2c: C2cResource) -> dg.MaterializeResult:

    from c2c_assets.quality.encoder_pipeline import build_post_scores

    home = c2c.paths()
    table, stats = build_post_scores(home, context.partition_key)
    return _report(home, table.num_rows, stats)


@dg.asset_check(asset=post_scores, blocking=True, description="One row per current post: scores, or nulls with a reason.")
def scores_for_every_post(context: dg.AssetCheckExecutionContext, c2c: C2cResource) -> dg.AssetCheckResult:

    from c2c_assets.quality.checks import scores_cover_posts

    missing, unexplained = scores_cover_posts(c2c.paths(), context.partition_key)
    return dg.AssetCheckResult(
        passed=not missing and not unexplained,
        metadata={"posts_without_row": len(missing), "null_scores_without_reason": len(unexplained)},
    )


quality_job = dg.define_asset_job(
    "quality_job",
    selection=dg.AssetSelection.assets(photo_hashes, photo_groups, post_flags),
    description="Photo hashes, photo groups and post flags over every current post.",
)
