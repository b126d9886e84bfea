"""The repost grouping pricing excludes: post_id -> group id of the quality domain's ``repost_groups``
where that asset was materialized, else None (a post's comparables then exclude only the post itself,
and category splits use ``categories.listing_key``).

Not an asset dependency on purpose: ``eager()`` waits for missing parents, and pricing must run for an
encoder whose quality group never ran."""

from __future__ import annotations

from c2c_assets.home import C2cHome


def repost_groups(home: C2cHome, encoder: str) -> dict[str, str] | None:
    from c2c_assets.quality.encoder_pipeline import repost_group_of

    return repost_group_of(home, encoder) or None
