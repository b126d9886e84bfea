"""The quality group's real Dagster runs over an ingested, embedded sample, as the day-by-day tests use them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from c2c_assets.home import C2cHome
from c2c_assets.runner import materialize
from c2c_assets.sample import generate_sample
from c2c_assets_tests.fixtures import embed, ingest

DAYS = ["2024-03-01", "2024-03-02", "2024-03-03"]


def sample_lake(root: Path) -> tuple[Path, C2cHome]:
    """(inbox, home): a 120-post sample inbox and an empty home under ``root``."""
    inbox, home = root / "inbox", C2cHome(root / "home").ensure()
    generate_sample(inbox, n_posts=120)
    return inbox, home


def add_days(home: C2cHome, inbox: Path, instance: Any, days: list[str]) -> None:
    """Ingest each day of the inbox and embed it with the default encoder."""
    for day in days:
        ingest(home, inbox, instance, day)
        embed(home, instance, "default", day)


def run_group(home: C2cHome, instance: Any, *, scores: bool = False) -> dict[str, Any]:
    """The group's assets and checks (``post_scores`` too with ``scores``); every asset's metadata by name."""
    from c2c_assets.defs.quality import assets as q

    every = materialize(home, [q.photo_hashes, q.photo_groups, q.each_photo_in_one_group, q.post_flags], instance=instance)
    assert every.success, every.failure
    per_encoder = [q.post_neighbours, q.repost_groups, q.one_repost_group_per_post, *([q.post_scores] if scores else [])]
    encoded = materialize(home, per_encoder, partition_key="default", instance=instance)
    assert encoded.success, encoded.failure
    return {**every.metadata, **encoded.metadata}
