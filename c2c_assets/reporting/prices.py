"""Prices in the reports: a cluster's price strip plot (inline SVG, no scripts) and the ``c2c price`` page."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from c2c_assets.reporting.formatting import fmt_price, thumb_b64
from c2c_assets.reporting.render import write_page

if TYPE_CHECKING:
    from c2c_assets.home import C2cHome
    from c2c_assets.pricing.estimate import Estimate

__all__ = ["PriceStrip", "price_strip", "write_price_page"]

THUMB_PX = 400
_W, _H, _PAD = 260, 36, 8


@dataclass(frozen=True)
class PriceStrip:
    """A cluster's usable prices as the report draws them: summary and SVG geometry (log price axis)."""

    n: int
    median: float | None
    p10: float | None
    p90: float | None
    flagged_share: float | None  # share of the cluster's estimated prices flagged under/over; None: no comparables
    dots: list[tuple[float, float]]  # (x, y) in SVG units, one per price (jittered vertically, seeded)
    box: tuple[float, float, float] | None  # x of p10, median, p90
    lo: float | None  # the axis ends (USD)
    hi: float | None


def price_strip(prices: Sequence[float], flagged_share: float | None = None, seed: int = 0) -> PriceStrip:
    """A strip plot with a p10-p90 box of ``prices`` (usable prices only, as the caller filtered them)."""
    values = np.asarray([p for p in prices if p is not None and math.isfinite(p) and p > 0], dtype=np.float64)
    if not len(values):
        return PriceStrip(0, None, None, None, flagged_share, [], None, None, None)
    p10, median, p90 = np.quantile(values, [0.1, 0.5, 0.9]).tolist()
    lo, hi = float(values.min()), float(values.max())
    span = math.log(hi) - math.log(lo) or 1.0

    def x(price: float) -> float:
        return round(_PAD + (_W - 2 * _PAD) * (math.log(price) - math.log(lo)) / span, 1)

    jitter = np.random.default_rng(seed).uniform(_PAD, _H - _PAD, len(values))
    dots = [(x(float(v)), round(float(j), 1)) for v, j in zip(values, jitter, strict=True)]
    return PriceStrip(len(values), median, p10, p90, flagged_share, dots, (x(p10), x(median), x(p90)), lo, hi)


def write_price_page(path: Path, home: C2cHome, result: Estimate, title: str) -> Path:
    """The estimate, its range and the comparables with thumbnails, as one self-contained page."""
    cards = []
    for c in result.comparables:
        thumb = None
        if c.thumb_path:
            try:
                thumb = thumb_b64(home.stored_image(c.thumb_path), THUMB_PX, quality=80)
            except ValueError:
                thumb = None
        cards.append({
            "post_id": c.post_id, "title": c.title, "url": c.url, "thumb": thumb, "price": fmt_price(c.price_usd),
            "source": c.source, "date": c.scrape_date.isoformat() if c.scrape_date else "", "similarity": f"{c.similarity:.3f}",
        })
    return write_page(
        path, "price.html.j2", title=title, encoder=result.encoder, n=result.n, reason=result.reason,
        estimate=fmt_price(result.estimate) if result.estimate is not None else None,
        p10=fmt_price(result.p10), p90=fmt_price(result.p90), comparables=cards,
    )
