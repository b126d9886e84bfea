"""The canonical post and the small toolkit each source module uses to map its raw lines."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from c2c_assets.text import clean_text, parse_datetime, parse_price

# Quarantine reason codes: every rejected line carries exactly one of these.
MALFORMED_JSON = "malformed_json"
NOT_AN_OBJECT = "not_an_object"
MISSING_ID = "missing_id"
INVALID_ID = "invalid_id"
WRONG_TYPE = "wrong_type"
EMPTY_POST = "empty_post"
LINE_TOO_LONG = "line_too_long"
DUPLICATE_LISTING = "duplicate_listing"
QUARANTINE_REASONS = (
    MALFORMED_JSON, NOT_AN_OBJECT, MISSING_ID, INVALID_ID, WRONG_TYPE, EMPTY_POST, LINE_TOO_LONG, DUPLICATE_LISTING,
)


class QuarantineError(ValueError):
    """A line that cannot become a post; ``reason`` is one of QUARANTINE_REASONS."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


@dataclass
class ParsedPost:
    """A raw line mapped to canonical fields, before its images are checked."""

    source: str
    source_id: str
    url: str | None
    title: str
    description: str
    price_usd: float | None
    price_raw: str | None
    location: str | None
    posted_at: datetime | None
    condition: str | None
    category: str | None
    attributes: dict[str, str]
    image_refs: list[object]
    flags: list[str] = field(default_factory=list)

    @property
    def post_id(self) -> str:
        return f"{self.source}:{self.source_id}"


class Source(Protocol):
    """One marketplace: maps one decoded JSON object to a ParsedPost or raises QuarantineError."""

    name: str

    def parse(self, record: dict[str, Any]) -> ParsedPost: ...


_TYPE_NAMES = {str: "string", int: "integer", float: "number", list: "list", dict: "object", bool: "boolean"}


def _describe(value: object) -> str:
    return "null" if value is None else _TYPE_NAMES.get(type(value), type(value).__name__)


def field_of(record: dict[str, Any], name: str, *types: type, required: bool = False) -> Any:
    """Read ``record[name]`` and check its type; ``None`` when absent or null and not required.

    ``bool`` is refused where a number is expected, since JSON ``true`` is not a price.
    """
    value = record.get(name)
    if value is None:
        if required:
            raise QuarantineError(MISSING_ID, f"field {name!r} is missing or null")
        return None
    if isinstance(value, bool) and bool not in types:
        ok = False
    else:
        ok = isinstance(value, types)
    if not ok:
        expected = " or ".join(_TYPE_NAMES.get(t, t.__name__) for t in types)
        raise QuarantineError(WRONG_TYPE, f"field {name!r} should be {expected}, got {_describe(value)}")
    return value


def string_map(record: dict[str, Any], name: str) -> dict[str, str]:
    """An object of string -> string (Craigslist ``attrs``); non-string values are refused."""
    value = field_of(record, name, dict)
    if value is None:
        return {}
    for key, item in value.items():
        if not isinstance(item, (str, int, float)) or isinstance(item, bool):
            raise QuarantineError(WRONG_TYPE, f"field {name!r} value for {key!r} should be string, got {_describe(item)}")
    return {str(k): str(v) for k, v in value.items()}


def clean_field(value: str | None, flags: list[str], name: str, max_chars: int, boilerplate: tuple[str, ...] = ()) -> str:
    """Clean a text field, adding ``<name>_truncated`` to ``flags`` when it was cut."""

    text, truncated = clean_text(value, max_chars=max_chars, boilerplate=boilerplate)
    if truncated:
        flags.append(f"{name}_truncated")
    return text


def price_fields(raw: object, flags: list[str]) -> tuple[float | None, str | None]:
    """``(price_usd, price_raw)``; a given but unreadable price is flagged, not fatal."""

    if raw is None:
        return None, None
    price = parse_price(raw)
    raw_text = str(raw)[:100]
    if price is None and any(ch.isdigit() for ch in raw_text):
        flags.append("price_unparsed")
    return price, raw_text


def date_field(raw: object, flags: list[str]) -> datetime | None:

    parsed = parse_datetime(raw)
    if raw is not None and parsed is None:
        flags.append("posted_at_unparsed")
    return parsed
