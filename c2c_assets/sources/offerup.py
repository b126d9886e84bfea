"""OfferUp dumps: ``listingId``, numeric or string ``price``, epoch-ms ``postDate``, ``photos`` objects."""

from __future__ import annotations

from typing import Any

from c2c_assets.sources.base import (
    INVALID_ID,
    WRONG_TYPE,
    ParsedPost,
    QuarantineError,
    clean_field,
    date_field,
    field_of,
    price_fields,
)
from c2c_assets.text import DESCRIPTION_MAX_CHARS, LOCATION_MAX_CHARS, TITLE_MAX_CHARS


def _photo_ref(photo: object) -> object:
    """A photo's reference: its local file when the scraper saved one, else its URL.

    An entry that is not an object is passed on as is, so the image check records it as a bad reference.
    """
    if not isinstance(photo, dict):
        return photo
    return photo.get("localPath") or photo.get("url")


class OfferUp:
    name = "offerup"

    def parse(self, record: dict[str, Any]) -> ParsedPost:
        listing_id = field_of(record, "listingId", str, required=True).strip()
        if not listing_id or len(listing_id) > 64:
            raise QuarantineError(INVALID_ID, f"listingId should be a short non-empty string, got {listing_id[:40]!r}")
        flags: list[str] = []
        photos = field_of(record, "photos", list) or []
        price_usd, price_raw = price_fields(field_of(record, "price", str, int, float), flags)
        post_date = field_of(record, "postDate", int, float, str)
        condition = field_of(record, "condition", str)
        category = field_of(record, "categoryName", str)
        if isinstance(post_date, float) and not post_date.is_integer():
            raise QuarantineError(WRONG_TYPE, "field 'postDate' should be integer epoch milliseconds or ISO string")
        return ParsedPost(
            source=self.name,
            source_id=listing_id,
            url=f"https://offerup.com/item/detail/{listing_id}",
            title=clean_field(field_of(record, "title", str), flags, "title", TITLE_MAX_CHARS),
            description=clean_field(field_of(record, "description", str), flags, "description", DESCRIPTION_MAX_CHARS),
            price_usd=price_usd,
            price_raw=price_raw,
            location=clean_field(field_of(record, "locationName", str), flags, "location", LOCATION_MAX_CHARS) or None,
            posted_at=date_field(post_date, flags),
            condition=(condition.strip().lower() or None) if condition else None,
            category=clean_field(category, flags, "category", 200) or None,
            attributes={},
            image_refs=[_photo_ref(photo) for photo in photos],
            flags=flags,
        )


SOURCE = OfferUp()
