"""A self-contained HTML gallery of search hits (thumbnails inlined, so the file can be moved)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from c2c_assets.reporting.formatting import thumb_b64
from c2c_assets.reporting.render import write_page

if TYPE_CHECKING:
    from c2c_assets.home import C2cHome
    from c2c_assets.search.service import Hit

__all__ = ["GALLERY_THUMB_PX", "write_gallery"]

GALLERY_THUMB_PX = 400  # cards show 200 x 150 CSS px: sharp on a 2x screen, a few dozen KB each


def _price(price: float | None) -> str:
    return "" if price is None or not math.isfinite(price) else f"${price:,.0f}"


def write_gallery(path: Path, home: C2cHome, hits: Sequence[Hit], title: str) -> Path:
    """One page with a card per hit: the thumbnail (re-encoded as a JPEG and inlined), the title
    (a link only when :func:`~c2c_assets.reporting.render.safe_url` accepts the URL), price, source
    and score. Written atomically; no scripts, no network."""
    cards = []
    for hit in hits:
        thumb = None
        if hit.thumb_path:
            try:
                thumb = thumb_b64(home.stored_image(hit.thumb_path), GALLERY_THUMB_PX, quality=80)
            except ValueError:  # not a stored photo path: show the hit without its picture
                thumb = None
        cards.append(
            {
                "post_id": hit.post_id,
                "title": hit.title,
                "url": hit.url,
                "thumb": thumb,
                "price": _price(hit.price_usd),
                "source": hit.source,
                "score": f"{hit.score:.3f}",
                "text_predicted": hit.text_predicted,
            }
        )
    return write_page(path, "gallery.html.j2", title=title, hits=cards)
