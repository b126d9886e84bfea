"""Craigslist dumps: ``pid``, ``title``, ``price`` strings, ``body`` with boilerplate, ``images`` paths or URLs."""

from __future__ import annotations

from typing import Any

from c2c_assets.sources.base import (
    INVALID_ID,
    ParsedPost,
    QuarantineError,
    clean_field,
    date_field,
    field_of,
    price_fields,
    string_map,
)
from c2c_assets.text import ATTRIBUTE_MAX_CHARS, DESCRIPTION_MAX_CHARS, LOCATION_MAX_CHARS, TITLE_MAX_CHARS

# Lines Craigslist prints into every body; they say nothing about the part.
BOILERPLATE = (
    "QR Code Link to This Post",
    "do NOT contact me with unsolicited services or offers",
)


class Craigslist:
    name = "craigslist"

    def parse(self, record: dict[str, Any]) -> ParsedPost:
        pid = field_of(record, "pid", str, required=True).strip()
        if not pid.isascii() or not pid.isdigit() or len(pid) > 32:
            raise QuarantineError(INVALID_ID, f"pid should be a string of digits, got {pid[:40]!r}")
        flags: list[str] = []
        images = field_of(record, "images", list) or []
        price_usd, price_raw = price_fields(field_of(record, "price", str), flags)
        attributes = {
            key[:100]: clean_field(value, flags, "attribute", ATTRIBUTE_MAX_CHARS)
            for key, value in string_map(record, "attrs").items()
        }
        hood = clean_field(field_of(record, "hood", str), flags, "location", LOCATION_MAX_CHARS).strip("() ")
        return ParsedPost(
            source=self.name,
            source_id=pid,
            url=(field_of(record, "url", str) or None),
            title=clean_field(field_of(record, "title", str), flags, "title", TITLE_MAX_CHARS),
            description=clean_field(field_of(record, "body", str), flags, "description", DESCRIPTION_MAX_CHARS, BOILERPLATE),
            price_usd=price_usd,
            price_raw=price_raw,
            location=hood or None,
            posted_at=date_field(field_of(record, "datetime", str), flags),
            condition=attributes.get("condition") or None,
            category=None,
            attributes=attributes,
            image_refs=list(images),
            flags=flags,
        )


SOURCE = Craigslist()
