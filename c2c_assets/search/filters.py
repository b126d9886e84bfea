"""Search filters: the same rule as SQL over the warehouse (``sql``) and over rows in memory (``matches``,
for the long-lived service's copy of the current posts)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import Any


@dataclass(frozen=True)
class Filters:
    source: str | None = None
    min_price: float | None = None
    max_price: float | None = None
    since: date | None = None  # scraped on or after

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
        return (" AND " + " AND ".join(clauses) if clauses else ""), params

    def matches(self, source: str | None, price_usd: float | None, scrape_date: date | None) -> bool:
        """``sql()``'s test on a row in memory (``cache.CurrentPosts``); keep the two in step (the server's
        tests compare its answers with ``search()``'s). NULL fails every comparison, and NaN sorts above
        every number, as in DuckDB."""
        if price_usd is not None and math.isnan(price_usd):
            price_usd = math.inf
        if self.source is not None and source != self.source:
            return False
        if self.min_price is not None and (price_usd is None or not price_usd >= self.min_price):
            return False
        if self.max_price is not None and (price_usd is None or not price_usd <= self.max_price):
            return False
        return self.since is None or (scrape_date is not None and scrape_date >= self.since)
