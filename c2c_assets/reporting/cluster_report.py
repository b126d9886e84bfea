"""The cluster report: one self-contained HTML page, and compact Markdown for the Dagster UI."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from c2c_assets.reporting.formatting import (
    cluster_name,
    fmt_number,
    fmt_price,
    fmt_share,
    is_number,
    md_link,
    md_text,
    thumb_b64,
)
from c2c_assets.reporting.map_png import cluster_colours
from c2c_assets.reporting.prices import PriceStrip
from c2c_assets.reporting.render import write_page
from c2c_assets.storage import Location

__all__ = ["ClusterCard", "NearestPost", "cluster_report_markdown", "write_cluster_report_html"]


@dataclass(frozen=True)
class NearestPost:
    """One post close to its cluster's centroid, as a report shows it."""

    post_id: str
    title: str
    price_usd: float | None
    url: str | None
    thumbnail: Location | None  # a stored JPEG; None when the post has no image
    distance: float  # to the centroid, in the clustering space
    attributes: str = ""  # what post_attributes read from its text, on one line (``attributes.extract.describe``)


@dataclass(frozen=True)
class ClusterCard:
    """What a report shows about one cluster."""

    cluster_id: int
    size: int
    multi_image_share: float  # share of the cluster's posts with 2+ images, 0..1 (NaN: unknown)
    top_terms: list[str] = field(default_factory=list)
    nearest: list[NearestPost] = field(default_factory=list)  # closest to the centroid first
    # Share of the cluster's posts in a repost group / using a stock photo / flagged (quality group); None: not computed.
    quality: dict[str, float] | None = None
    prices: PriceStrip | None = None  # the cluster's usable prices (reporting.prices), where known
    explorer: str | None = None  # a link to the explorer filtered to this cluster (relative to the report)


def write_cluster_report_html(
    path: Location | str,
    *,
    encoder: str,
    cards: Sequence[ClusterCard],
    metrics: Mapping[str, float | int | str],
    method: str,
    thumb_px: int = 160,
) -> Path:
    """One self-contained HTML page: a metrics table, then a section per cluster.

    Each section shows the size, the share of multi-image posts, the top terms and a grid of
    the posts nearest the centroid (thumbnail re-encoded to at most ``thumb_px`` px and inlined,
    title as a link when :func:`~c2c_assets.reporting.render.safe_url` accepts the URL, price).
    The page has no scripts, and its policy forbids them.
    """
    total = sum(c.size for c in cards)
    colours = cluster_colours(c.cluster_id for c in cards)
    clusters = []
    for card in cards:
        cid = int(card.cluster_id)
        clusters.append(
            {
                "id": cid,
                "name": cluster_name(cid),
                "colour": colours[cid],
                "size": int(card.size),
                "share": fmt_share(card.size / total if total else float("nan")),
                "multi": fmt_share(card.multi_image_share),
                "terms": [str(t) for t in card.top_terms],
                "quality": None if card.quality is None else {k: fmt_share(v) for k, v in card.quality.items()},
                "prices": _price_context(card.prices),
                "explorer": card.explorer,
                "posts": [
                    {
                        "post_id": str(p.post_id),
                        "title": p.title or "(untitled)",
                        "url": p.url,
                        "thumb": thumb_b64(p.thumbnail, thumb_px),
                        "price": fmt_price(p.price_usd),
                        "distance": fmt_number(p.distance),
                        "attributes": p.attributes,
                    }
                    for p in card.nearest
                ],
            }
        )
    rows = [{"key": str(k), "value": fmt_number(v), "numeric": is_number(v)} for k, v in metrics.items()]
    return write_page(
        path, "cluster_report.html.j2", encoder=encoder, method=method, total=total, clusters=clusters, metrics=rows
    )


def _price_context(strip: PriceStrip | None) -> dict | None:
    if strip is None:
        return None
    return {
        "n": strip.n, "median": fmt_price(strip.median), "p10": fmt_price(strip.p10), "p90": fmt_price(strip.p90),
        "flagged": fmt_share(strip.flagged_share) if strip.flagged_share is not None else None,
        "dots": strip.dots, "box": strip.box, "lo": fmt_price(strip.lo), "hi": fmt_price(strip.hi),
    }


def _md_prices(strip: PriceStrip | None) -> str | None:
    if strip is None:
        return None
    if not strip.n:
        return "Prices: none usable"
    flagged = f" · {fmt_share(strip.flagged_share)} flagged" if strip.flagged_share is not None else ""
    return (f"Prices: median {fmt_price(strip.median)}, 10th-90th percentile {fmt_price(strip.p10)} – {fmt_price(strip.p90)}"
            f" ({strip.n:,} priced){flagged}")


def _md_metrics_table(metrics: Mapping[str, float | int | str]) -> str:
    if not metrics:
        return ""
    lines = ["| metric | value |", "|---|---:|"]
    lines += [f"| {md_text(k)} | {md_text(fmt_number(v))} |" for k, v in metrics.items()]
    return "\n".join(lines)


def cluster_report_markdown(
    cards: Sequence[ClusterCard],
    metrics: Mapping[str, float | int | str],
    max_thumb_px: int = 64,
    *,
    max_posts: int = 3,
) -> str:
    """The cluster report as compact Markdown for ``dg.MetadataValue.md``.

    At most ``max_posts`` posts per cluster, each with one thumbnail re-encoded to at most
    ``max_thumb_px`` px (about 1-2 KB of base64), so the metadata stays around
    ``clusters x max_posts x 2 KB``. Scraped text is escaped (:func:`md_text`) and only URLs
    that :func:`~c2c_assets.reporting.render.safe_url` accepts become links.

    Thumbnails use Markdown image syntax ``![](data:image/jpeg;base64,...)``, shown at their
    pixel size: Dagster's UI (checked on 1.13.27) drops raw HTML such as ``<img ... width=48>``
    without a trace, while Markdown images with data: URIs render.
    """
    total = sum(c.size for c in cards)
    parts: list[str] = []
    table = _md_metrics_table(metrics)
    if table:
        parts += ["**Metrics**", "", table, ""]
    for card in cards:
        share_of_all = card.size / total if total else float("nan")
        parts.append(
            f"### {md_text(cluster_name(card.cluster_id).capitalize())} · {card.size:,} posts"
            f" ({md_text(fmt_share(share_of_all))}) · {md_text(fmt_share(card.multi_image_share))} multi-image"
            + ("" if card.quality is None else " · " + " · ".join(f"{md_text(fmt_share(v))} {k.replace('_', ' ')}" for k, v in card.quality.items()))
        )
        parts.append("")
        if card.top_terms:
            parts.append("Top terms: " + ", ".join(md_text(t) for t in card.top_terms))
            parts.append("")
        prices = _md_prices(card.prices)
        if prices:
            parts += [md_text(prices), ""]
        for post in card.nearest[: max(0, max_posts)]:
            b64 = thumb_b64(post.thumbnail, max_thumb_px, quality=70)
            img = f"![thumbnail](data:image/jpeg;base64,{b64}) " if b64 else ""
            label = md_link(post.title or "(untitled)", post.url)
            parts.append(f"- {img}{label} · {md_text(fmt_price(post.price_usd))}")
        parts.append("")
    return "\n".join(parts).rstrip() + "\n"
