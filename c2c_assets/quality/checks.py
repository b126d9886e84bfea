"""The invariants the quality assets' checks assert, as plain functions."""

from __future__ import annotations

from collections import Counter

from c2c_assets.home import C2cHome
from c2c_assets.quality.lake_io import current_photos_sql, current_posts, fetch, read


def photos_in_one_group(home: C2cHome) -> tuple[list[str], list[str]]:
    """(photos of current posts with no group, photos in more than one group)."""
    groups = read(home, "photo_groups", columns=["sha256"])
    sql = current_photos_sql(home)
    wanted = set() if sql is None else set(fetch(home, f"SELECT DISTINCT sha256 FROM ({sql})").column(0).to_pylist())
    counts = Counter([] if groups is None else groups.column("sha256").to_pylist())
    return sorted(wanted - set(counts)), sorted(sha for sha, n in counts.items() if n > 1)


def repost_invariants(home: C2cHome, encoder: str) -> tuple[list[str], list[str]]:
    """(posts in several groups, groups with fewer than two posts)."""
    table = read(home, "repost_groups", encoder, ["group_id", "post_id"])
    if table is None:
        return [], []
    posts = Counter(table.column("post_id").to_pylist())
    groups = Counter(table.column("group_id").to_pylist())
    return sorted(p for p, n in posts.items() if n > 1), sorted(g for g, n in groups.items() if n < 2)


def scores_cover_posts(home: C2cHome, encoder: str) -> tuple[list[str], list[str]]:
    """(current posts without a score row, rows with a null uniqueness and no reason)."""
    table = read(home, "post_scores", encoder)
    posts = set(current_posts(home, "post_id").column(0).to_pylist())
    if table is None:
        return sorted(posts), []
    have = set(table.column("post_id").to_pylist())
    unexplained = [r["post_id"] for r in table.select(["post_id", "uniqueness", "reason"]).to_pylist() if r["uniqueness"] is None and not r["reason"]]
    return sorted(posts - have), unexplained
