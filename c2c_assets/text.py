"""Normalization of scraped text, prices and dates (the ingest contract's rules).

Everything here is pure and total: bad values become ``None`` (plus a flag for the
caller), never an exception, because one odd field must not sink a post.
"""

from __future__ import annotations

import html
import math
import re
import unicodedata
from datetime import datetime, timezone

# Field limits, in characters after cleanup. A longer field is cut and flagged.
TITLE_MAX_CHARS = 300
DESCRIPTION_MAX_CHARS = 5_000
LOCATION_MAX_CHARS = 200
ATTRIBUTE_MAX_CHARS = 500

# Prices above this are scraper noise ("$99999999"), not car parts.
PRICE_MAX_USD = 10_000_000.0

_BREAK_TAGS = re.compile(r"<\s*(br|/p|p|/div|div|li|/li|tr|/tr)\b[^>]*>", re.IGNORECASE)
_TAGS = re.compile(r"<[^<>]{0,2000}>")
# Zero-width and bidi formatting characters are invisible noise in scraped text; \ufeff is a BOM.
_INVISIBLE = dict.fromkeys(
    map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"),
    None,
)
# Control characters (C0, DEL, C1) become spaces so that words they separate stay apart.
_CONTROLS = {c: " " for c in [*range(0x00, 0x20), *range(0x7F, 0xA0)]}
_SPACES = re.compile(r"\s+")


def clean_text(value: str | None, *, max_chars: int | None = None, boilerplate: tuple[str, ...] = ()) -> tuple[str, bool]:
    """Return ``(clean, truncated)``.

    Entities are unescaped before tags are stripped, since scrapers often deliver
    ``&lt;br&gt;``; the order (unescape, strip, NFC, drop invisibles, collapse) is the contract's.
    """
    if not value:
        return "", False
    text = html.unescape(value)
    text = _BREAK_TAGS.sub(" ", text)
    text = _TAGS.sub("", text)
    text = unicodedata.normalize("NFC", text)
    text = text.translate(_INVISIBLE).translate(_CONTROLS)
    for phrase in boilerplate:
        text = text.replace(phrase, " ")
    text = _SPACES.sub(" ", text).strip()
    if max_chars is not None and len(text) > max_chars:
        return text[:max_chars].rstrip(), True
    return text, False


_PRICE_NUMBER = re.compile(r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\s*([kK])?(?![\w])")
_FREE = re.compile(r"^\s*(free|0|\$0|zero)\b", re.IGNORECASE)


def parse_price(value: object) -> float | None:
    """Parse a scraped price to USD.

    ``"$1,200"`` -> 1200, ``"1.2k"`` -> 1200, ``"$45 obo"`` -> 45, ``"Free"`` -> 0,
    ``"OBO"`` / ``"call"`` / ``None`` -> None. Numbers pass through when finite and sane.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        number = float(value)
    elif isinstance(value, str):
        if _FREE.match(value):
            return 0.0
        match = _PRICE_NUMBER.search(value.replace("$", " "))
        if match is None:
            return None
        whole, fraction, thousands = match.groups()
        number = float(whole.replace(",", "") + (fraction or ""))
        if thousands:
            number *= 1_000
    else:
        return None
    if not math.isfinite(number) or number < 0 or number > PRICE_MAX_USD:
        return None
    return round(number, 2)


# Python 3.11's fromisoformat reads "2024-02-28T14:05:11-0600" and "...Z"; the "+HH" form
# ("...-06") it does not, so that one is padded first.
_SHORT_OFFSET = re.compile(r"([+-]\d{2})$")
# Epoch values outside this window are garbage, not dates (1995 .. 2100).
_EPOCH_MIN_S, _EPOCH_MAX_S = 788_918_400, 4_102_444_800


def parse_datetime(value: object) -> datetime | None:
    """Parse an ISO 8601 string or epoch milliseconds to an aware UTC datetime.

    A naive ISO string is taken as UTC: the scrapers run in UTC and stamp offsets where
    the site shows a local time.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        if not math.isfinite(value):
            return None
        seconds = value / 1000.0
        if not _EPOCH_MIN_S <= seconds <= _EPOCH_MAX_S:
            return None
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or len(text) > 64:
        return None
    if text.isdigit():
        return parse_datetime(int(text))
    text = _SHORT_OFFSET.sub(r"\1:00", text) if "T" in text else text
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    try:
        return parsed.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        return None
