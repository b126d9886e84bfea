"""What is it worth: an estimate for any query (text, photo, or an existing post) from its nearest
current posts with a usable price, through the encoder's published FAISS index.

The query vector and the side it searches come from ``search.service.Searcher.query_vector`` (text goes to
the text side for separate towers, cross-modally to the image side for shared spaces; ``like`` to the
post side). With fewer than ``min_comparables`` comparables there is no estimate, and ``reason`` says
why: a number made from one or two posts would look like knowledge it is not.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from c2c_assets.home import C2cHome
from c2c_assets.pricing.groups import repost_groups
from c2c_assets.pricing.settings import PricingSettings
from c2c_assets.prices import is_usable
from c2c_assets.search.service import Searcher, SearchError
from c2c_assets.warehouse import connect

__all__ = ["Comparable", "Estimate", "SearchError", "estimate_price"]

_CANDIDATES = pa.schema([("post_id", pa.string()), ("content_hash", pa.string()), ("score", pa.float64())])
# Candidates whose post is still current with the content the index saw (a changed post is stale), best first.
_POSTS_SQL = """
    SELECT p.post_id, p.title, p.price_usd, p.source, p.scrape_date, p.url, t.thumb_path, c.score
    FROM candidates c JOIN posts p ON p.post_id = c.post_id AND p.content_hash = c.content_hash
    LEFT JOIN post_thumbnails t ON t.post_id = p.post_id
    ORDER BY c.score DESC, p.post_id
"""


@dataclass(frozen=True)
class Comparable:
    post_id: str
    title: str
    price_usd: float
    source: str
    scrape_date: dt.date | None
    similarity: float
    url: str | None = None
    thumb_path: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "post_id": self.post_id, "title": self.title, "price_usd": self.price_usd, "source": self.source,
            "scrape_date": self.scrape_date.isoformat() if self.scrape_date else None, "similarity": round(self.similarity, 6),
        }


@dataclass(frozen=True)
class Estimate:
    estimate: float | None
    p10: float | None
    p90: float | None
    n: int
    comparables: list[Comparable] = field(default_factory=list)
    reason: str | None = None
    encoder: str = ""
    side: str = ""

    def as_dict(self) -> dict[str, Any]:
        """The interface ``c2c price --json`` prints."""
        return {
            "estimate": self.estimate, "p10": self.p10, "p90": self.p90, "n": self.n,
            "comparables": [c.as_dict() for c in self.comparables], "reason": self.reason,
        }


def summarise(prices: list[float], min_comparables: int) -> tuple[float | None, float | None, float | None, str | None]:
    """(median, p10, p90, reason): the same statistics as the ``price_comparables`` asset."""
    if len(prices) < min_comparables:
        found = "no comparable post" if not prices else f"only {len(prices)} comparable post{'s' if len(prices) > 1 else ''}"
        return None, None, None, f"{found} with a usable price (an estimate needs at least {min_comparables})"
    p10, median, p90 = np.quantile(np.asarray(prices, dtype=np.float64), [0.1, 0.5, 0.9]).tolist()
    return float(median), float(p10), float(p90), None


def _current(home: C2cHome, candidates: list[tuple[str, str, float]]) -> list[tuple]:
    table = pa.Table.from_pylist([dict(zip(_CANDIDATES.names, c, strict=True)) for c in candidates], schema=_CANDIDATES)  # noqa: F841
    with connect(home, read_only=True) as db:
        db.register("candidates", table)
        return db.execute(_POSTS_SQL).fetchall()


def estimate_price(home: C2cHome, encoder: str, *, text: str | None = None, image: Path | None = None,
                   like: str | None = None, settings: PricingSettings | None = None,
                   groups: Mapping[str, str] | None = None, searcher: Searcher | None = None) -> Estimate:
    """The estimate, range and comparables for one query; raises ``SearchError`` for a query that cannot be
    asked (unknown encoder or post, an encoder without the side the query needs, no index)."""
    settings = settings or PricingSettings()
    searcher = searcher or Searcher(home)
    if like and groups is None:
        groups = repost_groups(home, encoder)  # the asset's own exclusion, where the grouping was materialized
    side, vector = searcher.query_vector(encoder, text=text, image=image, like=like)
    loaded = searcher.index(encoder, side)
    total = loaded.index.ntotal
    excluded = {like} if like else set()
    if like and groups and like in groups:
        excluded |= {post_id for post_id, group in groups.items() if group == groups[like]}
    wanted = min(total, settings.k * 4 + len(excluded))
    while True:
        scores, positions = loaded.search(vector, wanted)
        found = [(int(p), float(s)) for p, s in zip(positions[0], scores[0], strict=True) if p >= 0]
        rows = loaded.rows([p for p, _ in found])
        candidates = [(post_id, content_hash, score) for (post_id, content_hash, _), (_, score) in zip(rows, found, strict=True)
                      if post_id not in excluded]
        posts = [r for r in _current(home, candidates) if is_usable(r[2])] if candidates else []
        if len(posts) >= settings.k or wanted >= total:
            break
        wanted = min(total, wanted * 4)
    comparables = [Comparable(r[0], r[1] or "", float(r[2]), r[3], r[4], float(r[7]), r[5], r[6]) for r in posts[: settings.k]]
    median, p10, p90, reason = summarise([c.price_usd for c in comparables], settings.min_comparables)
    return Estimate(median, p10, p90, len(comparables), comparables, reason, encoder, side)
