"""The quality tables as lists of plain dicts: what ``c2c dupes / reposts / flags`` print (``--json``)."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from c2c_assets.home import C2cHome
from c2c_assets.quality.lake_io import current_photos_sql, fetch, read, table_file
from c2c_assets.warehouse import lake_relation


class NotMaterialized(LookupError):
    """A quality table the command needs does not exist yet."""


def _need(home: C2cHome, asset: str, encoder: str | None = None) -> None:
    if not table_file(home, asset, encoder).exists():
        what = asset if encoder is None else f"{asset} for encoder {encoder!r}"
        raise NotMaterialized(f"{what} is not materialized yet: run `c2c quality{'' if encoder is None else f' -e {encoder}'}` first")


def photo_duplicate_groups(home: C2cHome) -> list[dict[str, Any]]:
    """Photo groups of two or more photos or listings, most listings first:
    ``{"group_id", "sha256s", "post_ids", "stock"}``."""
    _need(home, "photo_groups")
    groups = read(home, "photo_groups")
    photos = fetch(home, f"SELECT sha256, post_id FROM ({current_photos_sql(home)})").to_pylist()
    posts_of: dict[str, set[str]] = defaultdict(set)
    for row in photos:
        posts_of[row["sha256"]].add(row["post_id"])
    shas: dict[str, list[str]] = defaultdict(list)
    stock: dict[str, bool] = {}
    for row in groups.select(["group_id", "sha256", "stock"]).to_pylist():
        shas[row["group_id"]].append(row["sha256"])
        stock[row["group_id"]] = row["stock"]
    out = []
    for gid, members in shas.items():
        post_ids = sorted({p for s in members for p in posts_of.get(s, ())})
        if len(members) > 1 or len(post_ids) > 1:
            out.append({"group_id": gid, "sha256s": sorted(members), "post_ids": post_ids, "stock": bool(stock[gid])})
    return sorted(out, key=lambda g: (-len(g["post_ids"]), -len(g["sha256s"]), g["group_id"]))


def repost_group_list(home: C2cHome, encoder: str, *, across_sites: bool = False) -> list[dict[str, Any]]:
    """Repost groups, largest first: ``{"group_id", "post_ids", "sites", "first_seen", "last_seen"}``."""
    _need(home, "repost_groups", encoder)
    rows = read(home, "repost_groups", encoder).to_pylist()
    members: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        members[row["group_id"]].append(row)
    out = []
    for gid, group in members.items():
        sites = sorted({r["source"] for r in group})
        if len(group) < 2 or (across_sites and len(sites) < 2):
            continue
        out.append({
            "group_id": gid, "post_ids": sorted(r["post_id"] for r in group), "sites": sites,
            "first_seen": min(r["first_seen"] for r in group).isoformat(), "last_seen": max(r["last_seen"] for r in group).isoformat(),
        })
    return sorted(out, key=lambda g: (-len(g["post_ids"]), g["first_seen"], g["group_id"]))


def prices_over_time(home: C2cHome, post_ids: list[str]) -> dict[str, list[tuple[str, float | None]]]:
    """post_id -> (scrape date, price) of every scrape of the listing, oldest first."""
    relation = lake_relation(home, "posts")
    if relation is None or not post_ids:
        return {}
    import pyarrow as pa

    from c2c_assets.warehouse import scratch

    with scratch(home) as db:
        db.register("wanted_posts", pa.table({"post_id": post_ids}))
        rows = db.execute(f"SELECT post_id, CAST(scrape_date AS VARCHAR), price_usd FROM {relation} SEMI JOIN wanted_posts USING (post_id) ORDER BY post_id, scrape_date").fetchall()
    out: dict[str, list] = defaultdict(list)
    for post_id, day, price in rows:
        out[post_id].append((day, price))
    return dict(out)


def flagged_posts(home: C2cHome, flag: str | None = None) -> list[dict[str, Any]]:
    """Flagged posts: ``{"post_id", "flags": [...]}`` (and ``scores``: flag -> score), by post id."""
    _need(home, "post_flags")
    rows = read(home, "post_flags").to_pylist()
    flags: dict[str, dict[str, float]] = defaultdict(dict)
    for row in rows:
        flags[row["post_id"]][row["flag"]] = row["score"]
    return [
        {"post_id": pid, "flags": sorted(found), "scores": {f: found[f] for f in sorted(found)}}
        for pid, found in sorted(flags.items())
        if flag is None or flag in found
    ]


def flagged_post_ids(home: C2cHome) -> set[str]:
    table = read(home, "post_flags", columns=["post_id"])
    return set() if table is None else set(table.column("post_id").to_pylist())


def cluster_quality_shares(home: C2cHome, encoder: str, cluster_of: dict[str, int]) -> dict[int, dict[str, float]]:
    """Per cluster, the share of its posts that are in a repost group, use a stock photo, carry any flag;
    empty when neither repost_groups nor post_flags is materialized (the report then leaves them out)."""
    reposts = read(home, "repost_groups", encoder, ["post_id"])
    flags = read(home, "post_flags", columns=["post_id", "flag"])
    if reposts is None and flags is None:
        return {}
    reposted = set() if reposts is None else set(reposts.column("post_id").to_pylist())
    flagged, stock = set(), set()
    if flags is not None:
        for pid, flag in zip(flags.column("post_id").to_pylist(), flags.column("flag").to_pylist(), strict=True):
            flagged.add(pid)
            if flag == "stock_photo":
                stock.add(pid)
    members: dict[int, list[str]] = defaultdict(list)
    for pid, cluster in cluster_of.items():
        members[cluster].append(pid)
    return {
        cluster: {
            "reposts": sum(p in reposted for p in pids) / len(pids),
            "stock_photos": sum(p in stock for p in pids) / len(pids),
            "flagged": sum(p in flagged for p in pids) / len(pids),
        }
        for cluster, pids in members.items()
    }
