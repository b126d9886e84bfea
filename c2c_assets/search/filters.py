"""Search filters: the same rule as SQL over the warehouse (``sql``) and over rows in memory (``matches``,
for the long-lived service's copy of the current posts).

``size`` and ``fits`` filter on the ``post_attributes`` view (alias ``a``): ``size`` is one tire size,
wheel spec, bolt pattern (normalized as the attributes are: ``265/70R17`` == ``265/70r17``, ``5x4.5`` ==
``5x114.3``) or a wheel diameter in inches (``20``); ``fits`` is a year, make and/or model ("2016 Civic",
"Silverado", "honda"). A post whose fitment names no years passes a ``fits`` with a year if its make or
model matches; a post with no attributes known passes neither.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

_DIAMETER = re.compile(r'^\s*(1[3-9]|2\d|30)\s*(?:"|in|inch|inches)?\s*$', re.IGNORECASE)
SIZE_COLUMNS = {"tire": "tire_sizes", "wheel": "wheel_specs", "bolt": "bolt_patterns"}


class FilterError(ValueError):
    """A filter that cannot be read (``--size``, ``--fits``), with a message for the person who gave it."""


@dataclass(frozen=True)
class Filters:
    source: str | None = None
    min_price: float | None = None
    max_price: float | None = None
    since: date | None = None  # scraped on or after
    size: str | None = None
    fits: str | None = None
    _size: tuple[str, Any] | None = field(default=None, init=False, repr=False, compare=False)
    _fits: tuple[int | None, list[str], list[str]] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.size is not None:
            object.__setattr__(self, "_size", parse_size(self.size))
        if self.fits is not None:
            from c2c_assets.attributes.extract import parse_fits

            year, makes, models = parse_fits(self.fits)
            if year is None and not makes and not models:
                raise FilterError(f"--fits: no year, make or model found in {self.fits!r} (e.g. \"2016 Civic\")")
            object.__setattr__(self, "_fits", (year, makes, models))

    @property
    def needs_attributes(self) -> bool:
        return self._size is not None or self._fits is not None

    def sql(self) -> tuple[str, list[Any]]:
        clauses, params = [], []
        if self.source is not None:
            clauses.append("p.source = ?")
            params.append(self.source)
        if self.min_price is not None:
            clauses.append("p.price_usd >= ?")
            params.append(self.min_price)
        if self.max_price is not None:
            clauses.append("p.price_usd <= ?")
            params.append(self.max_price)
        if self.since is not None:
            clauses.append("p.scrape_date >= ?")
            params.append(self.since)
        if self._size is not None:
            kind, value = self._size
            if kind == "diameter":
                clauses.append("a.wheel_diameter = ?")
            else:
                clauses.append(f"coalesce(list_contains(a.{SIZE_COLUMNS[kind]}, ?), false)")
            params.append(value)
        if self._fits is not None:
            year, makes, models = self._fits
            if models or makes:
                column, values = ("models", models) if models else ("makes", makes)
                clauses.append(f"coalesce(list_has_any(a.{column}, ?::VARCHAR[]), false)")
                params.append(values)
            if year is not None:
                clauses.append("((a.year_min IS NULL AND ?) OR (a.year_min <= ? AND a.year_max >= ?))")
                params.extend([bool(models or makes), year, year])
        return (" AND " + " AND ".join(clauses) if clauses else ""), params

    def matches(self, source: str | None, price_usd: float | None, scrape_date: date | None,
                attributes: Mapping[str, Any] | None = None) -> bool:
        """``sql()``'s test on a row in memory (``cache.CurrentPosts``); keep the two in step (a test compares
        them on the same rows). NULL fails every comparison, and NaN sorts above every number, as in DuckDB.
        ``attributes``: the row's ``post_attributes`` columns (None: the post has none)."""
        if price_usd is not None and math.isnan(price_usd):
            price_usd = math.inf
        if self.source is not None and source != self.source:
            return False
        if self.min_price is not None and (price_usd is None or not price_usd >= self.min_price):
            return False
        if self.max_price is not None and (price_usd is None or not price_usd <= self.max_price):
            return False
        if self.since is not None and (scrape_date is None or not scrape_date >= self.since):
            return False
        a = attributes or {}
        if self._size is not None:
            kind, value = self._size
            if kind == "diameter":
                if a.get("wheel_diameter") != value:
                    return False
            elif value not in (a.get(SIZE_COLUMNS[kind]) or ()):
                return False
        if self._fits is not None:
            year, makes, models = self._fits
            if models or makes:
                have = a.get("models" if models else "makes") or ()
                if not set(have) & set(models or makes):
                    return False
            if year is not None:
                low, high = a.get("year_min"), a.get("year_max")
                if low is None:
                    return bool(models or makes)
                if not (low <= year and high is not None and high >= year):
                    return False
        return True


def parse_size(text: str) -> tuple[str, Any]:
    """(column kind, normalized value) of ``--size``, or a FilterError saying what it accepts."""
    from c2c_assets.attributes.specs import canonical_spec

    found = _DIAMETER.match(text)
    if found:
        return "diameter", int(found.group(1))
    token = canonical_spec(text)
    if token is None or token.kind not in SIZE_COLUMNS:
        raise FilterError(f"--size: {text!r} is not a tire size (265/70R17), wheel spec (20x10), bolt pattern (5x114.3) "
                          "or wheel diameter (20)")
    return token.kind, token.text
