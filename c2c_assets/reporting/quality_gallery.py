"""Galleries of photo groups and repost groups: Markdown with small thumbnails for the Dagster UI, and a
self-contained HTML page (``c2c dupes/reposts/flags --html``; thumbnails inlined, links through safe_url)."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from c2c_assets.reporting.formatting import fmt_price, md_text, thumb_b64
from c2c_assets.reporting.render import write_page

if TYPE_CHECKING:
    import pyarrow as pa

    from c2c_assets.home import C2cHome

MD_THUMB_PX = 48
HTML_THUMB_PX = 200
MAX_MEMBERS = 8  # cards shown per group


def _thumb(home: C2cHome, relative: str | None, px: int) -> str | None:
    if not relative:
        return None
    try:
        return thumb_b64(home.stored_image(relative), px, quality=75)
    except ValueError:
        return None


def largest_photo_groups(home: C2cHome, table: pa.Table, n: int) -> list[dict[str, Any]]:
    """The ``n`` photo groups used by the most listings (then the most photos), as gallery groups."""
    from c2c_assets.quality.lake_io import photo_thumbs

    import pyarrow.compute as pc

    # Only groups with copies or several listings can be shown: filtered in Arrow (a million single photos otherwise).
    table = table.filter(pc.or_(pc.greater(table.column("group_posts"), 1), pc.greater(table.column("group_photos"), 1)))
    shas: dict[str, list[str]] = defaultdict(list)
    info: dict[str, tuple[int, int, bool]] = {}
    for row in table.select(["group_id", "sha256", "group_photos", "group_posts", "stock"]).to_pylist():
        shas[row["group_id"]].append(row["sha256"])
        info[row["group_id"]] = (row["group_posts"], row["group_photos"], row["stock"])
    chosen = sorted((g for g, (posts, photos, _) in info.items() if posts > 1 or photos > 1), key=lambda g: (-info[g][0], -info[g][1], g))[:n]
    thumbs = photo_thumbs(home, [s for g in chosen for s in shas[g][:MAX_MEMBERS]])
    return [
        {
            "group_id": g,
            "caption": f"{info[g][0]} listings, {info[g][1]} photos" + (" · stock photo" if info[g][2] else ""),
            "members": [{"label": s[:12], "thumb_path": thumbs.get(s), "url": None, "detail": ""} for s in shas[g][:MAX_MEMBERS]],
        }
        for g in chosen
    ]


def largest_repost_groups(home: C2cHome, table: pa.Table, n: int) -> list[dict[str, Any]]:
    """The ``n`` largest repost groups (then the most sites), as gallery groups."""
    from c2c_assets.quality.lake_io import post_cards

    members: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in table.to_pylist():
        members[row["group_id"]].append(row)
    chosen = sorted(members, key=lambda g: (-len(members[g]), -members[g][0]["group_sites"], g))[:n]
    cards = post_cards(home, [r["post_id"] for g in chosen for r in members[g][:MAX_MEMBERS]])
    groups = []
    for g in chosen:
        rows = members[g]
        sites = sorted({r["source"] for r in rows})
        groups.append({
            "group_id": g,
            "caption": f"{len(rows)} listings on {', '.join(sites)}, seen {min(r['first_seen'] for r in rows)} to {max(r['last_seen'] for r in rows)}",
            "members": [
                {
                    "label": (cards.get(r["post_id"], {}).get("title") or r["post_id"]),
                    "thumb_path": cards.get(r["post_id"], {}).get("thumb_path"),
                    "url": cards.get(r["post_id"], {}).get("url"),
                    "detail": f"{r['post_id']} · {fmt_price(r['price_usd'])} · {r['first_seen']}",
                }
                for r in rows[:MAX_MEMBERS]
            ],
        })
    return groups


def groups_markdown(groups: list[dict[str, Any]], home: C2cHome) -> str:
    """A few lines per group with 48 px thumbnails (small enough for asset metadata)."""
    if not groups:
        return "No groups of two or more."
    lines = []
    for group in groups:
        images = " ".join(
            f"![{md_text(m['label'])}](data:image/jpeg;base64,{b64})" for m in group["members"] if (b64 := _thumb(home, m["thumb_path"], MD_THUMB_PX))
        )
        lines.append(f"**{md_text(group['group_id'])}**: {md_text(group['caption'])}  \n{images}".rstrip())
    return "\n\n".join(lines)


def write_groups_html(path: Path, home: C2cHome, title: str, groups: list[dict[str, Any]]) -> Path:
    """One section per group, one card per member (thumbnail inlined; a link only where safe_url allows)."""
    sections = [
        {**group, "members": [{**m, "thumb": _thumb(home, m["thumb_path"], HTML_THUMB_PX)} for m in group["members"]]}
        for group in groups
    ]
    return write_page(path, "quality_gallery.html.j2", title=title, groups=sections)
