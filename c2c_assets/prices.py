"""Which listed prices count as prices: the one rule every reader uses (price comparables and category
splits in ``pricing``, the placeholder-price flag and repost price checks in ``quality``).

Sellers type numbers that are not asking prices: ``$0`` / ``$1`` ("make an offer"), keyboard runs
(``1234``, ``123456``, ``98765``), one digit repeated (``9999``, ``99999``), or a number no used car part asks.
A price is usable when it is finite, at least ``MIN_USD``, at most ``MAX_USD``, and not such a pattern.
"""

from __future__ import annotations

import math

import numpy as np

MIN_USD = 2.0
MAX_USD = 50_000.0
# Whole numbers of four or more digits that are typing, not pricing: runs up or down the keyboard row.
_RUNS = {int(row[start:start + n]) for row in ("0123456789", "9876543210") for n in range(4, 11) for start in range(0, 11 - n)}


def _pattern(whole: int) -> bool:
    text = str(whole)
    return len(text) >= 4 and (len(set(text)) == 1 or whole in _RUNS)


def is_usable(price: float | None) -> bool:
    """True when ``price`` (USD, as ingested) can stand for what the part is worth."""
    if price is None or not isinstance(price, (int, float)) or not math.isfinite(price):
        return False
    if not MIN_USD <= price <= MAX_USD:
        return False
    return not (float(price).is_integer() and _pattern(int(price)))


def usable_mask(prices: np.ndarray) -> np.ndarray:
    """``is_usable`` over an array (NaN for a missing price)."""
    prices = np.asarray(prices, dtype=np.float64)
    mask = np.isfinite(prices) & (prices >= MIN_USD) & (prices <= MAX_USD)
    whole = mask & (prices == np.floor(prices)) & (prices >= 1000)
    for row in np.flatnonzero(whole):
        mask[row] = not _pattern(int(prices[row]))
    return mask
