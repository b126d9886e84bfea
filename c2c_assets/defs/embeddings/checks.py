"""Checks on every embedding partition: one finite unit vector of the declared width per current post.

A run over a range of partitions (a backfill's dates x one encoder) gets one evaluation per partition."""

from collections.abc import Iterator
from datetime import date
from typing import Any

import dagster as dg

from c2c_assets.defs.embeddings.assets import post_embeddings
from c2c_assets.defs.embeddings.partitions import date_encoder
from c2c_assets.defs.partitioned_checks import Verdict, partitioned_asset_check, per_partition
from c2c_assets.defs.resources import C2cResource
from c2c_assets.embeddings.checks import check_partition, expected_post_ids
from c2c_assets.encoders import create_encoder


@partitioned_asset_check(
    asset=post_embeddings,
    partitions_def=date_encoder,
    blocking=True,
    description="Exactly one vector per post of the date that the encoder can embed (photo-only encoders: posts "
    "with a photo); all finite, unit norm, of the encoder's declared width.",
)
def vectors_valid(context: dg.AssetCheckExecutionContext, c2c: C2cResource) -> Iterator[dg.AssetCheckEvaluation | dg.Output]:

    home = c2c.paths()
    encoders: dict[str, Any] = {}

    def verdict(key: str) -> Verdict:
        keys = date_encoder.get_partition_key_from_str(key).keys_by_dimension
        if keys["encoder"] not in encoders:
            encoders[keys["encoder"]] = create_encoder(keys["encoder"], home=home.root)
        encoder = encoders[keys["encoder"]]
        scrape_date = date.fromisoformat(keys["date"])
        problems = check_partition(home, scrape_date, encoder.name, encoder.width, expected_post_ids(home, scrape_date, encoder.modalities))
        return problems.ok, {
            "rows": problems.rows,
            "expected": problems.expected,
            "missing": dg.MetadataValue.json(problems.missing),
            "extra": dg.MetadataValue.json(problems.extra),
            "duplicates": dg.MetadataValue.json(problems.duplicates),
            "wrong_width": problems.wrong_width,
            "non_finite": problems.non_finite,
            "not_unit_norm": problems.not_unit,
        }

    yield from per_partition(context, post_embeddings.key, "vectors_valid", verdict)
