"""Prices of the synthetic listings: they follow the part and its wording, and a few are placeholders.

A used part's asking price depends on what it is (a tyre is not a transmission), and, within a
category, on what the listing says: the brand, the size, how many, the condition. Each category has a
log-normal price whose 5th-95th percentile range is ``CATEGORY_RANGES`` (tires $80-900, transmissions
$300-3,000, mirrors $20-200, ...); words visible in the title and description move it (``_WORDS``,
``_sizes``), and a residual spread stays (two sellers ask differently for the same part). Only words the
listing shows count, so a method that reads the post can estimate its price; one that cannot, cannot.

Sellers also write numbers that are not prices: ``$1``, ``$0``, ``123456``, ``99999``. ``PLACEHOLDERS``
are planted on ``PLACEHOLDER_SHARE`` of the posts (their true price is kept), and ``labels_prices.csv``
beside the dumps says, for every good post, its true price, the price its latest line shows (as
ingest reads it) and whether that is a placeholder.

Every draw comes from the own stream ``random.Random(f"{seed}-prices")``, so the base stream, and with it
every other choice of the sample, stays as it was.
"""

from __future__ import annotations

import csv
import io
import math
import random
import re
from pathlib import Path
from typing import Any

from c2c_assets.storage import write_atomic
from c2c_assets.text import parse_price

from .wording import _round_price

# 5th-95th percentile of a typical listing's asking price, USD.
CATEGORY_RANGES: dict[str, tuple[float, float]] = {
    "tires": (80, 900), "wheels": (150, 2500), "headlights": (40, 600), "tail lights": (30, 400),
    "bumpers": (80, 1500), "seats": (80, 1200), "audio": (40, 800), "engine": (500, 6000),
    "exhaust": (60, 1500), "brakes": (40, 1200), "mirrors": (20, 200), "body panels": (60, 800),
    "suspension": (80, 2500), "transmission": (300, 3000),
}
# The wording factors' typical product per category (measured on the 3,000-post sample), divided out so that
# each category's median stays the geometric middle of its range.
_CENTRE: dict[str, float] = {
    "tires": 0.69, "wheels": 0.98, "headlights": 0.7, "tail lights": 0.78, "bumpers": 1.02, "seats": 0.62,
    "audio": 0.69, "engine": 1.31, "exhaust": 0.88, "brakes": 0.84, "mirrors": 0.79, "body panels": 1.0,
    "suspension": 1.08, "transmission": 1.46,
}
_Z95 = 1.645
RESIDUAL_SIGMA = 0.18  # the spread left once the wording is accounted for (log scale)
PLACEHOLDER_SHARE = 0.04
PLACEHOLDERS = (0, 1, 1, 1, 99999, 123456, 12345, 999999)
_TOP = 9000  # no synthetic part asks more (placeholders excepted)

# (pattern in the lower-cased text, price factor); every matching pattern applies once.
_GENERAL: list[tuple[str, float]] = [
    (r"\blike new\b|\bbrand new\b|\bnew in box\b|^new |\bnew\b.*\bwrong part\b", 1.35),
    (r"\brebuilt\b|\bpowder coated\b|\bceramic coated\b", 1.25),
    (r"\bneeds paint\b|\bneeds new gaskets\b|\bdry rot\b|\bran when pulled\b", 0.7),
    (r"\bcrack|\bbroken\b|\btear\b|\bdent\b|\bhaze\b|\bscratch|\bone has a plug\b", 0.75),
    (r"(?<!no )\bcurb rash\b", 0.85),
    (r"\bmust go\b", 0.85),
    (r"\bbmw\b|\bmercedes\b|\blexus\b|\bacura\b", 1.25),
]
_WORDS: dict[str, list[tuple[str, float]]] = {
    "tires": [
        (r"\bset of 4\b|^4 |\bx4\b", 2.4), (r"\bpair\b|\(2\)", 1.5), (r"\bspare tire\b", 0.45),
        (r"michelin|bfgoodrich|pilot sport|continental|pirelli", 1.45), (r"\bgeneral\b|hankook|cooper", 0.8),
    ],
    "wheels": [
        (r"\bset of 4\b", 1.3), (r"\bfuel\b|\bmethod\b|\bbbs\b|\benkei\b", 1.5),
        (r"\bvision\b|\bultra\b|\bkonig\b", 0.75), (r"\bstock wheels\b|\boem\b", 0.85),
    ],
    "headlights": [
        (r"\bheadlights\b(?! assembly)|\bpair\b|\bheadlamps pair\b|\bhead lights\b", 1.6),
        (r"\bled projector\b|\bhid\b|\bmorimoto\b", 1.6), (r"\btyc\b|\bdepo\b", 0.65),
    ],
    "tail lights": [
        (r"\bpair\b|\btail lights\b|\btaillights\b", 1.5), (r"\bsequential\b|\bled\b|\bmorimoto\b", 1.4),
        (r"\btyc\b|\bdepo\b", 0.65),
    ],
    "bumpers": [
        (r"\bsteel off road\b|\bwinch\b", 2.2), (r"\bcomplete w/ grille\b|\bfog lights\b", 1.5),
        (r"\bbumper cover\b", 0.6), (r"\bchrome rear step\b", 1.3),
    ],
    "seats": [
        (r"\bpair\b|\bfront seats\b|\bseats\b", 1.5), (r"\brecaro\b|\bbride\b|\bsparco\b", 1.9),
        (r"\bleather\b|\bheated\b|\bpower seats\b", 1.3), (r"\bdriver seat\b|\b3rd row\b", 0.7),
    ],
    "audio": [
        (r"\bjl audio\b|\balpine\b|\brockford\b|\bkicker\b", 1.5), (r"\bskar\b|\bsundown\b|\bsony\b", 0.75),
        (r"\bcarplay\b|\bdouble din\b|\bhead unit\b", 1.35), (r"\b6\.5 speakers\b", 0.45),
        (r"\bin ported box \+ amp\b|\bdual\b|\bw/ box\b", 1.5),
    ],
    "engine": [
        (r"cummins|powerstroke|\b2jz\b|coyote|hemi", 1.6), (r"\bcomplete engine swap\b|\blong block\b", 1.4),
        (r"\bcylinder heads\b", 0.4), (r"\bintake manifold\b", 0.2), (r"\bturbo for\b", 0.35),
        (r"\b2\.4 ecotec\b|\bb18c\b|\b4\.6 modular\b", 0.7),
    ],
    "exhaust": [
        (r"\bcatalytic converter\b", 1.4), (r"\bcat back\b|\bdual exhaust\b", 1.7), (r"\bexhaust tips\b", 0.2),
        (r"\bborla\b|\bcorsa\b", 1.5), (r"\bcherry bomb\b", 0.5), (r"\bmuffler\b", 0.5), (r"\bheaders\b", 1.2),
    ],
    "brakes": [
        (r"\bbig brake kit\b", 3.0), (r"\bbrembo\b|\bwilwood\b|\bstoptech\b", 1.8),
        (r"\bbrake pads\b|\bpads new in box\b", 0.3), (r"\brotors and pads\b", 1.2), (r"\bpowerstop\b|\bebc\b", 0.8),
    ],
    "mirrors": [
        (r"\btow mirrors\b", 2.6), (r"\bmirror glass\b", 0.35), (r"\brear view mirror\b", 0.7),
        (r"\bpower folding\b|\bblind spot\b|\bheated\b", 1.45),
    ],
    "body panels": [
        (r"\bhood and fenders\b", 2.0), (r"\bdoor\b", 1.2), (r"\bquarter panel\b", 1.3), (r"\btailgate\b", 1.4),
        (r"\bfender\b", 0.6), (r"\btrunk lid\b", 0.8),
    ],
    "suspension": [
        (r"\blift kit\b", 1.8), (r"\bair ride\b", 2.5), (r"\bcoilovers\b|\bfox\b|\bking\b", 1.7),
        (r"\bleveling kit\b", 0.35), (r"\bupper control arms\b", 0.6), (r"\blowering springs\b", 0.5),
        (r"\bmoog\b|\bzone\b", 0.75),
    ],
    "transmission": [
        (r"\btorque converter\b", 0.25), (r"\btransfer case\b", 0.55), (r"\bzf 8hp\b|\bt56\b|\b5r110\b|\b68rfe\b", 1.5),
        (r"\bcvt\b|\ba340\b|\bth350\b", 0.7), (r"\bmanual\b", 1.1),
    ],
}


def _clip(value: float, lo: float, hi: float) -> float:
    return min(hi, max(lo, value))


def _sizes(category: str, text: str) -> float:
    """Bigger parts cost more: rim diameter, tread left, sub size, watts, lift, pistons, miles."""
    factor = 1.0
    if category == "tires":
        rim = re.search(r"\d+(?:/\d+|x\d+\.\d+)r(\d\d)\b", text)
        if rim:
            factor *= (int(rim.group(1)) / 17) ** 2.0
            if re.search(r"\b3[357]x\d", text):
                factor *= 1.4  # flotation (off-road) sizes
        tread = re.search(r"\b(\d\d)% tread", text) or re.search(r"\b(\d+)/32 tread", text)
        if tread:
            left = int(tread.group(1))
            factor *= _clip(left / (75 if "%" in tread.group(0) else 8), 0.6, 1.3)
    elif category == "wheels":
        inch = re.search(r"\b(1[5-9]|2[0-4])(?:x\d|\"|s\b| inch)", text)
        if inch:
            factor *= (int(inch.group(1)) / 18) ** 2.2
    elif category == "audio":
        watts = re.search(r"\b(\d{3,4}) watt", text)
        if watts:
            factor *= (int(watts.group(1)) / 800) ** 0.35
        sub = re.search(r"\b(8|10|12|15)(?:in|\"|s\b| w/)", text)
        if sub:
            factor *= (int(sub.group(1)) / 10) ** 0.8
    elif category == "suspension":
        lift = re.search(r"\b(\d(?:\.5)?) inch lift", text)
        if lift:
            factor *= (float(lift.group(1)) / 3) ** 0.6
    elif category == "brakes":
        pistons = re.search(r"\b([468]) (?:piston|pot)", text)
        if pistons:
            factor *= (int(pistons.group(1)) / 4) ** 0.8
    if category in ("engine", "transmission"):
        miles = re.search(r"\b(\d{2,3})k(?: miles)?\b", text)
        if miles:
            factor *= _clip((110 / int(miles.group(1))) ** 0.35, 0.7, 1.4)
    return factor


def wording_factor(category: str, text: str) -> float:
    """How much the listing's words move its price from its category's median."""
    text = text.lower()
    factor = _sizes(category, text)
    for pattern, multiplier in _GENERAL + _WORDS.get(category, []):
        if re.search(pattern, text):
            factor *= multiplier
    return factor


class PriceBook:
    """The sample's prices: drawn per post from its category and wording, placeholders planted."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(f"{seed}-prices")
        self.planted: set[str] = set()  # sids whose first line carries a placeholder

    def draw(self, category: str, title: str, sentences: list[str]) -> int:
        lo, hi = CATEGORY_RANGES[category]
        median = math.sqrt(lo * hi) * _CENTRE[category]
        sigma = math.log(hi / lo) / (2 * _Z95)
        # The wording explains part of the category's spread; the residual keeps the rest honest.
        spread = math.exp(self.rng.gauss(0.0, RESIDUAL_SIGMA))
        value = median * wording_factor(category, f"{title} {' '.join(sentences)}") * spread
        return _round_price(_clip(value, lo * math.exp(-sigma), min(_TOP, hi * math.exp(sigma))))

    def plant(self, source: str, sid: str, record: dict[str, Any]) -> None:
        """Maybe replace the listed price by a placeholder (the post keeps its true price)."""
        if self.rng.random() >= PLACEHOLDER_SHARE:
            return
        value = self.rng.choice(PLACEHOLDERS)
        if source == "craigslist":
            record["price"] = self.rng.choice([f"${value:,}", str(value)])
        else:
            record["price"] = self.rng.choice([value, f"{value:.2f}"])
        self.planted.add(sid)


def write_price_labels(
    path: Path, posts: list[Any], repeats: list[tuple[Any, int, dict[str, Any]]], book: PriceBook,
    also_placeholders: set[str] = frozenset(),
) -> Path:
    """``labels_prices.csv``: post_id, true_price, listed_price (as ingest reads the latest line; empty:
    none), placeholder (1: the listed price is not the true one, a planted placeholder or "Free").
    ``also_placeholders``: post ids another planting (``planted_duplicates``) gave a placeholder price."""
    latest = {p.post_id: over["price"] for p, _later, over in repeats if "price" in over}
    rows = []
    for p in sorted(posts, key=lambda q: q.post_id):
        if p.post_id in latest:
            raw = latest[p.post_id]
            listed = parse_price(raw)
            true, planted = (listed if listed is not None else p.price_value), False  # a re-listing states its price
        else:
            listed = parse_price(p.record.get("price"))
            true = p.price_value
            planted = (p.sid in book.planted or p.post_id in also_placeholders) and listed != true  # a later change (bad_inputs) may have set it again
        placeholder = listed is not None and (planted or (listed == 0 and true > 0))
        rows.append([p.post_id, f"{float(true):.2f}", "" if listed is None else f"{listed:.2f}", int(placeholder)])
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["post_id", "true_price", "listed_price", "placeholder"])
    writer.writerows(rows)
    return write_atomic(path, buf.getvalue(), durable=False)
